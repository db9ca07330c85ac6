"""The one HTTP transport every provider's traffic goes through.

A pooled `httpx.AsyncClient`, streaming bodies, and four limits that fit
streaming (see `Timeouts`), and the retry policy: 429, 5xx, network failures
and timeouts are retried only before the first byte of the answer (a timeout
at most once), each retry reported as a RetryEvent. Closing a stream early
(cancellation) closes its connection instead of draining it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from switchboard.protocol.chat import RetryEvent
from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError, json_body
from .http import HttpRequest
from .limits import LIMIT_KEYS, RequestClock, TimeLimit, Timeouts
from .retry import RetryPolicy

__all__ = ["ErrorParser", "Timeouts", "Transport"]

if TYPE_CHECKING:
    import httpx

ErrorParser = Callable[[int, Mapping[str, str], bytes], ProviderError]

_MAX_ERROR_BODY = 256 * 1024
DEFAULT_TIMEOUTS = Timeouts()


class Transport:
    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def stream(
        self,
        request: HttpRequest,
        *,
        provider: str,
        parse_error: ErrorParser,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
    ) -> AsyncGenerator[bytes | RetryEvent, None]:
        """The body of a successful answer, chunk by chunk; RetryEvents while retrying."""
        import httpx

        clock = RequestClock(timeouts)
        attempt = timed_out = 0
        while True:
            received = False
            try:
                response = await clock.wait(
                    "headers", timeouts.headers_s, self._send(request, timeouts)
                )
                try:
                    if response.status_code >= 400:
                        error_body = await clock.wait(
                            "stall", timeouts.stall_s, _read_capped(response)
                        )
                        raise parse_error(response.status_code, response.headers, error_body)
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
                failure = _network_error(provider, error)
            if received or clock.spent:
                raise failure
            attempt += 1
            timed_out += failure.code == ErrorCode.TIMEOUT
            delay = self.retry.delay_s(attempt, failure, timeouts=timed_out)
            if delay is None:
                raise failure
            yield RetryEvent(attempt=attempt, delay_ms=int(delay * 1000), reason=failure.message)
            await asyncio.sleep(delay)

    async def _send(self, request: HttpRequest, timeouts: Timeouts) -> httpx.Response:
        client = self.client()
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
    ) -> Any:
        """A whole JSON answer (model lists, token counts), with the same retry policy."""
        body = bytearray()
        async for item in self.stream(
            request, provider=provider, parse_error=parse_error, timeouts=timeouts
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
}


def _timeout_error(provider: str, limit: TimeLimit) -> ProviderError:
    key = LIMIT_KEYS[limit.limit]
    wording = _LIMIT_WORDING[limit.limit].format(f"{limit.seconds:g}")
    return ProviderError(
        ErrorCode.TIMEOUT,
        f"{provider}: timed out: {wording} ({key} = {limit.seconds:g})",
        provider=provider,
        suggestion=f"raise [providers.{provider}] {key} in the config if the model is slow",
        retryable=limit.limit != "total",
    )


def _network_error(provider: str, error: Exception) -> ProviderError:
    detail = str(error) or type(error).__name__
    return ProviderError(
        ErrorCode.NETWORK,
        f"{provider}: network error: {detail}",
        provider=provider,
    )
