"""One streamed request to a loopback listener of this process, sent while the server idles.

A first request through httpx pays once for what later ones find ready: httpcore opening its
first connection through anyio, h11's first response, httpx's cookie handling (urllib's
request and its regexes) and the ABC checks each of these caches. The rehearsal pays it
before anyone waits. No provider is contacted: the listener is this process's own, on
127.0.0.1, and it answers `connection: close`, so the client keeps no connection to it.
With an HTTP proxy in the environment there is no rehearsal: the client would send even a
loopback request through the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

LOOPBACK = "127.0.0.1"
PAYLOAD = b"data: {}\n\n"
_ANSWER = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream\r\n"
    b"transfer-encoding: chunked\r\n"
    b"connection: close\r\n"
    b"\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(PAYLOAD), PAYLOAD)
)
_HEAD_END = b"\r\n\r\n"
_MAX_HEAD = 64 * 1024


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(_HEAD_END)
        length = _content_length(head)
        if length:
            await reader.readexactly(length)
        writer.write(_ANSWER)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass  # not the client's request: whoever sent it gets nothing
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip() or 0)
    return 0


def proxy_configured() -> bool:
    """Whether the environment names a proxy for plain HTTP (http_proxy, all_proxy)."""
    proxies = urllib.request.getproxies()
    return bool(proxies.get("http") or proxies.get("all"))


async def rehearse(client: httpx.AsyncClient, timeout_s: float = 5.0) -> bytes | None:
    """The body of one streamed POST through `client` to a listener of this process
    (`PAYLOAD`, unless the rehearsal failed); None, sending nothing, behind a proxy."""
    if proxy_configured():
        return None
    listener = await asyncio.start_server(_answer, host=LOOPBACK, port=0, limit=_MAX_HEAD)
    try:
        port = listener.sockets[0].getsockname()[1]
        body = bytearray()
        async with asyncio.timeout(timeout_s):
            request = client.build_request(
                "POST", f"http://{LOOPBACK}:{port}/rehearsal", content=b"{}"
            )
            response = await client.send(request, stream=True)
            try:
                async for chunk in response.aiter_bytes():
                    body += chunk
            finally:
                await response.aclose()
        return bytes(body)
    finally:
        listener.close()
        await listener.wait_closed()
