"""Google OAuth access tokens for Vertex AI, from google-auth.

Credentials come from a configured service-account (or other ADC) JSON
file, else GOOGLE_APPLICATION_CREDENTIALS, else google-auth's default chain
(gcloud's application-default login, the metadata server). google-auth is
synchronous and slow to import, so it is imported on the first request and
every refresh runs in a worker thread. A token is reused until shortly
before it expires; `invalidate()` (after a 401) forces a fresh one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError
from ..wire.http import FetchJson, HttpRequest
from .credential_chains import CachedLook, google_credentials_source
from .redact import register_secret

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
REFRESH_MARGIN_S = 300.0
DEFAULT_LIFETIME_S = 3000.0
TOKEN_TIMEOUT_S = 30.0
ADC_HINT = (
    "set the provider's credentials_file, GOOGLE_APPLICATION_CREDENTIALS,"
    " or run `gcloud auth application-default login`"
)


class GoogleAuthenticator:
    """Adds `Authorization: Bearer <token>` to a request; one per provider."""

    def __init__(
        self,
        provider: str,
        credentials_file: str | None = None,
        scopes: tuple[str, ...] = (CLOUD_PLATFORM,),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._provider = provider
        self._file = credentials_file
        self._scopes = scopes
        self._credentials: Any = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        chain_environ = os.environ if environ is None else environ
        self._look = CachedLook(lambda: google_credentials_source(self._file, chain_environ))

    @classmethod
    def from_environ(
        cls, provider: str, configured_file: str | None, environ: Mapping[str, str]
    ) -> GoogleAuthenticator:
        chosen = configured_file or environ.get("GOOGLE_APPLICATION_CREDENTIALS") or None
        file = str(Path(chosen).expanduser()) if chosen else None
        return cls(provider, file, environ=environ)

    def credentials_source(self) -> str | None:
        """Where the credentials are, found without a network call (never the metadata
        server): the file, or gcloud's application-default credentials."""
        if self._credentials is not None:
            return "Google application-default credentials"
        return self._look()

    def __repr__(self) -> str:
        return f"GoogleAuthenticator({self._provider!r}, file={self._file!r})"

    async def authorize(self, request: HttpRequest, fetch_json: FetchJson) -> HttpRequest:
        token = await self.token()
        headers = {**request.headers, "authorization": f"Bearer {token}"}
        return dataclasses.replace(request, headers=headers)

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = 0.0

    async def token(self) -> str:
        async with self._lock:
            token = self._token
            if token is not None and time.time() < self._expires_at - REFRESH_MARGIN_S:
                return token
            fresh, self._expires_at = await asyncio.to_thread(self._refresh)
            self._token = fresh
            return fresh

    def _refresh(self) -> tuple[str, float]:
        from google.auth import exceptions

        try:
            if self._credentials is None:
                self._credentials = self._load()
            self._credentials.refresh(_HttpxRequest())
        except exceptions.DefaultCredentialsError as error:
            raise self._failure(f"no Google credentials ({error}); {ADC_HINT}") from None
        except exceptions.RefreshError as error:
            raise self._failure(f"the Google token refresh was refused: {error}") from None
        except exceptions.TransportError as error:
            raise ProviderError(
                ErrorCode.NETWORK,
                f"{self._provider}: could not reach Google's token endpoint: {error}",
                provider=self._provider,
            ) from None
        token = self._credentials.token
        if not isinstance(token, str) or not token:
            raise self._failure("Google's token endpoint answered without an access token")
        register_secret(token)
        return token, _expiry(self._credentials.expiry)

    def _load(self) -> Any:
        import google.auth
        from google.oauth2 import service_account

        if self._file is None:
            credentials, _project = google.auth.default(scopes=list(self._scopes))
            return credentials
        try:
            info = json.loads(Path(self._file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not JSON"
            raise self._failure(
                f"cannot read the credentials file {self._file}: {reason}"
            ) from None
        if isinstance(info, dict) and info.get("type") == "service_account":
            try:
                return service_account.Credentials.from_service_account_file(
                    self._file, scopes=list(self._scopes)
                )
            except (ValueError, KeyError) as error:
                raise self._failure(
                    f"the service-account file {self._file} is not usable: {error}"
                ) from None
        credentials, _project = google.auth.load_credentials_from_file(
            self._file, scopes=list(self._scopes)
        )
        return credentials

    def _failure(self, message: str) -> ProviderError:
        return ProviderError(
            ErrorCode.AUTHENTICATION_FAILED,
            f"{self._provider}: {message}",
            provider=self._provider,
            suggestion=ADC_HINT,
        )


def _expiry(expiry: Any) -> float:
    """google-auth's expiry is a naive UTC datetime (or None when the lifetime is unknown)."""
    if expiry is None:
        return time.time() + DEFAULT_LIFETIME_S
    import calendar

    return float(calendar.timegm(expiry.timetuple()))


class _HttpxRequest:
    """google-auth's transport interface over a short-lived synchronous httpx client."""

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        import httpx
        from google.auth import exceptions

        try:
            with httpx.Client(timeout=timeout or TOKEN_TIMEOUT_S) as client:
                response = client.request(method, url, content=body, headers=dict(headers or {}))
        except httpx.HTTPError as error:
            raise exceptions.TransportError(str(error)) from None
        return _HttpxResponse(response.status_code, dict(response.headers), response.content)


@dataclasses.dataclass
class _HttpxResponse:
    status: int
    headers: dict[str, str]
    data: bytes
