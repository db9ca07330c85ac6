"""Runs a chat: resolve the model, build the request, stream, decode, price.

The one place where a provider's translator meets the transport. It knows
no wire format (the adapter does) and no LSP (the server does): it hands
each normalized event to `emit` as it arrives and returns the whole result.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ChatResult,
    Cost,
    RetryEvent,
    StartedEvent,
    StopEvent,
    Usage,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode

from .adapters import adapter_for, kinds, listed_kinds
from .auth.credential_store import CredentialStore
from .auth.credentials import credential_hint, find_credential
from .base import Adapter, Authenticator, Credential, ModelTarget, ProviderSettings
from .catalog.calibration import Calibration
from .catalog.counting import TokenCounter
from .catalog.directory import ModelDirectory
from .catalog.models import Catalog, closest_provider, parse_model_id
from .catalog.pricing import cost_of, reported_cost
from .catalog.shaping import answer_room, input_upper_bound, shape
from .config import Config
from .errors import ProviderError
from .wire.accumulator import ChatAccumulator
from .wire.framing import framer_for
from .wire.http import HttpRequest
from .wire.transport import Timeouts, Transport

Emit = Callable[[ChatEvent], None]
AUTH_TIMEOUTS = Timeouts(connect_s=10.0, read_s=30.0)


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
        model_cache_dir: Path | None = None,
        store: CredentialStore | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.config = config
        self.calibration = calibration or Calibration(None)
        self._background: set[asyncio.Future[None]] = set()
        self.transport = transport or Transport()
        self.catalog = catalog or Catalog.load()
        self._environ = environ
        self.store = store
        self._authenticators: dict[tuple[str, Credential | None], Authenticator | None] = {}
        self.models = ModelDirectory(self, model_cache_dir)
        self.counter = TokenCounter(self)

    def reconfigure(self, config: Config) -> None:
        self.config = config
        self._authenticators.clear()

    async def aclose(self) -> None:
        await self.settled()
        await self.transport.aclose()

    # ---- providers and models --------------------------------------------

    def provider_ids(self) -> list[str]:
        return sorted({*listed_kinds(), *self.config.providers})

    def settings(self, provider: str) -> ProviderSettings:
        configured = self.config.providers.get(provider)
        if configured is not None:
            return configured
        if provider in kinds():
            return ProviderSettings(id=provider, kind=provider)
        raise self.unknown_provider(provider)

    def adapter(self, provider: str, model: str | None = None) -> Adapter:
        """The provider's translator; for a model, the one its catalog `api` names."""
        kind = self.settings(provider).kind
        extras = self.catalog.entry_extras(kind, model) if model else None
        return adapter_for(kind, extras.api if extras else None)

    def base_url(self, provider: str) -> str:
        return self.settings(provider).base_url or self.adapter(provider).default_base_url

    def credential(self, provider: str) -> Credential | None:
        settings = self.settings(provider)
        adapter = self.adapter(provider)
        return find_credential(
            settings, adapter.api_key_envs, self._environ, store=self.store, adapter=adapter
        )

    def forget_credentials(self, provider: str) -> None:
        """A key was set or removed: drop cached tokens and what the model list learnt."""
        for key in [k for k in self._authenticators if k[0] == provider]:
            del self._authenticators[key]
        self.models.forget(provider)

    def authenticator(
        self, provider: str, adapter: Adapter, credential: Credential | None
    ) -> Authenticator | None:
        """One per provider and credential, so a cached token outlives the request."""
        key = (provider, credential)
        if key not in self._authenticators:
            settings = self.settings(provider)
            if settings.oauth is not None:
                self._authenticators[key] = self._oauth_authenticator(settings)
            else:
                self._authenticators[key] = adapter.authenticator(
                    settings, credential, self.environ
                )
        return self._authenticators[key]

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _oauth_authenticator(self, settings: ProviderSettings) -> Authenticator | None:
        """The stored tokens of a config-declared OAuth sign-in; None until signed in."""
        if settings.oauth is None or self.store is None:
            return None
        from .auth.oauth_tokens import OAuthAuthenticator

        authenticator = OAuthAuthenticator(settings.id, settings.oauth, self.store, self.environ)
        return authenticator if authenticator.signed_in else None

    async def authorize(
        self, provider: str, adapter: Adapter, credential: Credential | None, request: HttpRequest
    ) -> HttpRequest:
        authenticator = self.authenticator(provider, adapter, credential)
        if authenticator is None:
            return request
        return await authenticator.authorize(request, self._fetcher(provider, adapter))

    def _fetcher(self, provider: str, adapter: Adapter) -> Any:
        async def fetch_json(request: HttpRequest) -> Any:
            return await self.transport.fetch_json(
                request, provider=provider, parse_error=adapter.parse_error, timeouts=AUTH_TIMEOUTS
            )

        return fetch_json

    def has_credentials(self, provider: str) -> bool:
        """A key, a credential chain, or no need for either."""
        adapter = self.adapter(provider)
        credential = self.credential(provider)
        if self.settings(provider).oauth is not None:
            return self.authenticator(provider, adapter, credential) is not None
        if credential is not None or not adapter.api_key_envs:
            return True
        return self.authenticator(provider, adapter, credential) is not None

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

    def fast_model(self) -> str:
        return self.config.fast_model or self.catalog.default_fast_model()

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
        listed = self.models.listed(provider, name) is not None
        info = self.catalog.resolve(kind, name, quiet=listed)
        info = self.models.merge(provider, name, info).model_copy(
            update={"id": f"{provider}/{name}", "provider": provider}
        )
        return ModelTarget(provider=provider, model=name, info=info)

    def cost(self, target: ModelTarget, usage: Usage | None) -> Cost | None:
        """Usage at the catalog's rates, long-context tiers included; None when unpriced."""
        if usage is None:
            return None
        extras = self.catalog.entry_extras(self.settings(target.provider).kind, target.model)
        return reported_cost(
            usage, cost_of(usage, target.info.pricing, extras.tiers if extras else ())
        )

    def cost_before_sending(
        self, target: ModelTarget, input_tokens: int
    ) -> tuple[float | None, float | None]:
        """The input's cost, and the most the request could cost with the longest answer
        the model could write after this input; None where the model has no price."""
        input_only = self.cost(target, Usage(input_tokens=input_tokens))
        if input_only is None:
            return None, None
        longest = answer_room(target, input_tokens)
        whole = self.cost(target, Usage(input_tokens=input_tokens, output_tokens=longest))
        return input_only.total_usd, whole.total_usd if whole is not None else None

    # ---- chat --------------------------------------------------------------

    def prepare(self, params: ChatParams) -> ChatRun:
        """Resolve the model and its credential; the run then streams with `execute`."""
        target = self.resolve(params.model)
        settings = self.settings(target.provider)
        adapter = self.adapter(target.provider, target.model)
        credential = self.credential(target.provider)
        authenticator = self.authenticator(target.provider, adapter, credential)
        if authenticator is None and settings.oauth is not None:
            raise ProviderError(
                ErrorCode.AUTHENTICATION_FAILED,
                f"not signed in to {target.provider}",
                provider=target.provider,
                suggestion=f"sign in: switchboard login {target.provider}",
            )
        if credential is None and authenticator is None and adapter.api_key_envs:
            raise ProviderError(
                ErrorCode.AUTHENTICATION_FAILED,
                f"no credential for {target.provider}",
                provider=target.provider,
                suggestion=(
                    f"sign in with `switchboard login {target.provider}`, "
                    f"or set {credential_hint(settings, adapter.api_key_envs)}"
                ),
            )
        estimate = InputEstimate(self, params, target)
        shaped = shape(params, target, adapter, estimate.calibrated, input_upper_bound(params))
        return ChatRun(
            self, shaped.params, target, settings, adapter, credential, shaped.warnings, estimate
        )

    def calibrate_later(self, estimate: InputEstimate, reported: int) -> None:
        """Compare the local estimate with the billed input, off the event loop."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, estimate.record, reported)
        self._background.add(future)
        future.add_done_callback(self._background.discard)

    async def settled(self) -> None:
        """Wait for background calibration (tests, shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def chat(self, params: ChatParams, emit: Emit) -> ChatResult:
        return await self.prepare(params).execute(emit)


class ChatRun:
    """One chat: started goes out once and first, every event is accumulated once.

    What arrived stays readable through `partial()` whatever ends the run,
    a failure or a cancellation.
    """

    def __init__(
        self,
        engine: ChatEngine,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        adapter: Adapter,
        credential: Credential | None,
        warnings: tuple[str, ...] = (),
        estimate: InputEstimate | None = None,
    ) -> None:
        self._engine = engine
        self._params = params
        self._warnings = list(warnings)
        self._estimate = estimate
        self.target = target
        self._settings = settings
        self._adapter = adapter
        self._credential = credential
        self.accumulator = ChatAccumulator(f"sb-{uuid.uuid4().hex[:24]}", target.id)
        self._emit: Emit = _ignore
        self._started = False
        self._stop: StopEvent | None = None

    async def execute(self, emit: Emit) -> ChatResult:
        self._emit = emit
        target = self.target
        try:
            await self._stream(reauthorized=False)
        except ProviderError as error:
            self._release_stop()
            raise ChatFailed(error, self.partial()) from None
        error_event = self.accumulator.error
        if error_event is not None:
            failure = ProviderError(
                _error_code(error_event.code),
                f"{target.provider}: {error_event.message}",
                provider=target.provider,
            )
            self._release_stop()
            raise ChatFailed(failure, self.partial())
        warnings = list(self._warnings)
        if self.accumulator.usage is None:
            self._deliver([self._estimated_usage()])
            warnings.append(f"{target.provider} reported no usage: tokens were counted locally")
        elif self._estimate is not None and self.accumulator.usage.input_tokens:
            self._engine.calibrate_later(self._estimate, self.accumulator.usage.input_tokens)
        self._release_stop()
        cost = self._engine.cost(target, self.accumulator.usage)
        return self.accumulator.result(cost, warnings)

    def _estimated_usage(self) -> UsageEvent:
        """Local counts for a provider that sends no usage (some local servers)."""
        from .catalog.tokens import count_messages, count_text

        kind, model, params = self._settings.kind, self.target.model, self._params
        counted_in = count_messages(kind, model, params.messages, params.system, params.tools)
        output = self.accumulator.output_text()
        counted_out = count_text(kind, model, output) if output else None
        return UsageEvent(
            input_tokens=counted_in.input_tokens,
            output_tokens=counted_out.input_tokens if counted_out else 0,
            estimated=True,
        )

    async def _stream(self, *, reauthorized: bool) -> None:
        adapter, target, settings = self._adapter, self.target, self._settings
        engine = self._engine
        request = adapter.build_request(self._params, target, settings, self._credential)
        request = await engine.authorize(target.provider, adapter, self._credential, request)
        decoder = adapter.decoder(target)
        framer = framer_for(adapter.framing)
        timeouts = Timeouts(read_s=settings.timeout_s) if settings.timeout_s else Timeouts()
        received = False
        try:
            async for chunk in engine.transport.stream(
                request,
                provider=target.provider,
                parse_error=adapter.parse_error,
                timeouts=timeouts,
            ):
                if isinstance(chunk, RetryEvent):
                    self._emit(chunk)
                    continue
                received = True
                for wire_event in framer.feed(chunk):
                    self._deliver(decoder.feed(wire_event))
        except ProviderError as error:
            authenticator = engine.authenticator(target.provider, adapter, self._credential)
            expired = error.code == ErrorCode.AUTHENTICATION_FAILED and not received
            if authenticator is None or not expired or reauthorized:
                raise
            # A token can expire between two requests: fetch a fresh one, once.
            authenticator.invalidate()
            await self._stream(reauthorized=True)
            return
        for wire_event in framer.close():
            self._deliver(decoder.feed(wire_event))
        self._deliver(decoder.close())

    def partial(self) -> ChatResult | None:
        if not self.accumulator.has_content:
            return None
        return self.accumulator.result(self._engine.cost(self.target, self.accumulator.usage))

    def _deliver(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, StartedEvent):
                self.accumulator.add(event)
                self._start()
                continue
            self._start()
            self.accumulator.add(event)
            if isinstance(event, StopEvent):
                # Held back: a usage event the engine adds (a local estimate) goes before it.
                self._stop = event
                continue
            self._emit(event)

    def _release_stop(self) -> None:
        if self._stop is not None:
            stop, self._stop = self._stop, None
            self._emit(stop)

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self._emit(StartedEvent(id=self.accumulator.id, model=self.accumulator.model))


def _ignore(event: ChatEvent) -> None:
    pass


def _error_code(code: str) -> ErrorCode:
    try:
        return ErrorCode(code)
    except ValueError:
        return ErrorCode.PROVIDER_UNAVAILABLE


class InputEstimate:
    """The local estimate of one request's input tokens, computed at most once."""

    def __init__(self, engine: ChatEngine, params: ChatParams, target: ModelTarget) -> None:
        self._engine = engine
        self._params = params
        self._target = target
        self._raw: int | None = None

    def raw(self) -> int:
        if self._raw is None:
            from .catalog.tokens import count_messages

            params, target = self._params, self._target
            kind = self._engine.settings(target.provider).kind
            counted = count_messages(
                kind, target.model, params.messages, system=params.system, tools=params.tools
            )
            self._raw = counted.input_tokens
        return self._raw

    def calibrated(self) -> int:
        return self._engine.calibration.apply(self._target.id, self.raw())

    def record(self, reported: int) -> None:
        self._engine.calibration.record(self._target.id, self.raw(), reported)
