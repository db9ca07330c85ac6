"""One editor, every provider: the same chat and tool round trip through each, one server.

A single `switchboard serve` is configured with a loopback fake for each
provider kind. Each fake renders the same two-turn scenario in its own wire
format (a tool call, then an answer that uses the tool result), and the
normalized events that reach the editor must be the same for all of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.every_provider import Fakes, config_for, running_fakes, server_env_for
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import Session, open_session

# model id → the fake that answers it
TARGETS: dict[str, str] = {
    "anthropic/claude-sonnet-4-5": "anthropic",
    "openai-chat/gpt-4o": "openai_chat",  # a second provider of kind openai, by name
    "openai/gpt-6.2-sol": "openai",  # the catalog routes GPT-6.x to the Responses API
    "gemini/gemini-2.5-flash": "gemini",
    "vertex/gemini-2.5-pro": "gemini",
    "vertex/claude-sonnet-4-5@20250929": "gemini",  # the Google fake serves Vertex's Claude too
    "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0": "bedrock",
    "azure/gpt-4o": "azure",
    "xai/grok-4": "xai",
    "openrouter/anthropic/claude-sonnet-4.5": "openrouter",
    "copilot/gpt-5-mini": "copilot",
    "ollama/llama3.2": "ollama",
}

TOOLS = [
    {
        "name": "get_weather",
        "description": "The weather in a city",
        "inputSchema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}
CALL = ToolCall(id="call_weather_1", name="get_weather", input={"city": "Paris"})
ANSWER = "It is sunny in Paris."


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    with running_fakes() as found:
        yield found


@pytest.fixture
async def session(tmp_path: Path, fakes: Fakes) -> AsyncIterator[Session]:
    key_file, env = server_env_for(tmp_path, fakes)
    async with open_session(tmp_path, config_for(fakes, key_file), env) as opened:
        yield opened


def event_kinds(events: list[dict[str, Any]]) -> list[str]:
    """The event types in order, with runs of deltas collapsed (chunking differs per wire)."""
    kinds: list[str] = []
    for event in events:
        if event["type"] in ("text", "toolUseDelta", "retry") and kinds[-1:] == [event["type"]]:
            continue
        kinds.append(event["type"])
    return kinds


def without_optional(kinds: list[str]) -> list[str]:
    # A tool-call start is a hint some wires give before the arguments, others not.
    return [k for k in kinds if k not in ("toolUseStart", "toolUseDelta")]


@pytest.mark.parametrize("model", list(TARGETS))
async def test_the_same_tool_round_trip_through_every_provider(
    session: Session, fakes: Fakes, model: str
) -> None:
    fake = getattr(fakes, TARGETS[model])
    reports_usage = TARGETS[model] != "ollama"
    fake.enqueue_scenario(
        Scenario(text="", tool_calls=[CALL], stop="toolUse", input_tokens=40, output_tokens=9)
    )
    first = await session.request(
        "switchboard/chat",
        {"model": model, "messages": [QUESTION], "tools": TOOLS, "partialResultToken": "one"},
    )
    events = session.events("one")
    assert without_optional(event_kinds(events)) == ["started", "toolUse", "usage", "stop"]
    assert events[0] == {"type": "started", "id": first["id"], "model": model}
    tool_use = next(e for e in events if e["type"] == "toolUse")
    assert (tool_use["name"], tool_use["input"]) == ("get_weather", {"city": "Paris"})
    assert first["stopReason"] == "toolUse"
    calls = [p for p in first["content"] if p["type"] == "toolUse"]
    assert [(c["name"], c["input"]) for c in calls] == [("get_weather", {"city": "Paris"})]
    if reports_usage:
        assert first["usage"]["inputTokens"] == 40

    fake.enqueue_scenario(Scenario(text=ANSWER, pieces=3, input_tokens=75, output_tokens=8))
    history = [
        QUESTION,
        {"role": "assistant", "content": first["content"]},
        {
            "role": "user",
            "content": [
                {"type": "toolResult", "toolUseId": calls[0]["id"], "content": "sunny, 24°C"}
            ],
        },
    ]
    second = await session.request(
        "switchboard/chat",
        {"model": model, "messages": history, "tools": TOOLS, "partialResultToken": "two"},
    )
    assert event_kinds(session.events("two")) == ["started", "text", "usage", "stop"]
    assert session.texts("two") == ANSWER
    assert second["stopReason"] == "endTurn"
    assert [p["text"] for p in second["content"] if p["type"] == "text"] == [ANSWER]
    if reports_usage:
        assert second["usage"]["inputTokens"] == 75
        assert second["usage"]["outputTokens"] == 8
    else:
        assert second["usage"]["estimated"] is True
    # The tool result reached the provider, in its own wire format.
    assert "sunny, 24°C" in fake.requests[-1].body.decode()
