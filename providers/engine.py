"""Runs a chat: resolve the model, build the request, stream, decode, price.

The one place where a provider's translator meets the transport. It knows
no wire format (the adapter does) and no LSP (the server does): it hands
each normalized event to `emit` as it arrives and returns the whole result.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ChatResult,
    Cost,
    RetryEvent,
    StartedEvent,
    Usage,
)
from switchboard.protocol.errors import ErrorCode

from .accumulator import ChatAccumulator
from .adapters import adapter_for, kinds
from .base import Adapter, Credential, ModelTarget, ProviderSettings
from .catalog import Catalog, closest_provider, parse_model_id
from .config import Config
from .credentials import credential_hint, find_credential
from .errors import ProviderError
from .pricing import cost_of
from .sse import SSEDecoder
from .transport import Timeouts, Transport

Emit = Callable[[ChatEvent], None]


class ChatFailed(ProviderError):
    """A chat that failed after it started; `partial` keeps what had arrived."""

    def __init__(self, error: ProviderError, partial: ChatResult | None) -> None:
        super().__init__(
            error.code,
            error.message,
            provider=error.provider,
            status=error.status,
            retry_after_ms=error.retry_after_ms,
            suggestion=error.suggestion,
            supported=error.supported,
        )
        self.partial = partial


class ChatEngine:
    def __init__(
        self,
        config: Config,
        *,
        transport: Transport | None = None,
        catalog: Catalog | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.transport = transport or Transport()
        self.catalog = catalog or Catalog.load()
        self._environ = environ

    def reconfigure(self, config: Config) -> None:
        self.config = config

    async def aclose(self) -> None:
        await self.transport.aclose()

    # ---- providers and models --------------------------------------------

    def provider_ids(self) -> list[str]:
        return sorted({*kinds(), *self.config.providers})

    def settings(self, provider: str) -> ProviderSettings:
        configured = self.config.providers.get(provider)
        if configured is not None:
            return configured
        if provider in kinds():
            return ProviderSettings(id=provider, kind=provider)
        raise self.unknown_provider(provider)

    def adapter(self, provider: str) -> Adapter:
        return adapter_for(self.settings(provider).kind)

    def base_url(self, provider: str) -> str:
        return self.settings(provider).base_url or self.adapter(provider).default_base_url

    def credential(self, provider: str) -> Credential | None:
        settings = self.settings(provider)
        return find_credential(settings, self.adapter(provider).api_key_envs, self._environ)

    def unknown_provider(self, provider: str) -> ProviderError:
        known = self.provider_ids()
        closest = closest_provider(provider, known)
        hint = f"did you mean '{closest}'?" if closest else f"use one of: {', '.join(known)}"
        return ProviderError(
            ErrorCode.UNKNOWN_PROVIDER,
            f"unknown provider '{provider}': {hint}",
            provider=provider,
            suggestion=closest,
            supported=known,
        )

    def default_model(self) -> str:
        return self.config.default_model or self.catalog.default_model()

    def resolve(self, model: str | None) -> ModelTarget:
        wanted = model or self.default_model()
        try:
            provider, name = parse_model_id(wanted)
        except ValueError:
            raise ProviderError(
                ErrorCode.UNKNOWN_MODEL,
                f"model '{wanted}' is not of the form provider/model",
                suggestion=f"for example '{self.default_model()}'",
            ) from None
        if provider not in self.provider_ids():
            raise self.unknown_provider(provider)
        kind = self.settings(provider).kind
        info = self.catalog.resolve(kind, name).model_copy(
            update={"id": f"{provider}/{name}", "provider": provider}
        )
        return ModelTarget(provider=provider, model=name, info=info)

    def cost(self, target: ModelTarget, usage: Usage | None) -> Cost | None:
        """Usage at the catalog's rates, long-context tiers included; None when unpriced."""
        if usage is None:
            return None
        extras = self.catalog.entry_extras(self.settings(target.provider).kind, target.model)
        return cost_of(usage, target.info.pricing, extras.tiers if extras else ())

    # ---- chat --------------------------------------------------------------

    async def chat(self, params: ChatParams, emit: Emit) -> ChatResult:
        target = self.resolve(params.model)
        settings = self.settings(target.provider)
        adapter = adapter_for(settings.kind)
        credential = self.credential(target.provider)
        if credential is None and adapter.api_key_envs:
            raise ProviderError(
                ErrorCode.AUTHENTICATION_FAILED,
                f"no credential for {target.provider}",
                provider=target.provider,
                suggestion=f"set {credential_hint(settings, adapter.api_key_envs)}",
            )
        request = adapter.build_request(params, target, settings, credential)
        accumulator = ChatAccumulator(f"sb-{uuid.uuid4().hex[:24]}", target.id)
        run = _Run(accumulator, emit, lambda usage: self.cost(target, usage))
        decoder = adapter.decoder(target)
        framer = SSEDecoder()
        timeouts = Timeouts(read_s=settings.timeout_s) if settings.timeout_s else Timeouts()
        try:
            async for chunk in self.transport.stream(
                request,
                provider=target.provider,
                parse_error=adapter.parse_error,
                timeouts=timeouts,
            ):
                if isinstance(chunk, RetryEvent):
                    emit(chunk)
                    continue
                for wire_event in framer.feed(chunk):
                    run.deliver(decoder.feed(wire_event))
            for wire_event in framer.close():
                run.deliver(decoder.feed(wire_event))
            run.deliver(decoder.close())
        except ProviderError as error:
            raise ChatFailed(error, run.partial()) from None
        if accumulator.error is not None:
            failure = ProviderError(
                _error_code(accumulator.error.code),
                f"{target.provider}: {accumulator.error.message}",
                provider=target.provider,
            )
            raise ChatFailed(failure, run.partial())
        return accumulator.result(self.cost(target, accumulator.usage))


class _Run:
    """One chat's event flow: started goes out once and first, everything is accumulated."""

    def __init__(
        self, accumulator: ChatAccumulator, emit: Emit, price: Callable[[Usage | None], Cost | None]
    ) -> None:
        self.accumulator = accumulator
        self.emit = emit
        self.price = price
        self.started = False

    def deliver(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, StartedEvent):
                self.accumulator.add(event)
                self._start()
                continue
            self._start()
            self.accumulator.add(event)
            self.emit(event)

    def _start(self) -> None:
        if not self.started:
            self.started = True
            self.emit(StartedEvent(id=self.accumulator.id, model=self.accumulator.model))

    def partial(self) -> ChatResult | None:
        if not self.accumulator.has_content:
            return None
        return self.accumulator.result(self.price(self.accumulator.usage))


def _error_code(code: str) -> ErrorCode:
    try:
        return ErrorCode(code)
    except ValueError:
        return ErrorCode.PROVIDER_UNAVAILABLE
