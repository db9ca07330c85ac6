"""The per-provider connection slots: order, cancellation, resizing, and the transport's
`queued` event and pool-full error against the loopback fake."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from switchboard.protocol.chat import QueuedEvent, RetryEvent
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.config import apply_overrides, load_config
from switchboard.providers.errors import ProviderError, http_error
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.lanes import ClientLanes
from switchboard.providers.wire.slots import DEFAULT_MAX_CONNECTIONS, ProviderSlots, SlotPool
from switchboard.providers.wire.transport import Timeouts, Transport

from tests.fakes.http import FakeHTTPServer, Reply


async def test_free_slots_are_taken_at_once_then_waiters_queue_in_order() -> None:
    pool = SlotPool(2)
    assert pool.try_acquire() and pool.try_acquire()
    assert not pool.try_acquire()
    order: list[str] = []

    async def wait(name: str) -> None:
        await pool.acquire()
        order.append(name)

    first = asyncio.create_task(wait("first"))
    await asyncio.sleep(0)
    assert pool.queued().position == 2
    second = asyncio.create_task(wait("second"))
    await asyncio.sleep(0)
    assert pool.waiting == 2 and order == []

    pool.release()
    await first
    assert order == ["first"] and pool.in_use == 2
    pool.release()
    await second
    assert order == ["first", "second"] and pool.waiting == 0


async def test_a_free_slot_goes_to_a_waiter_before_a_newcomer() -> None:
    pool = SlotPool(1)
    assert pool.try_acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    pool.release()
    assert not pool.try_acquire()
    await waiter
    assert pool.in_use == 1


async def test_a_cancelled_waiter_holds_no_slot_and_passes_one_handed_to_it() -> None:
    pool = SlotPool(1)
    assert pool.try_acquire()
    gone = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert pool.waiting == 0 and pool.in_use == 1

    # Handed a slot and cancelled in the same instant: the slot goes on to the next.
    handed = asyncio.create_task(pool.acquire())
    next_in_line = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    pool.release()
    handed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handed
    await next_in_line
    assert pool.in_use == 1 and pool.waiting == 0


async def test_a_larger_limit_lets_waiters_in_and_a_smaller_one_keeps_open_slots() -> None:
    pool = SlotPool(1)
    assert pool.try_acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    pool.resize(2)
    await waiter
    assert pool.in_use == 2
    pool.resize(1)
    assert pool.in_use == 2 and not pool.try_acquire()
    pool.release()
    assert not pool.try_acquire()
    pool.release()
    assert pool.try_acquire()


def test_each_provider_has_its_own_pool_with_the_default_until_told() -> None:
    slots = ProviderSlots()
    assert slots.pool("a").limit == DEFAULT_MAX_CONNECTIONS >= 256
    assert slots.pool("a", 3).limit == 3
    assert slots.pool("a").limit == 3
    assert slots.pool("b", 5) is not slots.pool("a")


# ---- the transport ------------------------------------------------------------


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return http_error("fake", status, headers, body.decode(errors="replace"))


@pytest.fixture
def fake() -> Iterator[FakeHTTPServer]:
    with FakeHTTPServer(default=lambda _: Reply(chunks=[b"a", b"b"], delay_s=0.3)) as server:
        yield server


async def read(
    transport: Transport, url: str, limit: int, timeouts: Timeouts
) -> tuple[bytes, list[QueuedEvent | RetryEvent]]:
    body, waits = b"", []
    async for item in transport.stream(
        HttpRequest("POST", url),
        provider="fake",
        parse_error=parse_error,
        timeouts=timeouts,
        max_connections=limit,
    ):
        if isinstance(item, bytes):
            body += item
        else:
            waits.append(item)
    return body, waits


async def test_streams_past_the_limit_queue_then_complete(fake: FakeHTTPServer) -> None:
    transport = Transport()
    # A wait for a slot counts against no connect or headers limit, however short.
    short = Timeouts(connect_s=0.05, headers_s=0.2, stall_s=5, total_s=30)
    try:
        results = await asyncio.gather(*(read(transport, fake.url, 2, short) for _ in range(5)))
    finally:
        await transport.aclose()
    assert [body for body, _ in results] == [b"ab"] * 5
    queued = [waits for _, waits in results if waits]
    assert len(queued) == 3
    assert sorted(w[0].position for w in queued) == [1, 2, 3]  # type: ignore[union-attr]
    assert all(
        isinstance(w[0], QueuedEvent) and w[0].limit == 2 and w[0].provider == "fake"
        for w in queued
    )
    assert transport.slots.pool("fake").in_use == 0


async def test_a_wait_past_the_total_limit_fails_as_a_full_pool(fake: FakeHTTPServer) -> None:
    fake.enqueue(Reply(chunks=[b"a", b"b", b"c"], delay_s=0.5))
    transport = Transport()
    timeouts = Timeouts(total_s=0.3)
    try:
        holder = asyncio.create_task(read(transport, fake.url, 1, Timeouts()))
        while transport.slots.pool("fake").in_use == 0:
            await asyncio.sleep(0.01)
        with pytest.raises(ProviderError) as failed:
            await read(transport, fake.url, 1, timeouts)
        assert (await holder)[0] == b"abc"
    finally:
        await transport.aclose()
    error = failed.value
    assert error.code == ErrorCode.TIMEOUT and error.provider == "fake"
    assert "connection pool was full" in error.message
    assert "max_connections = 1" in error.message and "0.3 s" in error.message
    assert "connecting" not in error.message
    assert len(fake.requests) == 1


# ---- the config key -------------------------------------------------------------

KINDS = frozenset({"anthropic", "openai"})


def test_max_connections_is_a_per_provider_key_that_editor_settings_can_change(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[providers.anthropic]\nmax_connections = 8\n", encoding="utf-8")
    config = load_config(path, KINDS)
    assert config.issues == ()
    assert config.providers["anthropic"].max_connections == 8
    changed = apply_overrides(
        config, {"providers": {"anthropic": {"totalTimeout": 5}}}, KINDS
    ).providers["anthropic"]
    assert changed.max_connections == 8 and changed.timeouts == {"total": 5.0}
    raised = apply_overrides(config, {"providers": {"anthropic": {"maxConnections": 300}}}, KINDS)
    assert raised.providers["anthropic"].max_connections == 300


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "true", '"8"'])
def test_max_connections_must_be_a_positive_whole_number(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[providers.anthropic]\nmax_connections = {value}\n", encoding="utf-8")
    config = load_config(path, KINDS)
    (issue,) = config.issues
    assert issue.key == "max_connections" and "positive whole number" in issue.message
    assert config.providers["anthropic"].max_connections is None


# ---- the client lanes ------------------------------------------------------------


async def test_requests_fill_the_first_lane_with_room_then_open_a_new_one() -> None:
    lanes = ClientLanes(per_lane=2)
    try:
        first, second = lanes.take(), lanes.take()
        assert first is second and first.client is lanes.first()
        third = lanes.take()
        assert third is not first and third.open == 1
        lanes.give(first)
        assert lanes.take() is first
        assert (first.open, third.open) == (2, 1)
    finally:
        await lanes.aclose()
