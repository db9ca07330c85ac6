"""The chat journal: what every chat produced, kept so nothing is lost.

One JSON line per finished, failed or cancelled chat in the data dir
(0600): the result or whatever had streamed before the failure. A chat
sent again with the same `requestId` is answered from here instead of
calling (and paying) the provider twice. No params are written, so no
prompt and no credential ever lands here.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger("switchboard.journal")

JOURNAL_FILE = "journal.jsonl"
MAX_BYTES = 20_000_000


class Journal:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / JOURNAL_FILE
        self._completed: dict[str, dict[str, Any]] | None = None

    def record(
        self,
        *,
        status: str,
        model: str,
        request_id: str | None,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None = None,
    ) -> None:
        entry = {
            "time": round(time.time(), 3),
            "status": status,
            "model": model,
            "requestId": request_id,
            "result": result,
            "error": error,
        }
        try:
            self._append(json.dumps(entry, separators=(",", ":")) + "\n")
        except OSError as problem:
            logger.warning("cannot write the journal %s: %s", self.path, problem)
            return
        if status == "completed" and request_id and self._completed is not None:
            self._completed[request_id] = entry

    def completed(self, request_id: str) -> dict[str, Any] | None:
        """The journaled result of a completed chat with this requestId, if any."""
        if self._completed is None:
            self._completed = self._load_completed()
        entry = self._completed.get(request_id)
        return entry["result"] if entry else None

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
            self.path.replace(self.path.with_suffix(".jsonl.1"))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line)

    def _load_completed(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for path in (self.path.with_suffix(".jsonl.1"), self.path):
            try:
                lines = path.read_bytes().splitlines()
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
                ):
                    found[entry["requestId"]] = entry
        return found
