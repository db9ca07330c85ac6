"""Provider failures, normalized to PROTOCOL.md's error codes.

Each adapter extracts (message, error type) from its own error body; the
mapping from status and wording to a normalized code lives here, once.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from switchboard.protocol.errors import ErrorCode, ErrorData

from .auth.redact import MASK, redact

_CONTEXT_LENGTH = re.compile(
    r"prompt is too long|context[_ ]length|maximum context|context window|too many tokens"
    r"|input is too long|input too long|token limit|exceeds? the (?:max|limit)"
    r"|reduce the length|too large for model|input length",
    re.IGNORECASE,
)
_CONTENT_FILTER = re.compile(
    r"content[_ ]?filter|content management policy|responsible ai|safety system"
    r"|blocked by|flagged",
    re.IGNORECASE,
)
_UNKNOWN_MODEL = re.compile(
    r"model[_ ]not[_ ]found|no such model|unknown model|does not exist|not_found_error.*model"
    r"|model: |invalid model|is not a valid model|is not found|model identifier is invalid",
    re.IGNORECASE,
)
_OVERLOADED = re.compile(r"overloaded|unavailable|capacity", re.IGNORECASE)

RETRYABLE = frozenset(
    {ErrorCode.RATE_LIMITED, ErrorCode.PROVIDER_UNAVAILABLE, ErrorCode.NETWORK, ErrorCode.TIMEOUT}
)
#: the most of a provider's error body that errors carry (`providerError`)
MAX_PROVIDER_ERROR_CHARS = 16 * 1024
_CREDENTIAL_KEY = re.compile(
    r"(?i)^(?:x-)?(?:authorization|api[-_]?key|secret|client[-_]?secret|password|token"
    r"|(?:access|refresh|id|session)[-_]?token|credentials?|signature|cookie)$"
)


class ProviderError(Exception):
    """A normalized provider or routing failure; its text is always redacted."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after_ms: int | None = None,
        suggestion: str | None = None,
        supported: list[str] | None = None,
        retryable: bool | None = None,
        capability: str | None = None,
        estimated_cost_usd: float | None = None,
        limit_usd: float | None = None,
        spent_usd: float | None = None,
    ) -> None:
        self.code = code
        self._retryable = retryable
        self.message = redact(message)
        self.provider = provider
        self.status = status
        self.retry_after_ms = retry_after_ms
        self.suggestion = redact(suggestion) if suggestion else None
        self.supported = supported
        self.capability = capability
        self.estimated_cost_usd = estimated_cost_usd
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.provider_error: Any = None
        super().__init__(self.message)

    def with_body(self, body: bytes | Any) -> ProviderError:
        """This error, carrying the provider's raw error body (redacted) as `providerError`."""
        self.provider_error = provider_error_body(body)
        return self

    @property
    def retryable(self) -> bool:
        """Worth another try; a used-up quota is rate-limited but retrying cannot help."""
        return self.code in RETRYABLE if self._retryable is None else self._retryable

    def data(self) -> ErrorData:
        return ErrorData(
            code=self.code,
            provider=self.provider,
            status=self.status,
            retry_after_ms=self.retry_after_ms,
            suggestion=self.suggestion,
            supported=self.supported,
            capability=self.capability,
            estimated_cost_usd=self.estimated_cost_usd,
            limit_usd=self.limit_usd,
            spent_usd=self.spent_usd,
            provider_error=self.provider_error,
        )


