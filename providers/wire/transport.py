"""The one HTTP transport every provider's traffic goes through.

A pooled `httpx.AsyncClient`, streaming bodies, and four limits that fit
streaming (see `Timeouts`), and the retry policy: 429, 5xx, network failures
and timeouts are retried only before the first byte of the answer (a timeout
at most once), each retry reported as a RetryEvent. Closing a stream early
(cancellation) closes its connection instead of draining it.

The clients (`ClientLanes`) have no connection cap: each provider's `SlotPool` bounds
how many requests it has open, so one provider's long streams never starve another's, and a
request that finds them all busy says so (a QueuedEvent) and waits, under the
request's total limit only, instead of failing as if it could not connect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from switchboard.protocol.chat import QueuedEvent, RetryEvent
from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError, json_body
from .addresses import is_local, server_root, shown_url
from .http import HttpRequest
from .lanes import ClientLanes
from .limits import LIMIT_KEYS, RequestClock, TimeLimit, Timeouts
from .retry import RetryPolicy
from .slots import DEFAULT_MAX_CONNECTIONS, ProviderSlots

__all__ = ["DEFAULT_MAX_CONNECTIONS", "ErrorParser", "Timeouts", "Transport", "Waiting"]

if TYPE_CHECKING:
    import httpx

ErrorParser = Callable[[int, Mapping[str, str], bytes], ProviderError]

#: what a stream reports while it waits, besides the body
Waiting = RetryEvent | QueuedEvent

_MAX_ERROR_BODY = 256 * 1024
DEFAULT_TIMEOUTS = Timeouts()


class Transport:
    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self.lanes = ClientLanes()
        self.slots = ProviderSlots()

    def client(self) -> httpx.AsyncClient:
        return self.lanes.first()

    async def aclose(self) -> None:
        await self.lanes.aclose()

    async def rehearse(self) -> bytes | None:
        """One request through the shared client to a loopback listener of this process, so
        that a first chat does not pay the client's one-time costs (see `rehearsal`)."""
        from .rehearsal import rehearse

        return await rehearse(self.client())

    async def stream(
        self,
        request: HttpRequest,
        *,
        provider: str,
        parse_error: ErrorParser,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        max_connections: int | None = None,
    ) -> AsyncGenerator[bytes | Waiting, None]:
        """The body of a successful answer, chunk by chunk; RetryEvents while retrying,
        a QueuedEvent before waiting for one of the provider's `max_connections` slots.

        `max_connections` None leaves the provider's limit as it is (the default at first).
        """
        import httpx

        clock = RequestClock(timeouts)
        pool = self.slots.pool(provider, max_connections)
        attempt = timed_out = 0
        announced = False  # a RetryEvent already told of the wait for the provider's pause
        while True:
            if not pool.try_acquire():
                paused = pool.paused_for()
                if not (announced and paused):
                    if paused and (not self.retry.waits_out(paused) or paused >= clock.left_s):
                        raise _paused_error(provider, paused)
                    queued = pool.queued()
                    yield QueuedEvent(
                        provider=provider,
                        position=queued.position,
                        limit=queued.limit,
                        retry_after_ms=round(paused * 1000) if paused else None,
                    )
                try:
                    await clock.within_total(pool.acquire())
                except TimeLimit:
                    raise _pool_full_error(provider, pool.limit, clock.whole) from None
            announced = False
            received = False
            lane = self.lanes.take()
            try:
                response = await clock.wait(
                    "headers", timeouts.headers_s, self._send(lane.client, request, timeouts)
                )
                try:
                    if response.status_code >= 400:
                        error_body = await clock.wait(
                            "stall", timeouts.stall_s, _read_capped(response)
                        )
                        error = parse_error(response.status_code, response.headers, error_body)
                        raise error.with_body(error_body)
                    body = clock.body(response.aiter_bytes())
                    async with contextlib.aclosing(body) as chunks:
                        async for chunk in chunks:
                            received = True
                            yield chunk
                    return
                finally:
                    await response.aclose()
            except ProviderError as error:
                failure = error
            except TimeLimit as limit:
                failure = _timeout_error(provider, limit)
            except httpx.TimeoutException as error:
                failure = _timeout_error(provider, _httpx_limit(error, timeouts))
            except (httpx.TransportError, httpx.DecodingError) as error:
                failure = _network_error(provider, error, request.url)
            finally:
                self.lanes.give(lane)
                pool.release()
            pause = self.retry.pause_s(failure)
            if pause:
                pool.pause(pause)
            if received or clock.spent:
                raise failure
            attempt += 1
            timed_out += failure.code == ErrorCode.TIMEOUT
            delay = self.retry.delay_s(attempt, failure, timeouts=timed_out)
            if delay is None:
                raise failure
            yield RetryEvent(attempt=attempt, delay_ms=int(delay * 1000), reason=failure.message)
            if pause:
                announced = True  # the pool's pause is this wait
            else:
                await asyncio.sleep(delay)

    async def _send(
        self, client: httpx.AsyncClient, request: HttpRequest, timeouts: Timeouts
    ) -> httpx.Response:
        built = client.build_request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.body(),
            params=request.params,
            timeout=_httpx_timeout(timeouts),
        )
        return await client.send(built, stream=True)

    async def fetch_json(
        self,
        request: HttpRequest,
        *,
        provider: str,
        parse_error: ErrorParser,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        max_connections: int | None = None,
    ) -> Any:
        """A whole JSON answer (model lists, token counts), with the same retry policy."""
        body = bytearray()
        async for item in self.stream(
            request,
            provider=provider,
            parse_error=parse_error,
            timeouts=timeouts,
            max_connections=max_connections,
        ):
            if isinstance(item, bytes):
                body += item
        decoded = json_body(bytes(body))
        if decoded is None:
            raise ProviderError(
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{provider}: the answer was not JSON",
                provider=provider,
            )
        return decoded


