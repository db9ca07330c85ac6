"""OAuth 2 authorization-code sign-in with PKCE, answered on a loopback callback server.

The flow: `WebFlow.begin()` opens a one-shot HTTP server on 127.0.0.1 (a free
port) and returns the provider's authorization URL for the browser with the
callback's URL and port (whoever started the flow may need them: to forward
the port from a remote machine, or to tell the user what to allow); the
provider redirects the browser to the callback with `code` and `state`;
`wait_code()` returns the code of the first request that carries the flow's
state, and the code is exchanged for tokens at the token endpoint. The
callback server is closed whatever the outcome (code, provider error,
timeout, cancellation). Nothing here stores tokens: the caller does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

from .github_oauth import OAuthError, parse_answer
from .redact import register_secret

if TYPE_CHECKING:
    import httpx

LOOPBACK = "127.0.0.1"
DEFAULT_CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT_S = 300.0
#: A browser connection that sends no request line within this long is dropped.
REQUEST_READ_TIMEOUT_S = 10.0
PKCE_METHOD = "S256"
_VERIFIER_BYTES = 48  # 64 base64url characters, inside RFC 7636's 43..128

PostForm = Callable[[str, Mapping[str, str]], Awaitable[bytes]]
PostJson = Callable[[str, Mapping[str, Any]], Awaitable[bytes]]


@dataclass(frozen=True)
class PkcePair:
    verifier: str = field(repr=False)
    challenge: str
    method: str = PKCE_METHOD


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_pair() -> PkcePair:
    verifier = secrets.token_urlsafe(_VERIFIER_BYTES)
    return PkcePair(verifier, code_challenge(verifier))


def new_state() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: int | None = None
    token_type: str = "bearer"
    scope: str = ""


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to whatever query it already has."""
    parts = urlsplit(url)
    added = urlencode(dict(params), quote_via=quote)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class CallbackServer:
    """A loopback HTTP server that waits for the one browser redirect of a sign-in.

    The state is checked in the `state` query parameter, or, with
    `state_in_path`, as the last path segment (`{path}/{state}`) for providers
    that do not echo a state parameter. A request without this flow's state
    (another path, a favicon, a missing or wrong state) gets a 404 and does not
    end the wait: only the flow's own answer does.
    """

    def __init__(
        self,
        state: str,
        *,
        path: str = DEFAULT_CALLBACK_PATH,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        state_in_path: bool = False,
    ) -> None:
        self._state = state
        self._path = "/" + path.strip("/")
        self.timeout_s = timeout_s
        self._state_in_path = state_in_path
        self._server: asyncio.Server | None = None
        self._outcome: asyncio.Future[str] | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __repr__(self) -> str:
        return f"<CallbackServer {self._path} open={self.is_open}>"

    async def __aenter__(self) -> CallbackServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self._server is not None:
            return
        self._outcome = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._serve, host=LOOPBACK, port=0)

    @property
    def is_open(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the callback server is not running")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def redirect_uri(self) -> str:
        host, port = self.address
        path = f"{self._path}/{self._state}" if self._state_in_path else self._path
        return f"http://{host}:{port}{path}"

    async def wait_code(self) -> str:
        """The authorization code; OAuthError otherwise. The server is closed on return."""
        if self._outcome is None:
            raise RuntimeError("start() the callback server first")
        try:
            return await asyncio.wait_for(self._outcome, self.timeout_s)
        except TimeoutError:
            raise OAuthError(
                "timeout", f"no answer from the browser within {self.timeout_s:g} s"
            ) from None
        finally:
            await self.close()

    async def close(self) -> None:
        server, self._server = self._server, None
        if self._outcome is not None and not self._outcome.done():
            self._outcome.cancel()
        if server is None:
            return
        server.close()
        for writer in list(self._writers):
            writer.close()
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_READ_TIMEOUT_S)
            status, page, outcome = self._judge(head.split(b"\r\n", 1)[0].decode("latin-1"))
            # The page is written before the outcome is settled: settling lets wait_code close
            # the server and this connection. A browser gone meanwhile still settles it.
            with contextlib.suppress(ConnectionError):
                await _respond(writer, status, page)
            self._settle(outcome)
        except (
            TimeoutError,
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _settle(self, outcome: str | OAuthError | None) -> None:
        future = self._outcome
        if outcome is None or future is None or future.done():
            return
        if isinstance(outcome, OAuthError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def _judge(self, request_line: str) -> tuple[int, bytes, str | OAuthError | None]:
        parts = request_line.split(" ")
        if len(parts) != 3 or parts[0] != "GET":
            return 405, _page("Not allowed", "This address only answers a sign-in."), None
        target = urlsplit(parts[1])
        query = {name: values[0] for name, values in parse_qs(target.query).items()}
        if not self._is_ours(target.path, query):
            # A stray request (a favicon, a scan, a forged or stale answer) without this
            # flow's state must not end the user's sign-in: it is not an answer to it.
            return 404, _page("Not found", "This address only answers a sign-in."), None
        if self._outcome is not None and self._outcome.done():
            return 409, _page("Already finished", "This sign-in is already over."), None
        if "error" in query:
            error = OAuthError(query["error"], query.get("error_description"))
            return (
                200,
                _page("Sign-in failed", f"The provider said: {error}. You can close this tab."),
                error,
            )
        code = query.get("code")
        if not code:
            error = OAuthError("bad_answer", "the browser's answer carried no code")
            return 400, _page("Sign-in failed", "The answer carried no code."), error
        register_secret(code)
        return 200, _page("Signed in", "You can close this tab and return to your editor."), code

    def _is_ours(self, path: str, query: Mapping[str, str]) -> bool:
        """The request is for the callback and carries this flow's state."""
        if self._state_in_path:
            prefix = self._path + "/"
            given = path[len(prefix) :] if path.startswith(prefix) else None
        else:
            given = query.get("state") if path == self._path else None
        return given is not None and secrets.compare_digest(given.encode(), self._state.encode())


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
}


def _page(title: str, message: str) -> bytes:
    title, message = html.escape(title), html.escape(message)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1><p>{message}</p></body></html>"
    ).encode()


