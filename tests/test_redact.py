"""Credentials never reach logs or errors: registered secrets, header forms, key shapes."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import pytest
from switchboard.protocol.chat import ErrorEvent, RetryEvent, TextEvent, ToolUseJsonParseErrorEvent
from switchboard.providers.auth.redact import MASK, RedactingFilter, redact, register_secret
from switchboard.providers.engine import without_secrets

# Built from pieces so the source holds no string that looks like a real credential.
OPENAI_KEY = "sk-" + "proj-" + "Ab3dEf6hIj9kLm2nOp5q"
ANTHROPIC_KEY = "sk-" + "ant-api03-" + "Zy8xWv7uTs6rQp5o-AAA"
GITHUB_TOKEN = "gh" + "p_" + "A1b2" * 9
GITHUB_PAT = "github" + "_pat_" + "11ABCDEFG" * 3
AWS_KEY = "AK" + "IA" + "IOSFODNN7EXAMPLE"
GOOGLE_KEY = "AI" + "za" + "SyD-example_0123456789abcdefghijklm"
XAI_KEY = "xai-" + "q1w2e3r4t5y6u7i8o9p0a1s2"


def new_secret(prefix: str = "sbtest") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def test_registered_secret_is_masked_anywhere() -> None:
    secret = new_secret()
    register_secret(secret)
    text = f"start{secret} middle ({secret}) end:{secret}"
    assert redact(text) == f"start{MASK} middle ({MASK}) end:{MASK}"


def test_secret_with_regex_characters_is_matched_literally() -> None:
    secret = f"p@ss.w*rd+({uuid.uuid4().hex[:6]})"
    register_secret(secret)
    assert redact(f"key={secret};") == f"key={MASK};"
    lookalike = secret.replace(".", "X")
    assert redact(lookalike) == lookalike


def test_longest_registered_secret_is_masked_whole() -> None:
    short = new_secret("overlap")
    long = short + "EXTRA"
    register_secret(short)
    register_secret(long)
    assert redact(f"[{long}]") == f"[{MASK}]"
    assert redact(f"[{short}]") == f"[{MASK}]"


def test_too_short_or_empty_secrets_are_not_registered() -> None:
    register_secret("ab12x")
    register_secret("")
    register_secret(None)
    assert redact("ab12x is fine") == "ab12x is fine"


def test_text_without_secrets_is_unchanged() -> None:
    text = "anthropic: messages: roles must alternate between user and assistant (HTTP 400)"
    assert redact(text) == text
    assert redact("") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.DEF-123_xyz", f"Authorization: {MASK}"),
        ("authorization:Basic dXNlcjpwYXNzd29yZA==", f"authorization:{MASK}"),
        ("x-api-key: plainvalue123", f"x-api-key: {MASK}"),
        ('{"api-key": "azurevalue99", "model": "m"}', f'{{"api-key": "{MASK}", "model": "m"}}'),
        ("{'x-goog-api-key': 'value4567'}", f"{{'x-goog-api-key': '{MASK}'}}"),
        ("Proxy-Authorization = token42xyz\nnext line", f"Proxy-Authorization = {MASK}\nnext line"),
    ],
)
def test_header_forms(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_bearer_token_outside_a_header() -> None:
    text = "sent Bearer abcdefghijklmnop123 to the proxy"
    assert redact(text) == f"sent Bearer {MASK} to the proxy"


@pytest.mark.parametrize(
    "key", [OPENAI_KEY, ANTHROPIC_KEY, GITHUB_TOKEN, GITHUB_PAT, AWS_KEY, GOOGLE_KEY, XAI_KEY]
)
def test_key_shapes_are_masked_without_registration(key: str) -> None:
    assert redact(f"Incorrect API key provided: {key}. See docs.") == (
        f"Incorrect API key provided: {MASK}. See docs."
    )


def test_short_lookalikes_are_not_masked() -> None:
    text = "use sk-learn, ghp_x and AKIA123 in the docs"
    assert redact(text) == text


# ---- the logging filter ---------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"switchboard.test-redact.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def test_filter_masks_secrets_in_args(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    secret = new_secret()
    register_secret(secret)
    logger.info("calling %s with key %s and header %r", "openai", secret, {"x-api-key": "v4lue9"})
    output = stream.getvalue()
    assert secret not in output
    assert "v4lue9" not in output
    assert output.startswith(f"INFO calling openai with key {MASK} and header")


def test_filter_masks_secrets_in_exceptions(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    secret = new_secret()
    register_secret(secret)
    try:
        raise RuntimeError(f"upstream refused {secret}")
    except RuntimeError:
        logger.exception("request failed for %s", secret)
    output = stream.getvalue()
    assert secret not in output
    assert f"ERROR request failed for {MASK}" in output
    assert "Traceback (most recent call last)" in output
    assert f"RuntimeError: upstream refused {MASK}" in output


def test_filter_rewrites_the_record() -> None:
    secret = new_secret()
    register_secret(secret)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "key %s", (secret,), None)
    assert RedactingFilter().filter(record) is True
    assert record.args is None
    assert record.getMessage() == f"key {MASK}"


# ---- URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://user:hunter2pass@proxy.example:8443/v1",
            f"https://user:{MASK}@proxy.example:8443/v1",
        ),
        ("base_url = http://:onlypw@host/", f"base_url = http://:{MASK}@host/"),
        ("http://u:p@ss%40w0rd@host/x", f"http://u:{MASK}@host/x"),
        ("https://h.example/v1?key=abc123&alt=sse", f"https://h.example/v1?key={MASK}&alt=sse"),
        (
            "https://h.example/cb?code=1&access_token=tok999",
            f"https://h.example/cb?code=1&access_token={MASK}",
        ),
        ("https://user@host.example/v1", "https://user@host.example/v1"),
        (
            "http://[::1]:8080/v1 and http://127.0.0.1:11434",
            "http://[::1]:8080/v1 and http://127.0.0.1:11434",
        ),
        ("at 10:30 we met bob@home", "at 10:30 we met bob@home"),
    ],
)
def test_url_passwords_and_query_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_filter_masks_url_passwords(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.warning("cannot reach %s", "https://me:s3cretPw@proxy.internal/v1")
    assert "s3cretPw" not in stream.getvalue()
    assert f"https://me:{MASK}@proxy.internal/v1" in stream.getvalue()


# ---- the engine's one place for every adapter's events ---------------------------------------


def test_every_event_that_reports_a_failure_is_redacted_by_the_engine() -> None:
    secret = new_secret("canary")
    register_secret(secret)
    said = f"the key {secret} was refused; see https://u:pw-{secret[:5]}x@proxy/"
    error = without_secrets(ErrorEvent(code="providerUnavailable", message=said))
    retry = without_secrets(RetryEvent(attempt=1, delay_ms=10, reason=said))
    parse = without_secrets(ToolUseJsonParseErrorEvent(id="t", name="n", raw_input="{", error=said))
    for text in (error.message, retry.reason, parse.error):
        assert secret not in text and f"u:{MASK}@proxy" in text
    assert error.code == "providerUnavailable"
    answer = TextEvent(text="plain words")
    assert without_secrets(answer) is answer
