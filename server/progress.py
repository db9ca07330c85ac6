"""Streaming a chat to the editor: partial results and work-done progress.

Partial results: events go out at once until the first piece of content
has (time to first token never grows); after that, events that arrive
while the client has not yet read what was sent are gathered and go out
together, one `$/progress` each time the client catches up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol


class Backpressure(Protocol):
    def pending_bytes(self) -> int: ...

    async def drain(self) -> None: ...


SendProgress = Callable[[int | str, dict[str, Any]], None]

_CONTENT = frozenset({"text", "thinking", "redactedThinking", "toolUseStart", "toolUse"})


class PartialResults:
    def __init__(self, send: SendProgress, token: int | str, writer: Backpressure | None) -> None:
        self._send_progress = send
        self._token = token
        self._writer = writer
        self._pending: list[dict[str, Any]] = []
        self._scheduled = False
        self._draining: asyncio.Task[None] | None = None
        self._content_sent = False
        self.notifications = 0

    def emit(self, event: Any) -> None:
        self.emit_wire(event.to_wire())

    def emit_wire(self, event: dict[str, Any]) -> None:
        """An event already in its JSON form (the chat handler journals the same dict)."""
        self._pending.append(event)
        if not self._content_sent:
            self._content_sent = event["type"] in _CONTENT
            self._send()
        elif not (self._scheduled or self._draining):
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._scheduled = False
        if not self._pending or self._draining:
            return
        if self._writer is not None and self._writer.pending_bytes() > 0:
            self._draining = asyncio.ensure_future(self._send_after_drain())
            return
        self._send()

    async def _send_after_drain(self) -> None:
        assert self._writer is not None
        try:
            await self._writer.drain()
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self._draining = None
        if self._pending:
            self._send()

    def _send(self) -> None:
        events, self._pending = self._pending, []
        self.notifications += 1
        self._send_progress(self._token, {"events": events})

    def close(self) -> None:
        """Send whatever is pending now, before the final answer."""
        if self._draining is not None:
            self._draining.cancel()
            self._draining = None
        self._scheduled = False
        if self._pending:
            self._send()


class WorkDoneReporter:
    """begin / report "N tokens" (at most every `interval_s`) / end, on one token.

    With a token the server asked the client for, begin may come late (when
    the client answers); reports before it are dropped, and if the work ended
    first, nothing is sent at all.
    """

    def __init__(
        self,
        send: SendProgress,
        token: int | str,
        interval_s: float = 0.25,
        release: Callable[[], None] | None = None,
    ) -> None:
        self._send_progress = send
        self._token = token
        self._interval_s = interval_s
        self._last_report = 0.0
        self._begun = False
        self._ended = False
        #: forgets the token where it was registered, once the work has ended
        self._release = release
        self.creation: asyncio.Future[Any] | None = None

    def begin(self, title: str, message: str | None = None) -> None:
        if self._begun or self._ended:
            return
        self._begun = True
        value: dict[str, Any] = {"kind": "begin", "title": title, "cancellable": True}
        if message:
            value["message"] = message
        self._send_progress(self._token, value)
        self._last_report = time.monotonic()

    def report(self, message: str, force: bool = False) -> None:
        if not self._begun or self._ended:
            return
        now = time.monotonic()
        if not force and now - self._last_report < self._interval_s:
            return
        self._last_report = now
        self._send_progress(self._token, {"kind": "report", "message": message})

    def end(self, message: str) -> None:
        if self._ended:
            return
        self._ended = True
        if self._begun:
            self._send_progress(self._token, {"kind": "end", "message": message})
        if self._release is None:
            return
        release, self._release = self._release, None
        if self.creation is not None and not self.creation.done():
            # The token is registered when the client answers: release it after that.
            self.creation.add_done_callback(lambda _: release())
        else:
            release()
