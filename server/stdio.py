"""Serve LSP over stdio with non-blocking, flow-controlled writes.

pygls writes stdout synchronously, so a client that reads slowly would
block the event loop (and with it every upstream stream). Here stdout is an
asyncio pipe transport: writes never block, and the progress sender can see
how much the client has not yet read and batch events meanwhile. Reading is
server/framing.py's, which never stops listening whatever the client sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, BinaryIO, cast

from .framing import READ_CHUNK, serve_frames
from .shutdown import serve_until_stopped

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from .protocol import SwitchboardProtocol

logger = logging.getLogger("switchboard.stdio")

#: Reading from stdin pauses while this much (twice this) is read but not yet parsed.
STDIN_LIMIT = 1024 * 1024


class PipeWriter:
    """pygls' writer interface over an asyncio StreamWriter."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        self._writer.close()

    def pending_bytes(self) -> int:
        transport = self._writer.transport
        return transport.get_write_buffer_size() if not transport.is_closing() else 0

    async def drain(self) -> None:
        await self._writer.drain()


class FileWriter:
    """pygls' writer interface over a stdout that is a regular file (no pipe transport)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, data: bytes) -> None:
        self._stream.write(data)
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


async def _open_stdio() -> tuple[asyncio.StreamReader, PipeWriter | FileWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STDIN_LIMIT)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    except ValueError:  # stdin is a regular file: read it on a thread
        _read_on_a_thread(loop, reader, sys.stdin.buffer)
    try:
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, sys.stdout.buffer
        )
    except ValueError:
        return reader, FileWriter(sys.stdout.buffer)
    # drain() then waits until the client has read everything: see PipeWriter.pending_bytes.
    transport.set_write_buffer_limits(high=0)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, PipeWriter(writer)


def _read_on_a_thread(
    loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader, stream: BinaryIO
) -> None:
    def pump() -> None:
        try:
            while chunk := os.read(stream.fileno(), READ_CHUNK):
                loop.call_soon_threadsafe(reader.feed_data, chunk)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(reader.feed_eof)

    threading.Thread(target=pump, name="switchboard-stdin", daemon=True).start()


async def _serve(server: LanguageServer) -> None:
    reader, writer = await _open_stdio()
    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(writer)
    protocol = cast("SwitchboardProtocol", server.protocol)
    reading = asyncio.ensure_future(serve_frames(reader, protocol.receive, stop))
    # stdin's end, SIGTERM and SIGINT: in-flight chats are answered and journaled first.
    await serve_until_stopped(server, reading)
    failed = reading.exception() if reading.done() and not reading.cancelled() else None
    if failed is not None:
        raise failed  # the input could not be read: exit non-zero (serve_frames said why)


def serve_stdio(server: LanguageServer) -> None:
    try:
        asyncio.run(_serve(server))
    except (BrokenPipeError, ConnectionResetError):
        logger.info("the client closed the connection")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
