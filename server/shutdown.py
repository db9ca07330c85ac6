"""Graceful shutdown: SIGTERM, SIGINT, stdin's end, `shutdown` and `exit` all end the same way.

New requests are refused; in-flight requests (chats, above all) get a short
grace (`shutdown_grace`, 2 s by default) to finish, then are cancelled. Each
is answered with -32803, data code `serverShuttingDown`; a cancelled chat is
journaled `interrupted` with its partial answer, which `data.partial` holds.
Then the journal and stdout are flushed, and the process can exit.

Imported at start-up (server/stdio.py): only the standard library at the top.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pygls.exceptions import JsonRpcException
    from pygls.lsp.server import LanguageServer
    from switchboard.protocol.chat import ChatResult

logger = logging.getLogger("switchboard.shutdown")

DEFAULT_GRACE_S = 2.0
#: after the grace, how long cancelled chats get to answer
CANCEL_WAIT_S = 0.5
FLUSH_WAIT_S = 0.5
REQUEST_FAILED = -32803


@dataclass
class ShutdownState:
    stopping: bool = False
    chats: set[asyncio.Task[Any]] = field(default_factory=set)
    finished: asyncio.Future[None] | None = None


def state(ls: Any) -> ShutdownState:
    found = getattr(ls, "_shutdown_state", None)
    if found is None:
        found = ls._shutdown_state = ShutdownState()
    return found


def is_shutting_down(ls: Any) -> bool:
    return state(ls).stopping


@contextlib.contextmanager
def in_flight(ls: Any) -> Iterator[None]:
    """The current request is one that shutdown waits for, then cancels."""
    task = asyncio.current_task()
    chats = state(ls).chats
    if task is not None:
        chats.add(task)
    try:
        yield
    finally:
        if task is not None:
            chats.discard(task)


def shutting_down(partial: ChatResult | None) -> JsonRpcException:
    """The answer to a request the shutdown ended (or refused)."""
    from pygls.exceptions import JsonRpcException
    from switchboard.protocol.errors import ErrorCode, ErrorData

    data = ErrorData(code=ErrorCode.SERVER_SHUTTING_DOWN, partial=partial).to_wire()
    return JsonRpcException("the server is shutting down", code=REQUEST_FAILED, data=data)


async def drain(ls: Any, grace_s: float | None = None) -> None:
    """Refuse new requests; let in-flight ones finish within the grace, then cancel them."""
    current = state(ls)
    current.stopping = True
    chats = {task for task in current.chats if task is not asyncio.current_task()}
    if not chats:
        return
    grace = _grace_s(ls) if grace_s is None else grace_s
    _, pending = await asyncio.wait(chats, timeout=grace) if grace > 0 else (set(), chats)
    if pending:
        logger.info("shutdown: cancelling %d request(s) still running", len(pending))
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=CANCEL_WAIT_S)


async def stop(ls: Any, grace_s: float | None = None) -> None:
    """Drain, then flush the journal and stdout. Runs once; later calls wait for it."""
    current = state(ls)
    if current.finished is not None:
        await asyncio.shield(current.finished)
        return
    current.finished = asyncio.get_running_loop().create_future()
    try:
        await drain(ls, grace_s)
        await asyncio.sleep(0)  # the cancelled chats' answers are written by callbacks
        runtime = getattr(ls, "_runtime", None)
        if runtime is not None:
            await asyncio.to_thread(runtime.journal.close)
        writer = ls.pipe_writer() if hasattr(ls, "pipe_writer") else None
        if writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.drain(), FLUSH_WAIT_S)
    finally:
        current.finished.set_result(None)


async def serve_until_stopped(server: LanguageServer, reading: asyncio.Task[Any]) -> None:
    """Serve until stdin ends or a signal comes, then stop gracefully."""
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    handled = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, signalled.set)
            handled.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            pass
    waiter = asyncio.ensure_future(signalled.wait())
    try:
        await asyncio.wait({reading, waiter}, return_when=asyncio.FIRST_COMPLETED)
        unreadable = reading.done() and not reading.cancelled() and reading.exception()
        logger.info("shutting down: %s", "signal" if signalled.is_set() else "stdin ended")
        # Input that cannot be read ends the server at once: no grace.
        await stop(server, 0.0 if unreadable else None)
    finally:
        waiter.cancel()
        reading.cancel()
        for signum in handled:
            loop.remove_signal_handler(signum)


def _grace_s(ls: Any) -> float:
    runtime = getattr(ls, "_runtime", None)
    if runtime is None:
        return DEFAULT_GRACE_S
    return float(runtime.config.shutdown_grace)
