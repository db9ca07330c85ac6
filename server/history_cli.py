"""`switchboard history`: the journal's calls as a table, or one call in full.

Reads the data dir's journal.db directly (read-only), so it needs no server and
starts fast: only the standard library and the journal's store are imported.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import datetime
from typing import Any, TextIO

from switchboard.providers.paths import data_dir

from .journal_store import JournalStore, StoredCall
from .terminal_text import printable

COLUMNS = ("STARTED", "STATUS", "MODEL", "TIME", "TOKENS", "COST", "ID", "TEXT")


def print_history(limit: int, status: str | None, out: TextIO = sys.stdout) -> int:
    store = _store()
    if store is None:
        print("no calls yet", file=out)
        return 0
    try:
        calls = store.page(limit, None, status)
    except sqlite3.Error as problem:
        print(f"switchboard history: cannot read {store.path}: {problem}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if not calls:
        print("no calls yet", file=out)
        return 0
    rows = [COLUMNS, *(_row(call) for call in calls)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip(), file=out)
    return 0


def print_call(call_id: str, out: TextIO = sys.stdout) -> int:
    store = _store()
    try:
        call = store.get(call_id, with_events=True) if store is not None else None
    except sqlite3.Error as problem:
        print(f"switchboard history: cannot read the journal: {problem}", file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.close()
    if call is None:
        print(f"switchboard history: no call '{call_id}' in the journal", file=sys.stderr)
        return 1
    print(f"id:       {call.id}", file=out)
    print(f"model:    {call.model}", file=out)
    print(f"status:   {call.status}", file=out)
    print(f"started:  {_when(call.started_at)}", file=out)
    print(f"duration: {_duration(call.duration_ms)}", file=out)
    print(f"tokens:   {_tokens(call.usage)}", file=out)
    print(f"cost:     {_cost(call.cost)}", file=out)
    if call.error:
        error = f"{call.error.get('code', '')} {call.error.get('message', '')}"
        print(f"error:    {printable(error)}", file=out)
    print("", file=out)
    print(printable(_transcript(call.events or [])), file=out)
    return 0


def _store() -> JournalStore | None:
    store = JournalStore(data_dir(), retention_days=0, max_bytes=0)
    return store if store.open_for_reading() else None


def _row(call: StoredCall) -> tuple[str, ...]:
    return (
        _when(call.started_at),
        call.status,
        call.model,
        _duration(call.duration_ms),
        _tokens(call.usage),
        _cost(call.cost),
        printable(call.id),
        printable(call.text_preview),
    )


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int) -> str:
    return f"{ms / 1000:.1f}s"


def _tokens(usage: dict[str, Any] | None) -> str:
    if not usage:
        return "-"
    return f"{usage.get('inputTokens', 0)}/{usage.get('outputTokens', 0)}"


def _cost(cost: dict[str, Any] | None) -> str:
    return f"${cost['totalUsd']:.4f}" if cost and "totalUsd" in cost else "-"


def _transcript(events: list[dict[str, Any]]) -> str:
    """The answer as it streamed: thinking and tool calls marked, text as it is."""
    pieces: list[str] = []
    kind = None
    for event in events:
        name = event.get("type")
        if name in ("text", "thinking"):
            if name != kind:
                pieces.append("\n[thinking]\n" if name == "thinking" else "\n")
            pieces.append(event.get("text", ""))
        elif name == "toolUse":
            arguments = json.dumps(event.get("input", {}), ensure_ascii=False)
            pieces.append(f"\n[tool {event.get('name')}] {arguments}\n")
        elif name == "error":
            pieces.append(f"\n[error] {event.get('message', '')}\n")
        if name in ("text", "thinking", "toolUse", "error"):
            kind = name
    return "".join(pieces).strip()
