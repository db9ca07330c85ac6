"""Tokens from a config-declared OAuth sign-in: kept in the credential store, refreshed in time.

The record (access token, refresh token, expiry) is one JSON secret under the
provider's `oauth` account. The authenticator puts the access token on every
request and, shortly before it expires or after a 401, trades the refresh
token for new tokens and stores them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError
from ..wire.http import FetchJson, HttpRequest
from .oauth_web import OAuthTokens, tokens_from_answer
from .redact import register_secret

if TYPE_CHECKING:
    from .credential_store import CredentialStore
    from .oauth_config import OAuthSettings

OAUTH_ACCOUNT = "oauth"
#: Refresh this long before the access token expires.
EXPIRY_MARGIN_S = 60.0


@dataclass(frozen=True)
class TokenRecord:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None

    @classmethod
    def issued(cls, tokens: OAuthTokens, now: float) -> TokenRecord:
        expires_at = now + tokens.expires_in if tokens.expires_in else None
        return cls(tokens.access_token, tokens.refresh_token, expires_at)

    def dumps(self) -> str:
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at,
            }
        )

    @classmethod
    def loads(cls, text: str) -> TokenRecord | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            return None
        refresh = data.get("refresh_token")
        expires_at = data.get("expires_at")
        register_secret(data["access_token"])
        register_secret(refresh if isinstance(refresh, str) else None)
        return cls(
            data["access_token"],
            refresh if isinstance(refresh, str) else None,
            float(expires_at) if isinstance(expires_at, int | float) else None,
        )

    def due(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at - EXPIRY_MARGIN_S


def stored_record(store: CredentialStore, provider: str) -> TokenRecord | None:
    text = store.get(provider, OAUTH_ACCOUNT)
    return TokenRecord.loads(text) if text else None


def store_record(store: CredentialStore, provider: str, record: TokenRecord) -> None:
    store.set(provider, record.dumps(), OAUTH_ACCOUNT)


class OAuthAuthenticator:
    """Bearer access token from the stored record; refreshed before expiry and once on a 401."""

    def __init__(
        self,
        provider: str,
        oauth: OAuthSettings,
        store: CredentialStore,
        environ: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._provider = provider
        self._oauth = oauth
        self._store = store
        self._environ = environ
        self._clock = clock
        self._record = stored_record(store, provider)
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<OAuthAuthenticator {self._provider} via {self._oauth.token_url}>"

    @property
    def signed_in(self) -> bool:
        return self._record is not None

    async def authorize(self, request: HttpRequest, fetch_json: FetchJson) -> HttpRequest:
        record = await self._current(fetch_json)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() != "authorization"
        }
        headers["Authorization"] = f"Bearer {record.access_token}"
        return HttpRequest(
            request.method,
            request.url,
            headers=headers,
            json=request.json,
            content=request.content,
            params=request.params,
        )

    def invalidate(self) -> None:
        record = self._record
        if record is not None and record.refresh_token:
            self._record = TokenRecord(record.access_token, record.refresh_token, 0.0)

    async def _current(self, fetch_json: FetchJson) -> TokenRecord:
        async with self._lock:
            record = self._record
            if record is None:
                raise self._signed_out("not signed in")
            if record.due(self._clock()):
                if not record.refresh_token:
                    raise self._signed_out("the sign-in expired")
                record = await self._refresh(record.refresh_token, fetch_json)
                self._record = record
                store_record(self._store, self._provider, record)
            return record

    async def _refresh(self, refresh_token: str, fetch_json: FetchJson) -> TokenRecord:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self._oauth.client_id,
        }
        secret = self._client_secret()
        if secret:
            form["client_secret"] = secret
        request = HttpRequest(
            "POST",
            self._oauth.token_url,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            content=urlencode(form).encode(),
        )
        try:
            answer = await fetch_json(request)
            tokens = tokens_from_answer(answer if isinstance(answer, dict) else {})
        except ProviderError as error:
            if error.code in (ErrorCode.NETWORK, ErrorCode.TIMEOUT):
                raise
            raise self._signed_out(f"the refresh was refused ({error.message})") from None
        except ValueError as error:  # OAuthError
            raise self._signed_out(f"the refresh was refused ({error})") from None
        if tokens.refresh_token is None:
            tokens = OAuthTokens(
                tokens.access_token, refresh_token, tokens.expires_in, tokens.token_type
            )
        return TokenRecord.issued(tokens, self._clock())

    def _client_secret(self) -> str | None:
        name = self._oauth.client_secret_env
        return self._environ.get(name) if name else None

    def _signed_out(self, why: str) -> ProviderError:
        return ProviderError(
            ErrorCode.AUTHENTICATION_FAILED,
            f"{self._provider}: {why}",
            provider=self._provider,
            suggestion=f"sign in again: switchboard login {self._provider}",
        )
