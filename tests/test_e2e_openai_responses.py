"""OpenAI models whose catalog entry says `"api": "responses"`, end to end.

The real server over stdio, configured with `[providers.openai] base_url` at a
loopback FakeOpenAIResponses: a GPT-6.x chat goes to POST /v1/responses, a
tool round trip carries the encrypted reasoning back, and failures arrive as
normalized error codes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.openai_responses import Failure, FakeOpenAIResponses, reasoning_tokens
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import Session, open_session, provider_config

MODEL = "openai/gpt-6.2-sol"
USER = [{"role": "user", "content": "What's the weather in Paris?"}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather forecast",
        "inputSchema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAIResponses]:
    with FakeOpenAIResponses() as running:
        yield running


@pytest.fixture
async def session(tmp_path: Path, fake: FakeOpenAIResponses) -> AsyncIterator[Session]:
    async with open_session(
        tmp_path, provider_config(openai_url=fake.url), {"OPENAI_API_KEY": fake.api_key}
    ) as opened:
        yield opened


def parts(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [part for part in result["content"] if part["type"] == kind]


async def test_a_gpt6_chat_goes_to_the_responses_api(
    session: Session, fake: FakeOpenAIResponses
) -> None:
    scenario = Scenario(
        text="Hello from the Responses API!", pieces=5, input_tokens=40, output_tokens=12
    )
    fake.enqueue_scenario(scenario)
    result = await session.request(
        "switchboard/chat",
        {"model": MODEL, "messages": USER, "system": "Be brief.", "partialResultToken": "t"},
    )
    [sent] = fake.requests
    assert (sent.method, sent.path) == ("POST", "/v1/responses")
    assert sent.headers["authorization"] == f"Bearer {fake.api_key}"
    body = sent.json()
    assert body["model"] == "gpt-6.2-sol"
    assert body["instructions"] == "Be brief."
    assert body["stream"] is True and body["store"] is False
    assert session.texts("t") == scenario.text
    events = session.events("t")
    assert events[0]["type"] == "started" and events[0]["model"] == MODEL
    assert events[-1] == {"type": "stop", "reason": "endTurn"}
    assert [p["text"] for p in parts(result, "text")] == [scenario.text]
    assert result["stopReason"] == "endTurn"
    assert (result["usage"]["inputTokens"], result["usage"]["outputTokens"]) == (40, 12)
    assert result["cost"]["totalUsd"] > 0


async def test_tool_round_trip_carries_the_reasoning_back(
    session: Session, fake: FakeOpenAIResponses
) -> None:
    call = ToolCall(id="call_paris_1", name="get_weather", input={"city": "Paris"})
    first_turn = Scenario(
        thinking="The user wants the weather: call get_weather for Paris.",
        text="Let me check.",
        tool_calls=[call],
        output_tokens=40,
        stop="toolUse",
    )
    fake.enqueue_scenario(first_turn)
    first = await session.request(
        "switchboard/chat",
        {
            "model": MODEL,
            "messages": USER,
            "tools": TOOLS,
            "thinking": {"budgetTokens": 2048},
            "partialResultToken": 1,
        },
    )
    sent_first = fake.requests[-1].json()
    assert sent_first["include"] == ["reasoning.encrypted_content"]
    assert sent_first["reasoning"] == {"effort": "low", "summary": "auto"}
    assert first["stopReason"] == "toolUse"
    [thinking] = parts(first, "thinking")
    assert thinking["text"] == first_turn.thinking and thinking["signature"]
    assert [(p["id"], p["input"]) for p in parts(first, "toolUse")] == [
        ("call_paris_1", {"city": "Paris"})
    ]
    assert first["usage"]["reasoningTokens"] == reasoning_tokens(first_turn)

    fake.enqueue_scenario(Scenario(text="It is sunny in Paris."))
    history = [
        *USER,
        {"role": "assistant", "content": first["content"]},
        {
            "role": "tool",
            "content": [
                {"type": "toolResult", "toolUseId": "call_paris_1", "content": "sunny, 21C"}
            ],
        },
    ]
    second = await session.request(
        "switchboard/chat", {"model": MODEL, "messages": history, "tools": TOOLS}
    )
    assert [p["text"] for p in parts(second, "text")] == ["It is sunny in Paris."]
    items = fake.requests[-1].json()["input"]
    assert [item["type"] for item in items] == [
        "message",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
    ]
    reasoning = items[1]
    assert reasoning["encrypted_content"] in fake.issued
    assert reasoning["summary"] == [{"type": "summary_text", "text": first_turn.thinking}]
    assert items[3] == {
        "type": "function_call",
        "call_id": "call_paris_1",
        "name": "get_weather",
        "arguments": json.dumps({"city": "Paris"}),
    }
    assert items[4] == {
        "type": "function_call_output",
        "call_id": "call_paris_1",
        "output": "sunny, 21C",
    }


async def test_a_failed_stream_is_the_normalized_error(
    session: Session, fake: FakeOpenAIResponses
) -> None:
    fake.enqueue_failure(Failure("rate_limit_exceeded", "Rate limit reached for gpt-6.2-sol."))
    with pytest.raises(JsonRpcException) as caught:
        await session.request("switchboard/chat", {"model": MODEL, "messages": USER})
    assert caught.value.data is not None and caught.value.data["code"] == "rateLimited"
    assert "Rate limit reached" in caught.value.message
    assert len(fake.requests) == 1


async def test_an_http_400_is_invalid_request(session: Session, fake: FakeOpenAIResponses) -> None:
    fake.enqueue_error(
        400, "Invalid 'input[0].content': empty.", "invalid_request_error", "invalid_value"
    )
    with pytest.raises(JsonRpcException) as caught:
        await session.request("switchboard/chat", {"model": MODEL, "messages": USER})
    data = caught.value.data
    assert data is not None and (data["code"], data["status"]) == ("invalidRequest", 400)
    assert "Invalid 'input[0].content'" in caught.value.message
    still_serving = await session.request("switchboard/usage", {})
    assert "session" in still_serving
