"""Microsoft Entra ID bearer tokens for Azure OpenAI (`auth = "entra"`).

The token comes from azure-identity's DefaultAzureCredential (environment,
workload or managed identity, Azure CLI, ...). azure-identity is an optional
extra, imported only when a provider asks for Entra ID. A token is reused
until shortly before it expires, and dropped when Azure answers 401.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any, Protocol

from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError
from ..wire.http import FetchJson, HttpRequest
from .redact import redact, register_secret

SCOPE = "https://cognitiveservices.azure.com/.default"
REFRESH_BEFORE_EXPIRY_S = 300.0
INSTALL_HINT = (
    "install the azure extra: pip install 'switchboard-lsp[azure]' (it adds azure-identity)"
)
SIGN_IN_HINT = (
    "sign in with `az login`, set AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET,"
    ' or use auth = "key" with AZURE_OPENAI_API_KEY'
)
_MAX_REASON = 300
_KEY_HEADERS = frozenset({"api-key", "authorization"})


class TokenCredential(Protocol):
    """What azure-identity credentials offer: a blocking `get_token(scope)`."""

    def get_token(self, *scopes: str) -> Any: ...


def default_credential() -> TokenCredential:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise ProviderError(
            ErrorCode.AUTHENTICATION_FAILED,
            'azure: auth = "entra" needs the azure-identity package, which is not installed',
            provider="azure",
            suggestion=INSTALL_HINT,
        ) from None
    credential: TokenCredential = DefaultAzureCredential()
    return credential


class EntraAuthenticator:
    def __init__(
        self,
        credential_factory: Callable[[], TokenCredential] = default_credential,
        *,
        scope: str = SCOPE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._factory = credential_factory
        self._scope = scope
        self._clock = clock
        self._credential: TokenCredential | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def authorize(self, request: HttpRequest, fetch_json: FetchJson) -> HttpRequest:
        token = await self.token()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _KEY_HEADERS}
        headers["Authorization"] = f"Bearer {token}"
        return dataclasses.replace(request, headers=headers)

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = 0.0

    async def token(self) -> str:
        async with self._lock:
            if self._token is not None and self._clock() < self._expires_at:
                return self._token
            if self._credential is None:
                self._credential = self._factory()
            access = await self._fetch(self._credential)
            token, expires_on = getattr(access, "token", None), getattr(access, "expires_on", 0)
            if not isinstance(token, str) or not token:
                raise _failed("the credential returned no token")
            register_secret(token)
            self._token = token
            self._expires_at = float(expires_on or 0) - REFRESH_BEFORE_EXPIRY_S
            return token

    async def _fetch(self, credential: TokenCredential) -> Any:
        try:
            # azure-identity's sync credentials block (the CLI one runs `az`): off the loop.
            return await asyncio.to_thread(credential.get_token, self._scope)
        except ProviderError:
            raise
        except Exception as error:
            reason = " ".join(str(error).split())[:_MAX_REASON] or type(error).__name__
            raise _failed(redact(reason)) from None


def _failed(reason: str) -> ProviderError:
    return ProviderError(
        ErrorCode.AUTHENTICATION_FAILED,
        f"azure: Entra ID sign-in failed: {reason}",
        provider="azure",
        suggestion=SIGN_IN_HINT,
    )
