"""The journal's SQLite file: schema, claims, events, ends, recovery, import and pruning.

Used from one thread only (server/journal.py's JournalThread). Each method is
one short transaction; WAL and a busy timeout let several servers share the file.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("switchboard.journal")

CACHE_KIB = 256
BUSY_TIMEOUT_MS = 10_000
PREVIEW_CHARS = 80
LEGACY_FILE = "journal.jsonl"
ENDED = ("completed", "failed", "cancelled", "interrupted")
#: events that carry the answer: a call that had one of these can be resumed
CONTENT_EVENTS = frozenset({"text", "thinking", "redactedThinking", "toolUseStart", "toolUse"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    params_digest TEXT,
    owner_pid INTEGER,
    owner_token TEXT,
    usage TEXT,
    cost TEXT,
    error TEXT,
    result TEXT,
    text_preview TEXT NOT NULL DEFAULT '',
    has_content INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    batches INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_by_start ON calls (started_at);
CREATE INDEX IF NOT EXISTS calls_by_status ON calls (status, started_at);
CREATE TABLE IF NOT EXISTS events (
    call_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    batch TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

_COLUMNS = (
    "id, model, provider, status, started_at, ended_at, usage, cost, error, result, "
    "text_preview, has_content, batches, owner_pid, owner_token"
)


@dataclass
class StoredCall:
    id: str
    model: str
    provider: str
    status: str
    started_at: float
    ended_at: float | None
    usage: dict[str, Any] | None
    cost: dict[str, Any] | None
    error: dict[str, Any] | None
    result: dict[str, Any] | None
    text_preview: str
    has_content: bool
    batches: int
    events: list[dict[str, Any]] | None = None

    @property
    def duration_ms(self) -> int:
        end = self.ended_at if self.ended_at is not None else time.time()
        return max(0, round((end - self.started_at) * 1000))


def process_token(pid: int) -> str | None:
    """When the process started (Linux), so a reused pid is not taken for the owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def is_alive(pid: int | None, token: str | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    if token is not None:
        current = process_token(pid)
        return current is None or current == token
    return True


class JournalStore:
    FILE = "journal.db"

    def __init__(self, data_dir: Path, *, retention_days: float, max_bytes: int) -> None:
        self.data_dir = data_dir
        self.path = data_dir / self.FILE
        self.retention_days = retention_days
        self.max_bytes = max_bytes
        self.pid = os.getpid()
        self.token = process_token(self.pid)
        self._db: sqlite3.Connection | None = None

    # ---- opening ------------------------------------------------------------

    def open(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes on a new file
        db.execute("PRAGMA journal_mode = WAL")
        # A process crash loses nothing in WAL mode at NORMAL; only a power cut could.
        db.execute("PRAGMA synchronous = NORMAL")
        # SQLite's default page cache (2 MB) would fill as the file grows, and stay: the
        # journal appends and looks calls up by id, for which a small cache is enough.
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        db.executescript(SCHEMA)
        self._db = db
        self.recover()
        self.import_legacy()
        self.prune()

    def open_for_reading(self) -> bool:
        """For the CLI: no recovery, import or pruning, nothing written. False: no journal yet."""
        if not self.path.exists():
            return False
        self._db = sqlite3.connect(
            f"{self.path.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
        )
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return True

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.open()
        assert self._db is not None
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # ---- a call's life ------------------------------------------------------

    def claim(
        self, call_id: str, *, model: str, provider: str, digest: str, resume: bool
    ) -> tuple[str, StoredCall | None]:
        """`new`, `replay`, `resume` (the row is ours now) or `busy` (a live owner runs it)."""
        with self._transaction() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO calls (id, model, provider, status, started_at, "
                "params_digest, owner_pid, owner_token) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                (call_id, model, provider, time.time(), digest, self.pid, self.token),
            ).rowcount
            if inserted:
                return "new", None
            stored = self._get(call_id, with_events=False)
            assert stored is not None
            if stored.status == "completed":
                stored.events = self._events(call_id)
                return "replay", stored
            if stored.status == "running":
                row = db.execute(
                    "SELECT owner_pid, owner_token FROM calls WHERE id = ?", (call_id,)
                ).fetchone()
                if is_alive(row[0], row[1]):
                    return "busy", None
            if resume and stored.has_content:
                db.execute(
                    "UPDATE calls SET status = 'running', ended_at = NULL, error = NULL, "
                    "owner_pid = ?, owner_token = ? WHERE id = ?",
                    (self.pid, self.token, call_id),
                )
                stored.events = self._events(call_id)
                return "resume", stored
            db.execute("DELETE FROM events WHERE call_id = ?", (call_id,))
            db.execute(
                "UPDATE calls SET model = ?, provider = ?, status = 'running', started_at = ?, "
                "ended_at = NULL, params_digest = ?, owner_pid = ?, owner_token = ?, "
                "usage = NULL, cost = NULL, error = NULL, result = NULL, text_preview = '', "
                "has_content = 0, bytes = 0, batches = 0 WHERE id = ?",
                (model, provider, time.time(), digest, self.pid, self.token, call_id),
            )
            return "new", None

    def rename(self, call_id: str, model_id: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE calls SET model = ?, provider = ? WHERE id = ? AND owner_pid = ?",
                (model_id, model_id.partition("/")[0], call_id, self.pid),
            )

    def append(self, call_id: str, seq: int, events: list[dict[str, Any]]) -> None:
        batch = json.dumps(events, separators=(",", ":"), ensure_ascii=False)
        content = any(event.get("type") in CONTENT_EVENTS for event in events)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO events (call_id, seq, batch) VALUES (?, ?, ?)",
                (call_id, seq, batch),
            )
            db.execute(
                "UPDATE calls SET bytes = bytes + ?, batches = MAX(batches, ?), "
                "has_content = has_content OR ? WHERE id = ?",
                (len(batch), seq + 1, content, call_id),
            )

    def finish(
        self,
        call_id: str,
        status: str,
        *,
        result: dict[str, Any] | None,
        usage: dict[str, Any] | None,
        cost: dict[str, Any] | None,
        error: dict[str, Any] | None,
    ) -> None:
        stored_result = _dumps(result)
        with self._transaction() as db:
            preview = (
                _preview(_result_text(result)) if result else self._preview_from_events(call_id)
            )
            db.execute(
                "UPDATE calls SET status = ?, ended_at = ?, usage = ?, cost = ?, error = ?, "
                "result = ?, text_preview = ?, bytes = bytes + ? WHERE id = ? AND owner_pid = ?",
                (
                    status,
                    time.time(),
                    _dumps(usage),
                    _dumps(cost),
                    _dumps(error),
                    stored_result,
                    preview,
                    len(stored_result or ""),
                    call_id,
                    self.pid,
                ),
            )

    # ---- reading ------------------------------------------------------------

    def get(self, call_id: str, *, with_events: bool) -> StoredCall | None:
        return self._get(call_id, with_events=with_events)

    def page(self, limit: int, before: float | None, status: str | None) -> list[StoredCall]:
        clauses: list[str] = []
        args: list[Any] = []
        if before is not None:
            clauses.append("started_at < ?")
            args.append(before)
        if status is not None:
            clauses.append("status = ?")
            args.append(status)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM calls {where} ORDER BY started_at DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [_stored(row) for row in rows]

    def _get(self, call_id: str, *, with_events: bool) -> StoredCall | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM calls WHERE id = ?", (call_id,)).fetchone()
        if row is None:
            return None
        stored = _stored(row)
        if with_events:
            stored.events = self._events(call_id)
        return stored

    def _events(self, call_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for (batch,) in self.db.execute(
            "SELECT batch FROM events WHERE call_id = ? ORDER BY seq", (call_id,)
        ):
            events.extend(json.loads(batch))
        return events

    def _preview_from_events(self, call_id: str) -> str:
        text = ""
        for (batch,) in self.db.execute(
            "SELECT batch FROM events WHERE call_id = ? ORDER BY seq", (call_id,)
        ):
            text += "".join(e.get("text", "") for e in json.loads(batch) if e["type"] == "text")
            if len(text) >= PREVIEW_CHARS:
                break
        return _preview(text)

    # ---- upkeep -------------------------------------------------------------

    def recover(self) -> int:
        """Calls left `running` by a process that is gone become `interrupted`."""
        rows = self.db.execute(
            "SELECT id, owner_pid, owner_token FROM calls WHERE status = 'running'"
        ).fetchall()
        recovered = 0
        for call_id, pid, token in rows:
            if is_alive(pid, token):
                continue
            with self._transaction() as db:
                recovered += db.execute(
                    "UPDATE calls SET status = 'interrupted', ended_at = ?, text_preview = ? "
                    "WHERE id = ? AND status = 'running' AND owner_pid IS ?",
                    (time.time(), self._preview_from_events(call_id), call_id, pid),
                ).rowcount
        if recovered:
            logger.info("journal: %d call(s) of a process that died are now interrupted", recovered)
        return recovered

    def import_legacy(self) -> int:
        """The completed requestIds of an old journal.jsonl, once; the file is left alone."""
        key = f"imported:{LEGACY_FILE}"
        if self.db.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone():
            return 0
        imported = 0
        with self._transaction() as db:
            for entry in _legacy_completed(self.data_dir / LEGACY_FILE):
                result = entry["result"]
                events = _events_of_result(result)
                batch = json.dumps(events, separators=(",", ":"), ensure_ascii=False)
                model = str(entry.get("model") or result.get("model") or "")
                started = float(entry.get("time") or time.time())
                imported += db.execute(
                    "INSERT OR IGNORE INTO calls (id, model, provider, status, started_at, "
                    "ended_at, usage, cost, result, text_preview, has_content, bytes, batches) "
                    "VALUES (?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, 1, ?, 1)",
                    (
                        entry["requestId"],
                        model,
                        model.partition("/")[0],
                        started,
                        started,
                        _dumps(result.get("usage")),
                        _dumps(result.get("cost")),
                        _dumps(result),
                        _preview(_result_text(result)),
                        len(batch),
                    ),
                ).rowcount
                db.execute(
                    "INSERT OR IGNORE INTO events (call_id, seq, batch) VALUES (?, 0, ?)",
                    (entry["requestId"], batch),
                )
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, "done"))
        if imported:
            logger.info("journal: imported %d completed call(s) from %s", imported, LEGACY_FILE)
        return imported

    def prune(self) -> int:
        """Ended calls past the retention age, then the oldest until under the size cap."""
        cutoff = time.time() - self.retention_days * 86400
        doomed = [
            call_id
            for (call_id,) in self.db.execute(
                "SELECT id FROM calls WHERE status != 'running' AND started_at < ?", (cutoff,)
            )
        ]
        kept = 0
        for call_id, size, status in self.db.execute(
            "SELECT id, bytes, status FROM calls WHERE started_at >= ? ORDER BY started_at DESC",
            (cutoff,),
        ).fetchall():
            kept += size
            if kept > self.max_bytes and status != "running":
                doomed.append(call_id)
        if not doomed:
            return 0
        with self._transaction() as db:
            db.executemany("DELETE FROM events WHERE call_id = ?", [(i,) for i in doomed])
            db.executemany("DELETE FROM calls WHERE id = ?", [(i,) for i in doomed])
        self.db.execute("PRAGMA incremental_vacuum")
        logger.info("journal: pruned %d old call(s)", len(doomed))
        return len(doomed)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT: a claim's read and write see no other writer between."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _stored(row: tuple[Any, ...]) -> StoredCall:
    return StoredCall(
        id=row[0],
        model=row[1],
        provider=row[2],
        status=row[3],
        started_at=row[4],
        ended_at=row[5],
        usage=_loads(row[6]),
        cost=_loads(row[7]),
        error=_loads(row[8]),
        result=_loads(row[9]),
        text_preview=row[10],
        has_content=bool(row[11]),
        batches=row[12],
    )


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def _result_text(result: dict[str, Any]) -> str:
    return "".join(
        part.get("text", "") for part in result.get("content") or [] if part.get("type") == "text"
    )


