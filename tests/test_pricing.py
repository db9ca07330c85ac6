"""cost_of against dollar amounts worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from switchboard.protocol.catalog import Pricing
from switchboard.protocol.chat import Cost, Usage
from switchboard.providers.catalog.models import Catalog
from switchboard.providers.catalog.pricing import PriceTier, cost_of, rates_for

SONNET_45 = Pricing(
    input_per_m_tok=3, output_per_m_tok=15, cache_read_per_m_tok=0.30, cache_write_per_m_tok=3.75
)
SONNET_45_LONG = PriceTier(
    above_input_tokens=200_000,
    pricing=Pricing(
        input_per_m_tok=6,
        output_per_m_tok=22.5,
        cache_read_per_m_tok=0.60,
        cache_write_per_m_tok=7.5,
    ),
)
GPT_4O = Pricing(input_per_m_tok=2.5, output_per_m_tok=10, cache_read_per_m_tok=1.25)
NO_CACHE_RATES = Pricing(input_per_m_tok=2.5, output_per_m_tok=10)


@dataclass(frozen=True)
class Case:
    name: str
    usage: Usage
    pricing: Pricing
    tiers: tuple[PriceTier, ...]
    input_usd: float
    cache_usd: float | None
    output_usd: float
    total_usd: float


def usage(inp: int, out: int, read: int | None = None, write: int | None = None) -> Usage:
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        cache_read_input_tokens=read,
        cache_creation_input_tokens=write,
    )


CASES = [
    # 1,000 x $3/M = 0.003; 500 x $15/M = 0.0075
    Case("plain", usage(1_000, 500), SONNET_45, (), 0.003, None, 0.0075, 0.0105),
    # uncached 10,000 - 6,000 - 2,000 = 2,000 x $3/M = 0.006
    # cache 6,000 x $0.30/M = 0.0018 + 2,000 x $3.75/M = 0.0075 -> 0.0093
    # output 1,000 x $15/M = 0.015
    Case(
        "cache read and write",
        usage(10_000, 1_000, read=6_000, write=2_000),
        SONNET_45,
        (),
        0.006,
        0.0093,
        0.015,
        0.0303,
    ),
    # uncached 976 x $2.5/M = 0.00244; 1,024 x $1.25/M = 0.00128; 300 x $10/M = 0.003
    Case(
        "openai cached prefix",
        usage(2_000, 300, read=1_024, write=0),
        GPT_4O,
        (),
        0.00244,
        0.00128,
        0.003,
        0.00672,
    ),
    # no cache rates: cache reads bill at the input rate, 1,000 x $2.5/M = 0.0025
    # uncached 3,000 x $2.5/M = 0.0075; 200 x $10/M = 0.002
    Case(
        "missing cache rate falls back to input",
        usage(4_000, 200, read=1_000),
        NO_CACHE_RATES,
        (),
        0.0075,
        0.0025,
        0.002,
        0.012,
    ),
    # 250,000 > 200,000: the long-context rates apply to the whole request
    # uncached 200,000 x $6/M = 1.2; cache 50,000 x $0.60/M = 0.03; 2,000 x $22.5/M = 0.045
    Case(
        "over the 200k tier",
        usage(250_000, 2_000, read=50_000, write=0),
        SONNET_45,
        (SONNET_45_LONG,),
        1.2,
        0.03,
        0.045,
        1.275,
    ),
    # exactly 200,000 is not above the threshold: 200,000 x $3/M = 0.6; 1,000 x $15/M = 0.015
    Case(
        "at the tier threshold",
        usage(200_000, 1_000),
        SONNET_45,
        (SONNET_45_LONG,),
        0.6,
        None,
        0.015,
        0.615,
    ),
    Case("nothing used", usage(0, 0), SONNET_45, (), 0.0, None, 0.0, 0.0),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_cost_matches_hand_computed_dollars(case: Case) -> None:
    cost = cost_of(case.usage, case.pricing, case.tiers)
    assert cost is not None
    assert cost.input_usd == pytest.approx(case.input_usd, abs=1e-6)
    assert cost.output_usd == pytest.approx(case.output_usd, abs=1e-6)
    if case.cache_usd is None:
        assert cost.cache_usd is None
    else:
        assert cost.cache_usd == pytest.approx(case.cache_usd, abs=1e-6)
    assert cost.total_usd == pytest.approx(case.total_usd, abs=1e-6)
    assert cost.cost_source == "catalog"


def test_unknown_price_is_no_cost_never_zero() -> None:
    assert cost_of(usage(1_000, 1_000), None) is None
    assert cost_of(usage(0, 0), None) is None


def test_sub_cent_costs_are_kept_to_a_billionth() -> None:
    # 1 x $0.15/M = 0.00000015; 1 x $0.60/M = 0.0000006
    cheap = Pricing(input_per_m_tok=0.15, output_per_m_tok=0.60)
    cost = cost_of(usage(1, 1), cheap)
    assert cost is not None
    assert cost.input_usd == pytest.approx(0.00000015, abs=1e-12)
    assert cost.output_usd == pytest.approx(0.0000006, abs=1e-12)
    assert cost.total_usd == pytest.approx(0.00000075, abs=1e-12)
    assert cost.total_usd == round(cost.total_usd, 9)


def test_inconsistent_usage_does_not_go_negative() -> None:
    # more cache tokens reported than input: nothing left to bill as uncached input
    # cache 500 x $0.30/M = 0.00015; output 10 x $15/M = 0.00015
    cost = cost_of(usage(100, 10, read=500), SONNET_45)
    assert cost is not None
    assert cost.input_usd == 0
    assert cost.cache_usd == pytest.approx(0.00015, abs=1e-9)
    assert cost.total_usd == pytest.approx(0.0003, abs=1e-9)


def test_the_highest_exceeded_tier_wins() -> None:
    low = PriceTier(100, Pricing(input_per_m_tok=2, output_per_m_tok=2))
    high = PriceTier(1_000, Pricing(input_per_m_tok=3, output_per_m_tok=3))
    base = Pricing(input_per_m_tok=1, output_per_m_tok=1)
    assert rates_for(50, base, (high, low)) is base
    assert rates_for(500, base, (high, low)) is low.pricing
    assert rates_for(5_000, base, (high, low)) is high.pricing


def test_cost_serializes_camel_case() -> None:
    cost = cost_of(usage(1_000, 500), SONNET_45)
    assert isinstance(cost, Cost)
    assert cost.to_wire() == {
        "inputUsd": 0.003,
        "outputUsd": 0.0075,
        "totalUsd": 0.0105,
        "costSource": "catalog",
    }


# ---- with the packaged catalog's prices -------------------------------------------


def catalog_cost(provider: str, model: str, used: Usage) -> Cost | None:
    catalog = Catalog.load()
    info = catalog.get(provider, model)
    extras = catalog.entry_extras(provider, model)
    assert info is not None and extras is not None
    return cost_of(used, info.pricing, extras.tiers)


def test_haiku_5_5_prompt_over_100k_pays_the_tier_on_everything() -> None:
    # tier: $0.50 in, $2.50 out, $0.05 cache read, $0.625 cache write
    # uncached 150,000 - 100,000 - 10,000 = 40,000 x $0.50/M = 0.02
    # cache 100,000 x $0.05/M = 0.005 + 10,000 x $0.625/M = 0.00625 -> 0.01125
    # output 5,000 x $2.50/M = 0.0125
    cost = catalog_cost("anthropic", "claude-haiku-5-5", usage(150_000, 5_000, 100_000, 10_000))
    assert cost is not None
    assert cost.input_usd == pytest.approx(0.02, abs=1e-6)
    assert cost.cache_usd == pytest.approx(0.01125, abs=1e-6)
    assert cost.output_usd == pytest.approx(0.0125, abs=1e-6)
    assert cost.total_usd == pytest.approx(0.04375, abs=1e-6)


def test_haiku_5_5_short_prompt_pays_base_rates() -> None:
    # 90,000 x $0.10/M = 0.009; 5,000 x $0.50/M = 0.0025
    cost = catalog_cost("anthropic", "claude-haiku-5-5", usage(90_000, 5_000))
    assert cost is not None
    assert cost.total_usd == pytest.approx(0.0115, abs=1e-6)


def test_gpt_6_2_sol_over_272k_pays_the_long_context_rates() -> None:
    # tier: $4 in, $15 out, $0.20 cached
    # uncached 100,000 x $4/M = 0.4; cache 200,000 x $0.20/M = 0.04; 10,000 x $15/M = 0.15
    cost = catalog_cost("openai", "gpt-6.2-sol", usage(300_000, 10_000, read=200_000))
    assert cost is not None
    assert cost.total_usd == pytest.approx(0.59, abs=1e-6)


def test_alias_prices_like_its_entry() -> None:
    # 10,000 x $3/M = 0.03; 2,000 x $15/M = 0.03
    cost = catalog_cost("anthropic", "claude-sonnet-4-5-20250929", usage(10_000, 2_000))
    assert cost is not None
    assert cost.total_usd == pytest.approx(0.06, abs=1e-6)
