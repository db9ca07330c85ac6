"""Runs a chat: resolve the model, build the request, stream, decode, price.

The one place where a provider's translator meets the transport. It knows
no wire format (the adapter does) and no LSP (the server does): it hands
each normalized event to `emit` as it arrives and returns the whole result.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ChatResult,
    Cost,
    ErrorEvent,
    Message,
    RetryEvent,
    StartedEvent,
    StopEvent,
    TextPart,
    ThinkingPart,
    ToolUseJsonParseErrorEvent,
    Usage,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode, ErrorData
from switchboard.protocol.validation import InvalidParams

from .adapters import adapter_for, kinds, listed_kinds
from .adapters.plugins import PluginProvider, registry_for
from .auth.credential_chains import chain_found
from .auth.credential_store import CredentialStore
from .auth.credentials import credential_hint, find_credential
from .auth.redact import redact
from .base import (
    Adapter,
    Authenticator,
    Credential,
    ModelTarget,
    ProviderSettings,
    StreamDecoder,
)
from .catalog.calibration import Calibration
from .catalog.capability_check import check_capabilities
from .catalog.cost_guard import check_max_cost, check_session_budget
from .catalog.counting import TokenCounter
from .catalog.directory import ModelDirectory
from .catalog.model_choice import (
    PROVIDER_ALIASES,
    ModelChoice,
    ProviderLookup,
    canonical_provider,
    choose_model,
)
from .catalog.models import Catalog, MalformedModelId, closest_provider, parse_model_id
from .catalog.pricing import cost_of, cost_sum, reported_cost, usage_sum
from .catalog.shaping import answer_room, input_upper_bound, shape
from .config import Config
from .errors import ProviderError
from .wire.accumulator import ChatAccumulator
from .wire.framing import framer_for
from .wire.http import HttpRequest
from .wire.transport import DEFAULT_MAX_CONNECTIONS, Timeouts, Transport, Waiting

log = logging.getLogger("switchboard.models")

Emit = Callable[[ChatEvent], None]
#: for APIs without prefill: the partial answer goes as the assistant's turn, then this
CONTINUE_INSTRUCTION = (
    "Your previous answer was cut off. Continue it exactly where it stopped, "
    "without repeating anything and without any preamble."
)
AUTH_TIMEOUTS = Timeouts(connect_s=10.0, headers_s=30.0, stall_s=30.0, total_s=60.0)


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
        self._failure = error

    def data(self) -> ErrorData:
        """The error's data with the answer so far, so a client that streamed nothing
        (no partialResultToken) loses nothing."""
        data = self._failure.data()  # every field of the failure, whoever adds one
        data.partial = self.partial
        return data


@dataclass(frozen=True)
class ProviderCall:
    """One request's provider, resolved once: target, settings, translator, credential."""

    target: ModelTarget
    settings: ProviderSettings
    adapter: Adapter
    credential: Credential | None
    #: a chat's `timeout`, and the event-loop time by which the whole call must be done
    timeout_s: float | None = None
    deadline: float | None = None

    def timeouts(self) -> Timeouts:
        """The provider's limits, and the request's own timeout from the call's start."""
        limits = stream_timeouts(self.settings)
        if self.timeout_s is None:
            return limits
        return replace(limits, request_s=self.timeout_s, request_deadline=self.deadline)


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
        session_spent: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        #: USD the session has spent so far, for `session_budget_usd` (the server's ledger)
        self.session_spent = session_spent or _nothing_spent
        self._noted_choices: set[str] = set()
        self.calibration = calibration or Calibration(None)
        self._background: set[asyncio.Future[None]] = set()
        self.transport = transport or Transport()
        self._catalog = catalog or Catalog.load()
        #: providers that plugins add; read on the first need of one that is not built in
        self.plugins = registry_for(config.plugins_dir)
        self._environ = environ
        self.store = store
        self._authenticators: dict[tuple[str, Credential | None], Authenticator | None] = {}
        self.models = ModelDirectory(self, model_cache_dir)
        self.counter = TokenCounter(self)

    def reconfigure(self, config: Config) -> None:
        self.config = config
        self.plugins = registry_for(config.plugins_dir)
        self._authenticators.clear()

    async def aclose(self) -> None:
        await self.settled()
        await self.transport.aclose()

    # ---- providers and models --------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The packaged catalog, with the plugins' models once a plugin was asked for."""
        return self.plugins.catalog_over(self._catalog)

    @catalog.setter
    def catalog(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def provider_ids(self) -> list[str]:
        """Every provider: built in, configured, and added by plugins (read afresh)."""
        added = [p.id for p in self.plugins.providers().values() if p.listed]
        return sorted({*listed_kinds(), *added, *self.config.providers})

    def knows(self, provider: str) -> bool:
        """Whether `provider` exists; plugins are read (afresh) only for a kind not built in."""
        configured = self.config.providers.get(provider)
        kind = configured.kind if configured is not None else provider
        if kind in kinds():
            return configured is not None or kind in listed_kinds()
        plugin = self.plugins.providers().get(kind)
        return plugin is not None and (configured is not None or plugin.listed)

    def plugin(self, provider: str) -> PluginProvider | None:
        """The plugin behind a provider, as last read; None for a built-in kind."""
        kind = self.settings(provider).kind
        return None if kind in kinds() else self.plugins.known().get(kind)

    def settings(self, provider: str) -> ProviderSettings:
        configured = self.config.providers.get(provider)
        if configured is not None:
            return configured
        if provider in kinds():
            return ProviderSettings(id=provider, kind=provider)
        plugin = self.plugins.known().get(provider)
        if plugin is not None and plugin.listed:
            return ProviderSettings(id=provider, kind=provider)
        raise self.unknown_provider(provider)

    def adapter(self, provider: str, model: str | None = None) -> Adapter:
        """The provider's translator; for a model, the one its catalog `api` names."""
        kind = self.settings(provider).kind
        if kind not in kinds():
            plugin = self.plugins.known().get(kind)
            if plugin is None:
                raise ProviderError(
                    ErrorCode.UNKNOWN_PROVIDER,
                    f"{provider}: its provider plugin '{kind}' is gone or broken "
                    "(switchboard doctor shows why)",
                    provider=provider,
                )
            return plugin.adapter
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
        if credential is not None:
            return True
        try:
            authenticator = self.authenticator(provider, adapter, credential)
        except ProviderError:  # a bad option in its table: the chat says which
            return False
        if authenticator is None:
            return not adapter.api_key_envs
        return chain_found(authenticator)  # AWS, Google: found on this machine, or not

    def provider_id(self, name: str) -> str:
        """The provider a name or alias (`google`, `grok`, `claude`) stands for;
        unknownProvider, with the closest name, when there is none."""
        known = self.provider_ids()  # reads the plugins folder: once
        provider = canonical_provider(name, known)
        if provider not in known:
            raise self.unknown_provider(name)
        return provider

    def unknown_provider(self, provider: str) -> ProviderError:
        known = self.provider_ids()
        closest = closest_provider(provider, [*known, *PROVIDER_ALIASES])
        hint = f"did you mean '{closest}'?" if closest else f"use one of: {', '.join(known)}"
        return ProviderError(
            ErrorCode.UNKNOWN_PROVIDER,
            f"unknown provider '{provider}': {hint}",
            provider=provider,
            suggestion=closest,
            supported=known,
        )

    def warm_up(self) -> None:
        """Load, while the server is idle, what a first chat would otherwise load on its path:
        httpx and the pooled client with its TLS context, the catalog, and the translator of
        the default model's provider."""
        self.transport.client()
        # httpcore imports its asyncio backend (anyio's) only when a first request waits.
        for backend in ("anyio._backends._asyncio", "httpcore._backends.anyio"):
            importlib.import_module(backend)
        try:
            target = self.resolve(None)
            self.adapter(target.provider, target.model)
        except ProviderError as error:
            log.debug("warm-up: %s", error.message)
        for provider in self.config.providers:  # each on its own: one broken one spoils none
            try:
                self.models.listing(provider)  # imports its translator too
            except ProviderError as error:
                log.debug("warm-up: %s", error.message)

    async def rehearse(self) -> None:
        """After `warm_up`, on the event loop: one request through the shared client to a
        loopback listener of this process, so that the first chat finds httpx's request path
        as ready as later ones do. No provider is contacted."""
        try:
            if await self.transport.rehearse() is None:
                log.debug("rehearsal: skipped, an HTTP proxy is configured")
        except Exception as error:  # a warm-up, never a failure of the server
            log.debug("rehearsal: %s: %s", type(error).__name__, error)

    def default_model(self) -> str:
        return self.config.default_model or self.catalog.default_model()

    def fast_model(self) -> str:
        return self.config.fast_model or self.catalog.default_fast_model()

    def choose_model(self, model: str | None) -> ModelChoice:
        """The `provider/model` a request means: an alias's provider, a bare name's first
        provider with credentials (logged as a warning once, and noted for the result)."""
        wanted = model or self.default_model()
        lookup = ProviderLookup(
            provider_ids=KnownProviders(self),
            kind_of=lambda provider: self.settings(provider).kind,
            has_credentials=self.has_credentials,
            lists_model=lambda provider, name: self.models.listed(provider, name) is not None,
        )
        try:
            choice = choose_model(wanted, self.catalog, lookup)
        except MalformedModelId as error:
            raise InvalidParams(redact(f"invalid params: model: {error}"), "model") from None
        if choice.note and choice.note not in self._noted_choices:
            self._noted_choices.add(choice.note)
            log.warning("%s", choice.note)
        return choice

    def resolve(self, model: str | None) -> ModelTarget:
        return self.target(self.choose_model(model).model_id)

    def target(self, model_id: str) -> ModelTarget:
        """A `provider/model` id's provider, wire name and catalog entry."""
        wanted = model_id
        try:
            provider, name = parse_model_id(wanted)
        except MalformedModelId as error:
            raise InvalidParams(redact(f"invalid params: model: {error}"), "model") from None
        except ValueError:
            raise ProviderError(
                ErrorCode.UNKNOWN_MODEL,
                f"model '{wanted}' is not of the form provider/model",
                suggestion=f"for example '{self.default_model()}'",
            ) from None
        if not self.knows(provider):
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

    def signed_in_credential(
        self, provider: str, settings: ProviderSettings, adapter: Adapter
    ) -> Credential | None:
        """The provider's credential, or a clear refusal when the user must sign in first."""
        credential = self.credential(provider)
        authenticator = self.authenticator(provider, adapter, credential)
        if authenticator is None and settings.oauth is not None:
            raise ProviderError(
                ErrorCode.AUTHENTICATION_FAILED,
                f"not signed in to {provider}",
                provider=provider,
                suggestion=f"sign in: switchboard login {provider}",
            )
        if credential is None and authenticator is None and adapter.api_key_envs:
            raise ProviderError(
                ErrorCode.AUTHENTICATION_FAILED,
                f"no credential for {provider}",
                provider=provider,
                suggestion=(
                    f"sign in with `switchboard login {provider}`, "
                    f"or set {credential_hint(settings, adapter.api_key_envs)}"
                ),
            )
        return credential

    async def stream(
        self,
        call: ProviderCall,
        build: Callable[[], HttpRequest],
        new_decoder: Callable[[], StreamDecoder],
        deliver: Callable[[list[ChatEvent]], bool | None],
        on_retry: Callable[[Waiting], None],
    ) -> None:
        """Send one request and hand each batch of decoded events to `deliver`, until the
        body ends or `deliver` returns True: the connection is then closed at once.
        A wait (a retry, a queue for a free connection) goes to `on_retry`.

        A token can expire between two requests: a 401 before any byte fetches a fresh
        one and sends again, once.
        """
        target, adapter, credential = call.target, call.adapter, call.credential
        for attempt in (1, 2):
            request = await self.authorize(target.provider, adapter, credential, build())
            decoder = new_decoder()
            framer = framer_for(adapter.framing)
            received = False
            chunks = self.transport.stream(
                request,
                provider=target.provider,
                parse_error=adapter.parse_error,
                timeouts=call.timeouts(),
                max_connections=call.settings.max_connections or DEFAULT_MAX_CONNECTIONS,
            )
            try:
                async with aclosing(chunks):
                    async for chunk in chunks:
                        if not isinstance(chunk, bytes):
                            on_retry(without_secrets(chunk))
                            continue
                        received = True
                        for wire_event in framer.feed(chunk):
                            if deliver(decoder.feed(wire_event)):
                                return
            except ProviderError as error:
                authenticator = self.authenticator(target.provider, adapter, credential)
                expired = error.code == ErrorCode.AUTHENTICATION_FAILED and not received
                if authenticator is None or not expired or attempt == 2:
                    raise
                authenticator.invalidate()
                continue
            for wire_event in framer.close():
                deliver(decoder.feed(wire_event))
            deliver(decoder.close())
            return

    # ---- chat --------------------------------------------------------------

    def prepare(self, params: ChatParams, *, continuing: ChatResult | None = None) -> ChatRun:
        """Resolve the model and its credential; the run then streams with `execute`.

        `continuing`: the partial answer of an interrupted call, which the run asks the
        provider to continue; its result is that partial plus the continuation.
        """
        choice = self.choose_model(params.model)
        target = self.target(choice.model_id)
        settings = self.settings(target.provider)
        adapter = self.adapter(target.provider, target.model)
        check_capabilities(params, target, self.models.listed(target.provider, target.model))
        self.check_budget()
        params = self.with_default_temperature(params, settings)
        before: Continued | None = None
        if continuing is not None:
            before = Continued(continuing, self._first_call_usage(params, target, continuing))
            params = continuation_params(
                params, continuing, adapter.accepts_prefill(params, target)
            )
        credential = self.signed_in_credential(target.provider, settings, adapter)
        estimate = InputEstimate(self, params, target)
        shaped = shape(params, target, adapter, estimate.calibrated, input_upper_bound(params))
        warnings = [choice.note] if choice.note else []
        warnings += shaped.warnings
        if (unchecked := self._guarded(params, target, shaped.params, estimate)) is not None:
            warnings.append(unchecked)
        return ChatRun(
            self,
            shaped.params,
            target,
            settings,
            adapter,
            credential,
            tuple(warnings),
            estimate,
            before=before,
        )

    def check_budget(self) -> None:
        """Refuse any request once the session has spent its `session_budget_usd`."""
        check_session_budget(self.config.session_budget_usd, self.session_spent())

    def _guarded(
        self,
        params: ChatParams,
        target: ModelTarget,
        shaped_params: ChatParams,
        estimate: InputEstimate,
    ) -> str | None:
        """Refuse, before sending, a request whose worst case is over its maxCostUsd;
        a warning when that could not be checked (the model has no price)."""
        if params.max_cost_usd is None:
            return None

        def price_of(input_tokens: int, output_tokens: int) -> float | None:
            usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
            cost = self.cost(target, usage)
            return cost.total_usd if cost is not None else None

        longest = shaped_params.max_tokens or answer_room(target, input_upper_bound(params))
        return check_max_cost(
            target,
            params.max_cost_usd,
            price_of,
            longest,
            input_upper_bound(params),
            estimate.calibrated,
        )

    def with_default_temperature(
        self, params: ChatParams, settings: ProviderSettings
    ) -> ChatParams:
        """A chat that names no temperature gets the provider's `default_temperature`,
        else the config's; with neither, the provider's own default applies."""
        if params.temperature is not None:
            return params
        default = settings.default_temperature
        if default is None:
            default = self.config.default_temperature
        if default is None:
            return params
        return params.model_copy(update={"temperature": default})

    def _first_call_usage(
        self, params: ChatParams, target: ModelTarget, partial: ChatResult
    ) -> Usage:
        """The interrupted call's usage; counted locally when it never arrived."""
        usage = partial.usage
        if usage.input_tokens or usage.output_tokens:
            return usage
        output = "".join(
            part.text for part in partial.content if isinstance(part, TextPart | ThinkingPart)
        )
        return estimated_usage(self.settings(target.provider).kind, target.model, params, output)

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
        *,
        before: Continued | None = None,
    ) -> None:
        self._engine = engine
        self._params = params
        self._warnings = list(warnings)
        self._estimate = estimate
        self.target = target
        self._settings = settings
        self._adapter = adapter
        self._credential = credential
        self._before = before
        call_id = before.partial.id if before else f"sb-{uuid.uuid4().hex[:24]}"
        self.accumulator = ChatAccumulator(call_id, target.id)
        self._emit: Emit = _ignore
        self._started = False
        self._stop: StopEvent | None = None
        self._decoder: StreamDecoder | None = None

    async def execute(self, emit: Emit) -> ChatResult:
        self._emit = emit if self._before is None else self._before.forwarding(emit)
        target = self.target
        try:
            await self._stream()
        except ProviderError as error:
            self._release_stop()
            raise ChatFailed(error, self.partial()) from None
        error_event = self.accumulator.error
        if error_event is not None:
            failure = ProviderError(
                error_code(error_event.code),
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
        return self._joined(self._result(cost, warnings))

    def _joined(self, result: ChatResult) -> ChatResult:
        """A continuation's result: the interrupted call's partial, then this one's answer."""
        before = self._before
        if before is None:
            return result
        before_cost = self._engine.cost(self.target, before.usage)
        return before.joined(result, before_cost)

    def _estimated_usage(self) -> UsageEvent:
        """Local counts for a provider that sends no usage (some local servers)."""
        usage = estimated_usage(
            self._settings.kind, self.target.model, self._params, self.accumulator.output_text()
        )
        return UsageEvent.model_validate(usage.model_dump(exclude_none=True))

    async def _stream(self) -> None:
        adapter, target, settings, credential = (
            self._adapter,
            self.target,
            self._settings,
            self._credential,
        )
        timeout = self._params.timeout
        deadline = asyncio.get_running_loop().time() + timeout if timeout else None

        def new_decoder() -> StreamDecoder:
            self._decoder = adapter.decoder(target)
            return self._decoder

        await self._engine.stream(
            ProviderCall(target, settings, adapter, credential, timeout, deadline),
            lambda: adapter.build_request(self._params, target, settings, credential),
            new_decoder,
            self._deliver,
            self._emit,
        )

    def _result(self, cost: Cost | None, warnings: list[str] | None = None) -> ChatResult:
        """The answer so far, with what the provider said about it besides (a decoder's
        `provider_metadata`, for the adapters that keep one)."""
        metadata = getattr(self._decoder, "provider_metadata", None)
        return self.accumulator.result(cost, warnings, metadata or None)

    def partial(self) -> ChatResult | None:
        if not self.accumulator.has_content and self._before is None:
            return None
        return self._joined(self._result(self._engine.cost(self.target, self.accumulator.usage)))

    def _deliver(self, events: list[Any]) -> None:
        for event in map(without_secrets, events):
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
            self.accumulator.mark_started()
            self._emit(StartedEvent(id=self.accumulator.id, model=self.accumulator.model))


class KnownProviders(Sequence[str]):
    """The provider ids, for a model choice: asking for one (`in`) reads no plugin for a
    built-in provider (`ChatEngine.knows`); listing them all reads the plugins."""

    def __init__(self, engine: ChatEngine) -> None:
        self._engine = engine
        self._all: list[str] | None = None

    def __contains__(self, provider: object) -> bool:
        return isinstance(provider, str) and self._engine.knows(provider)

    def _ids(self) -> list[str]:
        if self._all is None:
            self._all = self._engine.provider_ids()
        return self._all

    def __getitem__(self, index: Any) -> Any:
        return self._ids()[index]

    def __len__(self) -> int:
        return len(self._ids())


def estimated_usage(kind: str, model: str, params: ChatParams, output: str) -> Usage:
    """A request's usage counted here, for a provider that reported none.

    Compact counts unless the model's tokenizer is loaded already: an estimate is no
    reason to load ~76 MiB of ranks on a request's path.
    """
    from .catalog.tokens import estimate_messages, estimate_text

    counted_in = estimate_messages(kind, model, params.messages, params.system, params.tools)
    counted_out = estimate_text(kind, model, output) if output else None
    return Usage(
        input_tokens=counted_in.input_tokens,
        output_tokens=counted_out.input_tokens if counted_out else 0,
        estimated=True,
    )


def without_secrets(event: Any) -> Any:
    """An event that reports a failure, its words redacted: every adapter's events pass here
    before the accumulator, the editor or the journal sees them."""
    if isinstance(event, ErrorEvent):
        return event.model_copy(update={"message": redact(event.message)})
    if isinstance(event, RetryEvent):
        return event.model_copy(update={"reason": redact(event.reason)})
    if isinstance(event, ToolUseJsonParseErrorEvent):
        return event.model_copy(update={"error": redact(event.error)})
    return event


def stream_timeouts(settings: ProviderSettings) -> Timeouts:
    """A chat's limits: the defaults, under the provider's `timeout` and `*_timeout` keys.

    The older `timeout` key was the wait for each next byte, headers included, so it
    sets both the headers and the stall limit; the specific keys win over it.
    """
    limits = Timeouts()
    if settings.timeout_s:
        limits = replace(limits, headers_s=settings.timeout_s, stall_s=settings.timeout_s)
    return replace(limits, **{f"{limit}_s": s for limit, s in settings.timeouts.items()})


def _ignore(event: ChatEvent) -> None:
    pass


def _nothing_spent() -> float:
    return 0.0


def continuation_params(params: ChatParams, partial: ChatResult, prefill: bool) -> ChatParams:
    """The request that continues a partial answer, for any provider.

    With prefill (Anthropic-style APIs) the partial text is the assistant's turn
    and the model writes on from its last character (trailing whitespace is
    refused there, so it goes). Without, the partial is the assistant's turn and
    a short user turn asks to continue exactly where it stopped.
    """
    text = "".join(part.text for part in partial.content if isinstance(part, TextPart))
    if not text.strip():
        return params
    messages = list(params.messages)
    if prefill:
        messages.append(Message(role="assistant", content=text.rstrip()))
    else:
        messages.append(Message(role="assistant", content=text))
        messages.append(Message(role="user", content=CONTINUE_INSTRUCTION))
    return params.model_copy(update={"messages": messages})


class Continued:
    """The interrupted call a run continues: its partial answer and what it used."""

    def __init__(self, partial: ChatResult, usage: Usage) -> None:
        self.partial = partial
        self.usage = usage

    def forwarding(self, emit: Emit) -> Emit:
        """The continuation's events as the editor sees them: the replayed `started`
        stands for both calls, and usage counts both."""

        def forward(event: ChatEvent) -> None:
            if isinstance(event, StartedEvent):
                return
            if isinstance(event, UsageEvent):
                event = UsageEvent.model_validate(
                    usage_sum(self.usage, event.as_usage()).model_dump(exclude_none=True)
                )
            emit(event)

        return forward

    def joined(self, result: ChatResult, before_cost: Cost | None) -> ChatResult:
        content = list(self.partial.content)
        following = list(result.content)
        last, first = (content[-1], following[0]) if content and following else (None, None)
        if isinstance(last, TextPart) and isinstance(first, TextPart):
            content[-1] = TextPart(text=last.text + first.text)
            following.pop(0)
        return result.model_copy(
            update={
                "id": self.partial.id,
                "content": content + following,
                "usage": usage_sum(self.usage, result.usage).with_total(),
                "cost": cost_sum(before_cost, result.cost),
                "resumed": True,
            }
        )


def error_code(code: str) -> ErrorCode:
    """A normalized code from an error event; one that is none of them is `unknown`."""
    try:
        return ErrorCode(code)
    except ValueError:
        return ErrorCode.UNKNOWN


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
        """Calibrate against the tokenizer's count, skipped when that would load it.

        Ratios scale tokenizer counts, so a compact count cannot stand in here.
        """
        from .catalog.tokens import counts_without_loading

        kind = self._engine.settings(self._target.provider).kind
        if self._raw is None and not counts_without_loading(kind, self._target.model):
            return
        self._engine.calibration.record(self._target.id, self.raw(), reported)
