"""The config's `log_level` takes effect, unless `serve --log-level` or the environment set one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from switchboard.server.logs import LOGGER_NAME, apply_config_level, setup_file_logging


@pytest.fixture
def switchboard_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger(LOGGER_NAME)
    handlers, level = list(logger.handlers), logger.level
    yield logger
    for handler in logger.handlers[len(handlers) :]:
        handler.close()
        logger.removeHandler(handler)
    for handler in logging.getLogger("pygls").handlers[:]:
        if handler not in handlers:
            handler.close()
            logging.getLogger("pygls").removeHandler(handler)
    logger.setLevel(level)


def lines_at(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_the_config_level_applies_when_nothing_pinned_one(
    tmp_path: Path, switchboard_logger: logging.Logger
) -> None:
    path = setup_file_logging(tmp_path, None)
    assert path is not None
    log = logging.getLogger("switchboard.test")
    apply_config_level("warning")
    log.info("info-under-warning")
    log.warning("warning-under-warning")
    apply_config_level("debug")
    log.debug("debug-under-debug")
    written = "\n".join(lines_at(path))
    assert "info-under-warning" not in written
    assert "warning-under-warning" in written
    assert "debug-under-debug" in written


def test_the_command_line_wins_over_the_config(
    tmp_path: Path, switchboard_logger: logging.Logger
) -> None:
    path = setup_file_logging(tmp_path, "error")
    assert path is not None
    apply_config_level("debug")
    log = logging.getLogger("switchboard.test")
    log.warning("warning-under-error")
    log.error("error-under-error")
    written = "\n".join(lines_at(path))
    assert "warning-under-error" not in written
    assert "error-under-error" in written
