"""Where logs go: a rotating file in the data dir and, at info and up, the client.

stdout carries only the protocol, so nothing here writes to it. Every
record passes the redacting filter first: no handler ever sees a secret.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
from collections.abc import Callable
from pathlib import Path

from pygls.exceptions import JsonRpcException, JsonRpcInternalError
from switchboard.providers.auth.redact import RedactingFilter

LOGGER_NAME = "switchboard"
LOG_FILE = "switchboard.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_dir(data_dir: Path) -> Path:
    return data_dir / "logs"


class _Level:
    """Set by `serve --log-level` or SWITCHBOARD_LOG_LEVEL, which win over the config's."""

    pinned = False


def setup_file_logging(data_dir: Path, level: str | None = None) -> Path | None:
    """Log to data_dir/logs/switchboard.log (1 MB, 3 backups); the file, or None if unwritable.

    `level` comes from the command line or the environment; without one, the config's
    `log_level` decides once the config is read (`apply_config_level`), info until then.
    """
    root = logging.getLogger(LOGGER_NAME)
    _Level.pinned = level is not None
    root.setLevel((level or "info").upper())
    # pygls logs every message it sends at info level: far too much, and it may carry prompts.
    logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    redacting = RedactingFilter()
    path = log_dir(data_dir) / LOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
        os.chmod(path, 0o600)
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(AnsweredErrorsFilter())  # first: redacting turns exc_info into text
    handler.addFilter(redacting)
    for name in (LOGGER_NAME, "pygls"):
        logging.getLogger(name).addHandler(handler)
    return path


def apply_config_level(level: str) -> None:
    """The config's `log_level` (file or editor settings), unless the command line or the
    environment already chose one."""
    if not _Level.pinned:
        logging.getLogger(LOGGER_NAME).setLevel(level.upper())


class AnsweredErrorsFilter(logging.Filter):
    """Drops pygls's traceback for an error the client got as its answer.

    An expected failure (authenticationFailed, invalid params) is logged
    once, in a line of ours; pygls would add an ERROR with a traceback for each.
    Internal errors keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        answered = isinstance(error, JsonRpcException)
        return not answered or isinstance(error, JsonRpcInternalError)


class ClientLogHandler(logging.Handler):
    """Forwards records to the editor through window/logMessage."""

    def __init__(self, send: Callable[[int, str], None], level: int = logging.INFO) -> None:
        super().__init__(level)
        self._send = send
        self._busy = threading.local()
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "active", False):
            return  # sending a log message must not log again
        self._busy.active = True
        try:
            self._send(record.levelno, f"{record.name}: {record.getMessage()}")
        except Exception:
            pass  # the client is gone; the file log still has it
        finally:
            self._busy.active = False


def attach_client_handler(send: Callable[[int, str], None]) -> ClientLogHandler:
    handler = ClientLogHandler(send)
    logging.getLogger(LOGGER_NAME).addHandler(handler)
    return handler
