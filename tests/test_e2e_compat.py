"""Azure OpenAI, xAI and OpenRouter end to end: the real server over stdio, loopback fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.azure import FakeAzure
from tests.fakes.openrouter import FakeOpenRouter, FakeXAI
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import Session, open_session

USER = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather forecast",
        "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
ROUTER_MODEL = "openrouter/anthropic/claude-sonnet-4.5"


@pytest.fixture
def azure() -> Iterator[FakeAzure]:
    with FakeAzure() as fake:
        yield fake


@pytest.fixture
def router() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter() as fake:
        yield fake


@pytest.fixture
def xai() -> Iterator[FakeXAI]:
    with FakeXAI() as fake:
        yield fake


@pytest.fixture
async def session(
    tmp_path: Path, azure: FakeAzure, router: FakeOpenRouter, xai: FakeXAI
) -> AsyncIterator[Session]:
    config = "\n".join(
        [
            "[providers.azure]",
            f'base_url = "{azure.url}"',
            'deployments = { "gpt-4.1" = "chat-prod" }',
            "",
            "[providers.azure-classic]",
            'kind = "azure"',
            f'endpoint = "{azure.url}"',
            'api_version = "2024-10-21"',
            "",
            "[providers.openrouter]",
            f'base_url = "{router.url}"',
            'provider = { order = ["anthropic"], allow_fallbacks = false }',
            "",
            "[providers.xai]",
            f'base_url = "{xai.url}"',
        ]
    )
    keys = {
        "AZURE_OPENAI_API_KEY": azure.api_key,
        "OPENROUTER_API_KEY": router.api_key,
        "XAI_API_KEY": xai.api_key,
    }
    async with open_session(tmp_path, config, keys) as opened:
        yield opened


def text_of(result: dict[str, Any]) -> str:
    return "".join(p["text"] for p in result["content"] if p["type"] == "text")


async def chat(session: Session, model: str, messages: Any, **extra: Any) -> Any:
    return await session.request(
        "switchboard/chat", {"model": model, "messages": messages, **extra}
    )


async def tool_round_trip(session: Session, fake: Any, model: str, **first: Any) -> Any:
    """Turn one asks for the tool, turn two answers it; returns turn one's result."""
    call = ToolCall(id="call_weather_1", name="get_weather", input={"city": "Paris"})
    fake.enqueue_scenario(Scenario(text="Checking.", tool_calls=[call], stop="toolUse", **first))
    result = await chat(session, model, USER, tools=TOOLS)
    assert result["stopReason"] == "toolUse"
    uses = [p for p in result["content"] if p["type"] == "toolUse"]
    assert [(u["name"], u["input"]) for u in uses] == [("get_weather", {"city": "Paris"})]
    fake.enqueue_scenario(Scenario(text="Sunny in Paris."))
    history = [
        *USER,
        {"role": "assistant", "content": result["content"]},
        {
            "role": "tool",
            "content": [{"type": "toolResult", "toolUseId": "call_weather_1", "content": "sunny"}],
        },
    ]
    second = await chat(session, model, history, tools=TOOLS)
    assert text_of(second) == "Sunny in Paris."
    return result


# ---- Azure ---------------------------------------------------------------------------


async def test_azure_v1_chat_streams(session: Session, azure: FakeAzure) -> None:
    azure.enqueue_scenario(Scenario(text="Hello from Azure!", pieces=4, input_tokens=20))
    result = await chat(session, "azure/gpt-4.1", USER, partialResultToken="az")
    assert text_of(result) == session.texts("az") == "Hello from Azure!"
    assert result["stopReason"] == "endTurn"
    assert result["usage"]["inputTokens"] == 20
    assert result["cost"]["costSource"] == "catalog" and result["cost"]["totalUsd"] > 0
    sent = azure.requests[-1]
    assert sent.path == "/openai/v1/chat/completions"
    assert sent.json()["model"] == "chat-prod"
    assert sent.headers["api-key"] == azure.api_key


async def test_azure_classic_tool_round_trip(session: Session, azure: FakeAzure) -> None:
    await tool_round_trip(session, azure, "azure-classic/gpt-4o")
    sent = azure.requests[-1]
    assert sent.path == "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    messages = sent.json()["messages"]
    assert messages[1]["tool_calls"][0]["id"] == "call_weather_1"
    assert messages[2] == {"role": "tool", "tool_call_id": "call_weather_1", "content": "sunny"}


