"""Request shaping: temperature ranges, max_tokens from the window, refusal before sending."""

from __future__ import annotations

import pytest
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import ChatParams
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for
from switchboard.providers.base import ModelTarget
from switchboard.providers.catalog.shaping import (
    IMAGE_TOKENS_BOUND,
    MIN_VIABLE_TOKENS,
    input_upper_bound,
    shape,
)
from switchboard.providers.catalog.tokens import count_messages
from switchboard.providers.errors import ProviderError

USER = [{"role": "user", "content": "hi"}]


def target(
    provider: str, model: str, window: int = 200_000, max_output: int | None = 64_000, **info: int
) -> ModelTarget:
    return ModelTarget(
        provider,
        model,
        ModelInfo(
            id=f"{provider}/{model}",
            provider=provider,
            name=model,
            context_window=window,
            max_output_tokens=max_output,
            **info,
        ),
    )


def params(**fields: object) -> ChatParams:
    return ChatParams.model_validate({"messages": USER, **fields})


def never() -> int:
    raise AssertionError("the bound alone should have been enough")


@pytest.mark.parametrize(
    ("provider", "model", "wanted", "sent"),
    [
        ("anthropic", "claude-sonnet-4-5", 1.5, 1.0),
        ("bedrock", "anthropic.claude-sonnet-4-5", 1.2, 1.0),
        ("vertex", "claude-sonnet-4-5@20250929", 1.4, 1.0),
        ("vertex", "gemini-2.5-pro", 1.4, 1.4),
        ("openai", "gpt-4o", 2.7, 2.0),
        ("gemini", "gemini-2.5-flash", 3.0, 2.0),
        ("openai", "gpt-4o", 0.3, 0.3),
    ],
)
def test_temperature_is_clamped_to_the_provider_range(
    provider: str, model: str, wanted: float, sent: float
) -> None:
    shaped = shape(
        params(temperature=wanted), target(provider, model), adapter_for(provider), never, 10
    )
    assert shaped.params.temperature == sent
    if wanted == sent:
        assert not shaped.warnings
    else:
        (warning,) = shaped.warnings
        assert f"temperature {wanted:g}" in warning and f"sent {sent:g}" in warning


def test_temperature_is_dropped_where_the_model_rejects_it() -> None:
    for provider, model, fields in [
        ("openai", "o3-mini", {}),
        ("anthropic", "claude-sonnet-4-5", {"thinking": {"budgetTokens": 2048}}),
    ]:
        shaped = shape(
            params(temperature=0.2, **fields),
            target(provider, model),
            adapter_for(provider),
            never,
            10,
        )
        assert shaped.params.temperature is None
        assert "takes no temperature" in shaped.warnings[0]


def test_max_tokens_is_the_model_output_limit_when_the_input_is_small() -> None:
    shaped = shape(
        params(), target("openai", "gpt-4o", 128_000, 16_384), adapter_for("openai"), never, 50
    )
    assert shaped.params.max_tokens == 16_384 and not shaped.warnings


def test_max_tokens_leaves_room_for_the_input_and_a_margin() -> None:
    # window 10,000; input 6,000 → 10,000 - 6,600 = 3,400 left for the answer.
    shaped = shape(
        params(),
        target("openai", "gpt-4o", 10_000, 8_000),
        adapter_for("openai"),
        lambda: 6_000,
        40_000,
    )
    assert shaped.params.max_tokens == 3_400
    asked = shape(
        params(max_tokens=5_000),
        target("openai", "gpt-4o", 10_000, 8_000),
        adapter_for("openai"),
        lambda: 6_000,
        40_000,
    )
    assert asked.params.max_tokens == 3_400
    assert "maxTokens 5,000 lowered to 3,400" in asked.warnings[0]
    modest = shape(
        params(max_tokens=1_000),
        target("openai", "gpt-4o", 10_000, 8_000),
        adapter_for("openai"),
        lambda: 6_000,
        40_000,
    )
    assert modest.params.max_tokens == 1_000 and not modest.warnings


def test_max_tokens_never_below_the_minimum_viable_length() -> None:
    shaped = shape(
        params(),
        target("openai", "gpt-4o", 10_000, 8_000),
        adapter_for("openai"),
        lambda: 9_000,
        90_000,
    )
    assert shaped.params.max_tokens == MIN_VIABLE_TOKENS


def test_an_input_over_the_window_is_refused_with_the_numbers() -> None:
    with pytest.raises(ProviderError) as refused:
        shape(
            params(),
            target("openai", "gpt-4o", 10_000, 8_000),
            adapter_for("openai"),
            lambda: 12_345,
            99_999,
        )
    assert refused.value.code == ErrorCode.CONTEXT_LENGTH_EXCEEDED
    assert "12,345" in refused.value.message and "10,000" in refused.value.message


def test_a_separate_input_limit_is_honoured() -> None:
    with pytest.raises(ProviderError):
        shape(
            params(),
            target("openai", "gpt-x", 400_000, 128_000, max_input_tokens=272_000),
            adapter_for("openai"),
            lambda: 300_000,
            2_000_000,
        )


def test_the_upper_bound_is_never_below_the_count() -> None:
    texts = ["hi", "naïve café ☕ " * 300, "def f(x):\n    return x ** 2\n" * 200, "🙂" * 500]
    for text in texts:
        request = params(messages=[{"role": "user", "content": text}], system="be brief")
        counted = count_messages("openai", "gpt-4o", request.messages, system=request.system)
        assert input_upper_bound(request) >= counted.input_tokens
    image = params(
        messages=[
            {
                "role": "user",
                "content": [{"type": "image", "url": "https://example.com/a.png"}],
            }
        ]
    )
    assert input_upper_bound(image) >= IMAGE_TOKENS_BOUND


def test_cost_before_sending_prices_the_input_and_the_longest_answer() -> None:
    from switchboard.providers.catalog.shaping import answer_room
    from switchboard.providers.config import Config
    from switchboard.providers.engine import ChatEngine

    engine = ChatEngine(Config())
    target = engine.resolve("openai/gpt-4o")
    pricing = target.info.pricing
    assert pricing is not None and target.info.max_output_tokens
    input_usd, most_usd = engine.cost_before_sending(target, 10_000)
    assert input_usd == pytest.approx(10_000 * pricing.input_per_m_tok / 1e6)
    longest = answer_room(target, 10_000)
    assert longest == target.info.max_output_tokens
    assert most_usd == pytest.approx(input_usd + longest * pricing.output_per_m_tok / 1e6)
    unpriced = engine.resolve("copilot/gpt-5-mini")
    assert engine.cost_before_sending(unpriced, 10_000) == (None, None)
