"""Queueing under rate limits, and a request's own timeout, at the transport.

A 429 with Retry-After pauses the provider's whole queue: requests that arrive
meanwhile wait (a `queued` event with `retryAfterMs`) instead of being sent, waiters
already queued for a connection get none until the pause ends, and a pause longer
than a request would wait fails that request at once. A request's own `timeout`
bounds the whole of it, as the provider's total limit does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping

import pytest
from switchboard.protocol.chat import ChatParams, QueuedEvent, RetryEvent
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.base import ProviderSettings
from switchboard.providers.engine import ProviderCall
from switchboard.providers.errors import ProviderError, http_error
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.limits import RequestClock, Timeouts
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.slots import SlotPool
from switchboard.providers.wire.transport import Transport, Waiting

from tests.fakes.http import FakeHTTPServer, Reply

RATE_LIMITED_BODY = {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return http_error("fake", status, headers, body.decode(errors="replace"))


def too_many(retry_after_ms: int) -> Reply:
    return Reply.json(RATE_LIMITED_BODY, 429, {"retry-after-ms": str(retry_after_ms)})


@pytest.fixture
def fake() -> Iterator[FakeHTTPServer]:
    with FakeHTTPServer(default=lambda _: Reply(chunks=[b"a", b"b"])) as server:
        yield server


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    transport = Transport()
    yield transport
    await transport.aclose()


class Reader:
    """One request through the transport, its waits readable as they come."""

    def __init__(self, transport: Transport, url: str, timeouts: Timeouts | None = None) -> None:
        self.waits: asyncio.Queue[Waiting] = asyncio.Queue()
        self.seen: list[Waiting] = []
        self.task = asyncio.create_task(self._read(transport, url, timeouts or Timeouts()))

    async def _read(self, transport: Transport, url: str, timeouts: Timeouts) -> bytes:
        body = b""
        async for item in transport.stream(
            HttpRequest("POST", url), provider="fake", parse_error=parse_error, timeouts=timeouts
        ):
            if isinstance(item, bytes):
                body += item
            else:
                self.seen.append(item)
                self.waits.put_nowait(item)
        return body

    async def next_wait(self) -> Waiting:
        return await asyncio.wait_for(self.waits.get(), 10)


# ---- the pool's pause ---------------------------------------------------------


async def test_a_paused_pool_hands_out_no_slot_until_the_pause_ends() -> None:
    pool = SlotPool(1)
    assert pool.try_acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    pool.pause(0.2)
    pool.release()  # a free slot, but the provider asked for quiet
    await asyncio.sleep(0)
    assert not waiter.done() and pool.in_use == 0
    assert not pool.try_acquire()
    assert 0 < pool.paused_for() <= 0.2
    await asyncio.wait_for(waiter, 10)  # handed its slot when the pause's timer fires
    assert pool.in_use == 1 and pool.paused_for() == 0


async def test_a_shorter_pause_leaves_a_longer_one_running() -> None:
    pool = SlotPool(2)
    pool.pause(5)
    pool.pause(0.01)
    assert pool.paused_for() > 4
    pool.pause(6)
    assert pool.paused_for() > 5


def test_only_a_429s_retry_after_pauses_the_provider() -> None:
    policy = RetryPolicy()
    limited = http_error("p", 429, {"retry-after": "2"}, "slow down")
    assert policy.pause_s(limited) == 2.0
    assert policy.pause_s(http_error("p", 429, {}, "slow down")) is None
    assert policy.pause_s(http_error("p", 503, {"retry-after": "2"}, "busy")) is None
    assert policy.waits_out(policy.max_delay_s) and not policy.waits_out(policy.max_delay_s + 1)


# ---- every request to the provider honours the pause ----------------------------


async def test_requests_arriving_during_a_retry_after_wait_instead_of_being_sent(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(too_many(400))
    first = Reader(transport, fake.url)
    retry = await first.next_wait()
    assert isinstance(retry, RetryEvent) and retry.delay_ms == 400

    later = [Reader(transport, fake.url) for _ in range(3)]
    queued = [await reader.next_wait() for reader in later]
    # They wait: the provider has seen only the refused request so far.
    assert len(fake.requests) == 1
    for wait in queued:
        assert isinstance(wait, QueuedEvent) and wait.provider == "fake"
        assert wait.retry_after_ms is not None and 0 < wait.retry_after_ms <= 400
    # The refused request waits first in line, for the same pause.
    assert sorted(w.position for w in queued if isinstance(w, QueuedEvent)) == [2, 3, 4]

    bodies = await asyncio.gather(first.task, *(reader.task for reader in later))
    assert bodies == [b"ab"] * 4
    assert len(fake.requests) == 5  # the 429, then each request once
    assert first.seen == [retry]  # its own RetryEvent told of the wait: no queued event too
    assert all(reader.seen == [wait] for reader, wait in zip(later, queued, strict=True))
    assert transport.slots.pool("fake").in_use == 0


async def test_a_pause_longer_than_a_request_waits_fails_it_without_sending(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(too_many(30_000))
    with pytest.raises(ProviderError) as refused:
        await Reader(transport, fake.url).task
    assert refused.value.code == ErrorCode.RATE_LIMITED
    assert refused.value.retry_after_ms == 30_000

    with pytest.raises(ProviderError) as held:
        await Reader(transport, fake.url).task
    error = held.value
    assert error.code == ErrorCode.RATE_LIMITED and not error.retryable
    assert error.retry_after_ms is not None and 25_000 < error.retry_after_ms <= 30_000
    assert "Retry-After" in error.message
    assert len(fake.requests) == 1


async def test_a_pause_past_the_requests_own_timeout_fails_it_at_once(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(too_many(3_000))
    first = Reader(transport, fake.url)
    assert isinstance(await first.next_wait(), RetryEvent)
    with pytest.raises(ProviderError) as held:
        await Reader(transport, fake.url, Timeouts(request_s=1)).task
    assert held.value.code == ErrorCode.RATE_LIMITED
    assert len(fake.requests) == 1
    first.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first.task


# ---- a request's own timeout --------------------------------------------------------


async def test_the_whole_request_limit_is_the_sooner_of_total_and_the_requests_own() -> None:
    loop = asyncio.get_running_loop()
    own = RequestClock(Timeouts(total_s=900, request_s=5))
    assert (own.whole.limit, own.whole.seconds) == ("request", 5)
    assert RequestClock(Timeouts()).whole.limit == "total"
    assert RequestClock(Timeouts(total_s=3, request_s=5)).whole.limit == "total"
    # A call that began earlier: the deadline counts, the message names the value given.
    late = RequestClock(Timeouts(request_s=5, request_deadline=loop.time() + 1))
    assert (late.whole.limit, late.whole.seconds) == ("request", 5) and late.left_s <= 1


async def test_a_requests_timeout_bounds_it_and_names_itself(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(Reply(chunks=[b"a", b"b", b"c"], delay_s=0.4))
    with pytest.raises(ProviderError) as timed_out:
        await Reader(transport, fake.url, Timeouts(request_s=0.3)).task
    error = timed_out.value
    assert error.code == ErrorCode.TIMEOUT and not error.retryable
    assert "ran past its timeout of 0.3 s" in error.message
    assert "the request's timeout = 0.3" in error.message
    assert "total_timeout" not in error.message
    assert error.suggestion == "raise the request's timeout param"
    assert len(fake.requests) == 1


def test_a_calls_timeout_and_deadline_reach_each_attempts_limits() -> None:
    settings = ProviderSettings(id="openai", kind="openai", timeouts={"total": 60})
    call = ProviderCall(None, settings, None, None, 5, 1234.5)  # type: ignore[arg-type]
    limits = call.timeouts()
    assert (limits.total_s, limits.request_s, limits.request_deadline) == (60, 5, 1234.5)
    plain = ProviderCall(None, settings, None, None)  # type: ignore[arg-type]
    assert plain.timeouts().request_s is None


@pytest.mark.parametrize("value", [0, -1, "soon"])
def test_a_timeout_must_be_a_positive_number_of_seconds(value: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        ChatParams.model_validate(
            {"messages": [{"role": "user", "content": "x"}], "timeout": value}
        )
    assert (
        ChatParams.model_validate(
            {"messages": [{"role": "user", "content": "x"}], "timeout": 2.5}
        ).timeout
        == 2.5
    )