def _httpx_timeout(timeouts: Timeouts) -> httpx.Timeout:
    """httpx keeps only the connect limit; the others are timed here, where it is known which
    phase a wait belongs to. Writing the request body counts against the headers limit."""
    import httpx

    return httpx.Timeout(connect=timeouts.connect_s, read=None, write=None, pool=None)


def _httpx_limit(error: Exception, timeouts: Timeouts) -> TimeLimit:
    import httpx

    if isinstance(error, httpx.ConnectTimeout):
        return TimeLimit("connect", timeouts.connect_s)
    return TimeLimit("headers", timeouts.headers_s)


async def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > _MAX_ERROR_BODY:
            break
    return bytes(body)


_LIMIT_WORDING = {
    "connect": "could not connect within {} s",
    "headers": "no response headers within {} s",
    "stall": "the stream stalled: no byte for {} s",
    "total": "the request ran past its total limit of {} s",
    "request": "the request ran past its timeout of {} s",
}


def _timeout_error(provider: str, limit: TimeLimit) -> ProviderError:
    key = LIMIT_KEYS[limit.limit]
    wording = _LIMIT_WORDING[limit.limit].format(f"{limit.seconds:g}")
    if limit.limit == "request":
        setting, suggestion = f"the request's {key}", "raise the request's timeout param"
    else:
        setting = key
        suggestion = f"raise [providers.{provider}] {key} in the config if the model is slow"
    return ProviderError(
        ErrorCode.TIMEOUT,
        f"{provider}: timed out: {wording} ({setting} = {limit.seconds:g})",
        provider=provider,
        suggestion=suggestion,
        retryable=limit.limit not in ("total", "request"),
    )


def _paused_error(provider: str, paused_s: float) -> ProviderError:
    return ProviderError(
        ErrorCode.RATE_LIMITED,
        f"{provider}: rate limited: the provider asked for no requests during the next "
        f"{paused_s:.1f} s (Retry-After), longer than this request waits",
        provider=provider,
        retry_after_ms=round(paused_s * 1000),
        suggestion="wait and try again, or use another model",
        retryable=False,
    )


def _pool_full_error(provider: str, limit: int, whole: TimeLimit) -> ProviderError:
    return ProviderError(
        ErrorCode.TIMEOUT,
        f"{provider}: the connection pool was full: all {limit} connections "
        f"(max_connections = {limit}) stayed busy past the request's "
        f"{'timeout' if whole.limit == 'request' else 'total limit'} of {whole.seconds:g} s",
        provider=provider,
        suggestion=(
            f"raise [providers.{provider}] max_connections in the config, "
            "or wait for other requests to that provider to finish"
        ),
        retryable=False,
    )


def _network_error(provider: str, error: Exception, url: str) -> ProviderError:
    import httpx

    detail = str(error) or type(error).__name__
    if not isinstance(error, httpx.ConnectError):
        return ProviderError(
            ErrorCode.NETWORK,
            f"{provider}: network error: {detail} ({shown_url(url)})",
            provider=provider,
        )
    if is_local(url):
        suggestion = (
            f"check that the server at {server_root(url)} is running, "
            f"or set base_url in [providers.{provider}]"
        )
    else:
        suggestion = "check the network connection and any proxy settings"
    return ProviderError(
        ErrorCode.NETWORK,
        f"{provider}: network error: cannot connect to {shown_url(url)}: {detail}",
        provider=provider,
        suggestion=suggestion,
    )
