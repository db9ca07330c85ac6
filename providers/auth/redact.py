"""Remove credentials from any text before it is logged, shown or stored.

Every secret Switchboard loads is registered here, and every log record and
error message passes through `redact`, so a key never reaches a log file,
stderr, a notification or an error.
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