def _events_of_result(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The events a stored answer streams as (for calls journaled before events were kept)."""
    events: list[dict[str, Any]] = [
        {"type": "started", "id": result.get("id", ""), "model": result.get("model", "")}
    ]
    for part in result.get("content") or []:
        kind = part.get("type")
        if kind == "text":
            events.append({"type": "text", "text": part.get("text", "")})
        elif kind == "thinking":
            thinking = {"type": "thinking", "text": part.get("text", "")}
            if part.get("signature"):
                thinking["signature"] = part["signature"]
            events.append(thinking)
        elif kind == "redactedThinking":
            events.append({"type": "redactedThinking", "data": part.get("data", "")})
        elif kind == "toolUse":
            tool = {k: part[k] for k in ("id", "name", "input", "providerData") if k in part}
            events.append({"type": "toolUse", **tool})
    events.append({"type": "usage", **(result.get("usage") or {})})
    events.append({"type": "stop", "reason": result.get("stopReason", "endTurn")})
    return events


def _legacy_completed(path: Path) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for source in (path.with_suffix(".jsonl.1"), path):
        try:
            lines = source.read_bytes().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:  # a torn or foreign line: the rest still counts
                continue
            if (
                isinstance(entry, dict)
                and entry.get("status") == "completed"
                and isinstance(entry.get("requestId"), str)
                and isinstance(entry.get("result"), dict)
            ):
                found[entry["requestId"]] = entry
    return list(found.values())
