"""Normalizing provider failures: classify, retry_after_ms, http_error, ProviderError."""

from __future__ import annotations

import email.utils
import json
import time
import uuid

import pytest
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.auth.redact import MASK, register_secret
from switchboard.providers.errors import (
    ProviderError,
    classify,
    http_error,
    json_body,
    retry_after_ms,
)

from tests.corpus import WIRE


@pytest.mark.parametrize(
    ("status", "message", "error_type", "code"),
    [
        (400, "messages: roles must alternate", "invalid_request_error", ErrorCode.INVALID_REQUEST),
        (401, "invalid x-api-key", "authentication_error", ErrorCode.AUTHENTICATION_FAILED),
        (403, "Your API key does not have permission", None, ErrorCode.PERMISSION_DENIED),
        (404, "Not Found", None, ErrorCode.INVALID_REQUEST),
        (408, "Request Timeout", None, ErrorCode.TIMEOUT),
        (504, "Gateway Timeout", None, ErrorCode.TIMEOUT),
        (413, "Request Entity Too Large", "request_too_large", ErrorCode.CONTEXT_LENGTH_EXCEEDED),
        (429, "Number of requests exceeded", "rate_limit_error", ErrorCode.RATE_LIMITED),
        (500, "Internal server error", "api_error", ErrorCode.PROVIDER_UNAVAILABLE),
        (502, "Bad Gateway", None, ErrorCode.PROVIDER_UNAVAILABLE),
        (503, "Service Unavailable", None, ErrorCode.PROVIDER_UNAVAILABLE),
        (529, "Overloaded", "overloaded_error", ErrorCode.PROVIDER_UNAVAILABLE),
    ],
)
def test_classify_by_status(
    status: int, message: str, error_type: str | None, code: ErrorCode
) -> None:
    assert classify(status, message, error_type) == code


@pytest.mark.parametrize(
    ("status", "message", "error_type"),
    [
        (400, "prompt is too long: 215000 tokens > 200000 maximum", "invalid_request_error"),
        (
            400,
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 130000 tokens.",
            "invalid_request_error",
        ),
        (400, "Input tokens exceed the configured limit", "context_length_exceeded"),
        (400, "The input token count (1200000) exceeds the maximum", "INVALID_ARGUMENT"),
        (None, "prompt is too long: 215000 tokens > 200000 maximum", "invalid_request_error"),
        (413, "prompt is too long", "request_too_large"),
    ],
)
def test_context_length_wordings(status: int | None, message: str, error_type: str) -> None:
    assert classify(status, message, error_type) == ErrorCode.CONTEXT_LENGTH_EXCEEDED


def test_context_wording_does_not_override_auth_or_rate_limit() -> None:
    # "too many tokens" at 429 is a tokens-per-minute limit, not a too-long prompt.
    assert classify(429, "Request too large: too many tokens per min", None) == (
        ErrorCode.RATE_LIMITED
    )
    assert classify(401, "context length irrelevant", None) == ErrorCode.AUTHENTICATION_FAILED


@pytest.mark.parametrize(
    ("message", "error_type"),
    [
        (
            "The response was filtered due to the prompt triggering Azure OpenAI's content "
            "management policy.",
            "content_filter",
        ),
        ("Your request was flagged as potentially violating our usage policy", None),
        ("Request blocked by Responsible AI policy", None),
    ],
)
def test_content_filter_wordings(message: str, error_type: str | None) -> None:
    assert classify(400, message, error_type) == ErrorCode.CONTENT_FILTERED


@pytest.mark.parametrize(
    ("status", "message", "error_type"),
    [
        (404, "model: claude-sonnet-9", "not_found_error"),
        (
            404,
            "The model `gpt-9` does not exist or you do not have access to it.",
            "invalid_request_error",
        ),
        (400, "invalid model ID", None),
        (400, "gpt-9 is not a valid model ID", "invalid_request_error"),
    ],
)
def test_unknown_model_wordings(status: int, message: str, error_type: str | None) -> None:
    assert classify(status, message, error_type) == ErrorCode.UNKNOWN_MODEL


