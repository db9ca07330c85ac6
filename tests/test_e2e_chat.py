"""switchboard/chat end to end: real server over stdio, loopback fakes for the providers."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from tests import journal_probe
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import Session

ANTHROPIC_MODEL = "anthropic/claude-sonnet-4-5"
OPENAI_MODEL = "openai/gpt-4o"
USER = [{"role": "user", "content": "Say hello."}]


def text_of(result: dict) -> str:
    return "".join(p["text"] for p in result["content"] if p["type"] == "text")


def tool_uses(result: dict) -> list[tuple[str, dict]]:
    return [(p["name"], p["input"]) for p in result["content"] if p["type"] == "toolUse"]


@pytest.mark.parametrize("model", [ANTHROPIC_MODEL, OPENAI_MODEL])
async def test_chat_streams_partial_results_and_work_done_progress(
    session: Session, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, model: str
) -> None:
    scenario = Scenario(
        text="Hello there, streaming friend!", pieces=6, input_tokens=21, output_tokens=9
    )
    fake = fake_anthropic if model.startswith("anthropic") else fake_openai
    fake.enqueue_scenario(scenario)
    session.client.progress_reports["work"] = []
    result = await session.request(
        "switchboard/chat",
        {"model": model, "messages": USER, "partialResultToken": "tok", "workDoneToken": "work"},
    )
    assert text_of(result) == scenario.text
    assert session.texts("tok") == scenario.text
    events = session.events("tok")
    assert events[0]["type"] == "started" and events[0]["model"] == model
    assert events[-1] == {"type": "stop", "reason": "endTurn"}
    assert result["stopReason"] == "endTurn"
    assert result["usage"]["inputTokens"] == 21
    assert result["usage"]["outputTokens"] == 9
    assert result["cost"]["totalUsd"] > 0
    kinds = [report.kind for report in session.client.progress_reports["work"]]
    assert kinds[0] == "begin" and kinds[-1] == "end"


@pytest.mark.parametrize("model", [ANTHROPIC_MODEL, OPENAI_MODEL])
async def test_tool_call_round_trip(
    session: Session, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, model: str
) -> None:
    fake = fake_anthropic if model.startswith("anthropic") else fake_openai
    call = ToolCall(id="call_weather_1", name="get_weather", input={"city": "Paris", "days": 2})
    fake.enqueue_scenario(Scenario(text="Let me check.", tool_calls=[call], stop="toolUse"))
    tools = [
        {
            "name": "get_weather",
            "description": "Weather forecast",
            "inputSchema": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            },
        }
    ]
    first = await session.request(
        "switchboard/chat",
        {"model": model, "messages": USER, "tools": tools, "partialResultToken": 1},
    )
    assert first["stopReason"] == "toolUse"
    assert tool_uses(first) == [("get_weather", {"city": "Paris", "days": 2})]
    streamed = [e for e in session.events(1) if e["type"] == "toolUse"]
    assert streamed[0]["input"] == {"city": "Paris", "days": 2}
    sent_schema = fake.requests[-1].json()["tools"][0]
    assert "$schema" in str(sent_schema)  # params reach the provider unrenamed

    fake.enqueue_scenario(Scenario(text="Sunny in Paris."))
    history = [
        *USER,
        {"role": "assistant", "content": first["content"]},
        {
            "role": "tool",
            "content": [
                {"type": "toolResult", "toolUseId": "call_weather_1", "content": "sunny, 21C"}
            ],
        },
    ]
    second = await session.request(
        "switchboard/chat", {"model": model, "messages": history, "tools": tools}
    )
    assert text_of(second) == "Sunny in Paris."
    body = str(fake.requests[-1].json())
    assert "call_weather_1" in body and "sunny, 21C" in body


async def test_usage_changed_notification_adds_up(
    session: Session, fake_openai: FakeOpenAI
) -> None:
    for tokens in (100, 50):
        fake_openai.enqueue_scenario(Scenario(input_tokens=tokens, output_tokens=10))
        await session.request("switchboard/chat", {"model": OPENAI_MODEL, "messages": USER})
    await asyncio.sleep(0.1)
    changes = [
        params for method, params in session.notifications if method == "switchboard/usageChanged"
    ]
    assert len(changes) == 2
    last = changes[-1]
    assert last["last"]["usage"]["inputTokens"] == 50
    assert last["session"]["requests"] == 2
    assert last["session"]["inputTokens"] == 150
    assert last["session"]["costUsd"] == pytest.approx(
        changes[0]["last"]["cost"]["totalUsd"] + last["last"]["cost"]["totalUsd"]
    )
    usage = await session.request("switchboard/usage", {})
    assert usage["session"] == last["session"]
    assert usage["byModel"][0]["model"] == OPENAI_MODEL


async def test_cancel_closes_upstream_connection_at_once(
    session: Session, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_chunks(2000, delay_s=0.02)
    request = asyncio.ensure_future(
        session.request(
            "switchboard/chat",
            {"model": OPENAI_MODEL, "messages": USER, "partialResultToken": "c"},
            msg_id="cancel-me",
        )
    )
    deadline = time.monotonic() + 10
    while len(session.texts("c")) < 5 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert session.texts("c"), "no text streamed before cancelling"
    cancelled_at = time.monotonic()
    session.client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcRequestCancelled):
        await request
    disconnected = await asyncio.to_thread(fake_openai.wait_for_disconnect, 2.0)
    assert disconnected is not None, "the upstream connection stayed open"
    assert disconnected - cancelled_at < 0.3
    # The server keeps serving, and the journal kept what had streamed.
    assert (await session.request("switchboard/usage", {}))["session"]["requests"] == 0
    assert journal_probe.statuses(session.data_dir) == ["cancelled"]


async def test_retry_before_first_byte_is_visible(
    session: Session, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue_error(
        529, "overloaded_error", "Overloaded", headers={"retry-after-ms": "30"}
    )
    fake_anthropic.enqueue_scenario(Scenario(text="After a retry."))
    result = await session.request(
        "switchboard/chat", {"model": ANTHROPIC_MODEL, "messages": USER, "partialResultToken": "r"}
    )
    assert text_of(result) == "After a retry."
    retries = [e for e in session.events("r") if e["type"] == "retry"]
    assert retries and retries[0]["attempt"] == 1 and retries[0]["delayMs"] == 30


async def test_request_id_replays_from_the_journal(
    session: Session, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_scenario(Scenario(text="Only once."))
    params = {"model": OPENAI_MODEL, "messages": USER, "requestId": "idem-1"}
    first = await session.request("switchboard/chat", params)
    second = await session.request("switchboard/chat", {**params, "partialResultToken": "again"})
    assert first == second
    assert session.texts("again") == "Only once."
    chat_requests = [r for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert len(chat_requests) == 1


async def test_small_http_chunks_give_the_same_answer(
    session: Session, fake_anthropic: FakeAnthropic
) -> None:
    scenario = Scenario(text="Ünïcödé — 漢字 and emoji 🎉 survive byte splits.", pieces=9)
    fake_anthropic.enqueue_scenario(scenario)
    whole = await session.request("switchboard/chat", {"model": ANTHROPIC_MODEL, "messages": USER})
    body = fake_anthropic.sent_bodies[-1]
    fake_anthropic.enqueue_replay(body, chunk_size=3)
    split = await session.request("switchboard/chat", {"model": ANTHROPIC_MODEL, "messages": USER})
    assert text_of(whole) == text_of(split) == scenario.text
    assert whole["usage"] == split["usage"]


async def test_mid_stream_failure_keeps_partial(session: Session, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue_replay(
        b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4o",'
        b'"choices":[{"index":0,"delta":{"content":"partial "},"finish_reason":null}]}\n\n'
        b'data: {"error":{"message":"upstream crashed","type":"server_error"}}\n\n'
    )
    with pytest.raises(JsonRpcException) as failure:
        await session.request(
            "switchboard/chat", {"model": OPENAI_MODEL, "messages": USER, "partialResultToken": "p"}
        )
    assert failure.value.code == -32803
    assert failure.value.data["code"] == "providerUnavailable"
    assert session.texts("p") == "partial "
    (failed,) = journal_probe.calls(session.data_dir)
    assert failed["status"] == "failed"
    assert journal_probe.text_of_events(failed["events"]) == "partial "
