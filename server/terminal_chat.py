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
from switchboard.protocol.methods import NOTIFICATIONS

from . import __version__
from .converter import make_converter
from .terminal_text import StreamEscaper, printable

CANCELLED = -32800


def _note(text: str) -> None:
    """A line of ours on stderr; what it quotes came from a provider, so it is escaped."""
    print(printable(text), file=sys.stderr)


class _Printer:
    """Streams the answer to stdout, every piece escaped (see terminal_text)."""

    def __init__(self) -> None:
        self.wrote = False
        self._escaper = StreamEscaper()
        self._dim = False

    def events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("type")
            if kind == "text":
                self._write(str(event.get("text", "")))
            elif kind == "thinking" and event.get("text"):
                self._write(str(event["text"]), dim=True)
            elif kind == "toolUse":
                self._write(f"\n[tool call {event.get('name')} {event.get('input')}]\n")
            elif kind == "retry":
                _note(
                    f"{self._break()}(retrying in {event.get('delayMs')} ms: {event.get('reason')})"
                )
            elif kind == "error":
                _note(f"{self._break()}error: {event.get('code')}: {event.get('message')}")

    def _break(self) -> str:
        """A note on stderr starts on a line of its own once the answer has begun."""
        return "\n" if self.wrote else ""

    def _write(self, text: str, dim: bool = False) -> None:
        if dim != self._dim:
            self._emit(self._escaper.flush(), self._dim)
            self._dim = dim
        self._emit(self._escaper.feed(text), dim)

    def finish(self) -> None:
        self._emit(self._escaper.flush(), self._dim)

    def _emit(self, text: str, dim: bool) -> None:
        if not text:
            return
        styled = dim and sys.stdout.isatty()
        sys.stdout.write(f"\x1b[2m{text}\x1b[0m" if styled else text)
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


def _ignore(params: Any) -> None:
    pass


async def _chat(
    prompt: str,
    model: str | None,
    system: str | None,
    max_tokens: int | None,
    config: str | None,
    verbose: bool,
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
        _note(f"switchboard: {params.message}")

    @client.feature(lsp.WINDOW_LOG_MESSAGE)
    def on_log(params: lsp.LogMessageParams) -> None:
        if verbose:
            _note(f"switchboard log: {params.message}")

    for notification in NOTIFICATIONS:  # usageChanged: the summary line says it at the end
        client.feature(notification.name)(_ignore)

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
        printer.finish()
        if printer.wrote:
            print()
        _note(_summary(result))
    except JsonRpcException as error:
        printer.finish()
        if printer.wrote:
            print()
        if error.code == CANCELLED:
            print("(cancelled; what arrived is above)", file=sys.stderr)
            code = 130
        else:
            data = error.data if isinstance(error.data, dict) else {}
            _note(f"error: {data.get('code', error.code)}: {error.message}")
            if data.get("suggestion"):
                _note(f"  {data['suggestion']}")
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
    verbose: bool = False,
) -> int:
    return asyncio.run(_chat(prompt, model, system, max_tokens, config, verbose))
