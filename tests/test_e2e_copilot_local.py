"""GitHub Copilot and local OpenAI-compatible servers, end to end through the real server."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.copilot import FakeCopilot
from tests.fakes.local import FakeLocal
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import Session, open_session

USER = [{"role": "user", "content": "Say hello."}]
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


def text_of(result: dict[str, Any]) -> str:
    return "".join(p["text"] for p in result["content"] if p["type"] == "text")


def thinking_of(result: dict[str, Any]) -> str:
    return "".join(p["text"] for p in result["content"] if p["type"] == "thinking")


def tool_uses(result: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p["id"], p["name"], p["input"]) for p in result["content"] if p["type"] == "toolUse"]


def tool_turn(first: dict[str, Any], call_id: str, answer: str) -> list[dict[str, Any]]:
    result = {"type": "toolResult", "toolUseId": call_id, "content": answer}
    return [
        *USER,
        {"role": "assistant", "content": first["content"]},
        {"role": "tool", "content": [result]},
    ]


# ---- GitHub Copilot ---------------------------------------------------------------------


@pytest.fixture
def copilot() -> Iterator[FakeCopilot]:
    with FakeCopilot() as fake:
        yield fake


@pytest.fixture
async def copilot_session(tmp_path: Path, copilot: FakeCopilot) -> AsyncIterator[Session]:
    config = "\n".join(
        [
            "[providers.copilot]",
            f'base_url = "{copilot.url}"',
            f'github_api_url = "{copilot.url}"',
        ]
    )
    env = {"GITHUB_COPILOT_TOKEN": copilot.github_token}
    async with open_session(tmp_path, config, env) as session:
        yield session


async def test_copilot_chat_streams_with_usage_and_no_cost(
    copilot_session: Session, copilot: FakeCopilot
) -> None:
    scenario = Scenario(text="Hello from Copilot!", pieces=5, input_tokens=31, output_tokens=8)
    copilot.enqueue_scenario(scenario)
    result = await copilot_session.request(
        "switchboard/chat",
        {"model": "copilot/gpt-5-mini", "messages": USER, "partialResultToken": "t"},
    )
    assert text_of(result) == copilot_session.texts("t") == scenario.text
    events = copilot_session.events("t")
    assert events[0]["type"] == "started" and events[0]["model"] == "copilot/gpt-5-mini"
    assert events[-1] == {"type": "stop", "reason": "endTurn"}
    assert result["usage"]["inputTokens"] == 31 and result["usage"]["outputTokens"] == 8
    assert result["cost"] is None  # Copilot has no per-token price: never a made-up 0

    [exchange] = copilot.exchanges()
    assert exchange.headers["authorization"] == f"token {copilot.github_token}"
    [chat] = copilot.chats()
    assert chat.headers["authorization"] == f"Bearer {copilot.issued[-1]}"
    assert chat.headers["copilot-integration-id"] == "vscode-chat"
    assert chat.headers["editor-version"] and chat.headers["editor-plugin-version"]
    assert chat.headers["openai-intent"] == "conversation-panel"
    assert chat.headers["x-initiator"] == "user"
    assert copilot.github_token not in json.dumps(chat.headers) + chat.body.decode()


async def test_copilot_tool_round_trip_is_agent_initiated_on_turn_two(
    copilot_session: Session, copilot: FakeCopilot
) -> None:
    copilot.split_choices = True  # as Copilot serves Claude: tool calls in their own choice
    call = ToolCall("toolu_01", "get_weather", {"city": "Oslo"})
    copilot.enqueue_scenario(Scenario(text="Let me check.", tool_calls=[call], stop="toolUse"))
    model = "copilot/claude-sonnet-4.5"
    first = await copilot_session.request(
        "switchboard/chat", {"model": model, "messages": USER, "tools": TOOLS}
    )
    assert first["stopReason"] == "toolUse"
    assert tool_uses(first) == [("toolu_01", "get_weather", {"city": "Oslo"})]
    assert text_of(first) == "Let me check."

    copilot.enqueue_scenario(Scenario(text="Sunny in Oslo."))
    second = await copilot_session.request(
        "switchboard/chat",
        {"model": model, "messages": tool_turn(first, "toolu_01", "sunny, 18C"), "tools": TOOLS},
    )
    assert text_of(second) == "Sunny in Oslo."
    turn_one, turn_two = copilot.chats()
    assert turn_one.headers["x-initiator"] == "user"
    assert turn_two.headers["x-initiator"] == "agent"
    sent = turn_two.json()["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "toolu_01"
    assert sent[2] == {"role": "tool", "tool_call_id": "toolu_01", "content": "sunny, 18C"}
    assert len(copilot.exchanges()) == 1  # the Copilot token is reused between requests


async def test_copilot_token_refreshes_after_a_401(
    copilot_session: Session, copilot: FakeCopilot
) -> None:
    request = {"model": "copilot/gpt-5-mini", "messages": USER}
    copilot.enqueue_scenario(Scenario(text="first"))
    await copilot_session.request("switchboard/chat", request)
    exchanges = len(copilot.exchanges())
    stale = copilot.issued[-1]

    copilot.expire_tokens()
    copilot.enqueue_scenario(Scenario(text="after the refresh"))
    result = await copilot_session.request("switchboard/chat", request)
    assert text_of(result) == "after the refresh"
    assert len(copilot.exchanges()) == exchanges + 1
    refused, retried = copilot.chats()[-2:]
    assert refused.headers["authorization"] == f"Bearer {stale}"
    assert retried.headers["authorization"] == f"Bearer {copilot.issued[-1]}" != f"Bearer {stale}"


async def test_copilot_model_list_comes_from_copilot(
    copilot_session: Session, copilot: FakeCopilot
) -> None:
    listed = await copilot_session.request(
        "switchboard/models", {"provider": "copilot", "refresh": True}
    )
    models = {m["id"]: m for m in listed["models"]}
    claude = models["copilot/claude-sonnet-4.5"]
    assert claude["source"] == "provider" and claude["available"] is True
    assert (claude["contextWindow"], claude["maxOutputTokens"]) == (200000, 16000)
    assert claude.get("pricing") is None
    assert models["copilot/gpt-5-mini"]["source"] == "catalog"
    assert "copilot/text-embedding-3-small" not in models
    [listing] = [r for r in copilot.requests if r.path == "/models"]
    assert listing.headers["authorization"] == f"Bearer {copilot.issued[-1]}"
    cached = json.loads((copilot_session.data_dir / "models" / "copilot.json").read_text())
    multipliers = {m["name"]: m["notes"].get("billingMultiplier") for m in cached["models"]}
    assert multipliers == {"gpt-5-mini": 0.0, "gpt-4.1": 0.0, "claude-sonnet-4.5": 1.0}


async def test_copilot_unknown_model_and_missing_token(
    tmp_path: Path, copilot_session: Session, copilot: FakeCopilot
) -> None:
    with pytest.raises(JsonRpcException) as unknown:
        await copilot_session.request(
            "switchboard/chat", {"model": "copilot/gpt-99", "messages": USER}
        )
    assert unknown.value.data["code"] == "unknownModel"

    config = f'[providers.copilot]\nbase_url = "{copilot.url}"\n'
    (tmp_path / "no-token").mkdir()
    async with open_session(tmp_path / "no-token", config) as session:
        with pytest.raises(JsonRpcException) as missing:
            await session.request(
                "switchboard/chat", {"model": "copilot/gpt-5-mini", "messages": USER}
            )
    assert missing.value.data["code"] == "authenticationFailed"
    assert "GITHUB_COPILOT_TOKEN" in missing.value.data["suggestion"]


# ---- local servers ------------------------------------------------------------------------


@pytest.fixture
def ollama() -> Iterator[FakeLocal]:
    with FakeLocal(ollama=True, reasoning_field="reasoning", models=("llama3.2", "qwen3:8b")) as f:
        yield f


@pytest.fixture
def box() -> Iterator[FakeLocal]:
    with FakeLocal(
        models=("qwen3-14b",), think_tags=True, tool_call_ids=False, finish_reason=False
    ) as fake:
        yield fake


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def local_session(
    tmp_path: Path, ollama: FakeLocal, box: FakeLocal
) -> AsyncIterator[Session]:
    config = "\n".join(
        [
            "[providers.ollama]",
            f'base_url = "{ollama.url}"',
            "",
            "[providers.box]",
            'kind = "openai-compatible"',
            f'base_url = "{box.url}"',
            "",
            "[providers.gone]",
            'kind = "vllm"',
            f'base_url = "http://127.0.0.1:{closed_port()}/v1"',
        ]
    )
    async with open_session(tmp_path, config) as session:
        yield session


async def test_two_local_servers_at_once(
    local_session: Session, ollama: FakeLocal, box: FakeLocal
) -> None:
    providers = await local_session.request("switchboard/providers", {})
    by_id = {p["id"]: p for p in providers["providers"]}
    assert by_id["ollama"]["baseUrl"] == ollama.url and by_id["box"]["baseUrl"] == box.url
    assert by_id["box"]["auth"]["methods"] == ["none"]
    assert "lmstudio" not in by_id and "llamacpp" not in by_id  # only configured local kinds

    ollama.enqueue_scenario(Scenario(text="Hi from Ollama.", thinking="A greeting."))
    box.enqueue_scenario(Scenario(text="Hi from the box.", thinking="Also a greeting."))
    from_ollama = await local_session.request(
        "switchboard/chat",
        {"model": "ollama/llama3.2", "messages": USER, "partialResultToken": "o"},
    )
    from_box = await local_session.request(
        "switchboard/chat", {"model": "box/qwen3-14b", "messages": USER}
    )
    assert text_of(from_ollama) == "Hi from Ollama."
    assert thinking_of(from_ollama) == "A greeting."
    assert text_of(from_box) == "Hi from the box."
    assert thinking_of(from_box).strip() == "Also a greeting."
    assert "stop" in [e["type"] for e in local_session.events("o")]
    assert "authorization" not in ollama.chats()[-1].headers
    assert len(ollama.chats()) == len(box.chats()) == 1


async def test_usage_is_estimated_when_the_server_sends_none(
    local_session: Session, ollama: FakeLocal
) -> None:
    ollama.enqueue_scenario(Scenario(text="A reply long enough to count some tokens."))
    result = await local_session.request(
        "switchboard/chat", {"model": "ollama/llama3.2", "messages": USER}
    )
    assert ollama.chats()[-1].json()["stream_options"] == {"include_usage": True}
    usage = result["usage"]
    assert usage["estimated"] is True
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
    assert result["cost"] is None


async def test_local_tool_round_trip_without_ids_or_finish_reason(
    local_session: Session, box: FakeLocal
) -> None:
    call = ToolCall("ignored", "get_weather", {"city": "Lima"})
    box.enqueue_scenario(Scenario(text="", tool_calls=[call], stop="toolUse"))
    first = await local_session.request(
        "switchboard/chat", {"model": "box/qwen3-14b", "messages": USER, "tools": TOOLS}
    )
    assert first["stopReason"] == "toolUse"
    [(call_id, name, arguments)] = tool_uses(first)
    assert (name, arguments) == ("get_weather", {"city": "Lima"})

    box.enqueue_scenario(Scenario(text="Warm in Lima."))
    second = await local_session.request(
        "switchboard/chat",
        {"model": "box/qwen3-14b", "messages": tool_turn(first, call_id, "26C"), "tools": TOOLS},
    )
    assert text_of(second) == "Warm in Lima."
    sent = box.chats()[-1].json()["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call_id
    assert sent[2] == {"role": "tool", "tool_call_id": call_id, "content": "26C"}


async def test_a_server_that_is_not_running_is_a_network_error(local_session: Session) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await local_session.request("switchboard/chat", {"model": "gone/llama3", "messages": USER})
    assert caught.value.data["code"] == "network"
    assert caught.value.data["provider"] == "gone"


async def test_local_model_lists(local_session: Session) -> None:
    listed = await local_session.request("switchboard/models", {"refresh": True})
    ids = {m["id"]: m for m in listed["models"]}
    assert {"ollama/llama3.2:latest", "ollama/qwen3:8b", "box/qwen3-14b"} <= set(ids)
    assert all(ids[i]["source"] == "provider" for i in ("ollama/qwen3:8b", "box/qwen3-14b"))
    assert not any(i.startswith("gone/") for i in ids)
