"""A real `switchboard serve` for durability tests: one that may be killed, signalled or
cut off mid-stream, and started again on the same data dir."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from tests.lsp_harness import Session, make_client, server_env, write_config


class TimedBatches(list[dict[str, Any]]):
    """A token's `$/progress` batches, each stamped with when the client got it."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, batch: dict[str, Any]) -> None:
        self.times.append(time.monotonic())
        super().append(batch)

    def text_by(self, moment: float) -> str:
        return "".join(
            event.get("text", "")
            for batch, at in zip(self, self.times, strict=True)
            if at <= moment
            for event in batch["events"]
            if event["type"] == "text"
        )


def timed(session: Session, token: str) -> TimedBatches:
    batches = TimedBatches()
    session.partials[token] = batches
    return batches


@asynccontextmanager
async def durable_session(
    tmp_path: Path, config_text: str, env_extra: dict[str, str], data_dir: Path | None = None
) -> AsyncIterator[Session]:
    """Like lsp_harness.open_session, but the test may end the process itself
    (and two sessions may share one data dir)."""
    data_dir = data_dir or tmp_path / "data"
    config_file = write_config(tmp_path / "config.toml", config_text)
    env = server_env(data_dir, env_extra)
    box: list[Session] = []
    client = make_client(box)
    session = Session(client, data_dir, config_file, env)
    box.append(session)
    await client.start_io(
        sys.executable, "-m", "switchboard.server", "--config", str(config_file), "serve", env=env
    )
    await client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    try:
        yield session
    finally:
        process = client._server
        if process is not None and process.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.shutdown_session(), 10)
        if process is not None and process.returncode is None:
            process.kill()
        await client.stop()


def process_of(session: Session) -> asyncio.subprocess.Process:
    process = session.client._server
    assert process is not None
    return process
