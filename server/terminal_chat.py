"""`switchboard chat`: a terminal LSP client of `switchboard serve`.

It starts the server as a subprocess and goes through the real pipeline
(initialize, switchboard/chat with a partial-result token, $/progress),
printing text as it streams, then a line with tokens and cost. Ctrl-C sends
$/cancelRequest and keeps what had arrived.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

from . import __version__
from .converter import make_converter

CANCELLED = -32800


class _Printer:
    def __init__(self) -> None:
        self.thinking = False
        self.wrote = False

    def events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("type")
            if kind == "text":
                self._write(event["text"])
            elif kind == "thinking" and event.get("text"):
                self._write(event["text"], dim=True)
            elif kind == "toolUse":
                self._write(f"\n[tool call {event['name']} {event.get('input')}]\n")
            elif kind == "retry":
                print(f"\n(retrying in {event['delayMs']} ms: {event['reason']})", file=sys.stderr)
            elif kind == "error":
                print(f"\nerror: {event['code']}: {event['message']}", file=sys.stderr)

    def _write(self, text: str, dim: bool = False) -> None:
        tty = sys.stdout.isatty()
        sys.stdout.write(f"\x1b[2m{text}\x1b[0m" if dim and tty else text)
        sys.stdout.flush()
        self.wrote = True


def _summary(result: dict[str, Any]) -> str:
    usage = result.get("usage", {})
    cost = result.get("cost")
    price = f"${cost['totalUsd']:.6f}" if cost else "price unknown"
    return (
        f"{result.get('model')}: {usage.get('inputTokens', 0)} in, "
        f"{usage.get('outputTokens', 0)} out · {price}"
    )


async def _chat(
    prompt: str, model: str | None, system: str | None, max_tokens: int | None, config: str | None
) -> int:
    client = LanguageClient("switchboard-cli", __version__, converter_factory=make_converter)
    printer = _Printer()
    token = f"chat-{uuid.uuid4().hex[:8]}"

    @client.feature(lsp.PROGRESS)
    def on_progress(params: lsp.ProgressParams) -> None:
        value = params.value
        if params.token == token and isinstance(value, dict):
            printer.events(value.get("events", []))

    @client.feature(lsp.WINDOW_SHOW_MESSAGE)
    def on_message(params: lsp.ShowMessageParams) -> None:
        print(f"switchboard: {params.message}", file=sys.stderr)

    command = [sys.executable, "-m", "switchboard.server"]
    if config:
        command += ["--config", config]
    await client.start_io(*command, "serve")
    await client.initialize_async(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), process_id=None)
    )
    client.initialized(lsp.InitializedParams())
    params: dict[str, Any] = {
        "messages": [{"role": "user", "content": prompt}],
        "partialResultToken": token,
    }
    for key, value in (("model", model), ("system", system), ("maxTokens", max_tokens)):
        if value is not None:
            params[key] = value
    request_id = str(uuid.uuid4())
    request = asyncio.ensure_future(
        client.protocol.send_request_async("switchboard/chat", params, msg_id=request_id)
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(
        signal.SIGINT,
        lambda: client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id=request_id)),
    )
    code = 0
    try:
        result = await request
        if printer.wrote:
            print()
        print(_summary(result), file=sys.stderr)
    except JsonRpcException as error:
        if printer.wrote:
            print()
        if error.code == CANCELLED:
            print("(cancelled; what arrived is above)", file=sys.stderr)
            code = 130
        else:
            data = error.data if isinstance(error.data, dict) else {}
            print(f"error: {data.get('code', error.code)}: {error.message}", file=sys.stderr)
            if data.get("suggestion"):
                print(f"  {data['suggestion']}", file=sys.stderr)
            code = 1
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        try:
            await asyncio.wait_for(client.shutdown_async(None), 5)
            client.exit(None)
        except (TimeoutError, JsonRpcException):
            pass
        await client.stop()
    return code


def run_chat(
    prompt: str,
    *,
    model: str | None = None,
    system: str | None = None,
    max_tokens: int | None = None,
    config: str | None = None,
) -> int:
    return asyncio.run(_chat(prompt, model, system, max_tokens, config))
