"""Normalized error codes and the JSON-RPC error data that carries them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

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
    #: a request's worst-case cost is over its maxCostUsd (RequestFailed, -32803)
    COST_LIMIT_EXCEEDED = "costLimitExceeded"
    #: the session has spent its configured budget (RequestFailed, -32803)
    BUDGET_EXCEEDED = "budgetExceeded"
    UNKNOWN = "unknown"


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
    capability: str | None = Field(
        default=None, description="unsupported: the capability the model lacks (images, tools)"
    )
    estimated_cost_usd: float | None = Field(
        default=None, description="costLimitExceeded: the request's worst-case cost"
    )
    limit_usd: float | None = Field(
        default=None, description="the maxCostUsd or session budget that refused the request"
    )
    spent_usd: float | None = Field(
        default=None, description="budgetExceeded: what the session has spent"
    )
    provider_error: Any = Field(
        default=None,
        description="the provider's error body as it sent it (JSON, else text), secrets redacted",
    )
