"""How many requests each provider may have open at once, and the queue for the rest.

One `SlotPool` per provider sits in front of the one shared HTTP client: a request
holds a slot from sending until its body is closed, so the count is that provider's
open requests (`max_connections`, the provider's concurrency limit). A request that
finds every slot taken waits its turn, first come first served; the transport reports
that wait as a `queued` event.

A 429 with Retry-After pauses the whole pool: until then no slot is handed out, so
every request to that provider, new or already queued, waits instead of being sent
into the same refusal.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

#: enough for 256 concurrent streams to one provider, with room for model lists and counts
DEFAULT_MAX_CONNECTIONS = 512


@dataclass(frozen=True)
class Queued:
    """A request that found every slot taken: its place in the queue (1 = next)."""

    position: int
    limit: int


class SlotPool:
    """A counting semaphore whose limit can change, whose waiters are served in order,
    and which can say where a new waiter stands."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._resume: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return sum(not waiter.done() for waiter in self._waiters)

    def paused_for(self) -> float:
        """Seconds left of the provider's Retry-After pause; 0 when not paused."""
        if self._resume is None:
            return 0.0
        return max(0.0, self._resume.when() - asyncio.get_running_loop().time())

    def pause(self, seconds: float) -> None:
        """Hand out no slot for `seconds` (a longer pause already running stays)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        if self._resume is not None:
            if until <= self._resume.when():
                return
            self._resume.cancel()
        self._resume = loop.call_at(until, self._end_pause)

    def _end_pause(self) -> None:
        # The pause ends when its timer fires, not by comparing clocks: a timer may fire
        # a clock tick early, and a pause that outlived its timer would wake no one.
        self._resume = None
        self._wake()

    def try_acquire(self) -> bool:
        if self.in_use < self.limit and not self.waiting and self._resume is None:
            self.in_use += 1
            return True
        return False

    def queued(self) -> Queued:
        """Where a request would stand if it began waiting now."""
        return Queued(position=self.waiting + 1, limit=self.limit)

    async def acquire(self) -> None:
        """Wait for a slot. Cancelled while waiting, the request holds none; a slot handed
        to it in the same instant goes on to the next waiter."""
        if self.try_acquire():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def release(self) -> None:
        self.in_use -= 1
        self._wake()

    def resize(self, limit: int) -> None:
        """A new limit from the config: requests already open keep their slots."""
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_use < self.limit and self._resume is None:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_use += 1
                waiter.set_result(None)


class ProviderSlots:
    """The SlotPool of each provider, made on first use with that provider's limit."""

    def __init__(self) -> None:
        self._pools: dict[str, SlotPool] = {}

    def pool(self, provider: str, limit: int | None = None) -> SlotPool:
        """The provider's pool, set to `limit`; None keeps the limit it has (the default
        for a new pool), for requests that do not carry the config (token endpoints)."""
        pool = self._pools.get(provider)
        if pool is None:
            pool = self._pools[provider] = SlotPool(limit or DEFAULT_MAX_CONNECTIONS)
        elif limit is not None and pool.limit != limit:
            pool.resize(limit)
        return pool
