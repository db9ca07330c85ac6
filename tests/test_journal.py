"""The chat journal: one JSON line per finished chat, replayed by requestId."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from switchboard.server import journal as journal_module
from switchboard.server.journal import JOURNAL_FILE, Journal


def result(text: str) -> dict[str, Any]:
    return {"id": "c1", "content": [{"type": "text", "text": text}], "stopReason": "endTurn"}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_one_json_line_per_chat(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record(status="completed", model="openai/gpt-4o", request_id="r1", result=result("a"))
    journal.record(
        status="failed",
        model="anthropic/claude",
        request_id=None,
        result=None,
        error={"code": "network", "message": "cut"},
    )
    entries = lines(tmp_path / JOURNAL_FILE)
    assert [(e["status"], e["model"], e["requestId"]) for e in entries] == [
        ("completed", "openai/gpt-4o", "r1"),
        ("failed", "anthropic/claude", None),
    ]
    assert entries[0]["result"] == result("a")
    assert entries[0]["error"] is None
    assert entries[1]["error"] == {"code": "network", "message": "cut"}
    assert all(isinstance(e["time"], float) for e in entries)
    assert set(entries[0]) == {"time", "status", "model", "requestId", "result", "error"}


def test_file_is_private_and_the_dir_is_created(tmp_path: Path) -> None:
    data = tmp_path / "deep" / "data"
    Journal(data).record(status="completed", model="m/x", request_id=None, result=None)
    assert stat.S_IMODE((data / JOURNAL_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_completed_finds_only_completed_chats(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record(status="completed", model="m/x", request_id="done", result=result("yes"))
    journal.record(status="failed", model="m/x", request_id="broke", result=result("part"))
    journal.record(status="cancelled", model="m/x", request_id="stopped", result=result("p"))
    assert journal.completed("done") == result("yes")
    assert journal.completed("broke") is None
    assert journal.completed("stopped") is None
    assert journal.completed("never") is None


def test_completed_survives_a_restart(tmp_path: Path) -> None:
    Journal(tmp_path).record(status="completed", model="m/x", request_id="r", result=result("1"))
    assert Journal(tmp_path).completed("r") == result("1")


def test_completed_sees_chats_recorded_after_the_first_lookup(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    assert journal.completed("later") is None
    journal.record(status="completed", model="m/x", request_id="later", result=result("new"))
    assert journal.completed("later") == result("new")


def test_the_last_completed_entry_for_an_id_wins(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record(status="completed", model="m/x", request_id="r", result=result("old"))
    journal.record(status="completed", model="m/x", request_id="r", result=result("new"))
    assert Journal(tmp_path).completed("r") == result("new")
    assert journal.completed("r") == result("new")


def test_no_file_means_nothing_completed(tmp_path: Path) -> None:
    assert Journal(tmp_path / "absent").completed("r") is None


def test_a_truncated_line_is_skipped(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record(status="completed", model="m/x", request_id="before", result=result("b"))
    with (tmp_path / JOURNAL_FILE).open("a") as handle:
        handle.write('{"status":"completed","requestId":"torn","res\n')
    journal.record(status="completed", model="m/x", request_id="after", result=result("a"))
    fresh = Journal(tmp_path)
    assert fresh.completed("before") == result("b")
    assert fresh.completed("after") == result("a")
    assert fresh.completed("torn") is None


def test_a_line_of_invalid_utf8_is_skipped(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.record(status="completed", model="m/x", request_id="r", result=result("ok"))
    with (tmp_path / JOURNAL_FILE).open("ab") as handle:
        handle.write(b'{"status":"completed","requestId":"\xff\xfe"}\n')
    assert Journal(tmp_path).completed("r") == result("ok")


def test_a_line_that_is_not_an_object_is_skipped(tmp_path: Path) -> None:
    (tmp_path / JOURNAL_FILE).write_text("[1]\nnull\n")
    journal = Journal(tmp_path)
    journal.record(status="completed", model="m/x", request_id="r", result=result("ok"))
    assert Journal(tmp_path).completed("r") == result("ok")


def test_rotates_past_max_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "MAX_BYTES", 300)
    journal = Journal(tmp_path)
    path = tmp_path / JOURNAL_FILE
    rotated = tmp_path / (JOURNAL_FILE + ".1")
    for number in range(100):
        journal.record(status="completed", model="m/x", request_id=f"r{number}", result=None)
        if path.stat().st_size > 300:
            break
    assert not rotated.exists()
    before = path.read_bytes()
    journal.record(status="completed", model="m/x", request_id="fresh", result=result("f"))
    assert rotated.read_bytes() == before
    assert [e["requestId"] for e in lines(path)] == ["fresh"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Journal(tmp_path).completed("fresh") == result("f")


def test_unwritable_journal_logs_and_does_not_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data dir should be")
    journal = Journal(blocker)
    with caplog.at_level(logging.WARNING, logger="switchboard.journal"):
        journal.record(status="completed", model="m/x", request_id="r", result=None)
    assert "cannot write the journal" in caplog.text
    assert journal.completed("r") is None