def test_does_not_exist_without_model_is_an_invalid_request() -> None:
    assert classify(400, "The tool `search` does not exist", None) == ErrorCode.INVALID_REQUEST


@pytest.mark.parametrize(
    ("message", "error_type", "code"),
    [
        ("Overloaded", "overloaded_error", ErrorCode.PROVIDER_UNAVAILABLE),
        ("Internal server error", "api_error", ErrorCode.PROVIDER_UNAVAILABLE),
        ("The server had an error", "server_error", ErrorCode.PROVIDER_UNAVAILABLE),
        ("Rate limit reached for requests", "rate_limit_exceeded", ErrorCode.RATE_LIMITED),
        ("You exceeded your current quota", "insufficient_quota", ErrorCode.RATE_LIMITED),
        ("invalid x-api-key", "authentication_error", ErrorCode.AUTHENTICATION_FAILED),
        ("not allowed", "permission_error", ErrorCode.PERMISSION_DENIED),
        ("Output blocked by content filtering policy", None, ErrorCode.CONTENT_FILTERED),
        ("upstream timed out", None, ErrorCode.TIMEOUT),
        ("messages.0: invalid content", "invalid_request_error", ErrorCode.INVALID_REQUEST),
        ("something odd happened", None, ErrorCode.PROVIDER_UNAVAILABLE),
    ],
)
def test_in_stream_classification(message: str, error_type: str | None, code: ErrorCode) -> None:
    assert classify(None, message, error_type) == code


def test_retry_after_ms_header_wins_and_is_case_insensitive() -> None:
    assert retry_after_ms({"Retry-After-Ms": "10", "Retry-After": "60"}) == 10
    assert retry_after_ms({"retry-after-ms": "1500.7"}) == 1500


def test_retry_after_seconds() -> None:
    assert retry_after_ms({"retry-after": "2"}) == 2000
    assert retry_after_ms({"retry-after": "0.25"}) == 250
    assert retry_after_ms({"retry-after": "-3"}) == 0


def test_garbage_retry_after_ms_falls_back_to_retry_after() -> None:
    assert retry_after_ms({"retry-after-ms": "soon", "retry-after": "3"}) == 3000


def test_retry_after_http_date() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    wait = retry_after_ms({"retry-after": later})
    assert wait is not None
    assert 28_000 <= wait <= 30_000
    earlier = email.utils.formatdate(time.time() - 300, usegmt=True)
    assert retry_after_ms({"retry-after": earlier}) == 0


@pytest.mark.parametrize("value", ["soon", "", "nan", "Tomorrow, 99 Foo 20xx"])
def test_retry_after_garbage_is_none(value: str) -> None:
    assert retry_after_ms({"retry-after": value}) is None


def test_no_retry_header_is_none() -> None:
    assert retry_after_ms({"content-type": "application/json"}) is None


@pytest.mark.parametrize(
    "headers",
    [{"retry-after": "inf"}, {"retry-after": "1e400"}, {"retry-after-ms": "inf"}],
    ids=["retry-after-inf", "retry-after-1e400", "retry-after-ms-inf"],
)
def test_retry_after_infinite_is_not_a_crash(headers: dict[str, str]) -> None:
    assert retry_after_ms(headers) is None


def test_http_error_prefixes_provider_and_suggests_a_fix() -> None:
    error = http_error("anthropic", 401, {}, "invalid x-api-key", "authentication_error")
    assert error.code == ErrorCode.AUTHENTICATION_FAILED
    assert error.message == "anthropic: invalid x-api-key"
    assert str(error) == "anthropic: invalid x-api-key"
    assert error.provider == "anthropic"
    assert error.status == 401
    assert error.suggestion is not None and "anthropic" in error.suggestion
    assert not error.retryable


def test_http_error_without_message_names_the_status() -> None:
    error = http_error("openai", 503, {}, "")
    assert error.message == "openai: HTTP 503"
    assert error.code == ErrorCode.PROVIDER_UNAVAILABLE
    assert error.retryable
    assert error.suggestion is None


