"""OpenRouter's PKCE sign-in, which ends in an API key instead of OAuth tokens.

The browser goes to `{site}/auth?callback_url=…&code_challenge=…&code_challenge_method=S256`;
OpenRouter sends it back to the callback with only `code` (no state is
echoed), so this flow's state rides in the callback URL's path
(`/callback/<state>`) and the callback server checks it there. The code and
the PKCE verifier are then exchanged at `POST {api}/auth/keys` for
`{"key": …, "user_id": …}`.
"""

from __future__ import annotations

from .github_oauth import OAuthError, parse_answer
from .oauth_web import (
    DEFAULT_CALLBACK_PATH,
    DEFAULT_TIMEOUT_S,
    CallbackServer,
    PostJson,
    new_state,
    pkce_pair,
    raise_answer_error,
    with_query,
)
from .redact import register_secret

OPENROUTER_SITE = "https://openrouter.ai"
OPENROUTER_API = "https://openrouter.ai/api/v1"


class OpenRouterKeyFlow:
    """start() → open the URL → wait_code() → exchange() → the API key."""

    def __init__(
        self,
        *,
        site: str = OPENROUTER_SITE,
        api: str = OPENROUTER_API,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.site = site.rstrip("/")
        self.api = api.rstrip("/")
        self.pkce = pkce_pair()
        self._server = CallbackServer(
            new_state(), path=DEFAULT_CALLBACK_PATH, timeout_s=timeout_s, state_in_path=True
        )

    def __repr__(self) -> str:
        return f"<OpenRouterKeyFlow {self.site}>"

    @property
    def callback(self) -> CallbackServer:
        return self._server

    async def start(self) -> str:
        """Opens the callback server; the URL to open in the browser."""
        await self._server.start()
        return with_query(
            f"{self.site}/auth",
            {
                "callback_url": self._server.redirect_uri,
                "code_challenge": self.pkce.challenge,
                "code_challenge_method": self.pkce.method,
            },
        )

    async def wait_code(self) -> str:
        return await self._server.wait_code()

    async def aclose(self) -> None:
        await self._server.close()

    async def exchange(self, code: str, post: PostJson) -> str:
        body = await post(
            f"{self.api}/auth/keys",
            {
                "code": code,
                "code_verifier": self.pkce.verifier,
                "code_challenge_method": self.pkce.method,
            },
        )
        answer = parse_answer(body)
        raise_answer_error(answer)
        key = answer.get("key")
        if not isinstance(key, str) or not key:
            raise OAuthError("bad_answer", "OpenRouter's answer has no key")
        register_secret(key)
        return key
