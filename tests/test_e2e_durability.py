"""Durable calls end to end: graceful shutdown, the partial in every error, replay and
resume from the journal, `switchboard/history` and `switchboard history`."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests import journal_probe
from tests.conftest import fake_keys
from tests.durable_session import durable_session, process_of, timed
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import provider_config

OPENAI_MODEL = "openai/gpt-4o"
ANTHROPIC_MODEL = "anthropic/claude-sonnet-4-6"
USER = [{"role": "user", "content": "hi"}]
CONTINUE = "Continue it exactly where it stopped"


def config(anthropic: FakeAnthropic, openai: FakeOpenAI, extra: str = "") -> str:
    return extra + "\n" + provider_config(anthropic.url, openai.url)


def text_of(result: dict[str, Any]) -> str:
    return "".join(part["text"] for part in result["content"] if part["type"] == "text")


def chat_bodies(fake: Any) -> list[dict[str, Any]]:
    return [r.json() for r in fake.requests if r.method == "POST" and "count" not in r.path]


async def until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


# ---- graceful shutdown -------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_mid_stream_answers_with_the_partial_and_exits_0(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, signum: int
) -> None:
    fake_openai.enqueue_chunks(2000, delay_s=0.02)
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        batches = timed(session, "t")
        params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "term-1"}
        request = asyncio.ensure_future(
            session.request("switchboard/chat", {**params, "partialResultToken": "t"})
        )
        await until(lambda: len(batches.text_by(time.monotonic())) > 20)
        signalled = time.monotonic()
        process_of(session).send_signal(signum)
        with pytest.raises(JsonRpcException) as failure:
            await request
        returncode = await asyncio.wait_for(process_of(session).wait(), 10)
        print(f"exited {time.monotonic() - signalled:.2f} s after signal {signum}")
    assert failure.value.code == -32803
    data = failure.value.data
    assert data["code"] == "serverShuttingDown"
    partial = text_of(data["partial"])
    assert partial.startswith("tok tok ") and len(partial) < len("tok " * 2000)
    assert returncode == 0
    row = journal_probe.call(session.data_dir, "term-1")
    assert row["status"] == "interrupted"
    assert journal_probe.text_of_events(row["events"]) == partial


async def test_a_chat_that_ends_within_the_grace_gets_its_answer(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_chunks(30, delay_s=0.02)
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        request = asyncio.ensure_future(
            session.request("switchboard/chat", {"model": OPENAI_MODEL, "messages": USER})
        )
        await until(lambda: fake_openai.streams_started)
        process_of(session).send_signal(signal.SIGTERM)
        result = await request
        assert await asyncio.wait_for(process_of(session).wait(), 10) == 0
    assert text_of(result) == "tok " * 30
    assert journal_probe.statuses(session.data_dir) == ["completed"]


async def test_stdin_closed_mid_stream_journals_interrupted_and_exits_0(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_chunks(2000, delay_s=0.02)
    async with durable_session(
        tmp_path,
        config(fake_anthropic, fake_openai, "shutdown_grace = 0.2"),
        fake_keys(fake_anthropic, fake_openai),
    ) as session:
        batches = timed(session, "e")
        params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "eof-1"}
        request = asyncio.ensure_future(
            session.request("switchboard/chat", {**params, "partialResultToken": "e"})
        )
        await until(lambda: len(batches.text_by(time.monotonic())) > 20)
        process = process_of(session)
        assert process.stdin is not None
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), 10) == 0
        request.cancel()
    row = journal_probe.call(session.data_dir, "eof-1")
    assert row["status"] == "interrupted"
    assert journal_probe.text_of_events(row["events"]).startswith("tok tok ")


async def test_new_requests_are_refused_while_shutting_down(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_chunks(2000, delay_s=0.02)
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        running = asyncio.ensure_future(
            session.request("switchboard/chat", {"model": OPENAI_MODEL, "messages": USER})
        )
        await until(lambda: fake_openai.streams_started)
        process_of(session).send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)  # within the 2 s grace: the server is draining
        with pytest.raises(JsonRpcException) as refused:
            await session.request("switchboard/usage", {})
        with pytest.raises(JsonRpcException):
            await running
        await asyncio.wait_for(process_of(session).wait(), 10)
    assert refused.value.code == -32803
    assert refused.value.data["code"] == "serverShuttingDown"


# ---- the partial in every error --------------------------------------------------


async def test_a_failure_after_content_carries_the_partial_in_its_data(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_replay(
        b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
        b'"choices":[{"index":0,"delta":{"content":"half an "},"finish_reason":null}]}\n\n'
        b'data: {"error":{"message":"upstream crashed","type":"server_error"}}\n\n'
    )
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        with pytest.raises(JsonRpcException) as failure:
            await session.request("switchboard/chat", {"model": OPENAI_MODEL, "messages": USER})
        fake_openai.enqueue_replay(b"data: {broken\n\n")
        with pytest.raises(JsonRpcException) as before_content:
            await session.request("switchboard/chat", {"model": OPENAI_MODEL, "messages": USER})
    data = failure.value.data
    assert data["code"] == "providerUnavailable"
    assert text_of(data["partial"]) == "half an "
    assert data["partial"]["stopReason"] == "error"
    assert "partial" not in before_content.value.data


# ---- replay and resume ------------------------------------------------------------


async def test_a_completed_call_is_replayed_with_its_thinking_and_tool_events(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    call = ToolCall(id="toolu_01", name="get_weather", input={"city": "Paris"})
    fake_anthropic.enqueue_scenario(
        Scenario(text="Let me check.", thinking="They want weather.", tool_calls=[call])
    )
    params = {"model": ANTHROPIC_MODEL, "messages": USER, "requestId": "tools-1"}
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        first = await session.request("switchboard/chat", {**params, "partialResultToken": "a"})
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as again:
        second = await again.request("switchboard/chat", {**params, "partialResultToken": "b"})
    assert first == second
    streamed, replayed = session.events("a"), again.events("b")
    # The same events; deltas that streamed one after another come back joined.
    assert journal_probe.merged(replayed) == journal_probe.merged(streamed)
    assert len(replayed) < len(streamed)
    kinds = {event["type"] for event in replayed}
    assert {"thinking", "toolUseStart", "toolUseDelta", "toolUse", "text"} <= kinds
    assert len(chat_bodies(fake_anthropic)) == 1


async def test_a_failed_call_resumes_openai_style(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_replay(
        b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
        b'"choices":[{"index":0,"delta":{"content":"The answer is "},"finish_reason":null}]}\n\n'
        b'data: {"error":{"message":"upstream crashed","type":"server_error"}}\n\n'
    )
    fake_openai.enqueue_scenario(Scenario(text="forty-two.", input_tokens=30, output_tokens=5))
    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "resume-1"}
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        with pytest.raises(JsonRpcException):
            await session.request("switchboard/chat", params)
        result = await session.request("switchboard/chat", {**params, "partialResultToken": "r"})
        history = await session.request("switchboard/history", {"id": "resume-1"})
        replay = await session.request("switchboard/chat", {**params, "partialResultToken": "p"})
    assert text_of(result) == "The answer is forty-two."
    assert result["resumed"] is True
    assert session.texts("r") == "The answer is forty-two."
    kinds = [e["type"] for e in session.events("r")]
    assert kinds.count("started") == 1 and "error" not in kinds
    assert kinds.count("stop") == 1 and kinds[-1] == "stop"
    assert replay == result
    assert journal_probe.merged(session.events("p")) == journal_probe.merged(session.events("r"))
    # The first call reported no usage: its share was counted locally.
    assert result["usage"]["outputTokens"] > 5 and result["usage"]["inputTokens"] > 30
    assert result["usage"]["estimated"] is True
    resumed_body = chat_bodies(fake_openai)[-1]
    assert resumed_body["messages"][-2] == {"role": "assistant", "content": "The answer is "}
    assert resumed_body["messages"][-1]["role"] == "user"
    assert CONTINUE in resumed_body["messages"][-1]["content"]
    assert history["call"]["status"] == "completed"
    assert journal_probe.text_of_events(history["call"]["events"]) == "The answer is forty-two."


async def test_a_killed_call_resumes_with_a_prefill_for_anthropic(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_anthropic.enqueue_scenario(
        Scenario(text="word " * 400, pieces=400, delay_s=0.01, output_tokens=400)
    )
    params = {"model": ANTHROPIC_MODEL, "messages": USER, "requestId": "prefill-1"}
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        batches = timed(session, "k")
        killed = asyncio.ensure_future(
            session.request("switchboard/chat", {**params, "partialResultToken": "k"})
        )
        await until(lambda: len(batches.text_by(time.monotonic())) > 50)
        await asyncio.sleep(0.5)
        process_of(session).kill()
        await process_of(session).wait()
        with pytest.raises(RuntimeError, match="exited"):
            await killed
    journaled = journal_probe.call(session.data_dir, "prefill-1")
    assert journaled["status"] == "running"  # nobody was left to say otherwise
    partial = journal_probe.text_of_events(journaled["events"])
    assert partial.startswith("word word ")
    fake_anthropic.enqueue_scenario(Scenario(text=" the end.", output_tokens=3))
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as again:
        listed = await again.request("switchboard/history", {"status": "interrupted"})
        result = await again.request("switchboard/chat", {**params, "partialResultToken": "r"})
    assert [c["id"] for c in listed["calls"]] == ["prefill-1"]
    assert text_of(result) == partial + " the end."
    assert again.texts("r") == partial + " the end."
    assert result["resumed"] is True
    prefill = chat_bodies(fake_anthropic)[-1]["messages"][-1]
    assert prefill == {"role": "assistant", "content": [{"type": "text", "text": partial.rstrip()}]}
    # usage is both calls': the first's never arrived, so it was counted locally
    assert result["usage"]["inputTokens"] > 12
    assert result["usage"]["outputTokens"] >= 3 + len(partial.split()) // 2
    assert result["usage"]["estimated"] is True


async def test_resume_false_starts_afresh(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_replay(
        b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
        b'"choices":[{"index":0,"delta":{"content":"stale "},"finish_reason":null}]}\n\n'
        b'data: {"error":{"message":"upstream crashed","type":"server_error"}}\n\n'
    )
    fake_openai.enqueue_scenario(Scenario(text="Fresh."))
    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "fresh-1"}
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        with pytest.raises(JsonRpcException):
            await session.request("switchboard/chat", params)
        result = await session.request("switchboard/chat", {**params, "resume": False})
    assert text_of(result) == "Fresh."
    assert "resumed" not in result
    assert chat_bodies(fake_openai)[-1]["messages"] == USER


# ---- history, privacy, journal = false ----------------------------------------------


async def test_history_over_lsp(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_scenario(Scenario(text="First answer."))
    fake_anthropic.enqueue_scenario(Scenario(text="Second answer."))
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        await session.request("switchboard/chat", {"model": OPENAI_MODEL, "messages": USER})
        await session.request("switchboard/chat", {"model": ANTHROPIC_MODEL, "messages": USER})
        page = await session.request("switchboard/history", {})
        one = await session.request("switchboard/history", {"limit": 1})
        older = await session.request(
            "switchboard/history", {"before": one["calls"][0]["startedAt"]}
        )
        call = await session.request("switchboard/history", {"id": page["calls"][1]["id"]})
        failures = {}
        for bad, field in (
            ({"limit": 0}, "limit"),
            ({"status": "lost"}, "status"),
            ({"before": "soon"}, "before"),
            ({"id": "x", "limit": 2}, "id"),
            ({"id": "no-such-call"}, "id"),
            ({"surprise": 1}, "surprise"),
        ):
            with pytest.raises(JsonRpcException) as caught:
                await session.request("switchboard/history", bad)
            failures[field] = caught.value
    calls = page["calls"]
    assert [c["model"] for c in calls] == [ANTHROPIC_MODEL, OPENAI_MODEL]
    assert [c["textPreview"] for c in calls] == ["Second answer.", "First answer."]
    assert all(c["status"] == "completed" and c["durationMs"] >= 0 for c in calls)
    assert calls[0]["usage"]["inputTokens"] == 12 and calls[0]["cost"]["totalUsd"] > 0
    assert set(calls[0]) == {
        "id",
        "model",
        "status",
        "startedAt",
        "durationMs",
        "usage",
        "cost",
        "textPreview",
    }
    assert [c["id"] for c in one["calls"]] == [calls[0]["id"]]
    assert [c["id"] for c in older["calls"]] == [calls[1]["id"]]
    detail = call["call"]
    assert detail["id"] == calls[1]["id"] and detail["model"] == OPENAI_MODEL
    assert detail["events"][0]["type"] == "started"
    assert journal_probe.text_of_events(detail["events"]) == "First answer."
    for field, error in failures.items():
        assert error.code == -32602, field
        assert error.data["field"] == field


async def test_history_in_the_terminal(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_scenario(Scenario(text="Shown in the table."))
    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "cli-1"}
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        await session.request("switchboard/chat", params)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "switchboard.server", "history", *args],
            env=session.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    table = cli()
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["STARTED", "STATUS", "MODEL", "TIME", "TOKENS", "COST", "ID", "TEXT"]
    assert "completed" in row and OPENAI_MODEL in row and "cli-1" in row
    assert row.endswith("Shown in the table.") and "12/7" in row
    shown = cli("show", "cli-1")
    assert shown.returncode == 0, shown.stderr
    assert "status:   completed" in shown.stdout
    assert shown.stdout.rstrip().endswith("Shown in the table.")
    missing = cli("show", "nope")
    assert missing.returncode == 1 and "no call 'nope'" in missing.stderr
    assert cli("--status", "failed").stdout.strip() == "no calls yet"


async def test_the_journal_keeps_no_prompt_and_no_key(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    prompt = "canary-prompt-that-must-stay-out-of-the-journal"
    fake_openai.enqueue_scenario(Scenario(text="Answered."))
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        await session.request(
            "switchboard/chat",
            {
                "model": OPENAI_MODEL,
                "messages": [{"role": "user", "content": prompt}],
                "system": prompt + "-system",
                "requestId": "private-1",
            },
        )
    everything = journal_probe.everything(session.data_dir)
    assert "Answered." in everything
    assert prompt not in everything
    assert fake_openai.api_key not in everything


async def test_journal_false_keeps_nothing(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "unjournaled"}
    async with durable_session(
        tmp_path,
        config(fake_anthropic, fake_openai, "journal = false"),
        fake_keys(fake_anthropic, fake_openai),
    ) as session:
        await session.request("switchboard/chat", params)
        await session.request("switchboard/chat", params)
        history = await session.request("switchboard/history", {})
    assert history == {"calls": []}
    assert len(chat_bodies(fake_openai)) == 2
    assert not list(session.data_dir.glob("journal.db*"))


async def test_an_old_journal_jsonl_is_replayed(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    old = {
        "id": "sb-old",
        "model": OPENAI_MODEL,
        "content": [{"type": "text", "text": "From the old journal."}],
        "stopReason": "endTurn",
        "usage": {"inputTokens": 5, "outputTokens": 4},
        "cost": None,
    }
    line = {"time": time.time(), "status": "completed", "model": OPENAI_MODEL}
    legacy = json.dumps({**line, "requestId": "legacy-1", "result": old}) + "\n"
    (data / "journal.jsonl").write_text(legacy)
    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "legacy-1"}
    async with durable_session(
        tmp_path, config(fake_anthropic, fake_openai), fake_keys(fake_anthropic, fake_openai)
    ) as session:
        result = await session.request("switchboard/chat", {**params, "partialResultToken": "o"})
    assert result == old
    assert session.texts("o") == "From the old journal."
    assert chat_bodies(fake_openai) == []
    assert (data / "journal.jsonl").read_text() == legacy


async def test_the_exit_notification_mid_stream_answers_and_journals_the_partial(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_chunks(2000, delay_s=0.02)
    async with durable_session(
        tmp_path,
        config(fake_anthropic, fake_openai, "shutdown_grace = 0.1"),
        fake_keys(fake_anthropic, fake_openai),
    ) as session:
        batches = timed(session, "x")
        params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "exit-1"}
        request = asyncio.ensure_future(
            session.request("switchboard/chat", {**params, "partialResultToken": "x"})
        )
        await until(lambda: len(batches.text_by(time.monotonic())) > 20)
        session.client.protocol.notify("exit", None)
        with pytest.raises(JsonRpcException) as failure:
            await request
        await asyncio.wait_for(process_of(session).wait(), 10)
    assert failure.value.data["code"] == "serverShuttingDown"
    row = journal_probe.call(session.data_dir, "exit-1")
    assert row["status"] == "interrupted"
    assert journal_probe.text_of_events(row["events"]) == text_of(failure.value.data["partial"])


async def test_a_call_another_live_server_is_running_is_waited_for_then_replayed(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_chunks(60, delay_s=0.02)
    keys = fake_keys(fake_anthropic, fake_openai)
    shared = tmp_path / "data"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "both-1"}
    async with (
        durable_session(tmp_path / "a", config(fake_anthropic, fake_openai), keys, shared) as a,
        durable_session(tmp_path / "b", config(fake_anthropic, fake_openai), keys, shared) as b,
    ):
        first = asyncio.ensure_future(a.request("switchboard/chat", params))
        await until(lambda: fake_openai.streams_started)
        second = await b.request("switchboard/chat", {**params, "partialResultToken": "w"})
        assert second == await first
    assert text_of(second) == "tok " * 60
    assert b.texts("w") == "tok " * 60
    assert len(chat_bodies(fake_openai)) == 1
