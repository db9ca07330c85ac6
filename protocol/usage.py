"""`switchboard/usage` and the `switchboard/usageChanged` notification."""

from __future__ import annotations

from .base import Params, WireModel
from .chat import Cost, Usage


class Totals(WireModel):
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_requests: int = 0


class ModelTotals(Totals):
    model: str


class UsageParams(Params):
    pass


class UsageResult(WireModel):
    session: Totals
    by_model: list[ModelTotals]


class LastRequest(WireModel):
    model: str
    usage: Usage
    cost: Cost | None = None

    nullable_on_wire = ("cost",)


class UsageChanged(WireModel):
    last: LastRequest
    session: Totals
