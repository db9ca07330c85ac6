"""GitHub's device flow (RFC 8628) for signing in to Copilot.

`start()` asks GitHub for a device code: the user opens `verification_uri`
and types `user_code`. `wait()` then polls the token endpoint at GitHub's
interval until the user has authorized (an AccessToken), refused, or the code
expired (GitHubOAuthError). The HTTP POST is injected (`post`), so this
module does no I/O of its own; `post_form_with(client)` builds it on httpx.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

from .github_oauth import (
    AccessToken,
    DeviceCode,
    GitHubOAuthError,
    Pending,
    device_code,
    poll,
)
from .oauth_web import PostForm, post_form_with
from .redact import register_secret

__all__ = [
    "COPILOT_CLIENT_ID",
    "COPILOT_SCOPE",
    "GITHUB_HOST",
    "AccessToken",
    "DeviceCode",
    "DeviceFlow",
    "GitHubOAuthError",
    "github_login_url",
    "post_form_with",
]

#: The OAuth app GitHub's Copilot editor plugins sign in with.
COPILOT_CLIENT_ID = "Iv1.b507a08c87ecfe98"
COPILOT_SCOPE = "read:user"
GITHUB_HOST = "github.com"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
MIN_INTERVAL_S = 1

_DESCRIPTIONS = {
    "expired_token": "the device code expired before the sign-in was approved; start again",
    "access_denied": "the sign-in was refused on GitHub",
    "device_flow_disabled": "this GitHub OAuth app does not allow the device flow",
    "incorrect_client_credentials": "GitHub does not know this client id",
    "incorrect_device_code": "GitHub does not know this device code; start again",
    "unsupported_grant_type": "GitHub refused the grant type",
}

Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


def github_login_url(host: str) -> str:
    """`https://{host}` for github.com or an enterprise host; a full URL is kept (tests)."""
    host = host.strip().rstrip("/")
    return host if re.match(r"^https?://", host) else f"https://{host}"


class DeviceFlow:
    def __init__(
        self,
        *,
        post: PostForm,
        host: str = GITHUB_HOST,
        client_id: str = COPILOT_CLIENT_ID,
        scope: str = COPILOT_SCOPE,
    ) -> None:
        base = github_login_url(host)
        self.device_code_url = f"{base}/login/device/code"
        self.token_url = f"{base}/login/oauth/access_token"
        self.client_id = client_id
        self.scope = scope
        self._post = post
        self._code: DeviceCode | None = None

    def __repr__(self) -> str:
        return f"<DeviceFlow {self.device_code_url} client={self.client_id}>"

    @property
    def code(self) -> DeviceCode | None:
        return self._code

    async def start(self) -> DeviceCode:
        body = await self._post(
            self.device_code_url, {"client_id": self.client_id, "scope": self.scope}
        )
        try:
            code = device_code(body)
        except GitHubOAuthError as error:
            raise _explained(error) from None
        register_secret(code.device_code)
        self._code = code
        return code

    async def wait(
        self, sleep: Sleep = asyncio.sleep, clock: Clock = time.monotonic
    ) -> AccessToken:
        """Polls until the user approves; GitHubOAuthError when refused or expired."""
        code = self._code
        if code is None:
            raise RuntimeError("start() the device flow before waiting for it")
        deadline = clock() + code.expires_in
        interval = max(code.interval, MIN_INTERVAL_S)
        form = {
            "client_id": self.client_id,
            "device_code": code.device_code,
            "grant_type": DEVICE_GRANT,
        }
        while True:
            if clock() + interval > deadline:
                raise _explained(GitHubOAuthError("expired_token"))
            await sleep(interval)
            body = await self._post(self.token_url, form)
            try:
                outcome = poll(body, interval)
            except GitHubOAuthError as error:
                raise _explained(error) from None
            if isinstance(outcome, Pending):
                interval = max(outcome.interval, MIN_INTERVAL_S)
                continue
            register_secret(outcome.token)
            return outcome


def _explained(error: GitHubOAuthError) -> GitHubOAuthError:
    if error.description:
        return error
    return GitHubOAuthError(error.code, _DESCRIPTIONS.get(error.code, "GitHub ended the sign-in"))
