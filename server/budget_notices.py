"""The session budget's warnings: one `window/showMessage` at 80% spent, one at 100%.

The refusal itself is the engine's (providers/catalog/cost_guard.py); this only tells
the user, once per threshold, as the session's spending crosses it.
"""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types as lsp
from switchboard.providers.catalog.cost_guard import BUDGET_WARNING_FRACTION

ShowMessage = Callable[[lsp.ShowMessageParams], None]


class BudgetNotices:
    """Remembers which thresholds were announced; a new budget starts over."""

    def __init__(self) -> None:
        self._budget: float | None = None
        self._announced: set[float] = set()

    def announce(self, budget_usd: float | None, spent_usd: float, show: ShowMessage) -> None:
        """After a request was recorded: a warning when it crossed a threshold."""
        message = self.notice(budget_usd, spent_usd)
        if message is not None:
            show(lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=message))

    def notice(self, budget_usd: float | None, spent_usd: float) -> str | None:
        """The message for the highest threshold just crossed, None when nothing is new."""
        if budget_usd != self._budget:
            self._budget, self._announced = budget_usd, set()
        if budget_usd is None:
            return None
        crossed = [f for f in (BUDGET_WARNING_FRACTION, 1.0) if spent_usd >= budget_usd * f]
        if not crossed or crossed[-1] in self._announced:
            return None
        self._announced.update(crossed)
        if crossed[-1] >= 1.0:
            return (
                f"Switchboard: the session has spent ${spent_usd:.2f}, its whole "
                f"${budget_usd:g} budget: further requests are refused"
            )
        return (
            f"Switchboard: the session has spent ${spent_usd:.2f}, "
            f"{spent_usd / budget_usd:.0%} of its ${budget_usd:g} budget"
        )
