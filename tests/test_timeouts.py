"""The transport's four limits against a loopback fake that stalls and drips.

Each test sets small limits and asserts on which limit fired (the error names
it and its value) and on how many attempts the fake saw, never on elapsed time.
The config side: the `[providers.NAME]` keys and what the older `timeout` sets.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest
from switchboard.protocol.chat import RetryEvent
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import kinds
from switchboard.providers.base import ProviderSettings
from switchboard.providers.config import load_config
from switchboard.providers.engine import stream_timeouts
from switchboard.providers.errors import ProviderError, http_error
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.transport import Timeouts, Transport

from tests.fakes.http import FakeHTTPServer, Reply

SMALL = Timeouts(connect_s=2.0, headers_s=0.3, stall_s=0.3, total_s=30.0)
NO_WAIT = RetryPolicy(max_retries=2, base_delay_s=0.01, max_delay_s=0.05)


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return http_error("fake", status, headers, body.decode(errors="replace"))


@pytest.fixture
def fake() -> Iterator[FakeHTTPServer]:
    with FakeHTTPServer() as server:
        yield server


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    client = Transport(NO_WAIT)
    yield client
    await client.aclose()


async def collect(
    transport: Transport, url: str, timeouts: Timeouts
) -> tuple[list[bytes], list[RetryEvent], ProviderError | None]:
    chunks: list[bytes] = []
    retries: list[RetryEvent] = []
    try:
        async for item in transport.stream(
            HttpRequest("POST", url, json={"q": 1}),
            provider="fake",
            parse_error=parse_error,
            timeouts=timeouts,
        ):
            if isinstance(item, RetryEvent):
                retries.append(item)
            else:
                chunks.append(item)
    except ProviderError as error:
        return chunks, retries, error
    return chunks, retries, None


def hang_before_headers() -> Reply:
    return Reply(hang_s=3.0, chunks=[b"data: late\n\n"])


def assert_fired(error: ProviderError | None, key: str, value: str) -> None:
    assert error is not None
    assert error.code == ErrorCode.TIMEOUT
    assert f"({key} = {value})" in error.message, error.message
    assert error.suggestion is not None and key in error.suggestion


# ---- before the headers ------------------------------------------------------------


async def test_a_stall_before_the_headers_fires_the_headers_limit_and_is_retried_once(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    # Three hanging answers queued, two retries allowed: a timeout still gets only one.
    fake.enqueue(hang_before_headers(), hang_before_headers(), hang_before_headers())
    chunks, retries, error = await collect(transport, fake.url, SMALL)
    assert_fired(error, "headers_timeout", "0.3")
    assert "no response headers within 0.3 s" in error.message  # type: ignore[union-attr]
    assert chunks == []
    assert [r.attempt for r in retries] == [1]
    assert "headers_timeout" in retries[0].reason
    assert len(fake.requests) == 2


async def test_a_timed_out_attempt_is_followed_by_a_good_one(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(hang_before_headers(), Reply.sse(b"data: ok\n\n"))
    chunks, retries, error = await collect(transport, fake.url, SMALL)
    assert error is None
    assert b"".join(chunks) == b"data: ok\n\n"
    assert len(retries) == 1
    assert len(fake.requests) == 2


async def test_headers_then_no_body_is_a_stall_before_the_first_byte_and_is_retried(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    # The empty first chunk sends the headers only; the body would come 3 s later.
    silent = Reply(headers={"content-type": "text/event-stream"}, chunks=[b"", b"x"], delay_s=3)
    fake.enqueue(silent, Reply.sse(b"data: ok\n\n"))
    chunks, retries, error = await collect(transport, fake.url, SMALL)
    assert error is None and b"".join(chunks) == b"data: ok\n\n"
    assert len(retries) == 1 and "stall_timeout" in retries[0].reason


async def test_a_full_backlog_fires_the_connect_limit(transport: Transport) -> None:
    # A listening socket that never accepts, its backlog filled: the next SYN goes unanswered.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    held = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        held.append(filler)
    try:
        limits = Timeouts(connect_s=0.2, headers_s=5.0, stall_s=5.0, total_s=30.0)
        _, retries, error = await collect(transport, f"http://127.0.0.1:{port}/v1", limits)
    finally:
        for sock in [*held, listener]:
            sock.close()
    assert_fired(error, "connect_timeout", "0.2")
    assert len(retries) == 1


# ---- after the first byte ------------------------------------------------------------


async def test_a_stall_mid_stream_fires_the_stall_limit_and_is_not_retried(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(Reply.sse(b"data: 1\n\ndata: 2\n\n", chunk_size=9, delay_s=3.0))
    fake.enqueue(Reply.sse(b"data: never\n\n"))
    chunks, retries, error = await collect(transport, fake.url, SMALL)
    assert_fired(error, "stall_timeout", "0.3")
    assert "no byte for 0.3 s" in error.message  # type: ignore[union-attr]
    assert chunks == [b"data: 1\n\n"]
    assert retries == []
    assert len(fake.requests) == 1
    assert fake.wait_for_disconnect(5.0) is not None, "the stalled connection was left open"


async def test_a_drip_fires_the_total_limit(fake: FakeHTTPServer, transport: Transport) -> None:
    # One byte every 50 ms never trips a 1 s stall limit; the 0.6 s total does.
    fake.enqueue(Reply.sse(b"x" * 400, chunk_size=1, delay_s=0.05))
    limits = Timeouts(connect_s=2.0, headers_s=1.0, stall_s=1.0, total_s=0.6)
    chunks, retries, error = await collect(transport, fake.url, limits)
    assert_fired(error, "total_timeout", "0.6")
    assert "total limit of 0.6 s" in error.message  # type: ignore[union-attr]
    assert 0 < len(chunks) < 400
    assert retries == []
    assert error is not None and not error.retryable


async def test_the_total_limit_also_bounds_the_wait_for_headers(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(hang_before_headers(), hang_before_headers())
    limits = Timeouts(connect_s=2.0, headers_s=10.0, stall_s=10.0, total_s=0.3)
    _, retries, error = await collect(transport, fake.url, limits)
    assert_fired(error, "total_timeout", "0.3")
    assert retries == [], "a request past its total limit was retried"
    assert len(fake.requests) == 1


async def test_a_slow_reader_is_not_a_stalled_provider(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    # The provider sends at once; the reader takes longer than the stall limit per chunk.
    fake.enqueue(Reply.sse(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", chunk_size=9))
    chunks = []
    async for item in transport.stream(
        HttpRequest("POST", fake.url), provider="fake", parse_error=parse_error, timeouts=SMALL
    ):
        assert isinstance(item, bytes)
        chunks.append(item)
        await asyncio.sleep(0.5)
    assert b"".join(chunks) == b"data: 1\n\ndata: 2\n\ndata: 3\n\n"


async def test_cancelling_a_read_is_a_cancellation_not_a_timeout(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(Reply.sse(b"data: 1\n\ndata: 2\n\n", chunk_size=9, delay_s=3.0))
    first = asyncio.Event()

    async def read() -> None:
        async for _ in transport.stream(
            HttpRequest("POST", fake.url), provider="fake", parse_error=parse_error, timeouts=SMALL
        ):
            first.set()

    task = asyncio.create_task(read())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.wait_for_disconnect(5.0) is not None


# ---- the policy ----------------------------------------------------------------------


def test_the_policy_retries_a_timeout_once_and_other_failures_as_budgeted() -> None:
    policy = RetryPolicy(max_retries=3)
    timeout = ProviderError(ErrorCode.TIMEOUT, "t")
    assert policy.delay_s(1, timeout, timeouts=1) is not None
    assert policy.delay_s(2, timeout, timeouts=2) is None
    unavailable = ProviderError(ErrorCode.PROVIDER_UNAVAILABLE, "u")
    assert policy.delay_s(3, unavailable, timeouts=1) is not None
    assert policy.delay_s(4, unavailable, timeouts=1) is None


# ---- the config ------------------------------------------------------------------------


def test_defaults_fit_streaming() -> None:
    assert stream_timeouts(ProviderSettings(id="a", kind="anthropic")) == Timeouts(
        connect_s=10.0, headers_s=60.0, stall_s=90.0, total_s=900.0
    )


def test_every_limit_is_set_per_provider(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[providers.anthropic]\n"
        "connect_timeout = 3\nheaders_timeout = 20\nstall_timeout = 45.5\ntotal_timeout = 600\n"
        "[providers.openai]\ntimeout = 120\nstall_timeout = 30\n"
        "[providers.gemini]\nstall_timeout = -1\ntotal_timeout = true\n",
        encoding="utf-8",
    )
    config = load_config(path, frozenset(kinds()))
    assert stream_timeouts(config.providers["anthropic"]) == Timeouts(3.0, 20.0, 45.5, 600.0)
    # The older `timeout` is the wait for each next byte: headers and stall; a specific key wins.
    assert stream_timeouts(config.providers["openai"]) == Timeouts(10.0, 120.0, 30.0, 900.0)
    assert stream_timeouts(config.providers["gemini"]) == Timeouts()
    problems = {(issue.key, issue.line) for issue in config.issues}
    assert problems == {("stall_timeout", 10), ("total_timeout", 11)}
    assert all("positive number of seconds" in issue.message for issue in config.issues)
