"""Continuing a partial answer: one shared request shape for every provider, and the sums."""

from __future__ import annotations

from switchboard.protocol.chat import ChatParams, ChatResult, Cost, TextPart, Usage
from switchboard.providers.adapters import adapter_for
from switchboard.providers.catalog.pricing import usage_sum
from switchboard.providers.engine import CONTINUE_INSTRUCTION, Continued, continuation_params

PARAMS = ChatParams.model_validate({"messages": [{"role": "user", "content": "Count to ten."}]})


def partial(text: str, usage: Usage | None = None) -> ChatResult:
    return ChatResult(
        id="sb-1",
        model="anthropic/claude",
        content=[TextPart(text=text)],
        stop_reason="error",
        usage=usage or Usage(),
    )


def test_with_prefill_the_partial_is_the_last_assistant_turn() -> None:
    continued = continuation_params(PARAMS, partial("one, two, "), prefill=True)
    assert [m.role for m in continued.messages] == ["user", "assistant"]
    assert continued.messages[-1].content == "one, two,"  # no trailing whitespace


def test_without_prefill_a_short_user_turn_asks_to_continue() -> None:
    continued = continuation_params(PARAMS, partial("one, two, "), prefill=False)
    assert [m.role for m in continued.messages] == ["user", "assistant", "user"]
    assert continued.messages[1].content == "one, two, "
    assert continued.messages[2].content == CONTINUE_INSTRUCTION
    assert PARAMS.messages == continued.messages[:1]  # the caller's params are untouched


def test_a_partial_without_text_asks_again_as_it_was() -> None:
    assert continuation_params(PARAMS, partial("  "), prefill=True) == PARAMS


def test_which_adapters_take_a_prefill() -> None:
    from switchboard.protocol.catalog import ModelInfo
    from switchboard.providers.base import ModelTarget

    def target(provider: str, model: str) -> ModelTarget:
        info = ModelInfo(
            id=f"{provider}/{model}", provider=provider, name=model, context_window=200_000
        )
        return ModelTarget(provider, model, info)

    thinking = ChatParams.model_validate({**PARAMS.to_wire(), "thinking": {"budgetTokens": 1024}})
    claude = target("anthropic", "claude-sonnet-4-6")
    assert adapter_for("anthropic", None).accepts_prefill(PARAMS, claude)
    assert not adapter_for("anthropic", None).accepts_prefill(thinking, claude)
    assert not adapter_for("openai", None).accepts_prefill(PARAMS, target("openai", "gpt-4o"))
    bedrock = adapter_for("bedrock", None)
    assert bedrock.accepts_prefill(PARAMS, target("bedrock", "anthropic.claude-sonnet-4"))
    assert not bedrock.accepts_prefill(PARAMS, target("bedrock", "amazon.nova-pro-v1:0"))
    vertex = adapter_for("vertex", None)
    assert vertex.accepts_prefill(PARAMS, target("vertex", "claude-sonnet-4"))
    assert not vertex.accepts_prefill(PARAMS, target("vertex", "gemini-2.5-pro"))


def test_the_joined_result_is_partial_then_continuation_with_both_calls_spent() -> None:
    before = Continued(partial("one, two,"), Usage(input_tokens=10, output_tokens=4))
    after = ChatResult(
        id="sb-2",
        model="anthropic/claude",
        content=[TextPart(text=" three.")],
        stop_reason="endTurn",
        usage=Usage(input_tokens=14, output_tokens=2, cache_read_input_tokens=5),
        cost=Cost(input_usd=0.2, output_usd=0.1, total_usd=0.3),
    )
    first_cost = Cost(input_usd=0.1, output_usd=0.2, cache_usd=0.01, total_usd=0.31)
    joined = before.joined(after, first_cost)
    assert joined.id == "sb-1" and joined.resumed is True
    assert joined.content == [TextPart(text="one, two, three.")]
    assert joined.usage == Usage(
        input_tokens=24, output_tokens=6, cache_read_input_tokens=5, total_tokens=30
    )
    assert joined.cost is not None
    assert abs(joined.cost.total_usd - 0.61) < 1e-9 and joined.cost.cache_usd == 0.01
    assert before.joined(after, None).cost is None  # an unpriced half: no made-up total


def test_usage_adds_up_and_stays_estimated_if_either_was() -> None:
    summed = usage_sum(
        Usage(input_tokens=1, estimated=True), Usage(input_tokens=2, output_tokens=3)
    )
    assert summed == Usage(input_tokens=3, output_tokens=3, estimated=True)
