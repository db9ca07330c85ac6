"""One editor, every provider: the same chat and tool round trip through each, one server.

A single `switchboard serve` is configured with a loopback fake for each
provider kind. Each fake renders the same two-turn scenario in its own wire
format (a tool call, then an answer that uses the tool result), and the
normalized events that reach the editor must be the same for all of them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.azure import FakeAzure
from tests.fakes.bedrock import DEFAULT_KEY, FakeBedrock
from tests.fakes.copilot import FakeCopilot
from tests.fakes.gemini import FakeGemini, service_account_info
from tests.fakes.local import FakeLocal
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_responses import FakeOpenAIResponses
from tests.fakes.openrouter import FakeOpenRouter, FakeXAI
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import Session, open_session


@dataclass
class Fakes:
    anthropic: FakeAnthropic
    openai_chat: FakeOpenAI
    openai: FakeOpenAIResponses
    gemini: FakeGemini
    bedrock: FakeBedrock
    azure: FakeAzure
    xai: FakeXAI
    openrouter: FakeOpenRouter
    copilot: FakeCopilot
    ollama: FakeLocal


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
    with ExitStack() as stack:
        yield Fakes(
            anthropic=stack.enter_context(FakeAnthropic()),
            openai_chat=stack.enter_context(FakeOpenAI()),
            openai=stack.enter_context(FakeOpenAIResponses()),
            gemini=stack.enter_context(FakeGemini()),
            bedrock=stack.enter_context(FakeBedrock()),
            azure=stack.enter_context(FakeAzure()),
            xai=stack.enter_context(FakeXAI()),
            openrouter=stack.enter_context(FakeOpenRouter()),
            copilot=stack.enter_context(FakeCopilot()),
            ollama=stack.enter_context(FakeLocal(ollama=True, models=("llama3.2",))),
        )


def config_for(fakes: Fakes, key_file: Path) -> str:
    return f"""
[providers.anthropic]
base_url = "{fakes.anthropic.url}"

[providers.openai]
base_url = "{fakes.openai.url}"

[providers.openai-chat]
kind = "openai"
base_url = "{fakes.openai_chat.url}"

[providers.gemini]
base_url = "{fakes.gemini.url}/v1beta"

[providers.vertex]
base_url = "{fakes.gemini.url}/v1"
project = "proj-e2e"
location = "us-east5"
credentials_file = "{key_file}"

[providers.bedrock]
base_url = "{fakes.bedrock.url}"
region = "us-east-1"

[providers.azure]
base_url = "{fakes.azure.url}"

[providers.xai]
base_url = "{fakes.xai.url}"

[providers.openrouter]
base_url = "{fakes.openrouter.url}"

[providers.copilot]
base_url = "{fakes.copilot.url}"
github_api_url = "{fakes.copilot.url}"

[providers.ollama]
base_url = "{fakes.ollama.url}"
"""


@pytest.fixture
async def session(tmp_path: Path, fakes: Fakes) -> AsyncIterator[Session]:
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(service_account_info(fakes.gemini, project="proj-e2e")))
    env = {
        "ANTHROPIC_API_KEY": fakes.anthropic.api_key,
        "OPENAI_API_KEY": fakes.openai.api_key,
        "GEMINI_API_KEY": fakes.gemini.api_key,
        "AWS_ACCESS_KEY_ID": DEFAULT_KEY.access_key,
        "AWS_SECRET_ACCESS_KEY": DEFAULT_KEY.secret_key,
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AZURE_OPENAI_API_KEY": fakes.azure.api_key,
        "XAI_API_KEY": fakes.xai.api_key,
        "OPENROUTER_API_KEY": fakes.openrouter.api_key,
        "GITHUB_COPILOT_TOKEN": fakes.copilot.github_token,
    }
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
