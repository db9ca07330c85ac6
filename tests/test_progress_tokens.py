"""Work-done progress tokens the server creates are released when the chat ends.

Drives a real SwitchboardServer's pygls protocol: the server's
`window/workDoneProgress/create` requests go to a byte sink, and the
client's answers come back through `receive`, as from stdin.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lsprotocol import types as lsp
from switchboard.server.app import SwitchboardServer, create_server
from switchboard.server.handlers import _work_done

CHATS = 20


class Client:
    """The other end of the pipe: reads what the server writes, answers its requests."""

    def __init__(self, server: SwitchboardServer) -> None:
        self.server = server
        self.sent: list[dict[str, Any]] = []
        server.protocol.set_writer(self, include_headers=False)
        server.protocol.client_capabilities = lsp.ClientCapabilities(
            window=lsp.WindowClientCapabilities(work_done_progress=True)
        )

    def write(self, data: bytes) -> None:
        self.sent.append(json.loads(data))

    def close(self) -> None:
        pass

    def answer_creation(self) -> None:
        create = lsp.WINDOW_WORK_DONE_PROGRESS_CREATE
        request = next(m for m in reversed(self.sent) if m.get("method") == create)
        reply = {"jsonrpc": "2.0", "id": request["id"], "result": None}
        self.server.protocol.receive(json.dumps(reply).encode())

    def progress_kinds(self) -> list[str]:
        return [m["params"]["value"]["kind"] for m in self.sent if m.get("method") == "$/progress"]


async def test_tokens_do_not_accumulate_over_chats() -> None:
    server = create_server()
    client = Client(server)
    registry = server.work_done_progress.tokens
    for _ in range(CHATS):
        work = _work_done(server, None, "Switchboard: test")
        assert work is not None and work.creation is not None
        await asyncio.sleep(0)  # the create request goes out
        client.answer_creation()
        await work.creation
        assert len(registry) == 1  # registered while the chat runs
        work.report("5 tokens", force=True)
        work.end("done")
    assert registry == {}
    assert client.progress_kinds() == ["begin", "report", "end"] * CHATS


async def test_a_token_answered_after_the_chat_ended_is_released_too() -> None:
    server = create_server()
    client = Client(server)
    work = _work_done(server, None, "Switchboard: test")
    assert work is not None and work.creation is not None
    await asyncio.sleep(0)
    work.end("cancelled")  # before the client answered the create request
    client.answer_creation()
    await work.creation
    await asyncio.sleep(0)  # done callbacks run
    assert server.work_done_progress.tokens == {}
    assert client.progress_kinds() == []  # nothing begun, nothing to end


async def test_a_client_token_is_not_registered() -> None:
    server = create_server()
    client = Client(server)
    work = _work_done(server, "editor-token", "Switchboard: test")
    assert work is not None
    work.end("done")
    assert server.work_done_progress.tokens == {}
    assert client.progress_kinds() == ["begin", "end"]
