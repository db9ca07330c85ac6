"""The one HTTP transport every provider's traffic goes through.

A pooled `httpx.AsyncClient`, streaming bodies, connect and read timeouts,
and the retry policy: 429, 5xx and network failures are retried only before
the first byte of the answer, each retry reported as a RetryEvent. Closing
a stream early (cancellation) closes its connection instead of draining it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from switchboard.protocol.chat import RetryEvent
from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError, json_body
from .http import HttpRequest
from .retry import RetryPolicy

if TYPE_CHECKING:
    import httpx

ErrorParser = Callable[[int, Mapping[str, str], bytes], ProviderError]

_MAX_ERROR_BODY = 256 * 1024


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 10.0
    read_s: float = 300.0


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
        timeouts: Timeouts = Timeouts(),
    ) -> AsyncIterator[bytes | RetryEvent]:
        """The body of a successful answer, chunk by chunk; RetryEvents while retrying."""
        import httpx

        attempt = 0
        while True:
            received = False
            try:
                async with self.client().stream(
                    request.method,
                    request.url,
                    headers=request.headers,
                    content=request.body(),
                    params=request.params,
                    timeout=_httpx_timeout(timeouts),
                ) as response:
                    if response.status_code >= 400:
                        body = await _read_capped(response)
                        raise parse_error(response.status_code, response.headers, body)
                    async for chunk in response.aiter_bytes():
                        received = True
                        yield chunk
                    return
            except ProviderError as error:
                failure = error
            except httpx.TimeoutException as error:
                failure = _timeout_error(provider, error)
            except (httpx.TransportError, httpx.DecodingError) as error:
                failure = _network_error(provider, error)
            if received:
                raise failure
            attempt += 1
            delay = self.retry.delay_s(attempt, failure)
            if delay is None:
                raise failure
            yield RetryEvent(attempt=attempt, delay_ms=int(delay * 1000), reason=failure.message)
            await asyncio.sleep(delay)

    async def fetch_json(
        self,
        request: HttpRequest,
        *,
        provider: str,
        parse_error: ErrorParser,
        timeouts: Timeouts = Timeouts(),
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
    import httpx

    return httpx.Timeout(
        connect=timeouts.connect_s, read=timeouts.read_s, write=timeouts.connect_s, pool=30.0
    )


async def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > _MAX_ERROR_BODY:
            break
    return bytes(body)


def _timeout_error(provider: str, error: Exception) -> ProviderError:
    import httpx

    phase = (
        "connecting" if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout) else "waiting"
    )
    return ProviderError(
        ErrorCode.TIMEOUT,
        f"{provider}: timed out {phase} for the provider",
        provider=provider,
        suggestion="raise [providers.NAME] timeout in the config if the model is slow",
    )


def _network_error(provider: str, error: Exception) -> ProviderError:
    detail = str(error) or type(error).__name__
    return ProviderError(
        ErrorCode.NETWORK,
        f"{provider}: network error: {detail}",
        provider=provider,
    )
