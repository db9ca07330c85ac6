"""The journal of calls in SQLite: claims, events, ends, recovery, import, retention."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from switchboard.server import journal as journal_module
from switchboard.server.journal import Journal, params_digest
from switchboard.server.journal_store import JournalStore

from tests import journal_probe

MODEL = "openai/gpt-4o"


def result(text: str, call_id: str = "sb-1") -> dict[str, Any]:
    return {
        "id": call_id,
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stopReason": "endTurn",
        "usage": {"inputTokens": 3, "outputTokens": 2},
        "cost": None,
    }


async def claim(journal: Journal, request_id: str | None, resume: bool = True) -> Any:
    return await journal.claim(
        request_id, model=MODEL, provider="openai", digest="sha256:x", resume=resume
    )


async def record(journal: Journal, request_id: str, status: str, texts: list[str]) -> None:
    taken = await claim(journal, request_id)
    assert taken.kind == "new"
    recorder = journal.recorder(taken.call_id)
    recorder.add({"type": "started", "id": "sb-1", "model": MODEL})
    for text in texts:
        recorder.add({"type": "text", "text": text})
    final = result("".join(texts)) if status == "completed" else None
    recorder.finish(status, result=final, usage={"inputTokens": 3, "outputTokens": 2})
    await recorder.settled()


def dead_pid() -> int:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


@pytest.fixture
def journal(tmp_path: Path) -> Any:
    opened = Journal(tmp_path / "data")
    yield opened
    opened.close()


async def test_a_call_is_a_row_with_its_events_and_its_end(journal: Journal) -> None:
    await record(journal, "r1", "completed", ["Hel", "lo"])
    journal.close()
    (row,) = journal_probe.calls(journal.path.parent)
    assert (row["id"], row["model"], row["provider"], row["status"]) == (
        "r1",
        MODEL,
        "openai",
        "completed",
    )
    assert row["owner_pid"] > 0 and row["params_digest"] == "sha256:x"
    assert row["ended_at"] >= row["started_at"]
    assert row["events"] == [
        {"type": "started", "id": "sb-1", "model": MODEL},
        {"type": "text", "text": "Hello"},  # consecutive deltas are kept joined
    ]
    assert json.loads(row["usage"]) == {"inputTokens": 3, "outputTokens": 2}
    assert row["text_preview"] == "Hello"


async def test_events_reach_the_file_before_the_call_ends(journal: Journal) -> None:
    taken = await claim(journal, "streaming")
    recorder = journal.recorder(taken.call_id)
    recorder.add({"type": "text", "text": "so far"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = journal_probe.call(journal.path.parent, "streaming")
        if row["events"]:
            break
        await asyncio.sleep(0.02)
    assert row["status"] == "running"
    assert journal_probe.text_of_events(row["events"]) == "so far"


async def test_a_big_batch_goes_at_once(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "FLUSH_S", 3600.0)
    taken = await claim(journal, "big")
    recorder = journal.recorder(taken.call_id)
    recorder.add({"type": "text", "text": "x" * journal_module.FLUSH_BYTES})
    deadline = time.monotonic() + 5
    while not journal_probe.call(journal.path.parent, "big")["events"]:
        assert time.monotonic() < deadline, "a 64 KB batch waited for the timer"
        time.sleep(0.02)


async def test_claims_replay_completed_and_restart_failed_without_content(
    journal: Journal,
) -> None:
    await record(journal, "done", "completed", ["yes"])
    replay = await claim(journal, "done")
    assert replay.kind == "replay"
    assert replay.stored.result == result("yes")
    assert [e["type"] for e in replay.stored.events] == ["started", "text"]
    await record(journal, "empty-fail", "failed", [])
    assert (await claim(journal, "empty-fail")).kind == "new"


async def test_a_call_that_ended_early_is_resumed_or_restarted(journal: Journal) -> None:
    await record(journal, "cut", "cancelled", ["par", "tial"])
    resumed = await claim(journal, "cut")
    assert resumed.kind == "resume"
    assert journal_probe.text_of_events(resumed.stored.events) == "partial"
    assert resumed.stored.batches == 1
    journal.close()
    assert journal_probe.call(journal.path.parent, "cut")["status"] == "running"
    await record(journal, "again", "failed", ["half"])
    fresh = await claim(journal, "again", resume=False)
    assert fresh.kind == "new"
    journal.close()
    assert journal_probe.call(journal.path.parent, "again")["events"] == []


async def test_a_call_running_in_a_live_process_is_waited_for(journal: Journal) -> None:
    taken = await claim(journal, "shared")
    waiting = asyncio.ensure_future(claim(journal, "shared"))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    recorder = journal.recorder(taken.call_id)
    recorder.add({"type": "text", "text": "once"})
    recorder.finish("completed", result=result("once"))
    replay = await asyncio.wait_for(waiting, 5)
    assert replay.kind == "replay" and replay.stored.result == result("once")


async def test_no_request_id_gets_a_fresh_id_each_time(journal: Journal) -> None:
    first, second = await claim(journal, None), await claim(journal, None)
    assert first.kind == second.kind == "new"
    assert first.call_id != second.call_id


def test_the_file_is_private_and_the_dir_is_created(tmp_path: Path) -> None:
    data = tmp_path / "deep" / "data"
    store = JournalStore(data, retention_days=30, max_bytes=10**9)
    store.open()
    store.claim("r", model=MODEL, provider="openai", digest="d", resume=True)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = sorted(data.glob("journal.db*"))
    assert {f.name for f in files} >= {"journal.db", "journal.db-wal"}
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_running_calls_of_a_dead_process_become_interrupted(tmp_path: Path) -> None:
    store = JournalStore(tmp_path, retention_days=30, max_bytes=10**9)
    store.open()
    store.claim("mine", model=MODEL, provider="openai", digest="d", resume=True)
    store.claim("orphan", model=MODEL, provider="openai", digest="d", resume=True)
    store.append("orphan", 0, [{"type": "text", "text": "kept"}])
    store.db.execute("UPDATE calls SET owner_pid = ? WHERE id = 'orphan'", (dead_pid(),))
    store.close()
    reopened = JournalStore(tmp_path, retention_days=30, max_bytes=10**9)
    reopened.open()
    assert reopened.get("mine", with_events=False).status == "running"  # this process lives
    orphan = reopened.get("orphan", with_events=True)
    assert orphan.status == "interrupted"
    assert orphan.events == [{"type": "text", "text": "kept"}]
    assert orphan.text_preview == "kept"
    reopened.close()


def test_a_reused_pid_is_not_taken_for_the_owner(tmp_path: Path) -> None:
    store = JournalStore(tmp_path, retention_days=30, max_bytes=10**9)
    store.open()
    store.claim("old", model=MODEL, provider="openai", digest="d", resume=True)
    store.db.execute("UPDATE calls SET owner_token = 'started-long-ago' WHERE id = 'old'")
    assert store.recover() == 1
    store.close()


def test_an_old_journal_jsonl_is_imported_once_and_left_alone(tmp_path: Path) -> None:
    legacy = tmp_path / "journal.jsonl"
    lines = [
        {
            "time": 1.0,
            "status": "completed",
            "model": MODEL,
            "requestId": "old",
            "result": {
                **result("from before"),
                "content": [
                    {"type": "thinking", "text": "hmm", "signature": "sig"},
                    {"type": "text", "text": "from before"},
                    {"type": "toolUse", "id": "t1", "name": "f", "input": {"a": 1}},
                ],
            },
        },
        {"time": 2.0, "status": "failed", "model": MODEL, "requestId": "broke", "result": None},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"torn\n'
    legacy.write_text(text)
    store = JournalStore(tmp_path, retention_days=10**6, max_bytes=10**9)
    store.open()
    old = store.get("old", with_events=True)
    assert old.status == "completed" and old.result["content"][1]["text"] == "from before"
    assert [e["type"] for e in old.events] == [
        "started",
        "thinking",
        "text",
        "toolUse",
        "usage",
        "stop",
    ]
    assert store.get("broke", with_events=False) is None
    store.db.execute("DELETE FROM calls")
    assert store.import_legacy() == 0  # once only
    store.close()
    assert legacy.read_text() == text


def test_retention_by_age_and_by_size(tmp_path: Path) -> None:
    store = JournalStore(tmp_path, retention_days=1, max_bytes=10**9)
    store.open()
    for number in range(6):
        call_id = f"c{number}"
        store.claim(call_id, model=MODEL, provider="openai", digest="d", resume=True)
        store.append(call_id, 0, [{"type": "text", "text": "x" * 1000}])
        store.finish(call_id, "completed", result=None, usage=None, cost=None, error=None)
        store.db.execute("UPDATE calls SET started_at = ? WHERE id = ?", (number, call_id))
    store.db.execute("UPDATE calls SET started_at = ? WHERE id IN ('c4', 'c5')", (time.time(),))
    store.claim("running-old", model=MODEL, provider="openai", digest="d", resume=True)
    store.db.execute("UPDATE calls SET started_at = 0 WHERE id = 'running-old'")
    assert store.prune() == 4
    left = [row[0] for row in store.db.execute("SELECT id FROM calls ORDER BY id")]
    assert left == ["c4", "c5", "running-old"]  # a running call is never pruned
    store.max_bytes = 1500
    store.db.execute("UPDATE calls SET started_at = ? WHERE id = 'c5'", (time.time() + 1,))
    assert store.prune() == 1
    assert store.get("c4", with_events=False) is None and store.get("c5", with_events=False)
    assert store.db.execute("SELECT COUNT(*) FROM events WHERE call_id = 'c4'").fetchone() == (0,)
    store.close()


async def test_pruning_runs_again_while_the_server_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "PRUNE_EVERY_S", 0.2)
    journal = Journal(tmp_path, retention_days=0)
    await record(journal, "short-lived", "completed", ["x"])
    deadline = time.monotonic() + 5
    while journal_probe.calls(tmp_path):
        assert time.monotonic() < deadline, "the hourly prune never came"
        time.sleep(0.05)
    journal.close()


async def test_journal_false_keeps_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path, enabled=False)
    await record(journal, "r", "completed", ["x"])
    assert (await claim(journal, "r")).kind == "new"
    assert await journal.history(limit=10, before=None, status=None) == []
    journal.close()
    assert not list(tmp_path.iterdir())


async def test_history_pages_newest_first(journal: Journal) -> None:
    for number in range(5):
        await record(journal, f"h{number}", "completed" if number % 2 else "failed", ["t"])
    page = await journal.history(limit=2, before=None, status=None)
    assert [c.id for c in page] == ["h4", "h3"]
    older = await journal.history(limit=10, before=page[-1].started_at, status=None)
    assert [c.id for c in older] == ["h2", "h1", "h0"]
    failed = await journal.history(limit=10, before=None, status="failed")
    assert [c.id for c in failed] == ["h4", "h2", "h0"]
    assert (await journal.call("h3")).events[-1] == {"type": "text", "text": "t"}
    assert await journal.call("nope") is None


def test_lookups_use_an_index(tmp_path: Path) -> None:
    store = JournalStore(tmp_path, retention_days=30, max_bytes=10**9)
    store.open()
    plans = [
        " ".join(row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {query}", args))
        for query, args in (
            ("SELECT * FROM calls WHERE id = ?", ("x",)),
            ("SELECT * FROM calls ORDER BY started_at DESC LIMIT 5", ()),
            ("SELECT * FROM calls WHERE status = 'running'", ()),
            ("SELECT batch FROM events WHERE call_id = ? ORDER BY seq", ("x",)),
        )
    ]
    assert all("INDEX" in plan or "PRIMARY KEY" in plan for plan in plans), plans
    store.close()


def test_the_digest_hides_the_prompt_and_ignores_tokens() -> None:
    asked = {"messages": [{"role": "user", "content": "my secret plan"}], "model": MODEL}
    digest = params_digest(asked)
    assert "secret" not in digest and digest.startswith("sha256:")
    assert params_digest({**asked, "requestId": "a", "partialResultToken": 1}) == digest
    assert params_digest({**asked, "model": "openai/other"}) != digest


def test_a_broken_data_dir_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data dir should be")
    store = JournalStore(blocker, retention_days=30, max_bytes=10**9)
    with pytest.raises((OSError, sqlite3.Error)):
        store.open()


async def test_an_unusable_journal_lets_chats_go_on(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data dir should be")
    journal = Journal(blocker)
    taken = await claim(journal, "r")
    assert taken.kind == "new"
    recorder = journal.recorder(taken.call_id)
    recorder.add({"type": "text", "text": "x"})
    recorder.finish("completed")
    await recorder.settled()
    journal.close()


def test_the_config_sets_the_journal_and_the_shutdown_grace(tmp_path: Path) -> None:
    from switchboard.providers.config import apply_overrides, load_config

    path = tmp_path / "config.toml"
    path.write_text(
        "journal = false\njournal_retention_days = 7\njournal_max_mb = 50\nshutdown_grace = 0.5\n"
    )
    config = load_config(path, frozenset({"openai"}))
    assert (config.journal, config.journal_retention_days) == (False, 7.0)
    assert (config.journal_max_mb, config.shutdown_grace) == (50.0, 0.5)
    assert config.issues == ()
    defaults = load_config(tmp_path / "absent.toml", frozenset())
    assert (defaults.journal, defaults.journal_retention_days) == (True, 30.0)
    assert (defaults.journal_max_mb, defaults.shutdown_grace) == (200.0, 2.0)
    edited = apply_overrides(config, {"journal": True, "shutdownGrace": 1}, frozenset({"openai"}))
    assert (edited.journal, edited.shutdown_grace, edited.journal_max_mb) == (True, 1.0, 50.0)
    path.write_text('journal = "no"\njournal_max_mb = 0\nshutdown_grace = -1\n')
    broken = load_config(path, frozenset())
    assert [issue.key for issue in broken.issues] == ["journal", "journal_max_mb", "shutdown_grace"]
    assert broken.journal is True and broken.shutdown_grace == 2.0
