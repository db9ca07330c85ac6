"""Cost protection: maxCostUsd per chat, the session budget, and its warnings."""

from __future__ import annotations

from typing import Any

import pytest
from switchboard.protocol.chat import ChatParams, Usage
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.catalog.cost_guard import check_max_cost, check_session_budget
from switchboard.providers.catalog.tokens import count_messages
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine
from switchboard.providers.errors import ProviderError
from switchboard.server.budget_notices import BudgetNotices

KEYS = {"OPENAI_API_KEY": "sk-test-abcdefghijklmnopqrstuvwxyz0123"}
MODEL = "openai/gpt-4o"


def params(**fields: Any) -> ChatParams:
    fields.setdefault("messages", [{"role": "user", "content": "hello " * 200}])
    return ChatParams.model_validate({"model": MODEL, **fields})


def never() -> int:
    raise AssertionError("the byte bound alone should have settled it")


def flat_price(input_tokens: int, output_tokens: int) -> float:
    return input_tokens * 1e-6 + output_tokens * 2e-6


def test_a_request_well_under_its_limit_is_not_even_counted() -> None:
    target = ChatEngine(Config()).resolve(MODEL)
    assert check_max_cost(target, 1.0, flat_price, 1_000, 5_000, never) is None


def test_the_count_decides_when_the_bound_is_over() -> None:
    target = ChatEngine(Config()).resolve(MODEL)
    # bound: 5,000 + 2,000 = $0.007 > $0.005; counted: 1,000 + 2,000 = $0.003
    assert check_max_cost(target, 0.005, flat_price, 1_000, 5_000, lambda: 1_000) is None
    with pytest.raises(ProviderError) as refused:
        check_max_cost(target, 0.002, flat_price, 1_000, 5_000, lambda: 1_000)
    error = refused.value
    assert error.code == ErrorCode.COST_LIMIT_EXCEEDED
    assert error.estimated_cost_usd == pytest.approx(0.003)
    assert error.limit_usd == 0.002
    assert "$0.0030" in error.message and "not sent" in error.message
    wire = error.data().to_wire()
    assert wire["code"] == "costLimitExceeded"
    assert wire["estimatedCostUsd"] == pytest.approx(0.003) and wire["limitUsd"] == 0.002


def test_an_unpriced_model_is_sent_with_a_warning() -> None:
    target = ChatEngine(Config()).resolve(MODEL)
    warning = check_max_cost(target, 0.0, lambda i, o: None, 1_000, 5_000, never)
    assert warning is not None and "no price" in warning


def test_the_engine_refuses_on_the_worst_case_of_input_and_longest_answer() -> None:
    engine = ChatEngine(Config(), environ=KEYS)
    request = params(maxTokens=2_000, maxCostUsd=0.01)
    target = engine.resolve(MODEL)
    counted = count_messages("openai", "gpt-4o", request.messages).input_tokens
    cost = engine.cost(target, Usage(input_tokens=counted, output_tokens=2_000))
    assert cost is not None and cost.total_usd > 0.01  # 2,000 * $10/M alone is $0.02
    with pytest.raises(ProviderError) as refused:
        engine.prepare(request)
    assert refused.value.code == ErrorCode.COST_LIMIT_EXCEEDED
    # Without calibration data the estimate is the count itself.
    assert refused.value.estimated_cost_usd == pytest.approx(cost.total_usd)
    assert f"{counted:,} input tokens and up to 2,000 output tokens" in refused.value.message
    run = engine.prepare(params(maxTokens=2_000, maxCostUsd=0.05))
    assert run.target.id == MODEL


def test_the_longest_answer_is_what_shaping_allows_when_max_tokens_is_not_given() -> None:
    engine = ChatEngine(Config(), environ=KEYS)
    # gpt-4o may write 16,384 tokens: $0.16 at $10/M, over a $0.10 limit.
    with pytest.raises(ProviderError):
        engine.prepare(params(maxCostUsd=0.10))
    engine.prepare(params(maxCostUsd=0.20))


def test_the_session_budget_refuses_from_100_percent() -> None:
    check_session_budget(None, 99.0)
    check_session_budget(1.0, 0.99)
    with pytest.raises(ProviderError) as refused:
        check_session_budget(1.0, 1.0)
    assert refused.value.code == ErrorCode.BUDGET_EXCEEDED
    wire = refused.value.data().to_wire()
    assert wire["limitUsd"] == 1.0 and wire["spentUsd"] == 1.0


def test_the_engine_checks_the_session_spend_before_anything_else() -> None:
    spent = [0.5]
    engine = ChatEngine(
        Config(session_budget_usd=1.0), environ=KEYS, session_spent=lambda: spent[0]
    )
    engine.prepare(params())
    spent[0] = 1.2
    with pytest.raises(ProviderError) as refused:
        engine.prepare(params())
    assert refused.value.code == ErrorCode.BUDGET_EXCEEDED
    with pytest.raises(ProviderError):
        engine.check_budget()


def test_budget_notices_come_once_per_threshold() -> None:
    notices = BudgetNotices()
    assert notices.notice(None, 5.0) is None
    assert notices.notice(1.0, 0.5) is None
    at_80 = notices.notice(1.0, 0.8)
    assert at_80 is not None and "80%" in at_80
    assert notices.notice(1.0, 0.9) is None
    at_100 = notices.notice(1.0, 1.05)
    assert at_100 is not None and "refused" in at_100
    assert notices.notice(1.0, 2.0) is None
    # A new budget starts over; a jump past both thresholds says only the last.
    jumped = notices.notice(0.5, 2.0)
    assert jumped is not None and "refused" in jumped
    assert notices.notice(0.5, 2.1) is None
