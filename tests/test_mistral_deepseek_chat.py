"""Chat with the two new kinds, Mistral and DeepSeek, through the engine over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from switchboard.protocol.chat import ChatEvent, ChatParams, Message, TextEvent, ThinkingConfig
from switchboard.providers.base import ProviderSettings
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine

from tests.fakes.deepseek import FakeDeepSeek
from tests.fakes.mistral import FakeMistral
from tests.fakes.scenario import Scenario, ToolCall

HELLO = [Message(role="user", content="hello")]


@pytest.fixture(scope="module")
def mistral() -> Iterator[FakeMistral]:
    with FakeMistral() as running:
        yield running


@pytest.fixture(scope="module")
def deepseek() -> Iterator[FakeDeepSeek]:
    with FakeDeepSeek() as running:
        yield running


@pytest.fixture
async def engine(mistral: FakeMistral, deepseek: FakeDeepSeek) -> AsyncIterator[ChatEngine]:
    providers = {
        "mistral": ProviderSettings("mistral", "mistral", base_url=mistral.url + "/v1"),
        "deepseek": ProviderSettings("deepseek", "deepseek", base_url=deepseek.url),
    }
    environ = {"MISTRAL_API_KEY": mistral.api_key, "DEEPSEEK_API_KEY": deepseek.api_key}
    running = ChatEngine(Config(providers=providers), environ=environ)
    yield running
    await running.aclose()


async def test_mistral_chat_streams_text_usage_and_cost(
    engine: ChatEngine, mistral: FakeMistral
) -> None:
    mistral.enqueue_scenario(
        Scenario(text="Bonjour !", pieces=3, input_tokens=1000, output_tokens=100)
    )
    events: list[ChatEvent] = []
    result = await engine.chat(
        ChatParams(model="mistral/mistral-large-2512", messages=HELLO), events.append
    )
    assert "".join(e.text for e in events if isinstance(e, TextEvent)) == "Bonjour !"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1000, 100)
    assert result.cost is not None
    assert result.cost.total_usd == pytest.approx(1000 * 0.5e-6 + 100 * 1.5e-6)
    sent = mistral.chats()[-1].json()
    assert sent["model"] == "mistral-large-2512" and "stream_options" not in sent


async def test_mistral_tool_calls_come_back_whole(engine: ChatEngine, mistral: FakeMistral) -> None:
    call = ToolCall(id="abcDEF123", name="get_weather", input={"city": "Paris"})
    mistral.enqueue_scenario(Scenario(text="", tool_calls=[call], stop="toolUse"))
    result = await engine.chat(
        ChatParams(model="mistral/mistral-small-2506", messages=HELLO), lambda event: None
    )
    assert result.stop_reason == "toolUse"
    (part,) = [p for p in result.content if p.type == "toolUse"]
    assert (part.id, part.name, part.input) == ("abcDEF123", "get_weather", {"city": "Paris"})


async def test_deepseek_chat_prices_cache_hits_and_keeps_thinking_off(
    engine: ChatEngine, deepseek: FakeDeepSeek
) -> None:
    deepseek.enqueue_scenario(
        Scenario(text="Hi.", thinking="unused", input_tokens=1000, cache_read_tokens=800)
    )
    result = await engine.chat(
        ChatParams(model="deepseek/deepseek-v4-flash", messages=HELLO), lambda event: None
    )
    assert [p.type for p in result.content] == ["text"]  # thinking was turned off
    assert result.usage.cache_read_input_tokens == 800
    assert deepseek.chats()[-1].json()["thinking"] == {"type": "disabled"}
    assert result.cost is not None
    output = result.usage.output_tokens * 0.28e-6
    assert result.cost.total_usd == pytest.approx(200 * 0.14e-6 + 800 * 0.0028e-6 + output)


async def test_deepseek_thinking_streams_when_asked(
    engine: ChatEngine, deepseek: FakeDeepSeek
) -> None:
    deepseek.enqueue_scenario(Scenario(text="4", thinking="2 + 2 is 4."))
    params = ChatParams(
        model="deepseek/deepseek-v4-pro",
        messages=HELLO,
        thinking=ThinkingConfig(budget_tokens=8000),
    )
    result = await engine.chat(params, lambda event: None)
    kinds = [(p.type, getattr(p, "text", None)) for p in result.content]
    assert kinds == [("thinking", "2 + 2 is 4."), ("text", "4")]
    sent = deepseek.chats()[-1].json()
    assert (sent["thinking"], sent["reasoning_effort"]) == ({"type": "enabled"}, "high")
