"""Session usage: totals per model and overall, for switchboard/usage and the status bar."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

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


class CoalescedNotices:
    """Sends at most one notice per `interval_s`: completions come by the keystroke, and a
    status bar needs the latest totals, not each one. A notice that comes too soon waits
    for its turn, and only the newest waiting one is sent."""

    def __init__(
        self,
        send: Callable[[Any], None],
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval_s = interval_s
        self._clock = clock
        self._last_sent: float | None = None
        self._waiting: Any = None
        self._timer: asyncio.TimerHandle | None = None

    def offer(self, notice: Any) -> None:
        now = self._clock()
        if self._timer is None and (
            self._last_sent is None or now - self._last_sent >= self._interval_s
        ):
            self._deliver(notice, now)
            return
        self._waiting = notice
        if self._timer is None:
            assert self._last_sent is not None
            delay = self._last_sent + self._interval_s - now
            self._timer = asyncio.get_running_loop().call_later(delay, self._flush)

    def _flush(self) -> None:
        self._timer = None
        notice, self._waiting = self._waiting, None
        if notice is not None:
            self._deliver(notice, self._clock())

    def _deliver(self, notice: Any, now: float) -> None:
        self._last_sent = now
        self._send(notice)
