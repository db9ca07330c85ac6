"""The shared HTTP clients: lanes of at most `per_lane` open requests each.

httpcore's connection pool does work linear in its connections on every request it
starts and every response it closes (it checks each connection for expiry): with one
pool of 256 open streams, that was the largest cost of a burst of chats. Lanes keep
each pool small. A request takes the first lane with room, so requests gather in the
first lanes and reuse their kept-alive connections; a new lane opens only when every
lane is full. The lanes cap nothing: `SlotPool`s bound how many requests are open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

REQUESTS_PER_LANE = 32
KEEPALIVE_PER_LANE = 16


@dataclass(eq=False)
class Lane:
    client: httpx.AsyncClient
    open: int = 0


class ClientLanes:
    def __init__(self, per_lane: int = REQUESTS_PER_LANE) -> None:
        self.per_lane = per_lane
        self._lanes: list[Lane] = []

    def first(self) -> httpx.AsyncClient:
        """A client for callers that send their own requests (sign-in flows)."""
        if not self._lanes:
            self._lanes.append(Lane(_new_client()))
        return self._lanes[0].client

    def take(self) -> Lane:
        for lane in self._lanes:
            if lane.open < self.per_lane:
                lane.open += 1
                return lane
        lane = Lane(_new_client(), open=1)
        self._lanes.append(lane)
        return lane

    def give(self, lane: Lane) -> None:
        lane.open -= 1

    async def aclose(self) -> None:
        lanes, self._lanes = self._lanes, []
        for lane in lanes:
            await lane.client.aclose()


def _new_client() -> httpx.AsyncClient:
    import httpx

    # No cap on connections: a pool wait here would be the 30 s "could not connect" of old.
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE_PER_LANE),
        follow_redirects=False,
    )
