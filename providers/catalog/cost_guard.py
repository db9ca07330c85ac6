"""Cost protection before sending: a request's `maxCostUsd` and the session budget.

The worst case of a request is its input (counted) plus the longest answer it
allows (the max_tokens it will be sent with), at the catalog's rates. A request
whose worst case exceeds its `maxCostUsd` is refused with costLimitExceeded and
the estimate. The cheap byte bound of the input is tried first: when even that
fits, nothing is tokenized.

The session budget (`session_budget_usd`) counts what the session has spent: once
that reaches the budget, every further request is refused with budgetExceeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from switchboard.protocol.errors import ErrorCode

from ..base import ModelTarget
from ..errors import ProviderError

#: The share of the session budget past which the user is warned.
BUDGET_WARNING_FRACTION = 0.8

#: The price of a request with this many input and output tokens; None when unpriced.
PriceOf = Callable[[int, int], float | None]


@dataclass(frozen=True)
class WorstCase:
    input_tokens: int
    output_tokens: int
    cost_usd: float


def worst_case(price_of: PriceOf, input_tokens: int, output_tokens: int) -> WorstCase | None:
    cost = price_of(input_tokens, output_tokens)
    return None if cost is None else WorstCase(input_tokens, output_tokens, cost)


def check_max_cost(
    target: ModelTarget,
    limit_usd: float,
    price_of: PriceOf,
    output_tokens: int,
    input_bound: int,
    count_input: Callable[[], int],
) -> str | None:
    """Refuse a request whose worst case exceeds `limit_usd`; a warning when it has no price.

    `input_bound` is at least the input's tokens; `count_input` is called only when the
    worst case with that bound is over the limit.
    """
    bound = worst_case(price_of, input_bound, output_tokens)
    if bound is None:
        return f"maxCostUsd was not checked: {target.id} has no price in the catalog"
    if bound.cost_usd <= limit_usd:
        return None
    counted = worst_case(price_of, count_input(), output_tokens)
    if counted is None or counted.cost_usd <= limit_usd:
        return None
    raise ProviderError(
        ErrorCode.COST_LIMIT_EXCEEDED,
        f"this request could cost up to ${counted.cost_usd:.4f} "
        f"({counted.input_tokens:,} input tokens and up to {counted.output_tokens:,} output "
        f"tokens on {target.id}), more than maxCostUsd ${limit_usd:g}; it was not sent",
        provider=target.provider,
        suggestion="lower maxTokens, shorten the input, raise maxCostUsd, or pick a cheaper model",
        estimated_cost_usd=round(counted.cost_usd, 6),
        limit_usd=limit_usd,
    )


def check_session_budget(budget_usd: float | None, spent_usd: float) -> None:
    """Refuse every request once the session has spent its budget."""
    if budget_usd is None or spent_usd < budget_usd:
        return
    raise ProviderError(
        ErrorCode.BUDGET_EXCEEDED,
        f"the session has spent ${spent_usd:.4f} of its ${budget_usd:g} budget; "
        "the request was not sent",
        suggestion="raise session_budget_usd in the config, or restart to begin a new session",
        limit_usd=budget_usd,
        spent_usd=round(spent_usd, 6),
    )
