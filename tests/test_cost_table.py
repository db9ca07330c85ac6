"""Cost per request against a table of dollars worked out by hand (tests/data/cost_cases.json).

Each case goes the way a chat's cost does: the engine resolves `provider/model`
against the packaged catalog, then prices the normalized usage (or takes the
provider's own figure). The session ledger then adds the same requests up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.chat import Cost, Usage
from switchboard.providers.catalog.pricing import rates_for
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine
from switchboard.server.usage import UsageLedger

TABLE = json.loads((Path(__file__).parent / "data" / "cost_cases.json").read_text("utf-8"))
CASES: list[dict[str, Any]] = TABLE["cases"]
TOLERANCE: float = TABLE["toleranceUsd"]
RATE_KEYS = ("inputPerMTok", "outputPerMTok", "cacheReadPerMTok", "cacheWritePerMTok")


@pytest.fixture(scope="module")
def engine() -> ChatEngine:
    return ChatEngine(Config(), environ={})


def priced(engine: ChatEngine, case: dict[str, Any]) -> Cost | None:
    target = engine.resolve(case["model"])
    return engine.cost(target, Usage.model_validate(case["usage"]))


def applied_rates(engine: ChatEngine, case: dict[str, Any]) -> dict[str, float | None] | None:
    target = engine.resolve(case["model"])
    if target.info.pricing is None:
        return None
    kind = engine.settings(target.provider).kind
    extras = engine.catalog.entry_extras(kind, target.model)
    usage = Usage.model_validate(case["usage"])
    rates = rates_for(usage.input_tokens, target.info.pricing, extras.tiers if extras else ())
    wire = rates.to_wire()
    return {key: wire.get(key) for key in RATE_KEYS}


def test_the_table_covers_what_the_issue_asks_for() -> None:
    assert len(CASES) >= 12
    providers = {case["model"].partition("/")[0] for case in CASES}
    assert {"anthropic", "openai", "gemini", "bedrock", "vertex", "xai"} <= providers
    assert {"azure", "openrouter", "copilot"} <= providers
    usages = [case["usage"] for case in CASES]
    assert any(u.get("cacheReadInputTokens") for u in usages)
    assert any(u.get("cacheCreationInputTokens") for u in usages)
    assert any(u.get("reasoningTokens") for u in usages)
    assert any(u["inputTokens"] > 200_000 for u in usages)
    assert any(case["cost"] is None for case in CASES)
    assert any(case["cost"] and case["cost"]["costSource"] == "provider" for case in CASES)
    assert all(case["why"] for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_the_catalog_still_has_the_rates_the_case_was_worked_out_with(
    engine: ChatEngine, case: dict[str, Any]
) -> None:
    expected = case["rates"]
    if expected is not None:
        expected = {key: expected[key] for key in RATE_KEYS}
    assert applied_rates(engine, case) == expected, "recompute this case by hand"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_cost_matches_the_hand_computed_dollars(engine: ChatEngine, case: dict[str, Any]) -> None:
    cost = priced(engine, case)
    expected = case["cost"]
    if expected is None:
        assert cost is None, "an unknown price is no cost, never zero"
        return
    assert cost is not None
    wire = cost.to_wire()
    assert wire["costSource"] == expected["costSource"]
    for key in ("inputUsd", "outputUsd", "totalUsd"):
        assert wire[key] == pytest.approx(expected[key], abs=TOLERANCE), key
    if expected["cacheUsd"] is None:
        assert "cacheUsd" not in wire
    else:
        assert wire["cacheUsd"] == pytest.approx(expected["cacheUsd"], abs=TOLERANCE)
    parts = wire["inputUsd"] + wire["outputUsd"] + wire.get("cacheUsd", 0.0)
    assert parts == pytest.approx(wire["totalUsd"], abs=1e-8), "the parts add up to the total"


def test_a_reported_cost_of_zero_is_kept_as_zero(engine: ChatEngine) -> None:
    # a free route really costs nothing: the provider's 0 is a price, not a missing one
    target = engine.resolve("openrouter/openai/gpt-4o-mini")
    cost = engine.cost(target, Usage(input_tokens=100, output_tokens=10, reported_cost_usd=0.0))
    assert cost is not None and cost.total_usd == 0.0 and cost.cost_source == "provider"


# ---- session and per-model totals -------------------------------------------------


def test_session_totals_add_up_over_the_table(engine: ChatEngine) -> None:
    ledger = UsageLedger()
    notifications = []
    for case in CASES:
        target = engine.resolve(case["model"])
        usage = Usage.model_validate(case["usage"])
        notifications.append(ledger.record(target.id, usage, engine.cost(target, usage)).to_wire())

    priced_totals = [case["cost"]["totalUsd"] for case in CASES if case["cost"] is not None]
    unpriced = sum(1 for case in CASES if case["cost"] is None)
    last = notifications[-1]["session"]
    assert last["requests"] == len(CASES)
    assert last["unpricedRequests"] == unpriced
    assert last["costUsd"] == pytest.approx(sum(priced_totals), abs=TOLERANCE)
    assert last["inputTokens"] == sum(case["usage"]["inputTokens"] for case in CASES)
    assert last["outputTokens"] == sum(case["usage"]["outputTokens"] for case in CASES)
    assert last["cacheReadInputTokens"] == sum(
        case["usage"].get("cacheReadInputTokens") or 0 for case in CASES
    )
    assert last["cacheCreationInputTokens"] == sum(
        case["usage"].get("cacheCreationInputTokens") or 0 for case in CASES
    )

    # each notification's session is the running total up to that request
    running = 0.0
    for notification in notifications:
        cost = notification["last"]["cost"]
        running += cost["totalUsd"] if cost is not None else 0.0
        assert notification["session"]["costUsd"] == pytest.approx(running, abs=1e-8)

    snapshot = ledger.snapshot().to_wire()
    assert snapshot["session"] == last
    by_model = snapshot["byModel"]
    assert [m["model"] for m in by_model] == sorted({m["model"] for m in by_model})
    for key in ("requests", "unpricedRequests", "inputTokens", "outputTokens"):
        assert sum(m[key] for m in by_model) == last[key], key
    assert sum(m["costUsd"] for m in by_model) == pytest.approx(last["costUsd"], abs=1e-8)


def test_unpriced_requests_count_apart_from_the_dollars() -> None:
    ledger = UsageLedger()
    usage = Usage(input_tokens=1_000, output_tokens=100)
    paid = Cost(input_usd=0.002, output_usd=0.001, total_usd=0.003)
    ledger.record("anthropic/claude-sonnet-5-5", usage, paid)
    ledger.record("copilot/gpt-5-mini", usage, None)
    changed = ledger.record("copilot/gpt-5-mini", usage, None).to_wire()

    assert changed["last"]["cost"] is None
    session = changed["session"]
    assert session["requests"] == 3
    assert session["unpricedRequests"] == 2
    assert session["costUsd"] == pytest.approx(0.003, abs=1e-9)
    copilot = next(m for m in ledger.snapshot().by_model if m.model == "copilot/gpt-5-mini")
    assert (copilot.requests, copilot.unpriced_requests, copilot.cost_usd) == (2, 2, 0.0)
