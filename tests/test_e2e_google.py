"""Gemini and Vertex AI end to end: the real server over stdio, the loopback Google fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests import journal_probe
from tests.fakes.gemini import FakeGemini, service_account_info
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import Session, open_session

GEMINI = "gemini/gemini-2.5-flash"
VERTEX_GEMINI = "vertex/gemini-2.5-pro"
VERTEX_CLAUDE = "vertex/claude-sonnet-4-5@20250929"
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather forecast",
        "inputSchema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": False,
            "properties": {"city": {"type": "string"}, "days": {"type": ["integer", "null"]}},
            "required": ["city"],
        },
    }
]


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


@pytest.fixture
async def session(tmp_path: Path, fake: FakeGemini) -> AsyncIterator[Session]:
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(service_account_info(fake, project="proj-e2e")))
    config = "\n".join(
        [
            "[providers.gemini]",
            f'base_url = "{fake.url}/v1beta"',
            "",
            "[providers.vertex]",
            f'base_url = "{fake.url}/v1"',
            'project = "proj-e2e"',
            'location = "us-east5"',
            f'credentials_file = "{key_file}"',
            "",
        ]
    )
    async with open_session(tmp_path, config, {"GEMINI_API_KEY": fake.api_key}) as opened:
        yield opened


def text_of(result: dict[str, Any]) -> str:
    return "".join(p["text"] for p in result["content"] if p["type"] == "text")


def chat_requests(fake: FakeGemini) -> list[Any]:
    return [r for r in fake.requests if r.path != "/token"]


async def test_gemini_chat_streams_text_thinking_and_usage(
    session: Session, fake: FakeGemini
) -> None:
    scenario = Scenario(
        text="Sunny and mild in Paris today.",
        thinking="The user wants weather.",
        pieces=5,
        input_tokens=40,
        output_tokens=20,
    )
    fake.enqueue_scenario(scenario)
    result = await session.request(
        "switchboard/chat", {"model": GEMINI, "messages": USER, "partialResultToken": "g"}
    )
    assert text_of(result) == scenario.text
    assert session.texts("g") == scenario.text
    events = session.events("g")
    assert events[0]["type"] == "started" and events[0]["model"] == GEMINI
    thinking = "".join(e["text"] for e in events if e["type"] == "thinking")
    assert thinking == "The user wants weather."
    assert events[-1] == {"type": "stop", "reason": "endTurn"}
    usage = result["usage"]
    assert (usage["inputTokens"], usage["outputTokens"], usage["reasoningTokens"]) == (40, 20, 10)
    assert result["cost"]["totalUsd"] > 0
    request = chat_requests(fake)[-1]
    assert request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert request.headers["x-goog-api-key"] == fake.api_key
    assert request.json()["generationConfig"]["thinkingConfig"] == {"includeThoughts": True}


async def test_gemini_tool_round_trip_sends_back_the_response_and_signature(
    session: Session, fake: FakeGemini
) -> None:
    call = ToolCall(id="unused", name="get_weather", input={"city": "Paris", "days": 2})
    fake.enqueue_scenario(Scenario(text="Let me check.", tool_calls=[call], stop="toolUse"))
    first = await session.request(
        "switchboard/chat", {"model": GEMINI, "messages": USER, "tools": TOOLS}
    )
    assert first["stopReason"] == "toolUse"
    tool_use = next(p for p in first["content"] if p["type"] == "toolUse")
    assert (tool_use["name"], tool_use["input"]) == ("get_weather", {"city": "Paris", "days": 2})
    signature = tool_use["providerData"]["thoughtSignature"]
    declared = chat_requests(fake)[-1].json()["tools"][0]["functionDeclarations"][0]
    assert "$schema" not in json.dumps(declared) and "additionalProperties" not in json.dumps(
        declared
    )
    assert declared["parameters"]["properties"]["days"] == {"type": "integer", "nullable": True}

    fake.enqueue_scenario(Scenario(text="Sunny, 21C in Paris."))
    history = [
        *USER,
        {"role": "assistant", "content": first["content"]},
        {
            "role": "tool",
            "content": [
                {"type": "toolResult", "toolUseId": tool_use["id"], "content": "sunny, 21C"}
            ],
        },
    ]
    second = await session.request(
        "switchboard/chat", {"model": GEMINI, "messages": history, "tools": TOOLS}
    )
    assert text_of(second) == "Sunny, 21C in Paris."
    contents = chat_requests(fake)[-1].json()["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    model_parts = contents[1]["parts"]
    assert model_parts[0] == {"text": "Let me check."}
    assert model_parts[1] == {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris", "days": 2}},
        "thoughtSignature": signature,
    }
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny, 21C"}}}
    ]


async def test_gemini_429_is_rate_limited(session: Session, fake: FakeGemini) -> None:
    fake.enqueue_error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan.",
        [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34s"}],
    )
    with pytest.raises(JsonRpcException) as caught:
        await session.request("switchboard/chat", {"model": GEMINI, "messages": USER})
    error = caught.value
    assert error.data is not None
    assert error.data["code"] == "rateLimited"
    assert error.data["status"] == 429 and error.data["retryAfterMs"] == 34000
    assert "exceeded your current quota" in error.message
    assert fake.api_key not in error.message


async def test_vertex_gemini_with_a_service_account_token(
    session: Session, fake: FakeGemini
) -> None:
    for text in ("First from Vertex.", "Second from Vertex."):
        fake.enqueue_scenario(Scenario(text=text))
        result = await session.request(
            "switchboard/chat", {"model": VERTEX_GEMINI, "messages": USER}
        )
        assert text_of(result) == text
    assert len(fake.token_requests) == 1
    token = fake.issued_tokens[0]
    calls = chat_requests(fake)
    assert [r.path for r in calls] == [
        "/v1/projects/proj-e2e/locations/us-east5/publishers/google/models/gemini-2.5-pro"
        ":streamGenerateContent?alt=sse"
    ] * 2
    assert all(r.headers["authorization"] == f"Bearer {token}" for r in calls)
    assert token not in journal_probe.everything(session.data_dir)


async def test_vertex_claude_chat_and_tool_round_trip(session: Session, fake: FakeGemini) -> None:
    call = ToolCall(id="toolu_vrtx_01Weather", name="get_weather", input={"city": "Paris"})
    fake.enqueue_scenario(Scenario(text="Checking.", tool_calls=[call], stop="toolUse"))
    first = await session.request(
        "switchboard/chat",
        {"model": VERTEX_CLAUDE, "messages": USER, "tools": TOOLS, "partialResultToken": "c"},
    )
    assert first["stopReason"] == "toolUse"
    assert session.texts("c") == "Checking."
    request = chat_requests(fake)[-1]
    assert request.path == (
        "/v1/projects/proj-e2e/locations/us-east5/publishers/anthropic/models/"
        "claude-sonnet-4-5@20250929:streamRawPredict"
    )
    body = request.json()
    assert body["anthropic_version"] == "vertex-2023-10-16" and "model" not in body
    assert request.headers["authorization"].startswith("Bearer ya29.fake-")

    fake.enqueue_scenario(Scenario(text="Sunny in Paris."))
    history = [
        *USER,
        {"role": "assistant", "content": first["content"]},
        {
            "role": "tool",
            "content": [
                {"type": "toolResult", "toolUseId": "toolu_vrtx_01Weather", "content": "sunny"}
            ],
        },
    ]
    second = await session.request(
        "switchboard/chat", {"model": VERTEX_CLAUDE, "messages": history, "tools": TOOLS}
    )
    assert text_of(second) == "Sunny in Paris."
    sent = chat_requests(fake)[-1].json()["messages"]
    assert sent[-1]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_vrtx_01Weather",
        "content": "sunny",
    }
    assert len(fake.token_requests) == 1
