"""Normalized error codes and the JSON-RPC error data that carries them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from .base import WireModel
from .chat import ChatResult

INVALID_PARAMS = -32602
REQUEST_CANCELLED = -32800
REQUEST_FAILED = -32803


class ErrorCode(StrEnum):
    AUTHENTICATION_FAILED = "authenticationFailed"
    PERMISSION_DENIED = "permissionDenied"
    RATE_LIMITED = "rateLimited"
    INVALID_REQUEST = "invalidRequest"
    CONTEXT_LENGTH_EXCEEDED = "contextLengthExceeded"
    CONTENT_FILTERED = "contentFiltered"
    UNKNOWN_MODEL = "unknownModel"
    UNKNOWN_PROVIDER = "unknownProvider"
    PROVIDER_UNAVAILABLE = "providerUnavailable"
    TIMEOUT = "timeout"
    NETWORK = "network"
    UNSUPPORTED = "unsupported"
    SERVER_SHUTTING_DOWN = "serverShuttingDown"


class ErrorData(WireModel):
    """`data` of a RequestFailed (-32803) error. Never holds a credential."""

    code: ErrorCode
    provider: str | None = None
    status: int | None = None
    retry_after_ms: int | None = None
    suggestion: str | None = None
    supported: list[str] | None = None
    partial: ChatResult | None = Field(
        default=None, description="a chat's answer so far, when anything had streamed"
    )
