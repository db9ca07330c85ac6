"""What the transport's time limits cost per read of a streamed body.

A loopback server (its own process) answers every request with the same chunked
stream of N small SSE events, written 64 bytes at a time so that the client makes
thousands of reads. The stream is read two ways, taking turns:

  (a) through `Transport.stream`, with its four limits (connect, headers, stall, total);
  (b) with raw httpx and only httpx's own read timeout, as the transport once did.

    python bench/transport_limits.py [--events 5000] [--runs 9]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping

import httpx
from switchboard.providers.errors import ProviderError, http_error
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.transport import Transport

SERVER = r"""
import socket, sys
events = [b'data: {"i": %d, "text": "hello world"}\n\n' % i for i in range(int(sys.argv[1]))]
payload = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    seen = b""
    while b"\r\n\r\n" not in seen:
        seen += conn.recv(65536)
    conn.sendall(head)
    for start in range(0, len(payload), 64):
        conn.send(payload[start : start + 64])
    conn.close()
"""


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return http_error("bench", status, headers, body.decode(errors="replace"))


async def through_transport(transport: Transport, url: str) -> int:
    reads = 0
    request = HttpRequest("POST", url)
    async for _ in transport.stream(request, provider="bench", parse_error=parse_error):
        reads += 1
    return reads


async def through_httpx(client: httpx.AsyncClient, url: str) -> int:
    reads = 0
    limits = httpx.Timeout(connect=10.0, read=300.0, write=10.0, pool=30.0)
    async with client.stream("POST", url, timeout=limits) as response:
        async for _ in response.aiter_bytes():
            reads += 1
    return reads


async def measure(url: str, runs: int) -> None:
    transport, client = Transport(), httpx.AsyncClient()
    timed: dict[str, list[float]] = {"transport (4 limits)": [], "raw httpx (read timeout)": []}
    reads: dict[str, int] = {}
    try:
        for run in range(runs + 1):
            for name, read in (
                ("transport (4 limits)", lambda: through_transport(transport, url)),
                ("raw httpx (read timeout)", lambda: through_httpx(client, url)),
            ):
                started = time.perf_counter()
                reads[name] = await read()
                if run:  # the first round warms up
                    timed[name].append(time.perf_counter() - started)
    finally:
        await transport.aclose()
        await client.aclose()
    print(f"{'method':<26} {'reads':>6} {'median ms':>10} {'µs/read':>8}")
    for name, times in timed.items():
        median = statistics.median(times)
        print(
            f"{name:<26} {reads[name]:>6} {median * 1e3:>10.1f} {median / reads[name] * 1e6:>8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.events)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        print(f"{args.events} events, median of {args.runs} runs (after one warm-up round)")
        asyncio.run(measure(f"http://127.0.0.1:{port}/", args.runs))
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
