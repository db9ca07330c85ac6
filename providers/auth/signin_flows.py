"""The interactive sign-ins a provider offers, behind one small interface.

A flow is started (`start()` gives what the user must see: a device code and
where to type it, or a URL to open), then finished (`finish()` waits for the
user and returns the secret to store), and always closed. Three flows exist:
GitHub's device flow (Copilot), OpenRouter's PKCE key flow, and the generic
OAuth authorization-code flow of a provider declared with an `oauth` table.
The HTTP POSTs are injected, so nothing here opens a connection itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .credential_store import DEFAULT_ACCOUNT
from .device_flow import DeviceFlow
from .oauth_config import OAuthSettings
from .oauth_tokens import OAUTH_ACCOUNT, TokenRecord
from .oauth_web import PostForm, PostJson, WebFlow
from .openrouter_oauth import OpenRouterKeyFlow

FlowMethod = Literal["device", "oauth"]


@dataclass(frozen=True)
class Prompt:
    """What the user must do: type `user_code` at `verification_uri`, or open `auth_url`."""

    method: FlowMethod
    expires_in: int
    user_code: str | None = None
    verification_uri: str | None = None
    auth_url: str | None = None
    #: The loopback callback of a browser flow, for a client that must forward or allow it.
    callback_url: str | None = None
    callback_port: int | None = None

    @property
    def url(self) -> str:
        return self.auth_url or self.verification_uri or ""


@dataclass(frozen=True)
class Obtained:
    """The secret a finished flow yields, and the store account it belongs under."""

    secret: str = field(repr=False)
    account: str = DEFAULT_ACCOUNT


class InteractiveFlow(Protocol):
    method: FlowMethod

    async def start(self) -> Prompt: ...

    async def finish(self) -> Obtained: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class FlowHttp:
    post_form: PostForm
    post_json: PostJson


class GitHubDeviceSignIn:
    method: FlowMethod = "device"

    def __init__(self, http: FlowHttp, host: str) -> None:
        self._flow = DeviceFlow(post=http.post_form, host=host)

    def __repr__(self) -> str:
        return f"<GitHubDeviceSignIn {self._flow.device_code_url}>"

    async def start(self) -> Prompt:
        code = await self._flow.start()
        return Prompt(
            "device",
            code.expires_in,
            user_code=code.user_code,
            verification_uri=code.verification_uri,
        )

    async def finish(self) -> Obtained:
        token = await self._flow.wait()
        return Obtained(token.token)

    async def aclose(self) -> None:
        return None


class OpenRouterSignIn:
    method: FlowMethod = "oauth"

    def __init__(self, http: FlowHttp, *, site: str, api: str) -> None:
        self._flow = OpenRouterKeyFlow(site=site, api=api)
        self._post = http.post_json

    def __repr__(self) -> str:
        return f"<OpenRouterSignIn {self._flow.site}>"

    async def start(self) -> Prompt:
        url = await self._flow.start()
        callback = self._flow.callback
        return Prompt(
            "oauth",
            int(callback.timeout_s),
            auth_url=url,
            callback_url=callback.redirect_uri,
            callback_port=callback.port,
        )

    async def finish(self) -> Obtained:
        code = await self._flow.wait_code()
        return Obtained(await self._flow.exchange(code, self._post))

    async def aclose(self) -> None:
        await self._flow.aclose()


class ConfiguredOAuthSignIn:
    method: FlowMethod = "oauth"

    def __init__(
        self,
        http: FlowHttp,
        oauth: OAuthSettings,
        environ: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret = environ.get(oauth.client_secret_env) if oauth.client_secret_env else None
        self._flow = WebFlow(
            oauth.authorize_url,
            oauth.token_url,
            oauth.client_id,
            oauth.scopes,
            redirect_path=oauth.redirect_path,
            extra_params=oauth.params,
            client_secret=secret,
            timeout_s=oauth.timeout_s,
        )
        self._post = http.post_form
        self._clock = clock

    def __repr__(self) -> str:
        return f"<ConfiguredOAuthSignIn {self._flow.authorize_url}>"

    async def start(self) -> Prompt:
        started = await self._flow.begin()
        return Prompt(
            "oauth",
            int(self._flow.callback.timeout_s),
            auth_url=started.auth_url,
            callback_url=started.callback_url,
            callback_port=started.callback_port,
        )

    async def finish(self) -> Obtained:
        code = await self._flow.wait_code()
        tokens = await self._flow.exchange(code, self._post)
        return Obtained(TokenRecord.issued(tokens, self._clock()).dumps(), OAUTH_ACCOUNT)

    async def aclose(self) -> None:
        await self._flow.aclose()
