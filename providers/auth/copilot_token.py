"""GitHub Copilot's token exchange: a GitHub OAuth token buys a short-lived Copilot token.

`GET {github_api}/copilot_internal/v2/token` with `Authorization: token <gh>`
answers `{token, expires_at, refresh_in, endpoints: {api}}`. The Copilot
token (about 30 minutes) authorizes the chat and model-list requests, which
go to `endpoints.api`. It is kept in memory only, fetched again shortly
before it expires or after the provider answered 401 (`invalidate`).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchboard.protocol.errors import ErrorCode

from ..base import join_url
from ..errors import ProviderError
from ..wire.http import FetchJson, HttpRequest
from .redact import register_secret

GITHUB_API = "https://api.github.com"
COPILOT_API = "https://api.githubcopilot.com"
#: Inline completions' host for individual plans; the exchange names each account's.
COPILOT_PROXY = "https://proxy.individual.githubcopilot.com"
TOKEN_PATH = "copilot_internal/v2/token"
TOKEN_ENV = "GITHUB_COPILOT_TOKEN"
#: Fetch a new token this long before the old one expires.
EXPIRY_MARGIN_S = 120.0
#: A short-lived token is refreshed when this share of its life is left, if that is sooner.
EXPIRY_MARGIN_SHARE = 0.25
#: Even a token that claims to expire sooner is reused for this long (no exchange storm).
MIN_REUSE_S = 1.0
#: When the answer gives neither expires_at nor refresh_in.
DEFAULT_LIFETIME_S = 600.0

_PROXY_ENDPOINT = re.compile(r"(?:^|;)proxy-ep=([A-Za-z0-9.-]+)")


@dataclass(frozen=True)
class CopilotToken:
    secret: str = field(repr=False)
    refresh_at: float
    api_url: str
    proxy_url: str = COPILOT_PROXY


def github_api_url(enterprise_host: str | None) -> str:
    """api.github.com, or the API host of a GitHub Enterprise (ghe.com) account."""
    if not enterprise_host:
        return GITHUB_API
    host = re.sub(r"^https?://", "", enterprise_host).strip("/")
    return f"https://api.{host}"


def parse_token(answer: Any, now: float, provider: str) -> CopilotToken:
    """The exchange's JSON answer as a CopilotToken; a malformed one is a provider failure."""
    secret = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(secret, str) or not secret:
        raise ProviderError(
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{provider}: the Copilot token exchange answered without a token",
            provider=provider,
        )
    register_secret(secret)
    return CopilotToken(
        secret, _refresh_at(answer, now), _api_url(answer, secret), _proxy_url(answer, secret)
    )


def _refresh_at(answer: dict[str, Any], now: float) -> float:
    candidates: list[float] = []
    refresh_in = _number(answer.get("refresh_in"))
    if refresh_in is not None:
        candidates.append(now + refresh_in)
    expires_at = _number(answer.get("expires_at"))
    if expires_at is not None:
        margin = min(EXPIRY_MARGIN_S, max(expires_at - now, 0.0) * EXPIRY_MARGIN_SHARE)
        candidates.append(expires_at - margin)
    when = min(candidates) if candidates else now + DEFAULT_LIFETIME_S
    return max(when, now + MIN_REUSE_S)


def _api_url(answer: dict[str, Any], secret: str) -> str:
    endpoints = answer.get("endpoints")
    api = endpoints.get("api") if isinstance(endpoints, dict) else None
    if isinstance(api, str) and api.startswith(("https://", "http://")):
        return api.rstrip("/")
    # Older answers carry the endpoint only inside the token: proxy-ep=proxy.<host>.
    match = _PROXY_ENDPOINT.search(secret)
    if match and match.group(1).startswith("proxy."):
        return "https://api." + match.group(1).removeprefix("proxy.")
    return COPILOT_API


def _proxy_url(answer: dict[str, Any], secret: str) -> str:
    endpoints = answer.get("endpoints")
    proxy = endpoints.get("proxy") if isinstance(endpoints, dict) else None
    if isinstance(proxy, str) and proxy.startswith(("https://", "http://")):
        return proxy.rstrip("/")
    match = _PROXY_ENDPOINT.search(secret)
    if match and match.group(1).startswith("proxy."):
        return "https://" + match.group(1)
    return COPILOT_PROXY


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class CopilotAuthenticator:
    """Exchanges the GitHub token, caches the Copilot token, and authorizes requests.

    Requests are built against `default_api`; unless the config names a
    base_url, the authenticator moves them to the API the exchange named.
    """

    def __init__(
        self,
        github_token: str,
        *,
        provider: str,
        token_url: str,
        headers: Mapping[str, str],
        default_api: str = COPILOT_API,
        configured_api: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._github_token = github_token
        self._provider = provider
        self._token_url = token_url
        self._headers = dict(headers)
        self._default_api = default_api.rstrip("/")
        self._configured_api = configured_api
        self._clock = clock
        self._token: CopilotToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<CopilotAuthenticator {self._provider} via {self._token_url}>"

    async def authorize(self, request: HttpRequest, fetch_json: FetchJson) -> HttpRequest:
        token = await self.token(fetch_json)
        url = request.url
        if self._configured_api is None and url.startswith(self._default_api):
            url = token.api_url + url[len(self._default_api) :]
        elif self._configured_api is None and url.startswith(COPILOT_PROXY):
            url = token.proxy_url + url[len(COPILOT_PROXY) :]  # inline completions
        headers = {**request.headers, "Authorization": f"Bearer {token.secret}"}
        return HttpRequest(
            request.method,
            url,
            headers=headers,
            json=request.json,
            content=request.content,
            params=request.params,
        )

    def invalidate(self) -> None:
        self._token = None

    async def token(self, fetch_json: FetchJson) -> CopilotToken:
        async with self._lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = await self._exchange(fetch_json)
                self._token = token
            return token

    async def _exchange(self, fetch_json: FetchJson) -> CopilotToken:
        request = HttpRequest(
            "GET",
            self._token_url,
            headers={
                **self._headers,
                "Accept": "application/json",
                "Authorization": f"token {self._github_token}",
            },
        )
        try:
            answer = await fetch_json(request)
        except ProviderError as error:
            raise self._exchange_error(error) from None
        return parse_token(answer, self._clock(), self._provider)

    def _exchange_error(self, error: ProviderError) -> ProviderError:
        if error.code == ErrorCode.AUTHENTICATION_FAILED:
            return ProviderError(
                ErrorCode.AUTHENTICATION_FAILED,
                f"{self._provider}: GitHub rejected the token for Copilot: {error.message}",
                provider=self._provider,
                status=error.status,
                suggestion=(
                    "sign in again with `switchboard login copilot` "
                    f"(or set {TOKEN_ENV} to a GitHub OAuth token of an account with Copilot)"
                ),
            )
        if error.status in (403, 404):
            return ProviderError(
                ErrorCode.PERMISSION_DENIED,
                f"{self._provider}: this GitHub account has no Copilot access: {error.message}",
                provider=self._provider,
                status=error.status,
                suggestion="check the account's Copilot subscription, or its organization policy",
            )
        return error


def token_url(api_url: str) -> str:
    return join_url(api_url, TOKEN_PATH)
