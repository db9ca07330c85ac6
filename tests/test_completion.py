"""The completion entry point over loopback: FIM where the model has it, chat where not.

Each provider fake speaks its real wire format; the Completer runs through
the engine's shared transport, credentials and authorization (Copilot's
token exchange included). Line mode and cancellation must close the
upstream connection, which the fakes notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping

import pytest
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.base import CompletionRequest, ProviderSettings
from switchboard.providers.catalog.fim_prompt import GAP
from switchboard.providers.completion import Completer
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine
from switchboard.providers.errors import ProviderError

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.copilot import FakeCopilot
from tests.fakes.deepseek import FakeDeepSeek
from tests.fakes.http import FakeHTTPServer
from tests.fakes.local import FakeLocal
from tests.fakes.mistral import FakeMistral
from tests.fakes.scenario import Scenario

REQUEST = CompletionRequest(
    prefix="def add(a, b):\n    ",
    suffix="\n\nprint(add(1, 2))\n",
    language="python",
    path="calc.py",
    max_tokens=64,
)
SLOW_LINES = "return a + b\n\nprint('more')\n" + "# padding\n" * 6


@pytest.fixture(scope="module")
def mistral_server() -> Iterator[FakeMistral]:
    with FakeMistral() as running:
        yield running


@pytest.fixture(scope="module")
def anthropic_server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as running:
        yield running


def fresh(server: FakeHTTPServer) -> None:
    server.requests.clear()
    server.disconnects.clear()
    server.streams_started.clear()


@pytest.fixture
def mistral(mistral_server: FakeMistral) -> FakeMistral:
    fresh(mistral_server)
    mistral_server.scenarios.clear()
    return mistral_server


@pytest.fixture
def anthropic(anthropic_server: FakeAnthropic) -> FakeAnthropic:
    fresh(anthropic_server)
    return anthropic_server


async def engine_for(
    providers: dict[str, ProviderSettings], environ: Mapping[str, str]
) -> ChatEngine:
    return ChatEngine(Config(providers=providers), environ=dict(environ))


@pytest.fixture
async def engine(mistral: FakeMistral, anthropic: FakeAnthropic) -> AsyncIterator[ChatEngine]:
    providers = {
        "mistral": ProviderSettings("mistral", "mistral", base_url=mistral.url + "/v1"),
        "anthropic": ProviderSettings("anthropic", "anthropic", base_url=anthropic.url),
    }
    environ = {"MISTRAL_API_KEY": mistral.api_key, "ANTHROPIC_API_KEY": anthropic.api_key}
    running = await engine_for(providers, environ)
    yield running
    await running.aclose()


# ---- fill-in-the-middle -------------------------------------------------------------------


async def test_codestral_fills_in_the_middle(engine: ChatEngine, mistral: FakeMistral) -> None:
    mistral.enqueue_scenario(Scenario(text="return a + b", input_tokens=30, output_tokens=5))
    result = await Completer(engine).complete("mistral/codestral-2508", REQUEST)
    assert (result.text, result.route, result.end_reason) == ("return a + b", "fim", "endTurn")
    assert result.model == "mistral/codestral-2508"
    assert result.usage is not None and not result.usage.estimated
    assert (result.usage.input_tokens, result.usage.output_tokens) == (30, 5)
    assert result.cost is not None
    assert result.cost.total_usd == pytest.approx(30 * 0.3e-6 + 5 * 0.9e-6)
    (sent,) = mistral.fims()
    body = sent.json()
    assert (body["prompt"], body["suffix"], body["max_tokens"]) == (
        REQUEST.prefix,
        REQUEST.suffix,
        64,
    )
    assert sent.headers["authorization"] == f"Bearer {mistral.api_key}"


async def test_deepseek_fills_in_the_middle_through_its_beta_endpoint() -> None:
    with FakeDeepSeek() as fake:
        fake.enqueue_scenario(Scenario(text="return a + b", input_tokens=40, cache_read_tokens=32))
        providers = {"deepseek": ProviderSettings("deepseek", "deepseek", base_url=fake.url)}
        engine = await engine_for(providers, {"DEEPSEEK_API_KEY": fake.api_key})
        try:
            result = await Completer(engine).complete("deepseek/deepseek-v4-flash", REQUEST)
        finally:
            await engine.aclose()
    assert (result.text, result.route) == ("return a + b", "fim")
    assert result.usage is not None and result.usage.cache_read_input_tokens == 32
    (sent,) = fake.fims()
    assert (sent.json()["prompt"], sent.json()["suffix"]) == (REQUEST.prefix, REQUEST.suffix)


async def test_a_local_coder_model_fills_in_and_is_counted_locally_without_usage() -> None:
    with FakeLocal(models=("qwen2.5-coder:7b",), ollama=True) as fake:
        fake.enqueue_completion(Scenario(text="return a + b", pieces=3))
        providers = {"ollama": ProviderSettings("ollama", "ollama", base_url=fake.url)}
        engine = await engine_for(providers, {})
        try:
            completer = Completer(engine)
            assert completer.route("ollama/qwen2.5-coder:7b") == "fim"
            result = await completer.complete("ollama/qwen2.5-coder:7b", REQUEST)
        finally:
            await engine.aclose()
    assert (result.text, result.route) == ("return a + b", "fim")
    assert result.usage is not None and result.usage.estimated
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    (sent,) = fake.completions()
    assert (sent.json()["prompt"], sent.json()["suffix"]) == (REQUEST.prefix, REQUEST.suffix)


async def test_copilot_inline_completions_go_through_the_token_exchange() -> None:
    with FakeCopilot() as fake:
        fake.enqueue_completion(Scenario(text="return a + b", pieces=4))
        settings = ProviderSettings(
            "copilot", "copilot", base_url=fake.url, options={"github_api_url": fake.url}
        )
        engine = await engine_for(
            {"copilot": settings}, {"GITHUB_COPILOT_TOKEN": fake.github_token}
        )
        try:
            result = await Completer(engine).complete("copilot/gpt-41-copilot", REQUEST)
        finally:
            await engine.aclose()
    assert (result.text, result.route, result.cost) == ("return a + b", "fim", None)
    assert len(fake.exchanges()) == 1
    (sent,) = fake.completions()
    assert sent.headers["authorization"] == f"Bearer {fake.issued[0]}"
    assert fake.github_token not in str(sent.headers) + sent.body.decode()
    assert (sent.json()["prompt"], sent.json()["suffix"]) == (REQUEST.prefix, REQUEST.suffix)


async def test_an_expired_copilot_token_is_exchanged_again_once() -> None:
    with FakeCopilot() as fake:
        settings = ProviderSettings(
            "copilot", "copilot", base_url=fake.url, options={"github_api_url": fake.url}
        )
        engine = await engine_for(
            {"copilot": settings}, {"GITHUB_COPILOT_TOKEN": fake.github_token}
        )
        try:
            completer = Completer(engine)
            await completer.complete("copilot/gpt-41-copilot", REQUEST)
            fake.expire_tokens()
            fake.enqueue_completion(Scenario(text="return b + a"))
            result = await completer.complete("copilot/gpt-41-copilot", REQUEST)
        finally:
            await engine.aclose()
    assert result.text == "return b + a"
    assert len(fake.exchanges()) == 2
    authorizations = [r.headers["authorization"] for r in fake.completions()]
    assert authorizations == [f"Bearer {fake.issued[0]}"] * 2 + [f"Bearer {fake.issued[1]}"]


async def test_line_mode_stops_at_the_first_line_and_closes_the_upstream(
    engine: ChatEngine, mistral: FakeMistral
) -> None:
    mistral.enqueue_scenario(Scenario(text=SLOW_LINES, pieces=12, delay_s=0.25))
    result = await Completer(engine).complete("mistral/codestral-2508", REQUEST, mode="line")
    assert (result.text, result.end_reason) == ("return a + b", "line")
    assert result.usage is not None and result.usage.estimated
    assert mistral.wait_for_disconnect(timeout_s=5) is not None


async def test_cancelling_a_completion_closes_the_upstream(
    engine: ChatEngine, mistral: FakeMistral
) -> None:
    mistral.enqueue_scenario(Scenario(text=SLOW_LINES, pieces=12, delay_s=0.25))
    task = asyncio.ensure_future(Completer(engine).complete("mistral/codestral-2508", REQUEST))
    while not mistral.streams_started:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert mistral.wait_for_disconnect(timeout_s=5) is not None


async def test_without_a_key_nothing_is_sent_and_the_error_names_the_variable(
    mistral: FakeMistral,
) -> None:
    providers = {"mistral": ProviderSettings("mistral", "mistral", base_url=mistral.url + "/v1")}
    engine = await engine_for(providers, {})
    try:
        with pytest.raises(ProviderError) as raised:
            await Completer(engine).complete("mistral/codestral-2508", REQUEST)
    finally:
        await engine.aclose()
    assert raised.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "MISTRAL_API_KEY" in (raised.value.suggestion or "")
    assert mistral.requests == []


async def test_an_upstream_refusal_is_a_provider_error(mistral: FakeMistral) -> None:
    wrong = {"mistral": ProviderSettings("mistral", "mistral", base_url=mistral.url + "/v1")}
    engine = await engine_for(wrong, {"MISTRAL_API_KEY": "not-the-key"})
    try:
        with pytest.raises(ProviderError) as raised:
            await Completer(engine).complete("mistral/codestral-2508", REQUEST)
    finally:
        await engine.aclose()
    assert raised.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "not-the-key" not in str(raised.value)


# ---- the chat fallback -----------------------------------------------------------------


async def test_models_without_fim_get_the_chat_prompt_and_a_clean_middle(
    engine: ChatEngine, anthropic: FakeAnthropic
) -> None:
    answer = "Here is the missing line:\n\n```python\n    return a + b\n\nprint(add(1, 2))\n```\n"
    anthropic.enqueue_scenario(Scenario(text=answer, pieces=5, input_tokens=80, output_tokens=20))
    completer = Completer(engine)
    assert completer.route("anthropic/claude-haiku-5-5") == "chat"
    assert completer.route("mistral/mistral-small-2506") == "chat"
    assert completer.route("mistral/codestral-2508") == "fim"
    result = await completer.complete("anthropic/claude-haiku-5-5", REQUEST)
    assert (result.text, result.route, result.end_reason) == ("return a + b", "chat", "endTurn")
    assert result.usage is not None and result.usage.input_tokens == 80
    assert result.cost is not None and result.cost.total_usd > 0
    body = anthropic.requests[-1].json()
    system = body["system"] if isinstance(body["system"], str) else body["system"][0]["text"]
    assert GAP in system
    prompt = str(body["messages"][0]["content"])
    assert "def add(a, b):\\n    " + GAP in prompt or f"def add(a, b):\n    {GAP}" in prompt
    assert "calc.py" in prompt and "python" in prompt


async def test_chat_fallback_in_line_mode_stops_early_and_closes_the_upstream(
    engine: ChatEngine, anthropic: FakeAnthropic
) -> None:
    answer = "```python\n" + SLOW_LINES + "```\n"
    anthropic.enqueue_scenario(Scenario(text=answer, pieces=14, delay_s=0.25))
    result = await Completer(engine).complete("anthropic/claude-haiku-5-5", REQUEST, mode="line")
    assert (result.text, result.route, result.end_reason) == ("return a + b", "chat", "line")
    assert result.usage is not None and result.usage.estimated
    assert anthropic.wait_for_disconnect(timeout_s=5) is not None


async def test_line_mode_with_a_one_line_answer_keeps_the_reported_usage(
    engine: ChatEngine, anthropic: FakeAnthropic
) -> None:
    anthropic.enqueue_scenario(Scenario(text="return a + b", input_tokens=70, output_tokens=6))
    result = await Completer(engine).complete("anthropic/claude-haiku-5-5", REQUEST, mode="line")
    assert (result.text, result.end_reason) == ("return a + b", "endTurn")
    assert result.usage is not None and (result.usage.input_tokens, result.usage.estimated) == (
        70,
        None,
    )
