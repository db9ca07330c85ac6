"""Serve LSP over stdio with non-blocking, flow-controlled writes.

pygls writes stdout synchronously, so a client that reads slowly would
block the event loop (and with it every upstream stream). Here stdout is an
asyncio pipe transport: writes never block, and the progress sender can see
how much the client has not yet read and batch events meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import TYPE_CHECKING

from pygls.io_ import run_async

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

logger = logging.getLogger("switchboard.stdio")

STDIN_LIMIT = 64 * 1024 * 1024


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


async def _open_stdio() -> tuple[asyncio.StreamReader, PipeWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STDIN_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout.buffer
    )
    # drain() then waits until the client has read everything: see PipeWriter.pending_bytes.
    transport.set_write_buffer_limits(high=0)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, PipeWriter(writer)


async def _serve(server: LanguageServer) -> None:
    reader, writer = await _open_stdio()
    server._stop_event = stop = threading.Event()
    server.protocol.set_writer(writer)
    await run_async(
        stop_event=stop,
        reader=reader,
        protocol=server.protocol,
        logger=logger,
        error_handler=server.report_server_error,
    )


def serve_stdio(server: LanguageServer) -> None:
    try:
        asyncio.run(_serve(server))
    except ValueError:
        # stdin or stdout is not a pipe or socket (a file, say): pygls' own loop copes.
        server.start_io()
    except (BrokenPipeError, ConnectionResetError):
        logger.info("the client closed the connection")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