def test_http_error_keeps_retry_after_only_for_retryable_codes() -> None:
    limited = http_error("openai", 429, {"retry-after": "7"}, "slow down", "rate_limit_error")
    assert limited.retry_after_ms == 7000
    assert limited.retryable
    assert limited.suggestion == "wait and try again, or use another model"
    invalid = http_error("openai", 400, {"retry-after": "7"}, "bad field")
    assert invalid.retry_after_ms is None


def test_http_error_context_length_suggestion() -> None:
    error = http_error("anthropic", 400, {}, "prompt is too long: 300000 tokens > 200000 maximum")
    assert error.code == ErrorCode.CONTEXT_LENGTH_EXCEEDED
    assert error.suggestion is not None and "context window" in error.suggestion


def test_error_data_carries_the_fields_in_camel_case() -> None:
    error = http_error("openai", 429, {"retry-after-ms": "250"}, "slow down")
    assert error.data().to_wire() == {
        "code": "rateLimited",
        "provider": "openai",
        "status": 429,
        "retryAfterMs": 250,
        "suggestion": "wait and try again, or use another model",
    }


def test_provider_error_redacts_registered_secrets() -> None:
    secret = f"sb-test-{uuid.uuid4().hex}"
    register_secret(secret)
    error = ProviderError(
        ErrorCode.AUTHENTICATION_FAILED,
        f"key {secret} rejected",
        suggestion=f"replace {secret}",
    )
    assert error.message == f"key {MASK} rejected"
    assert secret not in str(error)
    assert error.suggestion == f"replace {MASK}"
    assert secret not in repr(error.data().to_wire())


def test_http_error_redacts_a_key_echoed_by_the_provider() -> None:
    secret = f"sb-echo-{uuid.uuid4().hex}"
    register_secret(secret)
    error = http_error("openai", 401, {}, f"Incorrect API key provided: {secret}.")
    assert secret not in error.message
    assert MASK in error.message


def test_json_body() -> None:
    assert json_body(b'{"error": {"message": "x"}}') == {"error": {"message": "x"}}
    assert json_body(b"<html>502</html>") is None
    assert json_body(b"\xff\xfe") is None


# ---- recorded error bodies ------------------------------------------------------------

RECORDED_ERRORS = [
    ("anthropic/error-400-documented-roles-alternate.json", 400, ErrorCode.INVALID_REQUEST),
    ("anthropic/error-400-invalid-request.json", 400, ErrorCode.INVALID_REQUEST),
    ("anthropic/error-404-not-found.json", 404, ErrorCode.UNKNOWN_MODEL),
    ("openai-chat/error-400-unsupported-parameter.json", 400, ErrorCode.INVALID_REQUEST),
    ("openai-chat/error-400-unsupported-value.json", 400, ErrorCode.INVALID_REQUEST),
    ("openai-chat/error-404-model-not-found.json", 404, ErrorCode.UNKNOWN_MODEL),
    ("openai-responses/error-400-invalid-param.json", 400, ErrorCode.INVALID_REQUEST),
    ("openrouter/error-429-upstream-rate-limit.json", 429, ErrorCode.RATE_LIMITED),
    ("gemini/error-429-resource-exhausted.json", 429, ErrorCode.RATE_LIMITED),
    ("vertex/error-400-invalid-argument.json", 400, ErrorCode.INVALID_REQUEST),
    ("gemini/error-404-not-found.json", 404, ErrorCode.UNKNOWN_MODEL),
    ("bedrock/converse-stream-error-400.json", 400, ErrorCode.UNKNOWN_MODEL),
]


def message_and_type(body: dict[str, object]) -> tuple[str, str | None]:
    """What an adapter finds in the body: the message and the provider's error type."""
    error = body.get("error", body)
    assert isinstance(error, dict)
    kind = error.get("type") or error.get("status")
    return str(error["message"]), str(kind) if kind else None


@pytest.mark.parametrize(("name", "status", "code"), RECORDED_ERRORS)
def test_recorded_error_bodies(name: str, status: int, code: ErrorCode) -> None:
    path = WIRE / name
    if not path.exists():
        pytest.skip(f"{path} not found (the corpus lives in ../shared beside the repo)")
    message, kind = message_and_type(json.loads(path.read_text()))
    assert classify(status, message, kind) == code