def classify(status: int | None, message: str, error_type: str | None = None) -> ErrorCode:
    """The normalized code for an HTTP status and the provider's own wording."""
    wording = f"{error_type or ''} {message}"
    if _CONTEXT_LENGTH.search(wording) and status in (None, 400, 413, 422):
        return ErrorCode.CONTEXT_LENGTH_EXCEEDED
    if status == 401:
        return ErrorCode.AUTHENTICATION_FAILED
    if status == 403:
        return ErrorCode.PERMISSION_DENIED
    if status == 404:
        return (
            ErrorCode.UNKNOWN_MODEL if _UNKNOWN_MODEL.search(wording) else ErrorCode.INVALID_REQUEST
        )
    if status in (408, 504):
        return ErrorCode.TIMEOUT
    if status == 413:
        return ErrorCode.CONTEXT_LENGTH_EXCEEDED
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status is not None and (status >= 500 or status == 529):
        return ErrorCode.PROVIDER_UNAVAILABLE
    if status is None:
        return _classify_in_stream(wording)
    if _CONTENT_FILTER.search(wording):
        return ErrorCode.CONTENT_FILTERED
    if _UNKNOWN_MODEL.search(wording) and "model" in wording.lower():
        return ErrorCode.UNKNOWN_MODEL
    if status in (400, 422):
        return ErrorCode.INVALID_REQUEST
    return ErrorCode.UNKNOWN  # a status none of the rules above knows (409, 418, 451, ...)


def _classify_in_stream(wording: str) -> ErrorCode:
    """An error that arrived inside a 200 stream has only its words to go by."""
    lowered = wording.lower()
    if "rate_limit" in lowered or "rate limit" in lowered or "quota" in lowered:
        return ErrorCode.RATE_LIMITED
    if _OVERLOADED.search(wording) or "api_error" in lowered or "server_error" in lowered:
        return ErrorCode.PROVIDER_UNAVAILABLE
    if "authentication" in lowered or "invalid api key" in lowered:
        return ErrorCode.AUTHENTICATION_FAILED
    if "permission" in lowered:
        return ErrorCode.PERMISSION_DENIED
    if _CONTENT_FILTER.search(wording):
        return ErrorCode.CONTENT_FILTERED
    if "timeout" in lowered or "timed out" in lowered:
        return ErrorCode.TIMEOUT
    return ErrorCode.INVALID_REQUEST if "invalid" in lowered else ErrorCode.PROVIDER_UNAVAILABLE


def retry_after_ms(headers: Mapping[str, str]) -> int | None:
    """Milliseconds to wait, from `retry-after-ms` or `retry-after` (seconds or a date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0, int(float(raw_ms)))
        except (ValueError, OverflowError):
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(0, int(float(raw) * 1000))
    except (ValueError, OverflowError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0, int((when.timestamp() - time.time()) * 1000))


def provider_error_body(body: bytes | Any) -> Any:
    """A provider's error body for the client to see: its JSON, else its text, with every
    string redacted and every value under a credential-like key masked."""
    if not isinstance(body, bytes):
        return _redacted_json(body)
    text = body[:MAX_PROVIDER_ERROR_CHARS].decode("utf-8", errors="replace")
    try:
        parsed = json_body(body) if len(body) <= MAX_PROVIDER_ERROR_CHARS else None
        if parsed is not None:
            return _redacted_json(parsed)
    except RecursionError:  # nested past what is worth showing: the text will do
        pass
    return redact(text) or None


def _redacted_json(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted_json(item) for item in value]
    if isinstance(value, dict):
        return {
            redact(str(key)): MASK
            if isinstance(item, str) and item and _CREDENTIAL_KEY.match(str(key))
            else _redacted_json(item)
            for key, item in value.items()
        }
    return value


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def http_error(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    message: str,
    error_type: str | None = None,
) -> ProviderError:
    """The ProviderError for a non-2xx answer, given the message the adapter found."""
    code = classify(status, message, error_type)
    wait = retry_after_ms(headers) if code in RETRYABLE else None
    return ProviderError(
        code,
        f"{provider}: {message}" if message else f"{provider}: HTTP {status}",
        provider=provider,
        status=status,
        retry_after_ms=wait,
        suggestion=_suggestion(code, provider),
    )


def _suggestion(code: ErrorCode, provider: str) -> str | None:
    if code == ErrorCode.AUTHENTICATION_FAILED:
        return f"check the API key for {provider} (switchboard doctor shows where it comes from)"
    if code == ErrorCode.CONTEXT_LENGTH_EXCEEDED:
        return "shorten the conversation or pick a model with a larger context window"
    if code == ErrorCode.RATE_LIMITED:
        return "wait and try again, or use another model"
    return None
