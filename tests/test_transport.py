"""Transport against the loopback fake: streaming, retries, timeouts, cancellation, gzip.

Also the RetryPolicy that decides when and how long the transport waits.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping

import pytest
from switchboard.protocol.chat import RetryEvent
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.errors import ProviderError, http_error, json_body
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.transport import Timeouts, Transport

from tests.fakes.http import FakeHTTPServer, Reply

FAST_RETRY = RetryPolicy(max_retries=2, base_delay_s=0.01, max_delay_s=1.0)


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    decoded = json_body(body)
    message = decoded.get("error", "") if isinstance(decoded, dict) else ""
    return http_error("fake", status, headers, str(message))


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply.json({"error": message}, status=status, headers=headers)


@pytest.fixture
def fake() -> Iterator[FakeHTTPServer]:
    with FakeHTTPServer() as server:
        yield server


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    client = Transport(FAST_RETRY)
    yield client
    await client.aclose()


async def collect(
    transport: Transport, url: str, timeouts: Timeouts | None = None
) -> tuple[list[bytes], list[RetryEvent]]:
    chunks: list[bytes] = []
    retries: list[RetryEvent] = []
    async for item in transport.stream(
        HttpRequest("POST", url, json={"q": 1}),
        provider="fake",
        parse_error=parse_error,
        timeouts=timeouts or Timeouts(),
    ):
        if isinstance(item, RetryEvent):
            assert not chunks, "a retry after the first byte"
            retries.append(item)
        else:
            chunks.append(item)
    return chunks, retries


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- streaming --------------------------------------------------------------------


async def test_streams_the_body_in_order(fake: FakeHTTPServer, transport: Transport) -> None:
    body = b"".join(b"data: %d\n\n" % i for i in range(6))
    fake.enqueue(Reply.sse(body, chunk_size=9, delay_s=0.03))
    chunks, retries = await collect(transport, fake.url + "/v1/chat")
    assert retries == []
    assert b"".join(chunks) == body
    assert len(chunks) > 1, "the body arrived in one piece: not streamed"


async def test_sends_method_path_params_headers_and_body(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(Reply.sse(b"data: ok\n\n"))
    request = HttpRequest(
        "POST",
        fake.url + "/v1/messages",
        headers={"x-test": "yes", "content-type": "application/json"},
        json={"model": "m", "text": "h\u00e9"},
        params={"beta": "true"},
    )
    async for _ in transport.stream(request, provider="fake", parse_error=parse_error):
        pass
    [seen] = fake.requests
    assert seen.method == "POST"
    assert seen.path == "/v1/messages?beta=true"
    assert seen.headers["x-test"] == "yes"
    assert seen.json() == {"model": "m", "text": "h\u00e9"}


async def test_gzip_content_encoding_is_decoded(fake: FakeHTTPServer, transport: Transport) -> None:
    body = b"event: message_start\ndata: {}\n\n" * 50
    packed = gzip.compress(body)
    half = len(packed) // 2
    fake.enqueue(
        Reply(
            headers={"content-type": "text/event-stream", "content-encoding": "gzip"},
            chunks=[packed[:half], packed[half:]],
        )
    )
    chunks, _ = await collect(transport, fake.url)
    assert b"".join(chunks) == body


# ---- retries before the first byte ------------------------------------------------


async def test_429_with_retry_after_ms_is_retried_after_that_wait(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(
        error_reply(429, "slow down", {"retry-after-ms": "10"}),
        Reply.sse(b"data: ok\n\n"),
    )
    chunks, retries = await collect(transport, fake.url)
    assert [(r.attempt, r.delay_ms) for r in retries] == [(1, 10)]
    assert retries[0].reason == "fake: slow down"
    assert b"".join(chunks) == b"data: ok\n\n"
    assert len(fake.requests) == 2


async def test_500_twice_then_success(fake: FakeHTTPServer, transport: Transport) -> None:
    fake.enqueue(error_reply(500, "boom"), error_reply(503, "busy"), Reply.sse(b"data: ok\n\n"))
    chunks, retries = await collect(transport, fake.url)
    assert [r.attempt for r in retries] == [1, 2]
    # Jittered backoff: attempt n waits between half and all of base * 2**(n-1).
    assert 5 <= retries[0].delay_ms <= 10
    assert 10 <= retries[1].delay_ms <= 20
    assert [r.reason for r in retries] == ["fake: boom", "fake: busy"]
    assert b"".join(chunks) == b"data: ok\n\n"
    assert len(fake.requests) == 3


async def test_budget_exhausted_raises_the_last_error(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(error_reply(500, "one"), error_reply(500, "two"), error_reply(502, "three"))
    retries: list[RetryEvent] = []
    with pytest.raises(ProviderError) as raised:
        async for item in transport.stream(
            HttpRequest("GET", fake.url), provider="fake", parse_error=parse_error
        ):
            assert isinstance(item, RetryEvent)
            retries.append(item)
    assert [r.attempt for r in retries] == [1, 2]
    assert raised.value.code == ErrorCode.PROVIDER_UNAVAILABLE
    assert raised.value.status == 502
    assert raised.value.message == "fake: three"
    assert len(fake.requests) == 3


async def test_non_retryable_error_is_raised_at_once(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(error_reply(400, "bad field"), Reply.sse(b"data: never\n\n"))
    with pytest.raises(ProviderError) as raised:
        await collect(transport, fake.url)
    assert raised.value.code == ErrorCode.INVALID_REQUEST
    assert raised.value.message == "fake: bad field"
    assert len(fake.requests) == 1


async def test_long_retry_after_is_not_waited_for(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(error_reply(429, "quota", {"retry-after": "60"}), Reply.sse(b"data: no\n\n"))
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        await collect(transport, fake.url)
    assert time.monotonic() - started < 5
    assert raised.value.code == ErrorCode.RATE_LIMITED
    assert raised.value.retry_after_ms == 60_000
    assert raised.value.data().retry_after_ms == 60_000
    assert len(fake.requests) == 1


async def test_connection_refused_is_a_network_error_after_retries(
    transport: Transport,
) -> None:
    retries: list[RetryEvent] = []
    with pytest.raises(ProviderError) as raised:
        async for item in transport.stream(
            HttpRequest("POST", f"http://127.0.0.1:{closed_port()}/v1"),
            provider="fake",
            parse_error=parse_error,
        ):
            assert isinstance(item, RetryEvent)
            retries.append(item)
    assert raised.value.code == ErrorCode.NETWORK
    assert raised.value.message.startswith("fake: network error")
    assert raised.value.provider == "fake"
    assert [r.attempt for r in retries] == [1, 2]


# ---- after the first byte ----------------------------------------------------------


async def test_failure_after_the_first_byte_is_not_retried(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    # The server promises 500 bytes, sends a few and closes the connection.
    fake.enqueue(
        Reply(
            headers={"content-length": "500", "connection": "close"},
            chunks=[b"data: partial\n\n"],
            chunked=False,
        ),
        Reply.sse(b"data: second attempt\n\n"),
    )
    received: list[bytes | RetryEvent] = []
    with pytest.raises(ProviderError) as raised:
        async for item in transport.stream(
            HttpRequest("POST", fake.url), provider="fake", parse_error=parse_error
        ):
            received.append(item)
    assert raised.value.code == ErrorCode.NETWORK
    assert received == [b"data: partial\n\n"]
    assert len(fake.requests) == 1


async def test_closing_the_stream_early_closes_the_connection(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(Reply.sse(b"data: x\n\n" * 40, chunk_size=9, delay_s=0.1))
    stream = transport.stream(
        HttpRequest("POST", fake.url), provider="fake", parse_error=parse_error
    )
    assert isinstance(stream, AsyncGenerator)
    first = await stream.__anext__()
    assert first == b"data: x\n\n"
    closed_at = time.monotonic()
    await stream.aclose()
    disconnect = await asyncio.to_thread(fake.wait_for_disconnect, 2.0)
    assert disconnect is not None, "the server never saw the client go"
    # The whole body takes 4 s to send: the connection was closed, not drained.
    assert disconnect - closed_at < 1.0


# ---- fetch_json --------------------------------------------------------------------


async def test_fetch_json_returns_the_decoded_body_after_retries(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(error_reply(503, "busy"), Reply.json({"data": [{"id": "m1"}]}))
    answer = await transport.fetch_json(
        HttpRequest("GET", fake.url + "/v1/models"), provider="fake", parse_error=parse_error
    )
    assert answer == {"data": [{"id": "m1"}]}
    assert [r.method for r in fake.requests] == ["GET", "GET"]


async def test_fetch_json_rejects_a_body_that_is_not_json(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    fake.enqueue(Reply(headers={"content-type": "text/html"}, chunks=[b"<html>hi</html>"]))
    with pytest.raises(ProviderError) as raised:
        await transport.fetch_json(
            HttpRequest("GET", fake.url), provider="fake", parse_error=parse_error
        )
    assert raised.value.code == ErrorCode.PROVIDER_UNAVAILABLE
    assert raised.value.message == "fake: the answer was not JSON"


async def test_error_body_given_to_the_parser_is_capped(
    fake: FakeHTTPServer, transport: Transport
) -> None:
    seen: list[int] = []

    def measuring_parser(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        seen.append(len(body))
        return http_error("fake", status, headers, "too big")

    fake.enqueue(Reply(status=400, chunks=[b"x" * 65536] * 32))
    with pytest.raises(ProviderError):
        async for _ in transport.stream(
            HttpRequest("GET", fake.url), provider="fake", parse_error=measuring_parser
        ):
            pass
    [size] = seen
    assert 256 * 1024 < size < 2 * 1024 * 1024


# ---- RetryPolicy -------------------------------------------------------------------


def failure(code: ErrorCode, retry_after_ms: int | None = None) -> ProviderError:
    return ProviderError(code, "failed", retry_after_ms=retry_after_ms)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 0.25, 0.5), (2, 0.5, 1.0), (3, 1.0, 2.0), (5, 4.0, 8.0), (6, 4.0, 8.0)],
)
def test_delay_is_jittered_between_half_and_full_ceiling(
    attempt: int, low: float, high: float
) -> None:
    policy = RetryPolicy(max_retries=10, base_delay_s=0.5, max_delay_s=8.0)
    delays = [policy.delay_s(attempt, failure(ErrorCode.RATE_LIMITED)) for _ in range(200)]
    assert all(d is not None and low <= d <= high for d in delays)
    assert len(set(delays)) > 1, "no jitter"


def test_budget_is_exhausted_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    error = failure(ErrorCode.PROVIDER_UNAVAILABLE)
    assert policy.delay_s(1, error) is not None
    assert policy.delay_s(2, error) is not None
    assert policy.delay_s(3, error) is None
    assert RetryPolicy(max_retries=0).delay_s(1, error) is None


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.INVALID_REQUEST,
        ErrorCode.AUTHENTICATION_FAILED,
        ErrorCode.PERMISSION_DENIED,
        ErrorCode.CONTEXT_LENGTH_EXCEEDED,
        ErrorCode.CONTENT_FILTERED,
        ErrorCode.UNKNOWN_MODEL,
    ],
)
def test_non_retryable_codes_are_never_retried(code: ErrorCode) -> None:
    assert RetryPolicy().delay_s(1, failure(code)) is None


@pytest.mark.parametrize(
    "code",
    [ErrorCode.RATE_LIMITED, ErrorCode.PROVIDER_UNAVAILABLE, ErrorCode.NETWORK, ErrorCode.TIMEOUT],
)
def test_retryable_codes_are_retried(code: ErrorCode) -> None:
    assert RetryPolicy().delay_s(1, failure(code)) is not None


def test_retry_after_is_honoured_when_it_fits() -> None:
    policy = RetryPolicy(max_delay_s=8.0)
    assert policy.delay_s(1, failure(ErrorCode.RATE_LIMITED, 1500)) == 1.5
    assert policy.delay_s(2, failure(ErrorCode.RATE_LIMITED, 8000)) == 8.0
    assert policy.delay_s(1, failure(ErrorCode.RATE_LIMITED, 0)) == 0.0


def test_retry_after_longer_than_max_delay_gives_up() -> None:
    policy = RetryPolicy(max_delay_s=8.0)
    assert policy.delay_s(1, failure(ErrorCode.RATE_LIMITED, 8001)) is None
    assert policy.delay_s(1, failure(ErrorCode.RATE_LIMITED, 60_000)) is None


def test_retry_after_does_not_extend_the_budget() -> None:
    policy = RetryPolicy(max_retries=1)
    assert policy.delay_s(2, failure(ErrorCode.RATE_LIMITED, 10)) is None