async def _respond(writer: asyncio.StreamWriter, status: int, page: bytes) -> None:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(page)}\r\n"
        "Cache-Control: no-store\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + page)
    await writer.drain()


def parse_tokens(body: bytes) -> OAuthTokens:
    """A token endpoint's answer (JSON or form-encoded) as tokens, or its error as OAuthError."""
    return tokens_from_answer(parse_answer(body))


def tokens_from_answer(answer: Mapping[str, Any]) -> OAuthTokens:
    raise_answer_error(answer)
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError("bad_answer", "the token answer has no access_token")
    register_secret(access)
    refresh = answer.get("refresh_token")
    refresh = refresh if isinstance(refresh, str) and refresh else None
    register_secret(refresh)
    return OAuthTokens(
        access_token=access,
        refresh_token=refresh,
        expires_in=_int(answer.get("expires_in")),
        token_type=str(answer.get("token_type") or "bearer"),
        scope=str(answer.get("scope") or ""),
    )


def raise_answer_error(answer: Mapping[str, Any]) -> None:
    """OAuth's `{error, error_description}`, or an API's `{error: {code, message}}`."""
    error = answer.get("error")
    if not error:
        return
    if isinstance(error, dict):
        message = error.get("message")
        raise OAuthError(str(error.get("code", "error")), str(message) if message else None)
    description = answer.get("error_description")
    raise OAuthError(str(error), str(description) if description else None)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class WebFlowStarted:
    """A started flow: the URL to open, and the loopback callback the browser comes back to."""

    auth_url: str
    callback_url: str
    callback_port: int


