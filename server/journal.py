"""The journal of calls: every chat's events, kept as they stream, in SQLite.

One 0600 file in the data dir (`journal.db`, WAL). A row is written when a
call starts (id, model, provider, owner process, a digest of the params, never
the prompt), its events follow in batches at most `FLUSH_S` or `FLUSH_BYTES`
behind the editor, and its end (status, usage, cost, error, the answer) closes
it. A `requestId` is claimed by inserting its row, so two servers on one data
dir never pay twice for it: a completed call is replayed, one another live
process is running is waited for, and one whose owner died is resumed.

Every statement runs on one writer thread (`JournalThread`): the event loop
never waits for a commit, nor for another server holding the database's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from .journal_store import JournalStore, StoredCall

logger = logging.getLogger("switchboard.journal")

FLUSH_S = 0.1
FLUSH_BYTES = 64 * 1024
PRUNE_EVERY_S = 3600.0
WAIT_POLL_S = 0.05
#: events that go to the editor but say nothing about the answer
UNJOURNALED = frozenset({"retry", "queued"})

T = TypeVar("T")
ClaimKind = Literal["new", "replay", "resume"]

__all__ = ["CallRecorder", "Claim", "Journal", "StoredCall", "params_digest"]


@dataclass(frozen=True)
class Claim:
    """What a chat may do with its call id: start `new`, `replay` a completed call,
    or `resume` one that ended early (the row is then ours, status `running` again)."""

    kind: ClaimKind
    call_id: str
    stored: StoredCall | None = None


class JournalThread:
    """Runs the store's work in order on one thread, and prunes hourly."""

    def __init__(self, store: JournalStore) -> None:
        self._store = store
        self._work: queue.SimpleQueue[tuple[Callable[[JournalStore], Any], Future[Any]] | None]
        self._work = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="switchboard-journal", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[JournalStore], T]) -> Future[T]:
        future: Future[T] = Future()
        self._work.put((job, future))
        return future

    def close(self, timeout_s: float = 2.0) -> None:
        self._work.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        next_prune = time.monotonic() + PRUNE_EVERY_S
        while True:
            if time.monotonic() >= next_prune:  # due, however busy the queue is
                self._guarded(lambda store: store.prune())
                next_prune = time.monotonic() + PRUNE_EVERY_S
            try:
                item = self._work.get(timeout=max(0.0, next_prune - time.monotonic()))
            except queue.Empty:
                continue
            if item is None:
                self._guarded(lambda store: store.close())
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job(self._store))
            except BaseException as error:  # handed to whoever waits on it
                future.set_exception(error)

    def _guarded(self, job: Callable[[JournalStore], Any]) -> None:
        try:
            job(self._store)
        except (sqlite3.Error, OSError) as problem:
            logger.warning("journal: %s", problem)


class Journal:
    """The server's handle on the journal; with `enabled=False` it keeps nothing."""

    def __init__(
        self,
        data_dir: Path,
        *,
        enabled: bool = True,
        retention_days: float = 30.0,
        max_bytes: int = 200_000_000,
    ) -> None:
        self.enabled = enabled
        self.path = data_dir / JournalStore.FILE
        self._store = JournalStore(data_dir, retention_days=retention_days, max_bytes=max_bytes)
        self._thread: JournalThread | None = None
        self._lock = threading.Lock()
        self._broken = False

    # ---- plumbing -----------------------------------------------------------

    def _worker(self) -> JournalThread:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = JournalThread(self._store)
                    self._thread.submit(lambda store: store.open())
        return self._thread

    def start(self) -> None:
        """Open, recover, import and prune now (in the background), not at the first chat."""
        if self.enabled:
            self._worker()

    async def _call(self, job: Callable[[JournalStore], T]) -> T:
        return await asyncio.wrap_future(self._worker().submit(job))

    def submit(self, job: Callable[[JournalStore], Any]) -> Future[Any] | None:
        """Fire and forget: the thread keeps the order; failures are logged, not raised."""
        if not self.enabled:
            return None
        future = self._worker().submit(job)
        future.add_done_callback(self._log_failure)
        return future

    def _log_failure(self, future: Future[Any]) -> None:
        error = future.exception()
        if error is not None and not self._broken:
            self._broken = True  # once: a full disk would otherwise log every batch
            logger.warning("cannot write the journal %s: %s", self.path, error)

    def close(self) -> None:
        """Write everything submitted so far, then close the database."""
        if self._thread is not None:
            self._thread.close()
            self._thread = None

    # ---- calls --------------------------------------------------------------

    async def claim(
        self, request_id: str | None, *, model: str, provider: str, digest: str, resume: bool
    ) -> Claim:
        """The call id's row, made ours; waits while another live process runs it."""
        call_id = request_id or f"call-{uuid.uuid4().hex}"
        if not self.enabled:
            return Claim("new", call_id)
        while True:
            try:
                kind, stored = await self._call(
                    lambda store: store.claim(
                        call_id, model=model, provider=provider, digest=digest, resume=resume
                    )
                )
            except (sqlite3.Error, OSError) as problem:
                logger.warning("journal unavailable, chat goes on unjournaled: %s", problem)
                return Claim("new", call_id)
            if kind != "busy":
                return Claim(cast(ClaimKind, kind), call_id, stored)
            await asyncio.sleep(WAIT_POLL_S)

    def recorder(self, call_id: str) -> CallRecorder:
        return CallRecorder(self, call_id)

    async def history(
        self, *, limit: int, before: float | None, status: str | None
    ) -> list[StoredCall]:
        if not self.enabled:
            return []
        return await self._call(lambda store: store.page(limit, before, status))

    async def call(self, call_id: str) -> StoredCall | None:
        if not self.enabled:
            return None
        return await self._call(lambda store: store.get(call_id, with_events=True))


