"""Sign-in methods: `switchboard/signIn`, `signInComplete`, `signOut`, `setApiKey`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from .base import Params, WireModel


class SignInParams(Params):
    provider: str
    method: Literal["apiKey", "device", "oauth"] | None = None


class SignInResult(WireModel):
    status: Literal["signedIn", "pending", "signedOut", "expired", "failed"]
    account: str | None = None
    flow_id: str | None = None
    user_code: str | None = None
    verification_uri: str | None = None
    auth_url: str | None = None
    callback_url: str | None = Field(
        default=None, description="the loopback URL the browser returns to (oauth flows)"
    )
    callback_port: int | None = Field(
        default=None, description="the loopback port of callbackUrl, e.g. to forward it"
    )
    expires_in: int | None = None
    message: str | None = None


class SignInCompleteParams(Params):
    flow_id: str


class SignOutParams(Params):
    provider: str


class SetApiKeyParams(Params):
    provider: str
    api_key: SecretStr = Field(min_length=1)


class SetApiKeyResult(WireModel):
    status: Literal["signedIn", "failed"]
    verified: bool | None = None
    message: str | None = None
