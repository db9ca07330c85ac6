"""Session usage: totals per model and overall, for switchboard/usage and the status bar."""

from __future__ import annotations

from switchboard.protocol.chat import Cost, Usage
from switchboard.protocol.usage import LastRequest, ModelTotals, Totals, UsageChanged, UsageResult


def _add(totals: Totals, usage: Usage, cost: Cost | None) -> None:
    totals.requests += 1
    totals.input_tokens += usage.input_tokens
    totals.output_tokens += usage.output_tokens
    totals.cache_read_input_tokens += usage.cache_read_input_tokens or 0
    totals.cache_creation_input_tokens += usage.cache_creation_input_tokens or 0
    if cost is None:
        totals.unpriced_requests += 1
    else:
        totals.cost_usd = round(totals.cost_usd + cost.total_usd, 9)


class UsageLedger:
    def __init__(self) -> None:
        self.session = Totals()
        self._by_model: dict[str, ModelTotals] = {}

    def record(self, model: str, usage: Usage, cost: Cost | None) -> UsageChanged:
        _add(self.session, usage, cost)
        _add(self._by_model.setdefault(model, ModelTotals(model=model)), usage, cost)
        return UsageChanged(
            last=LastRequest(model=model, usage=usage, cost=cost),
            session=self.session.model_copy(),
        )

    def snapshot(self) -> UsageResult:
        return UsageResult(
            session=self.session.model_copy(),
            by_model=[
                t.model_copy() for t in sorted(self._by_model.values(), key=lambda t: t.model)
            ],
        )