class WebFlow:
    """One authorization-code sign-in: begin() → open the URL → wait_code() → exchange()."""

    def __init__(
        self,
        authorize_url: str,
        token_url: str,
        client_id: str,
        scopes: Sequence[str] = (),
        *,
        redirect_path: str = DEFAULT_CALLBACK_PATH,
        extra_params: Mapping[str, str] | None = None,
        client_secret: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.client_id = client_id
        self.scopes = tuple(scopes)
        self.extra_params = dict(extra_params or {})
        self._client_secret = client_secret
        self.pkce = pkce_pair()
        self.state = new_state()
        self._server = CallbackServer(self.state, path=redirect_path, timeout_s=timeout_s)
        self._sent_redirect_uri: str | None = None

    def __repr__(self) -> str:
        return f"<WebFlow {self.authorize_url} client={self.client_id}>"

    @property
    def redirect_uri(self) -> str:
        return self._sent_redirect_uri or self._server.redirect_uri

    @property
    def callback(self) -> CallbackServer:
        return self._server

    async def start(self) -> str:
        """Opens the callback server; the URL to open in the browser."""
        return (await self.begin()).auth_url

    async def begin(self) -> WebFlowStarted:
        """Opens the callback server; the URL to open in the browser, and the callback's."""
        await self._server.start()
        self._sent_redirect_uri = self.redirect_uri
        params = {
            **self.extra_params,
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self._sent_redirect_uri,
            "state": self.state,
            "code_challenge": self.pkce.challenge,
            "code_challenge_method": self.pkce.method,
        }
        if self.scopes:
            params["scope"] = " ".join(self.scopes)
        return WebFlowStarted(
            auth_url=with_query(self.authorize_url, params),
            callback_url=self._sent_redirect_uri,
            callback_port=self._server.port,
        )

    async def wait_code(self) -> str:
        return await self._server.wait_code()

    async def aclose(self) -> None:
        await self._server.close()

    async def exchange(self, code: str, post: PostForm) -> OAuthTokens:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri_sent(),
            "client_id": self.client_id,
            "code_verifier": self.pkce.verifier,
        }
        if self._client_secret:
            form["client_secret"] = self._client_secret
        return parse_tokens(await post(self.token_url, form))

    async def refresh(self, refresh_token: str, post: PostForm) -> OAuthTokens:
        return await refresh_tokens(
            self.token_url, self.client_id, refresh_token, post, client_secret=self._client_secret
        )

    def _redirect_uri_sent(self) -> str:
        # The token request must repeat the redirect_uri of the authorization request,
        # and by exchange time the callback server is closed.
        if self._sent_redirect_uri is None:
            raise RuntimeError("start() the flow before exchanging a code")
        return self._sent_redirect_uri


async def refresh_tokens(
    token_url: str,
    client_id: str,
    refresh_token: str,
    post: PostForm,
    *,
    client_secret: str | None = None,
) -> OAuthTokens:
    """New tokens for a refresh token; the old refresh token is kept when none is rotated in."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    tokens = parse_tokens(await post(token_url, form))
    if tokens.refresh_token is None:
        return OAuthTokens(
            tokens.access_token, refresh_token, tokens.expires_in, tokens.token_type, tokens.scope
        )
    return tokens


def post_form_with(client: httpx.AsyncClient, headers: Mapping[str, str] | None = None) -> PostForm:
    """A `post` that sends a form and asks for JSON (GitHub answers form-encoded otherwise)."""

    async def post(url: str, form: Mapping[str, str]) -> bytes:
        return await _post(client, url, headers, data=dict(form))

    return post


def post_json_with(client: httpx.AsyncClient, headers: Mapping[str, str] | None = None) -> PostJson:
    async def post(url: str, body: Mapping[str, Any]) -> bytes:
        return await _post(client, url, headers, json=dict(body))

    return post


async def _post(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str] | None, **body: Any
) -> bytes:
    import httpx

    host = urlsplit(url).netloc
    try:
        response = await client.post(
            url, headers={"Accept": "application/json", **(headers or {})}, **body
        )
    except httpx.HTTPError as error:
        raise OAuthError("network", f"could not reach {host}: {type(error).__name__}") from None
    # OAuth errors arrive as 4xx bodies with an `error` field; anything else is the server's.
    if response.status_code >= 400 and "error" not in parse_answer(response.content):
        raise OAuthError("http_error", f"{host} answered HTTP {response.status_code}")
    return response.content