class CallRecorder:
    """One running call's events, batched on the event loop and committed by the thread."""

    def __init__(self, journal: Journal, call_id: str) -> None:
        self._journal = journal
        self.call_id = call_id
        self._pending: list[dict[str, Any]] = []
        self._pending_bytes = 0
        # Consecutive text (or unsigned thinking) deltas are kept as one event: the same
        # answer, in a tenth of the bytes for a token-by-token stream.
        self._run: list[str] = []
        self._run_kind: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._seq = 0
        self._end: Future[Any] | None = None
        self.finished = False

    def continue_after(self, batches: int) -> None:
        """A resumed call: its new batches follow the ones it has."""
        self._seq = batches

    def resolved(self, model_id: str) -> None:
        """The `provider/model` the call went to, once an alias or a bare name is resolved:
        history lists it there, not under what the client wrote."""
        if not self._journal.enabled:
            return
        call_id = self.call_id
        self._journal.submit(lambda store: store.rename(call_id, model_id))

    def add(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "text" and self._run_kind == "text":  # the hot path: one more delta
            text = event["text"]
            self._run.append(text)
            self._pending_bytes += len(text)
            if self._pending_bytes >= FLUSH_BYTES:
                self.flush()
            return
        if not self._journal.enabled or self.finished or kind in UNJOURNALED:
            return
        if kind == "text" or (kind == "thinking" and "signature" not in event):
            if kind != self._run_kind:
                self._close_run()
                self._run_kind = kind
            self._run.append(event["text"])
            self._pending_bytes += len(event["text"])
        else:
            self._close_run()
            self._pending.append(event)
            # About the bytes it will take, without serializing it on the event loop.
            self._pending_bytes += 40 + len(event.get("inputJson") or "")
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._close_run()
        if not self._pending:
            return
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        seq, call_id = self._seq, self.call_id
        self._seq += 1
        self._journal.submit(lambda store: store.append(call_id, seq, batch))

    def _close_run(self) -> None:
        if self._run:
            self._pending.append({"type": self._run_kind, "text": "".join(self._run)})
            self._run = []
        self._run_kind = None

    def finish(
        self,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
        cost: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        """The call's end, after its last events (the thread keeps the order)."""
        if self.finished:
            return
        self.flush()
        self.finished = True
        call_id = self.call_id
        self._end = self._journal.submit(
            lambda store: store.finish(
                call_id, status, result=result, usage=usage, cost=cost, error=error
            )
        )

    async def settled(self) -> None:
        """Wait until the end is written: an answer never gets ahead of its journal row."""
        if self._end is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.wrap_future(self._end))


def params_digest(params: dict[str, Any]) -> str:
    """A digest of what was asked (the prompt included) that does not reveal it."""
    asked = {
        key: value
        for key, value in params.items()
        if key not in ("requestId", "partialResultToken", "workDoneToken", "resume")
    }
    canonical = json.dumps(asked, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