async def test_azure_content_filter(session: Session, azure: FakeAzure) -> None:
    azure.enqueue_scenario(Scenario(text="Here is", stop="contentFilter"))
    with pytest.raises(JsonRpcException) as stopped:
        await chat(session, "azure/gpt-4o", USER, partialResultToken="cf")
    assert stopped.value.data["code"] == "contentFiltered"
    assert "violence (high)" in stopped.value.message
    events = session.events("cf")
    assert session.texts("cf") == "Here is"
    assert events[-1] == {"type": "stop", "reason": "contentFilter"}

    azure.enqueue_prompt_filtered("jailbreak")
    with pytest.raises(JsonRpcException) as refused:
        await chat(session, "azure/gpt-4o", USER)
    assert refused.value.data["code"] == "contentFiltered"
    assert refused.value.data["status"] == 400
    assert "jailbreak" in refused.value.message


# ---- OpenRouter ----------------------------------------------------------------------


async def test_openrouter_chat_reports_the_provider_cost(
    session: Session, router: FakeOpenRouter
) -> None:
    scenario = Scenario(text="Four.", thinking="2+2=4", input_tokens=43, output_tokens=36)
    router.enqueue_scenario(scenario)
    result = await chat(session, ROUTER_MODEL, USER, partialResultToken="or")
    assert text_of(result) == "Four."
    assert [p["text"] for p in result["content"] if p["type"] == "thinking"] == ["2+2=4"]
    assert result["cost"]["costSource"] == "provider"
    assert result["cost"]["totalUsd"] == pytest.approx(router.cost_of(scenario))
    sent = router.requests[-1]
    assert sent.headers["x-title"] == "Switchboard"
    assert sent.headers["http-referer"].startswith("https://")
    assert sent.json()["provider"] == {"order": ["anthropic"], "allow_fallbacks": False}


async def test_openrouter_tool_round_trip_sends_reasoning_details_back(
    session: Session, router: FakeOpenRouter
) -> None:
    await tool_round_trip(session, router, ROUTER_MODEL, thinking="Use the tool.")
    assistant = router.requests[-1].json()["messages"][1]
    assert assistant["tool_calls"][0]["id"] == "call_weather_1"
    [detail] = assistant["reasoning_details"]
    assert detail["text"] == "Use the tool."
    assert detail["signature"] == router.signature
    assert detail["type"] == "reasoning.text"


async def test_openrouter_mid_stream_error(session: Session, router: FakeOpenRouter) -> None:
    router.stream_error = (429, "Rate limit exceeded upstream")
    router.enqueue_scenario(Scenario(text="partial", stop="error"))
    with pytest.raises(JsonRpcException) as failed:
        await chat(
            session,
            ROUTER_MODEL,
            USER,
            partialResultToken="err",
            providerOptions={"provider": {"order": ["google-vertex"]}},
        )
    assert failed.value.data["code"] == "rateLimited"
    assert "Rate limit exceeded upstream" in failed.value.message
    assert session.texts("err") == "partial"
    routed = router.requests[-1].json()["provider"]
    assert routed == {"order": ["google-vertex"], "allow_fallbacks": False}


# ---- xAI -------------------------------------------------------------------------------


async def test_xai_chat_with_thinking_and_cost(session: Session, xai: FakeXAI) -> None:
    scenario = Scenario(text="Hello", thinking="The user said hi, so", input_tokens=12)
    xai.enqueue_scenario(scenario)
    result = await chat(
        session, "xai/grok-3-mini", USER, thinking={"budgetTokens": 1024}, partialResultToken="x"
    )
    assert text_of(result) == "Hello"
    assert result["usage"]["outputTokens"] == 7 + xai.reasoning_tokens(scenario)
    assert result["cost"]["costSource"] == "provider"
    assert result["cost"]["totalUsd"] == pytest.approx(xai.ticks_of(scenario) / 1e10)
    assert xai.requests[-1].json()["reasoning_effort"] == "low"
    assert any(e["type"] == "thinking" for e in session.events("x"))


async def test_xai_tool_round_trip(session: Session, xai: FakeXAI) -> None:
    await tool_round_trip(session, xai, "xai/grok-4.5")
    messages = xai.requests[-1].json()["messages"]
    assert messages[2] == {"role": "tool", "tool_call_id": "call_weather_1", "content": "sunny"}


async def test_xai_bad_key_is_authentication_failed(tmp_path: Path, xai: FakeXAI) -> None:
    config = f'[providers.xai]\nbase_url = "{xai.url}"\n'
    async with open_session(tmp_path, config, {"XAI_API_KEY": "xai-wrong-0000000000"}) as opened:
        with pytest.raises(JsonRpcException) as failed:
            await chat(opened, "xai/grok-4.5", USER)
    assert failed.value.data["code"] == "authenticationFailed"
    assert failed.value.data["status"] == 401
    assert "Incorrect API key provided" in failed.value.message
