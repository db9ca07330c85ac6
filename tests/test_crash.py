"""Crashes and company: kill -9 at random moments mid-stream, and two servers on one data dir.

Every event the client got more than the journal's batching window (plus a
margin) before the kill must be in the journal; after a restart the call is
`interrupted` and resuming it gives partial + continuation, with the partial
sent upstream as the assistant's turn. Two servers sharing a data dir and
requestIds pay the provider once per requestId and leave an intact database.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from switchboard.server.journal import FLUSH_S

from tests import journal_probe
from tests.conftest import fake_keys
from tests.durable_session import durable_session, process_of, timed
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import provider_config

OPENAI_MODEL = "openai/gpt-4o"
USER = [{"role": "user", "content": "count"}]
MARGIN_S = 0.15
CRASH_RUNS = 20
CHUNKS = 600
CHUNK_DELAY_S = 0.01


def text_of(result: dict[str, Any]) -> str:
    return "".join(part["text"] for part in result["content"] if part["type"] == "text")


def chat_bodies(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [r.json() for r in fake.requests if r.path.endswith("/chat/completions")]


@pytest.mark.slow
@pytest.mark.parametrize("run", range(CRASH_RUNS))
async def test_kill_9_mid_stream_loses_nothing_older_than_the_window_and_resumes(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, run: int
) -> None:
    moment = random.Random(run).uniform(FLUSH_S + MARGIN_S, 2.5)
    config = provider_config(fake_anthropic.url, fake_openai.url)
    keys = fake_keys(fake_anthropic, fake_openai)
    fake_openai.enqueue_chunks(CHUNKS, delay_s=CHUNK_DELAY_S)
    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": f"crash-{run}"}
    async with durable_session(tmp_path, config, keys) as session:
        batches = timed(session, "s")
        request = asyncio.ensure_future(
            session.request("switchboard/chat", {**params, "partialResultToken": "s"})
        )
        deadline = time.monotonic() + 30
        while not batches.text_by(time.monotonic()):
            assert time.monotonic() < deadline, "nothing streamed"
            await asyncio.sleep(0.005)
        await asyncio.sleep(moment)
        killed_at = time.monotonic()
        process_of(session).kill()
        await process_of(session).wait()
        with pytest.raises(RuntimeError, match="exited"):
            await request
    seen_long_enough = batches.text_by(killed_at - FLUSH_S - MARGIN_S)
    seen = batches.text_by(killed_at)
    row = journal_probe.call(session.data_dir, f"crash-{run}")
    journaled = journal_probe.text_of_events(row["events"])
    print(
        f"killed {moment:.2f} s in: client had {len(seen)} chars,"
        f" journal {len(journaled)}, required {len(seen_long_enough)}"
    )
    assert journaled.startswith(seen_long_enough)
    assert ("tok " * CHUNKS).startswith(journaled)
    assert journaled, "the first text was older than the window, yet not journaled"

    fake_openai.enqueue_scenario(Scenario(text="and so on.", output_tokens=4))
    async with durable_session(tmp_path, config, keys) as again:
        listed = await again.request("switchboard/history", {"id": f"crash-{run}"})
        result = await again.request("switchboard/chat", {**params, "partialResultToken": "r"})
    assert listed["call"]["status"] == "interrupted"
    assert text_of(result) == journaled + "and so on."
    assert again.texts("r") == journaled + "and so on."
    assert result["resumed"] is True
    continued = chat_bodies(fake_openai)[-1]["messages"]
    assert continued[: len(USER)] == USER
    assert continued[len(USER)] == {"role": "assistant", "content": journaled}
    assert continued[-1]["role"] == "user"
    assert len(chat_bodies(fake_openai)) == 2


@pytest.mark.slow
async def test_two_servers_on_one_data_dir_pay_once_per_request_id(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    per_server, shared = 200, 100
    ids_a = [f"r{n}" for n in range(per_server)]
    ids_b = [f"r{n}" for n in range(per_server - shared, 2 * per_server - shared)]
    unique = set(ids_a) | set(ids_b)
    for number in range(len(unique)):
        fake_openai.enqueue_scenario(Scenario(text=f"answer {number}", pieces=3, delay_s=0.003))
    config = provider_config(fake_anthropic.url, fake_openai.url)
    keys = fake_keys(fake_anthropic, fake_openai)
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    shared_dir = tmp_path / "data"
    async with (
        durable_session(first_dir, config, keys, shared_dir) as first,
        durable_session(second_dir, config, keys, shared_dir) as second,
    ):
        results: dict[str, list[dict[str, Any]]] = {}

        async def chats(session: Any, ids: list[str]) -> None:
            limit = asyncio.Semaphore(8)

            async def one(request_id: str) -> None:
                async with limit:
                    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": request_id}
                    answer = await session.request("switchboard/chat", params)
                    results.setdefault(request_id, []).append(answer)

            await asyncio.gather(*(one(request_id) for request_id in ids))

        # Interleave: B starts with the ids A is about to reach.
        await asyncio.gather(chats(first, ids_a), chats(second, list(reversed(ids_b))))
    assert len(chat_bodies(fake_openai)) == len(unique)
    for request_id in set(ids_a) & set(ids_b):
        one, other = results[request_id]
        assert one == other
    database = sqlite3.connect(first.data_dir / journal_probe.JOURNAL_DB)
    try:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        counts = database.execute("SELECT status, COUNT(*) FROM calls GROUP BY status").fetchall()
    finally:
        database.close()
    assert counts == [("completed", len(unique))]
