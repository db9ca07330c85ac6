"""Read a server's journal.db as a test sees it: rows, statuses, and every byte as text."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

JOURNAL_DB = "journal.db"


def _connect(data_dir: Path) -> sqlite3.Connection:
    # Not read-only: a reader of a WAL file may need to create its -shm index.
    return sqlite3.connect(data_dir / JOURNAL_DB, timeout=10)


def calls(data_dir: Path) -> list[dict[str, Any]]:
    """Every call row, oldest first, with its events."""
    db = _connect(data_dir)
    try:
        db.row_factory = sqlite3.Row
        rows = [dict(row) for row in db.execute("SELECT * FROM calls ORDER BY started_at")]
        for row in rows:
            row["events"] = [
                event
                for (batch,) in db.execute(
                    "SELECT batch FROM events WHERE call_id = ? ORDER BY seq", (row["id"],)
                )
                for event in json.loads(batch)
            ]
        return rows
    finally:
        db.close()


def call(data_dir: Path, call_id: str) -> dict[str, Any]:
    found = [row for row in calls(data_dir) if row["id"] == call_id]
    assert found, f"no call {call_id!r} in the journal"
    return found[0]


def statuses(data_dir: Path) -> list[str]:
    return [row["status"] for row in calls(data_dir)]


def text_of_events(events: list[dict[str, Any]]) -> str:
    return "".join(event.get("text", "") for event in events if event["type"] == "text")


def everything(data_dir: Path) -> str:
    """All the journal holds, as text: a secret or prompt must not appear in it."""
    raw = b"".join(
        path.read_bytes() for path in sorted(data_dir.glob(JOURNAL_DB + "*")) if path.is_file()
    )
    return raw.decode("utf-8", "replace") + json.dumps(calls(data_dir), ensure_ascii=False)


def merged(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events with consecutive text (and unsigned thinking) deltas joined, as journaled."""
    out: list[dict[str, Any]] = []
    for event in events:
        kind = event["type"]
        joinable = kind == "text" or (kind == "thinking" and "signature" not in event)
        if joinable and out and out[-1]["type"] == kind and "signature" not in out[-1]:
            out[-1] = {"type": kind, "text": out[-1]["text"] + event["text"]}
        else:
            out.append(dict(event))
    return out
