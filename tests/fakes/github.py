"""A loopback fake of GitHub's device flow and Copilot token exchange.

- `POST /login/device/code` (form: client_id, scope) issues a device code.
- `POST /login/oauth/access_token` (form: client_id, device_code, grant_type)
  answers the next step of `script` — "pending", "slow_down", "denied",
  "expired" or "success" (the last step repeats) — as GitHub does: HTTP 200
  with the outcome in the body, JSON when the request asks for
  `Accept: application/json`, form-encoded otherwise (the shapes of
  corpus/wire/github-device-flow). slow_down adds 5 s to the interval and
  reports it, as GitHub does.
- `GET /copilot_internal/v2/token` with `Authorization: token <issued token>`
  answers a Copilot token expiring `copilot_lifetime_s` from now.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .http import FakeHTTPServer, RecordedRequest, Reply

CLIENT_ID = "Iv1.b507a08c87ecfe98"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
STEPS = ("pending", "slow_down", "denied", "expired", "success")


class FakeGitHub(FakeHTTPServer):
    def __init__(
        self,
        script: Iterable[str] = ("success",),
        *,
        client_id: str = CLIENT_ID,
        interval: int = 5,
        expires_in: int = 900,
        copilot_lifetime_s: int = 5,
        device_flow_disabled: bool = False,
    ) -> None:
        super().__init__()
        self.script = list(script)
        unknown = set(self.script) - set(STEPS)
        if unknown or not self.script:
            raise ValueError(f"script steps must be among {STEPS}, got {self.script}")
        self.client_id = client_id
        self.interval = interval
        self.expires_in = expires_in
        self.copilot_lifetime_s = copilot_lifetime_s
        self.device_flow_disabled = device_flow_disabled
        self.device_code = secrets.token_hex(20)
        self.user_code = "WDJB-MJHT"
        self.issued_tokens: list[str] = []
        self.copilot_tokens: list[str] = []

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def polls(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/login/oauth/access_token"]

    def _next_reply(self, request: RecordedRequest) -> Reply:
        path = urlsplit(request.path).path
        if request.method == "POST" and path == "/login/device/code":
            return self._device_code(request)
        if request.method == "POST" and path == "/login/oauth/access_token":
            return self._access_token(request)
        if request.method == "GET" and path == "/copilot_internal/v2/token":
            return self._copilot_token(request)
        return Reply.json({"message": "Not Found"}, status=404)

    def _device_code(self, request: RecordedRequest) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        if self.device_flow_disabled:
            return _answer(request, {"error": "device_flow_disabled"})
        if form.get("client_id") != self.client_id:
            return _answer(request, {"error": "unauthorized_client"})
        return _answer(
            request,
            {
                "device_code": self.device_code,
                "user_code": self.user_code,
                "verification_uri": f"{self.url}/login/device",
                "expires_in": self.expires_in,
                "interval": self.interval,
            },
        )

    def _access_token(self, request: RecordedRequest) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        if form.get("client_id") != self.client_id:
            return _answer(request, {"error": "incorrect_client_credentials"})
        if form.get("grant_type") != DEVICE_GRANT:
            return _answer(request, {"error": "unsupported_grant_type"})
        if form.get("device_code") != self.device_code:
            return _answer(request, {"error": "incorrect_device_code"})
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return _answer(request, self._step(step))

    def _step(self, step: str) -> dict[str, Any]:
        if step == "pending":
            return {"error": "authorization_pending"}
        if step == "slow_down":
            self.interval += 5
            return {
                "error": "slow_down",
                "error_description": "Too many requests have been made in the same timeframe.",
                "error_uri": "https://docs.github.com",
                "interval": self.interval,
            }
        if step == "denied":
            return {"error": "access_denied"}
        if step == "expired":
            return {"error": "expired_token"}
        token = "gho_" + secrets.token_hex(18)
        self.issued_tokens.append(token)
        return {"access_token": token, "token_type": "bearer", "scope": "read:user"}

    def _copilot_token(self, request: RecordedRequest) -> Reply:
        given = request.headers.get("authorization", "").removeprefix("token ").strip()
        if given not in self.issued_tokens:
            return Reply.json({"message": "Bad credentials"}, status=401)
        now = int(time.time())
        token = f"tid={secrets.token_hex(8)};exp={now + self.copilot_lifetime_s};sku=free"
        self.copilot_tokens.append(token)
        return Reply.json(
            {
                "token": token,
                "expires_at": now + self.copilot_lifetime_s,
                "refresh_in": max(1, self.copilot_lifetime_s - 1),
                "endpoints": {"api": self.url},
                "sku": "free_limited_copilot",
            }
        )


def _answer(request: RecordedRequest, body: dict[str, Any]) -> Reply:
    if "application/json" in request.headers.get("accept", ""):
        return Reply.json(body)
    return Reply(
        headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
        chunks=[urlencode({k: str(v) for k, v in body.items()}).encode()],
        chunked=False,
    )
