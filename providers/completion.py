"""Code completion: fill-in-the-middle where the model has it, a chat prompt where it has not.

The server hands a model id and a CompletionRequest (the text around the
cursor) to `Completer.complete`. A model whose adapter fills in the middle
(`has_fim`) gets its FIM endpoint; any other model gets the chat engine with
a prompt that asks for the middle only, and its answer is cleaned of fences,
of a repeated prefix and of a copy of the suffix (catalog/fim_prompt.py).
Both go through the shared transport with the chat's credentials and
authorization. In `line` mode the answer is cut at its first complete line
and the upstream connection is closed there and then, as it is when the
caller cancels.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Literal, cast

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    Cost,
    ErrorEvent,
    Message,
    QueuedEvent,
    RetryEvent,
    StopEvent,
    StopReason,
    TextEvent,
    Usage,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode

from .base import CompletionRequest, StreamDecoder
from .catalog.fim_prompt import chat_prompt, clean_middle, first_line
from .engine import ChatEngine, ProviderCall, error_code
from .errors import ProviderError
from .wire.http import HttpRequest

CompletionMode = Literal["line", "block"]
Route = Literal["fim", "chat"]
#: Why a completion ended: the model's stop reason, or "line" when line mode cut it short.
EndReason = StopReason | Literal["line"]


@dataclass(frozen=True)
class CompletionResult:
    text: str
    model: str
    route: Route
    end_reason: EndReason
    usage: Usage | None
    cost: Cost | None


class Completer:
    def __init__(self, engine: ChatEngine) -> None:
        self.engine = engine

    def route(self, model: str | None = None) -> Route:
        """How `complete` would serve this model (None: the engine's fast model)."""
        call = self._call(model)
        return "fim" if _fills_in(call) else "chat"

    async def complete(
        self,
        model: str | None,
        request: CompletionRequest,
        *,
        mode: CompletionMode = "block",
    ) -> CompletionResult:
        call = self._call(model)
        self.engine.check_budget()
        if _fills_in(call):
            return await self._fim(call, request, mode)
        return await self._chat(call, request, mode)

    def _call(self, model: str | None) -> ProviderCall:
        """The model's provider; its credential is looked up when a request is sent."""
        engine = self.engine
        target = engine.resolve(model or engine.fast_model())
        adapter = engine.adapter(target.provider, target.model)
        return ProviderCall(target, engine.settings(target.provider), adapter, None)

    # ---- fill-in-the-middle ------------------------------------------------------

    async def _fim(
        self, call: ProviderCall, request: CompletionRequest, mode: CompletionMode
    ) -> CompletionResult:
        engine, target, adapter, settings = self.engine, call.target, call.adapter, call.settings
        credential = engine.signed_in_credential(target.provider, settings, adapter)
        call = replace(call, credential=credential)

        def build() -> HttpRequest:
            http = adapter.fim_request(request, target, settings, credential)
            if http is None:
                raise ProviderError(
                    ErrorCode.UNSUPPORTED,
                    f"{target.id} has no fill-in-the-middle endpoint",
                    provider=target.provider,
                )
            return http

        text = _Text(mode)
        await engine.stream(
            call,
            build,
            lambda: cast(StreamDecoder, adapter.fim_decoder(target)),
            text.take,
            _ignore_retry,
        )
        if text.error is not None:
            raise ProviderError(
                error_code(text.error.code),
                f"{target.provider}: {text.error.message}",
                provider=target.provider,
            )
        usage = text.usage
        if usage is None or text.cut:
            usage = self._estimate(call, request.prefix + request.suffix, text.raw)
        return CompletionResult(
            text=text.result(),
            model=target.id,
            route="fim",
            end_reason="line" if text.cut else text.stop or "endTurn",
            usage=usage,
            cost=engine.cost(target, usage),
        )

    # ---- the chat fallback -------------------------------------------------------

    async def _chat(
        self, call: ProviderCall, request: CompletionRequest, mode: CompletionMode
    ) -> CompletionResult:
        engine, target = self.engine, call.target
        system, prompt = chat_prompt(request)
        params = ChatParams(
            model=target.id,
            system=system,
            messages=[Message(role="user", content=prompt)],
            max_tokens=request.max_tokens,
            temperature=request.temperature,
        )
        run = engine.prepare(params)
        raw: list[str] = []
        line_ready = asyncio.Event()

        def emit(event: ChatEvent) -> None:
            if isinstance(event, TextEvent):
                raw.append(event.text)
                if mode == "line" and first_line(clean_middle("".join(raw), request)):
                    line_ready.set()

        if mode == "block":
            result = await run.execute(emit)
            text = clean_middle("".join(raw), request)
            return CompletionResult(
                text, target.id, "chat", result.stop_reason, result.usage, result.cost
            )
        chat = asyncio.ensure_future(run.execute(emit))
        waiter = asyncio.ensure_future(line_ready.wait())
        try:
            await asyncio.wait((chat, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            cut = not chat.done()
            if cut:
                chat.cancel()  # closes the upstream connection where the stream waits
            await asyncio.gather(chat, return_exceptions=True)
        cleaned = clean_middle("".join(raw), request)
        line = first_line(cleaned)
        if not cut:
            result = chat.result()  # it ended by itself: its usage, or the error it raised
            text = cleaned if line is None else line
            reason: EndReason = result.stop_reason if line is None else "line"
            return CompletionResult(text, target.id, "chat", reason, result.usage, result.cost)
        usage = self._estimate(call, system + prompt, "".join(raw))
        return CompletionResult(
            line or cleaned, target.id, "chat", "line", usage, engine.cost(target, usage)
        )

    # ---- usage -----------------------------------------------------------------------

    def _estimate(self, call: ProviderCall, sent: str, received: str) -> Usage:
        """Local counts, for a provider that reports none or a stream cut short."""
        from .catalog.tokens import estimate_text

        kind, model = call.settings.kind, call.target.model
        return Usage(
            input_tokens=estimate_text(kind, model, sent).input_tokens,
            output_tokens=estimate_text(kind, model, received).input_tokens if received else 0,
            estimated=True,
        )


def _fills_in(call: ProviderCall) -> bool:
    return call.adapter.has_fim(call.target, call.settings)


class _Text:
    """What a FIM stream has said so far; `done` once line mode has its line."""

    def __init__(self, mode: CompletionMode) -> None:
        self._mode = mode
        self._parts: list[str] = []
        self.usage: Usage | None = None
        self.stop: StopReason | None = None
        self.error: ErrorEvent | None = None
        self.cut = False
        self.done = False

    @property
    def raw(self) -> str:
        return "".join(self._parts)

    def take(self, events: list[ChatEvent]) -> bool:
        """True once line mode has its line: the stream can stop there."""
        for event in events:
            if isinstance(event, TextEvent):
                self._parts.append(event.text)
                if self._mode == "line" and "\n" in event.text and first_line(self.raw):
                    self.cut = self.done = True
                    return True
            elif isinstance(event, UsageEvent):
                self.usage = event.as_usage()
            elif isinstance(event, StopEvent):
                self.stop = event.reason
                self.done = True
            elif isinstance(event, ErrorEvent):
                self.error = event
        return False

    def result(self) -> str:
        if self.cut:
            return first_line(self.raw) or ""
        return self.raw


def _ignore_retry(event: RetryEvent | QueuedEvent) -> None:
    pass
