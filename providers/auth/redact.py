"""Remove credentials from any text before it is logged, shown or stored.

Every secret Switchboard loads is registered here, and every log record,
error message and streamed error event passes through `redact` (the engine
does it for every adapter's events in one place), so a key never reaches a
log file, stderr, a notification, an error or the editor. Besides the
registered secrets and well-known key shapes, it masks header values that
name a credential, the password in `scheme://user:password@host`, and
credential parameters in a URL's query.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "[REDACTED]"

_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None

_SHAPES = re.compile(
    r"""
    (?<![A-Za-z0-9])(?:sk|rk|pk)-[A-Za-z0-9_\-]{12,}  # OpenAI / Anthropic / OpenRouter style keys
    | gh[opsu]_[A-Za-z0-9]{20,} | github_pat_[A-Za-z0-9_]{20,}
    | xai-[A-Za-z0-9]{20,}
    | AKIA[0-9A-Z]{16} | ASIA[0-9A-Z]{16}
    | AIza[0-9A-Za-z_\-]{30,}
    | ya29\.[0-9A-Za-z_\-.]{20,}
    | (?<=[Bb]earer\ )[A-Za-z0-9._~+/\-]{16,}=*
    """,
    re.VERBOSE,
)
_HEADER_VALUES = re.compile(
    r"(?i)((?:authorization|x-api-key|api[-_]key|x-goog-api-key|proxy-authorization|access_token)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\"',\r\n}]+)"
)
# The password of `scheme://user:password@host`, and secrets passed in a URL's query.
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s/?#@:]*:)([^\s/?#]+)(?=@)")
_URL_QUERY_SECRETS = re.compile(
    r"(?i)([?&](?:key|api[-_]?key|token|access[-_]?token|secret|password|sig|signature)=)"
    r"([^&#\s\"']+)"
)
_MIN_SECRET_LENGTH = 6


def register_secret(secret: str | None) -> None:
    """Remember a credential so that it is masked wherever it later appears."""
    global _known_pattern
    if not secret or len(secret) < _MIN_SECRET_LENGTH:
        return
    with _known_lock:
        if secret in _known:
            return
        _known.add(secret)
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    if not text:
        return text
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _HEADER_VALUES.sub(lambda m: m.group(1) + MASK, text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
    if "=" in text:
        text = _URL_QUERY_SECRETS.sub(lambda m: m.group(1) + MASK, text)
    return _SHAPES.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in the final message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            cleaned = f"{cleaned}\n{redact(formatted)}"
            record.exc_info = None
            record.exc_text = None
        record.msg = cleaned
        record.args = None
        return True
