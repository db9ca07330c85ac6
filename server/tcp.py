"""Serve LSP over TCP (`switchboard serve --tcp HOST:PORT`), framed like stdio.

One client: the server ends when its connection closes, as pygls's own TCP server does.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, cast

from .framing import serve_frames
from .stdio import STDIN_LIMIT, PipeWriter

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from .protocol import SwitchboardProtocol

logger = logging.getLogger("switchboard.tcp")


async def _serve(server: LanguageServer, host: str, port: int) -> None:
    protocol = cast("SwitchboardProtocol", server.protocol)
    server._stop_event = stop = threading.Event()
    finished = asyncio.Event()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        logger.info("a client connected")
        writer.transport.set_write_buffer_limits(high=0)  # see PipeWriter.pending_bytes
        protocol.set_writer(PipeWriter(writer))
        try:
            await serve_frames(reader, protocol.receive, stop)
        finally:
            finished.set()

    listening = await asyncio.start_server(connected, host, port, limit=STDIN_LIMIT)
    logger.info("listening on %s:%s", host, port)
    async with listening:
        await finished.wait()


def serve_tcp(server: LanguageServer, host: str, port: int) -> None:
    try:
        asyncio.run(_serve(server, host, port))
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
