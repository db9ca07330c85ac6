"""The time limits of one request, and the clock that enforces them.

connect (httpx enforces it), headers (one wait per attempt), stall (each wait for
the next byte of the body) and total (the whole request, retries included); a chat's
own `timeout` param bounds the whole request too, as `request`, the shorter of the two
counting. A limit that fires raises TimeLimit, naming which limit and its value.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """The limits of one request, in seconds.

    `connect_s`: to open the connection. `headers_s`: from sending the request
    to the response headers. `stall_s`: with no byte of the body. `total_s`: the
    whole request, retries included, so a drip of bytes cannot hold it forever.
    """

    connect_s: float = 10.0
    headers_s: float = 60.0
    stall_s: float = 90.0
    total_s: float = 900.0
    #: the request's own bound on the whole of it (a chat's `timeout`); None: only total_s
    request_s: float | None = None
    #: event-loop time when request_s runs out, for a call that began before this request
    #: (a retry after a fresh token); None: request_s from now
    request_deadline: float | None = None


#: The config key of each limit, which the timeout error names.
LIMIT_KEYS = {
    "connect": "connect_timeout",
    "headers": "headers_timeout",
    "stall": "stall_timeout",
    "total": "total_timeout",
    "request": "timeout",
}


class TimeLimit(Exception):
    """One of the limits fired: which (a LIMIT_KEYS key) and its value in seconds."""

    def __init__(self, limit: str, seconds: float) -> None:
        super().__init__(limit)
        self.limit = limit
        self.seconds = seconds

    def again(self) -> TimeLimit:
        """A fresh exception for the same limit, to raise once more."""
        return TimeLimit(self.limit, self.seconds)


class RequestClock:
    """The waits of one request, each bounded by its own limit and by what is left of the total."""

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        self._loop = asyncio.get_running_loop()
        now = self._loop.time()
        #: the limit on the whole request: the sooner of the total and the request's own
        self.whole = TimeLimit("total", timeouts.total_s)
        self.deadline = now + timeouts.total_s
        if timeouts.request_s is not None:
            request_end = timeouts.request_deadline
            if request_end is None:
                request_end = now + timeouts.request_s
            if request_end < self.deadline:
                self.whole = TimeLimit("request", timeouts.request_s)
                self.deadline = request_end

    @property
    def spent(self) -> bool:
        return self._loop.time() >= self.deadline

    @property
    def left_s(self) -> float:
        return max(0.0, self.deadline - self._loop.time())

    async def wait(self, limit: str, seconds: float, step: Awaitable[T]) -> T:
        """One wait (the headers, an error body) under `limit`."""
        left = self.deadline - self._loop.time()
        fired = TimeLimit(limit, seconds) if seconds < left else self.whole.again()
        try:
            async with asyncio.timeout(max(0.0, min(seconds, left))):
                return await step
        except TimeoutError:
            raise fired from None

    async def within_total(self, step: Awaitable[T]) -> T:
        """A wait that is not the provider's (a free connection slot): bounded by what is
        left of the total only, so it never counts against the connect or headers limit."""
        return await self.wait(self.whole.limit, self.whole.seconds, step)

    async def body(self, chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
        """The chunks, each wait for the next one under the stall and the total limits.

        A timer per read (asyncio.timeout) costs more than reading a small chunk does, so
        a read only notes when it began; one timer, when due, either fires (a read has
        waited the whole stall limit, or the total is spent) or re-arms itself for the
        read in progress.
        """
        watch = _StallWatch(self)
        try:
            while True:
                now = self._loop.time()
                if now >= self.deadline:
                    raise self.whole.again()
                watch.reading_since = now
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    watch.raise_if_fired()
                    raise
                finally:
                    watch.reading_since = None
                yield chunk
        finally:
            watch.stop()


class _StallWatch:
    def __init__(self, clock: RequestClock) -> None:
        self._clock = clock
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._cancelling = task.cancelling()
        self.reading_since: float | None = None
        self._fired: TimeLimit | None = None
        self._timer = self._loop.call_at(self._due(self._loop.time()), self._check)

    def _due(self, since: float) -> float:
        return min(since + self._clock.timeouts.stall_s, self._clock.deadline)

    def _check(self) -> None:
        now, since = self._loop.time(), self.reading_since
        timeouts = self._clock.timeouts
        if since is None:
            # Between two reads nothing waits on the provider; a spent total stops the next read.
            if now < self._clock.deadline:
                self._timer = self._loop.call_at(self._due(now), self._check)
            return
        if now >= self._clock.deadline:
            self._fired = self._clock.whole.again()
        elif now >= since + timeouts.stall_s:
            self._fired = TimeLimit("stall", timeouts.stall_s)
        else:
            self._timer = self._loop.call_at(self._due(since), self._check)
            return
        self._task.cancel()

    def raise_if_fired(self) -> None:
        """Turn this watch's own cancellation into its TimeLimit; leave any other one be."""
        if self._fired is not None and self._task.uncancel() <= self._cancelling:
            raise self._fired from None

    def stop(self) -> None:
        self._timer.cancel()
