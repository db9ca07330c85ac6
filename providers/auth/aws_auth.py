"""AWS request authorization for Bedrock: SigV4 through botocore, or a Bedrock API key.

Credentials come from botocore's standard chain (`Session(profile=...)`):
environment variables, the shared credentials and config files and their
profiles, the SSO token cache, web identity, container and instance
metadata. The chain is resolved once and its credentials are frozen again
on every signature, so refreshable (temporary) credentials renew
themselves; `invalidate()` after a 401/403 resolves the chain anew.

A Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`) skips SigV4 and goes out as
`Authorization: Bearer`. botocore is imported only here and only when a
request is signed, so start-up never pays for it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from switchboard.protocol.errors import ErrorCode

from ..base import ProviderSettings, option
from ..errors import ProviderError
from ..wire.http import FetchJson, HttpRequest
from .credential_chains import CachedLook, aws_credentials_source
from .redact import register_secret

SIGNING_NAME = "bedrock"
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")
# Headers a previous signature left behind; SigV4 sets them afresh.
_SIGNATURE_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-security-token"})
_NO_REGION = (
    "bedrock: no AWS region: set `region` in [providers.bedrock], AWS_REGION,"
    " or a region in the AWS profile"
)


def text_option(settings: ProviderSettings, key: str) -> str | None:
    """A string option of the provider's config table, validated."""
    value = option(settings, key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ProviderError(
            ErrorCode.INVALID_REQUEST,
            f"bedrock: option '{key}' must be a non-empty string",
            provider=settings.id,
        )
    return value.strip()


def profile_name(settings: ProviderSettings, environ: Mapping[str, str]) -> str | None:
    return text_option(settings, "profile") or environ.get("AWS_PROFILE", "").strip() or None


def resolve_region(settings: ProviderSettings, environ: Mapping[str, str]) -> str | None:
    """The region: config `region`, then AWS_REGION / AWS_DEFAULT_REGION, then the profile's."""
    configured = text_option(settings, "region")
    if configured:
        return configured
    for name in REGION_ENVS:
        value = environ.get(name, "").strip()
        if value:
            return value
    return _profile_region(profile_name(settings, environ))


def require_region(settings: ProviderSettings, environ: Mapping[str, str]) -> str:
    region = resolve_region(settings, environ)
    if region is None:
        raise ProviderError(ErrorCode.INVALID_REQUEST, _NO_REGION, provider=settings.id)
    return region


def _profile_region(profile: str | None) -> str | None:
    from botocore.exceptions import BotoCoreError
    from botocore.session import Session

    try:
        region = Session(profile=profile).get_config_variable("region")
    except BotoCoreError:
        return None
    return region if isinstance(region, str) and region else None


class AwsAuthenticator:
    """Signs each request (SigV4, service "bedrock") or adds the Bedrock API key."""

    def __init__(
        self,
        settings: ProviderSettings,
        environ: Mapping[str, str],
        bearer_token: str | None = None,
    ) -> None:
        self._settings = settings
        self._environ = dict(environ)
        self._bearer = bearer_token
        self._credentials: Any = None
        self._region: str | None = None
        self._lock = threading.Lock()
        if bearer_token:
            register_secret(bearer_token)
        self._look = CachedLook(
            lambda: aws_credentials_source(profile_name(settings, self._environ), self._environ)
        )

    def __repr__(self) -> str:
        method = "api key" if self._bearer else "sigv4"
        return f"<AwsAuthenticator {self._settings.id} {method}>"

    async def authorize(self, request: HttpRequest, fetch_json: FetchJson) -> HttpRequest:
        if self._bearer:
            headers = _without_signature(request.headers)
            headers["Authorization"] = f"Bearer {self._bearer}"
            return HttpRequest(
                request.method, request.url, headers, request.json, request.content, request.params
            )
        # Resolving the chain can read files or call STS/SSO/IMDS: keep it off the event loop.
        return await asyncio.to_thread(self.sign, request)

    def invalidate(self) -> None:
        with self._lock:
            self._credentials = None

    def credentials_source(self) -> str | None:
        """Where the key or the chain's credentials are, found without a network call."""
        if self._bearer:
            return "a Bedrock API key"
        if self._credentials is not None:
            return "the AWS credential chain"
        return self._look()

    def sign(self, request: HttpRequest) -> HttpRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        frozen = self._frozen_credentials()
        url = request.url
        if request.params:
            url += ("&" if "?" in url else "?") + urlencode(request.params)
        body = request.body()
        aws_request = AWSRequest(
            method=request.method, url=url, data=body, headers=_without_signature(request.headers)
        )
        SigV4Auth(frozen, SIGNING_NAME, self.region()).add_auth(aws_request)
        return HttpRequest(request.method, url, dict(aws_request.headers.items()), content=body)

    def region(self) -> str:
        if self._region is None:
            self._region = require_region(self._settings, self._environ)
        return self._region

    def _frozen_credentials(self) -> Any:
        from botocore.exceptions import BotoCoreError

        self.region()  # a missing region is the clearer error: report it before the chain's
        try:
            with self._lock:
                if self._credentials is None:
                    self._credentials = self._resolve()
                credentials = self._credentials
            # Refreshable credentials renew here when they are about to expire.
            frozen = credentials.get_frozen_credentials()
        except BotoCoreError as error:
            raise self._failure(f"{type(error).__name__}: {error}") from None
        register_secret(frozen.secret_key)
        register_secret(frozen.token)
        return frozen

    def _resolve(self) -> Any:
        from botocore.session import Session

        profile = profile_name(self._settings, self._environ)
        credentials = Session(profile=profile).get_credentials()
        if credentials is None:
            where = f"profile '{profile}'" if profile else "the default AWS credential chain"
            raise self._failure(
                f"no AWS credentials found in {where} (environment, shared credentials and"
                " config files, SSO, web identity, container or instance metadata)"
            )
        return credentials

    def _failure(self, detail: str) -> ProviderError:
        return ProviderError(
            ErrorCode.AUTHENTICATION_FAILED,
            f"bedrock: {detail}",
            provider=self._settings.id,
            suggestion="set AWS credentials (aws configure, aws sso login, AWS_PROFILE)"
            " or a Bedrock API key in AWS_BEARER_TOKEN_BEDROCK",
        )


def _without_signature(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value for name, value in headers.items() if name.lower() not in _SIGNATURE_HEADERS
    }
