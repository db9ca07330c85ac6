"""A scriptable loopback HTTP/1.1 server for the provider fakes.

Runs in a background thread on 127.0.0.1 (never another address), so the
official SDKs (sync or async), httpx and the Switchboard server subprocess
can all talk to it. Each answer is a status, headers and a list of body
chunks written one by one (chunked transfer encoding unless a
content-length is given), with an optional pause between chunks. It records
every request and notices when a client closes a streaming connection early.
"""

from __future__ import annotations

import json
import queue
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    delay_s: float = 0.0
    hang_s: float = 0.0
    chunked: bool = True

    @classmethod
    def json(cls, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        raw = json.dumps(body).encode()
        return cls(
            status=status,
            headers={"content-type": "application/json", **(headers or {})},
            chunks=[raw],
            chunked=False,
        )

    @classmethod
    def sse(cls, body: bytes, *, chunk_size: int | None = None, delay_s: float = 0.0) -> Reply:
        pieces = (
            [body]
            if chunk_size is None
            else [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
        )
        return cls(
            headers={"content-type": "text/event-stream; charset=utf-8"},
            chunks=pieces,
            delay_s=delay_s,
        )


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[RecordedRequest], Reply]


class FakeHTTPServer:
    """Answers each request with the next queued Reply, or with `default` when none is queued."""

    def __init__(self, default: Responder | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.replies: queue.Queue[Reply | Responder] = queue.Queue()
        self.default = default
        self.disconnects: list[float] = []
        self.sent_bodies: list[bytes] = []
        self.streams_started: list[float] = []
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(self, *replies: Reply | Responder) -> None:
        for reply in replies:
            self.replies.put(reply)

    def wait_for_disconnect(self, timeout_s: float) -> float | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.disconnects:
                return self.disconnects[-1]
            time.sleep(0.005)
        return None

    def _next_reply(self, request: RecordedRequest) -> Reply:
        try:
            item = self.replies.get_nowait()
        except queue.Empty:
            if self.default is None:
                return Reply.json({"error": "no reply queued"}, status=500)
            item = self.default
        return item(request) if callable(item) else item


class _QuietServer(ThreadingHTTPServer):
    """A client that drops a kept-alive connection is normal here, not an error to print."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _client_gone(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _handler_for(fake: FakeHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Small streamed writes must leave at once, as a provider's do (no Nagle delay).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = RecordedRequest(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            fake.requests.append(request)
            reply = fake._next_reply(request)
            if reply.hang_s:
                time.sleep(reply.hang_s)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            chunked = reply.chunked and "content-length" not in {k.lower() for k in reply.headers}
            if chunked:
                self.send_header("transfer-encoding", "chunked")
            else:
                total = sum(len(c) for c in reply.chunks)
                if "content-length" not in {k.lower() for k in reply.headers}:
                    self.send_header("content-length", str(total))
            self.end_headers()
            fake.streams_started.append(time.monotonic())
            fake.sent_bodies.append(b"".join(reply.chunks))
            try:
                self._write_chunks(reply.chunks, reply.delay_s, chunked)
            except (BrokenPipeError, ConnectionResetError):
                fake.disconnects.append(time.monotonic())
                self.close_connection = True

        def _write_chunks(self, chunks: Iterable[bytes], delay_s: float, chunked: bool) -> None:
            for index, chunk in enumerate(chunks):
                if index and delay_s:
                    deadline = time.monotonic() + delay_s
                    while time.monotonic() < deadline:
                        if _client_gone(self.connection):
                            raise ConnectionResetError
                        time.sleep(min(0.005, max(0.0, deadline - time.monotonic())))
                if _client_gone(self.connection):
                    raise ConnectionResetError
                if chunked:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
                self.wfile.flush()
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    return Handler
