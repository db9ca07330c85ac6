"""What a request cost, from normalized usage and catalog list prices.

Usage is normalized (see PROTOCOL.md): ``input_tokens`` counts every input
token, cache reads and writes included, so the uncached part is what is left
after taking both out. Cache writes are priced by their lifetime: the part
written for one hour (``cache_creation_one_hour_input_tokens``) at the 1-hour rate,
the rest at the 5-minute rate. A cost is never invented: no price means no cost
(None), not zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.protocol.catalog import Pricing
from switchboard.protocol.chat import Cost, Usage

PER_MILLION = 1_000_000
DIGITS = 9


@dataclass(frozen=True)
class PriceTier:
    """Rates that replace the base rates for a whole request whose input exceeds a threshold."""

    above_input_tokens: int
    pricing: Pricing


def rates_for(input_tokens: int, pricing: Pricing, tiers: Sequence[PriceTier] = ()) -> Pricing:
    """The rates that apply to a request with this many input tokens."""
    chosen = pricing
    threshold = -1
    for tier in tiers:
        if input_tokens > tier.above_input_tokens > threshold:
            chosen, threshold = tier.pricing, tier.above_input_tokens
    return chosen


def cost_of(
    usage: Usage, pricing: Pricing | None, tiers: Sequence[PriceTier] | None = None
) -> Cost | None:
    """The cost of one request in USD, rounded to 1e-9; None when the price is unknown."""
    if pricing is None:
        return None
    rates = rates_for(usage.input_tokens, pricing, tiers or ())
    cache_read = usage.cache_read_input_tokens or 0
    cache_write = usage.cache_creation_input_tokens or 0
    cache_write_1h = min(usage.cache_creation_one_hour_input_tokens or 0, cache_write)
    uncached = max(usage.input_tokens - cache_read - cache_write, 0)

    read_rate = _or(rates.cache_read_per_m_tok, rates.input_per_m_tok)
    write_rate = _or(rates.cache_write_per_m_tok, rates.input_per_m_tok)
    write_1h_rate = _or(rates.cache_write_1h_per_m_tok, write_rate)
    input_usd = _usd(uncached, rates.input_per_m_tok)
    cache_usd = (
        _usd(cache_read, read_rate)
        + _usd(cache_write - cache_write_1h, write_rate)
        + _usd(cache_write_1h, write_1h_rate)
    )
    output_usd = _usd(usage.output_tokens, rates.output_per_m_tok)
    reported_cache = (
        usage.cache_read_input_tokens is not None or usage.cache_creation_input_tokens is not None
    )
    return Cost(
        input_usd=round(input_usd, DIGITS),
        output_usd=round(output_usd, DIGITS),
        cache_usd=round(cache_usd, DIGITS) if reported_cache else None,
        total_usd=round(input_usd + cache_usd + output_usd, DIGITS),
        cost_source="catalog",
    )


def reported_cost(usage: Usage, estimate: Cost | None) -> Cost | None:
    """The provider's own figure for the request, split like the catalog estimate when known."""
    total = usage.reported_cost_usd
    if total is None:
        return estimate
    if estimate is not None and estimate.total_usd > 0:
        scale = total / estimate.total_usd
        return Cost(
            input_usd=round(estimate.input_usd * scale, DIGITS),
            output_usd=round(estimate.output_usd * scale, DIGITS),
            cache_usd=None
            if estimate.cache_usd is None
            else round(estimate.cache_usd * scale, DIGITS),
            total_usd=round(total, DIGITS),
            cost_source="provider",
        )
    # With no rates to split it by, the split is unknown; the wire needs both
    # parts, so the total goes under input and totalUsd stays exact.
    return Cost(
        input_usd=round(total, DIGITS),
        output_usd=0.0,
        total_usd=round(total, DIGITS),
        cost_source="provider",
    )


def _usd(tokens: int, per_million: float) -> float:
    return tokens * per_million / PER_MILLION


def _or(rate: float | None, fallback: float) -> float:
    return fallback if rate is None else rate


def usage_sum(first: Usage, second: Usage) -> Usage:
    """Two calls' usage as one."""
    summed: dict[str, Any] = {}
    for name in Usage.model_fields:
        a, b = getattr(first, name), getattr(second, name)
        if name == "estimated":
            summed[name] = True if (a or b) else None
        elif a is None and b is None:
            summed[name] = None
        else:
            summed[name] = (a or 0) + (b or 0)
    return Usage(**summed)


def cost_sum(first: Cost | None, second: Cost | None) -> Cost | None:
    """Two calls' cost as one; unknown when either is."""
    if first is None or second is None:
        return None
    cache = (
        None
        if first.cache_usd is None and second.cache_usd is None
        else (first.cache_usd or 0.0) + (second.cache_usd or 0.0)
    )
    return Cost(
        input_usd=first.input_usd + second.input_usd,
        output_usd=first.output_usd + second.output_usd,
        cache_usd=cache,
        total_usd=first.total_usd + second.total_usd,
        cost_source=second.cost_source,
    )
