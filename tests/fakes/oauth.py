"""Loopback fakes of OAuth providers: OpenRouter's key flow and a generic authorization server.

OpenRouter (`FakeOpenRouterAuth`):
- `GET /auth?callback_url&code_challenge&code_challenge_method` stands for the
  user approving in the browser: it answers 302 to `callback_url` with only
  `code` added (OpenRouter echoes no state).
- `POST /api/v1/auth/keys` JSON `{code, code_verifier, code_challenge_method}`
  answers `{key, user_id}` when the code is fresh and sha256(verifier) is the
  challenge, else 400 `{error: {code, message}}`.

Generic (`FakeAuthServer`), RFC 6749 + RFC 7636:
- `GET /oauth/authorize?response_type=code&client_id&redirect_uri&state&code_challenge…`
  answers 302 to `redirect_uri?code&state` (or `error=access_denied` with
  `deny`, or a forged state with `forge_state`).
- `POST /oauth/token` form, grant_type `authorization_code` (checks client,
  redirect_uri and the PKCE verifier) or `refresh_token` (rotates the refresh
  token); failures are 400 `{error: invalid_grant|invalid_client|…}`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .http import FakeHTTPServer, RecordedRequest, Reply


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _redirect(target: str, params: dict[str, str]) -> Reply:
    joiner = "&" if urlsplit(target).query else "?"
    return Reply(status=302, headers={"location": target + joiner + urlencode(params)}, chunks=[])


def _query(request: RecordedRequest) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.path).query))


@dataclass
class _Grant:
    challenge: str
    method: str
    redirect_uri: str = ""
    client_id: str = ""
    used: bool = False


class OpenRouterKeyGrants:
    """OpenRouter's PKCE key flow: `/auth` (the user approves) and `/api/v1/auth/keys`."""

    def __init__(self) -> None:
        self.grants: dict[str, _Grant] = {}
        self.keys: list[str] = []

    def reply(self, request: RecordedRequest) -> Reply | None:
        """The answer when the request is part of the key flow, else None."""
        path = urlsplit(request.path).path
        if request.method == "GET" and path == "/auth":
            return self._authorize(request)
        if request.method == "POST" and path == "/api/v1/auth/keys":
            return self._keys(request)
        return None

    def _authorize(self, request: RecordedRequest) -> Reply:
        query = _query(request)
        callback = query.get("callback_url", "")
        if not callback.startswith(("http://127.0.0.1:", "http://localhost:", "https://")):
            return Reply.json({"error": {"code": 400, "message": "bad callback_url"}}, status=400)
        code = secrets.token_urlsafe(16)
        self.grants[code] = _Grant(
            query.get("code_challenge", ""), query.get("code_challenge_method", "plain")
        )
        return _redirect(callback, {"code": code})

    def _keys(self, request: RecordedRequest) -> Reply:
        body = request.json()
        grant = self.grants.get(str(body.get("code")))
        verifier = str(body.get("code_verifier", ""))
        method = body.get("code_challenge_method")
        if (
            grant is None
            or grant.used
            or method != grant.method
            or grant.method != "S256"
            or s256(verifier) != grant.challenge
        ):
            message = "Invalid code or code_verifier"
            return Reply.json({"error": {"code": 400, "message": message}}, status=400)
        grant.used = True
        key = "sk-or-v1-" + secrets.token_hex(32)
        self.keys.append(key)
        return Reply.json({"key": key, "user_id": "user_" + secrets.token_hex(8)})


class FakeOpenRouterAuth(FakeHTTPServer):
    def __init__(self) -> None:
        super().__init__()
        self.flow = OpenRouterKeyGrants()

    def __enter__(self) -> FakeOpenRouterAuth:
        self.start()
        return self

    @property
    def grants(self) -> dict[str, _Grant]:
        return self.flow.grants

    @property
    def keys(self) -> list[str]:
        return self.flow.keys

    def _next_reply(self, request: RecordedRequest) -> Reply:
        answer = self.flow.reply(request)
        if answer is not None:
            return answer
        return Reply.json({"error": {"code": 404, "message": "Not Found"}}, status=404)


class FakeAuthServer(FakeHTTPServer):
    def __init__(self, client_id: str = "switchboard-test", *, expires_in: int = 3600) -> None:
        super().__init__()
        self.client_id = client_id
        self.expires_in = expires_in
        self.deny = False
        self.forge_state = False
        self.rotate_refresh = True
        self.grants: dict[str, _Grant] = {}
        self.access_tokens: list[str] = []
        self.refresh_tokens: set[str] = set()

    def __enter__(self) -> FakeAuthServer:
        self.start()
        return self

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    def provider_config(self, api_url: str, timeout: float = 300) -> str:
        """The config of an OpenAI-compatible provider `corp` at `api_url`, signed in here."""
        return (
            "[providers.corp]\n"
            'kind = "openai-compatible"\n'
            f'base_url = "{api_url}"\n'
            'models = ["corp-model"]\n'
            "[providers.corp.oauth]\n"
            f'authorize_url = "{self.authorize_url}"\n'
            f'token_url = "{self.token_url}"\n'
            f'client_id = "{self.client_id}"\n'
            'scopes = ["models.read", "chat"]\n'
            f"timeout = {timeout}\n"
        )

    def _next_reply(self, request: RecordedRequest) -> Reply:
        path = urlsplit(request.path).path
        if request.method == "GET" and path == "/oauth/authorize":
            return self._authorize(request)
        if request.method == "POST" and path == "/oauth/token":
            return self._token(dict(parse_qsl(request.body.decode())))
        return Reply.json({"error": "not_found"}, status=404)

    def _authorize(self, request: RecordedRequest) -> Reply:
        query = _query(request)
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return Reply.json({"error": "invalid_request"}, status=400)
        state = "forged-" + secrets.token_urlsafe(8) if self.forge_state else query["state"]
        if self.deny:
            return _redirect(
                query["redirect_uri"],
                {"error": "access_denied", "error_description": "The user said no", "state": state},
            )
        code = secrets.token_urlsafe(16)
        self.grants[code] = _Grant(
            query.get("code_challenge", ""),
            query.get("code_challenge_method", "plain"),
            redirect_uri=query["redirect_uri"],
            client_id=query["client_id"],
        )
        return _redirect(query["redirect_uri"], {"code": code, "state": state})

    def _token(self, form: dict[str, str]) -> Reply:
        if form.get("client_id") != self.client_id:
            return _error("invalid_client", status=401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.grants.get(form.get("code", ""))
            if (
                grant is None
                or grant.used
                or grant.redirect_uri != form.get("redirect_uri")
                or grant.method != "S256"
                or s256(form.get("code_verifier", "")) != grant.challenge
            ):
                return _error("invalid_grant")
            grant.used = True
            return self._issue()
        if grant_type == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                return _error("invalid_grant")
            if not self.rotate_refresh:
                return self._issue(keep_refresh=True)
            self.refresh_tokens.discard(refresh)
            return self._issue()
        return _error("unsupported_grant_type")

    def _issue(self, *, keep_refresh: bool = False) -> Reply:
        access = "at-" + secrets.token_urlsafe(24)
        self.access_tokens.append(access)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": "models.read chat",
        }
        if not keep_refresh:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh_tokens.add(refresh)
            body["refresh_token"] = refresh
        return Reply.json(body)


def _error(code: str, status: int = 400) -> Reply:
    return Reply.json({"error": code, "error_description": f"fake: {code}"}, status=status)
