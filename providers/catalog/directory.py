"""The model list: the catalog merged with what each provider's list endpoint reports.

A listing is cached on disk per provider (keyed by its base URL) for a TTL.
`models()` never waits more than `budget_s` for the providers together: a
list that is not back by then keeps loading in the background and the answer
uses the catalog (and any stale cache) meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchboard.protocol.catalog import Capabilities, ModelInfo, Pricing
from switchboard.protocol.errors import ErrorCode

from ..base import ListedModel
from ..errors import ProviderError
from ..wire.transport import Timeouts
from .local_servers import REACHABILITY_TTL_S, is_local_server, with_server_windows

if TYPE_CHECKING:
    from ..base import ProviderAccess

logger = logging.getLogger("switchboard.models")

LIST_TTL_S = 6 * 3600.0
FAILURE_TTL_S = 300.0
LIST_BUDGET_S = 1.0
LIST_TIMEOUTS = Timeouts(connect_s=5.0, headers_s=20.0, stall_s=20.0, total_s=40.0)
_LISTED_FIELDS = frozenset(f.name for f in fields(ListedModel))


@dataclass
class _Listing:
    base_url: str
    fetched_at: float
    models: dict[str, ListedModel]
    #: fetched by this process, not read from the disk cache: the provider answered
    live: bool = False


@dataclass
class _Failure:
    at: float
    error: ProviderError


class ModelDirectory:
    def __init__(
        self,
        engine: ProviderAccess,
        cache_dir: Path | None,
        *,
        ttl_s: float = LIST_TTL_S,
        budget_s: float = LIST_BUDGET_S,
    ) -> None:
        self._engine = engine
        self._cache_dir = cache_dir
        self._ttl_s = ttl_s
        self.budget_s = budget_s
        self._listings: dict[str, _Listing] = {}
        self._failures: dict[str, _Failure] = {}
        self._loading: dict[str, asyncio.Task[None]] = {}

    # ---- the answer ----------------------------------------------------------

    async def models(self, provider: str | None = None, refresh: bool = False) -> list[ModelInfo]:
        engine = self._engine
        providers = [provider] if provider else engine.provider_ids()
        tasks = [self._load(p, refresh) for p in providers]
        pending = [task for task in tasks if task is not None and not task.done()]
        if pending:
            # shield: a list that misses the budget keeps loading for the next answer.
            await asyncio.wait([asyncio.shield(t) for t in pending], timeout=self.budget_s)
        out: list[ModelInfo] = []
        for name in providers:
            out += self.provider_models(name)
        return out

    def provider_models(self, provider: str) -> list[ModelInfo]:
        engine = self._engine
        kind = engine.settings(provider).kind
        listing = self.listing(provider)
        signed_in = engine.has_credentials(provider) and not self._auth_failed(provider)
        if self._local(provider):
            signed_in = signed_in and self._answered(provider)
        default = engine.default_model()
        fast = engine.fast_model()
        seen: set[str] = set()
        out: list[ModelInfo] = []
        catalog_models = (
            engine.catalog.models(kind) if kind in engine.catalog.provider_ids() else []
        )
        for info in catalog_models:
            name = info.id.partition("/")[2]
            seen.add(name)
            listed = listing.get(name) if listing is not None else None
            available = signed_in and (listing is None or listed is not None)
            out.append(self._finish(provider, name, info, listed, available, default, fast))
        for name, listed in (listing or {}).items():
            if name in seen or engine.catalog.get(kind, name) is not None:
                continue
            info = engine.catalog.resolve(kind, name, quiet=True)
            info = info.model_copy(update={"source": "provider"})
            out.append(self._finish(provider, name, info, listed, signed_in, default, fast))
        return out

    def listing(self, provider: str) -> dict[str, ListedModel] | None:
        """What the provider last reported (memory, then disk); None when never listed."""
        base_url = self._engine.base_url(provider)
        known = self._listings.get(provider)
        if known is None or known.base_url != base_url:
            known = self._read_cache(provider, base_url)
            if known is None:
                return self._configured(provider)
            self._listings[provider] = known
        return known.models

    def _configured(self, provider: str) -> dict[str, ListedModel] | None:
        """Models named in the config (local servers), before or without a listing."""
        engine = self._engine
        try:
            models = engine.adapter(provider).configured_models(engine.settings(provider), None)
        except ProviderError as error:
            logger.warning("%s", error.message)
            return None
        return {m.name: m for m in models} if models else None

    def checked(self, provider: str) -> bool:
        """Whether the provider's models are known to be usable or not, rather than only
        assumed usable from credentials found: the provider answered its list (or refused
        the credentials), or there are no credentials to try. A local server counts as
        checked when it answered or could not be reached, in this process."""
        engine = self._engine
        if not engine.has_credentials(provider) or self._auth_failed(provider):
            return True
        if self._local(provider):
            return self._answered(provider) or provider in self._failures
        return self._listings.get(provider) is not None and provider not in self._failures

    def _local(self, provider: str) -> bool:
        """A server the user runs: available when it answers (catalog/local_servers.py)."""
        try:
            return is_local_server(self._engine.adapter(provider))
        except ProviderError:
            return False

    def _answered(self, provider: str) -> bool:
        known = self._listings.get(provider)
        return known is not None and known.live and provider not in self._failures

    def listed(self, provider: str, model: str) -> ListedModel | None:
        listing = self.listing(provider)
        return listing.get(model) if listing else None

    def merge(self, provider: str, model: str, info: ModelInfo) -> ModelInfo:
        """A catalog (or fallback) entry with what the provider's list says about it."""
        listed = self.listed(provider, model)
        if listed is None:
            return info
        return _merged(info, listed)

    def forget(self, provider: str) -> None:
        """The provider's credential changed: list it again on the next call."""
        self._failures.pop(provider, None)
        known = self._listings.pop(provider, None)
        if known is not None:
            known.fetched_at = 0.0
            self._listings[provider] = known

    # ---- loading ---------------------------------------------------------------

    def _load(self, provider: str, refresh: bool) -> asyncio.Task[None] | None:
        running = self._loading.get(provider)
        if running is not None:
            return running
        if not refresh and not self._stale(provider):
            return None
        task = asyncio.get_running_loop().create_task(self._fetch(provider))
        self._loading[provider] = task
        task.add_done_callback(lambda _: self._loading.pop(provider, None))
        return task

    def _stale(self, provider: str) -> bool:
        local = self._local(provider)
        failure = self._failures.get(provider)
        retry_after = REACHABILITY_TTL_S if local else FAILURE_TTL_S
        if failure is not None and time.time() - failure.at < retry_after:
            return False
        self.listing(provider)  # reads the disk cache into memory
        known = self._listings.get(provider)
        if known is None:
            return True
        if local:  # whether it runs now is the question: a listing from the cache cannot say
            return not known.live or time.time() - known.fetched_at > REACHABILITY_TTL_S
        return time.time() - known.fetched_at > self._ttl_s

    async def _fetch(self, provider: str) -> None:
        engine = self._engine
        if not engine.has_credentials(provider):
            return
        try:
            adapter = engine.adapter(provider)
            settings = engine.settings(provider)
            credential = engine.credential(provider)
            request = adapter.models_request(settings, credential)
            if request is None:
                return
            request = await engine.authorize(provider, adapter, credential, request)
            body = await engine.transport.fetch_json(
                request, provider=provider, parse_error=adapter.parse_error, timeouts=LIST_TIMEOUTS
            )
            listed = adapter.parse_models(body)
            listed = await with_server_windows(
                engine, provider, adapter, settings, credential, listed
            )
            reported = adapter.configured_models(settings, listed)
            models = {m.name: m for m in reported or ()}
        except ProviderError as error:
            logger.info("listing %s models failed: %s", provider, error.message)
            self._failures[provider] = _Failure(time.time(), error)
            return
        except Exception:
            # A list endpoint answering something unexpected must not break the model list.
            logger.exception("listing %s models failed", provider)
            self._failures[provider] = _Failure(
                time.time(), ProviderError(ErrorCode.PROVIDER_UNAVAILABLE, "bad model list")
            )
            return
        self._failures.pop(provider, None)
        listing = _Listing(engine.base_url(provider), time.time(), models, live=True)
        self._listings[provider] = listing
        self._write_cache(provider, listing)

    def _auth_failed(self, provider: str) -> bool:
        failure = self._failures.get(provider)
        return failure is not None and failure.error.code == ErrorCode.AUTHENTICATION_FAILED

    # ---- disk cache ---------------------------------------------------------------

    def _cache_file(self, provider: str) -> Path | None:
        if self._cache_dir is None:
            return None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in provider)
        return self._cache_dir / f"{safe}.json"

    def _read_cache(self, provider: str, base_url: str) -> _Listing | None:
        path = self._cache_file(provider)
        if path is None or not path.exists():
            return None
        try:
            raw = json.loads(path.read_text("utf-8"))
            if raw.get("baseUrl") != base_url:
                return None
            models = {
                item["name"]: ListedModel(**{k: v for k, v in item.items() if k in _LISTED_FIELDS})
                for item in raw["models"]
            }
            return _Listing(base_url, float(raw["fetchedAt"]), models)
        except (OSError, ValueError, KeyError, TypeError):
            logger.info("ignoring unreadable model cache %s", path)
            return None

    def _write_cache(self, provider: str, listing: _Listing) -> None:
        path = self._cache_file(provider)
        if path is None:
            return
        data = {
            "baseUrl": listing.base_url,
            "fetchedAt": listing.fetched_at,
            "models": [_plain(m) for m in listing.models.values()],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data), "utf-8")
            os.replace(temporary, path)
        except OSError as error:
            logger.info("cannot write model cache %s: %s", path, error)

    def _finish(
        self,
        provider: str,
        name: str,
        info: ModelInfo,
        listed: ListedModel | None,
        available: bool,
        default: str,
        fast: str,
    ) -> ModelInfo:
        if listed is not None:
            info = _merged(info, listed)
        model_id = f"{provider}/{name}"
        display_name = info.name
        if info.source == "provider" and listed is not None and listed.display_name:
            display_name = listed.display_name
        return info.model_copy(
            update={
                "id": model_id,
                "provider": provider,
                "name": display_name,
                "available": available,
                "is_default": model_id == default,
                "is_default_fast": model_id == fast,
            }
        )


def _merged(info: ModelInfo, listed: ListedModel) -> ModelInfo:
    """What the provider reports (limits, capabilities, prices) wins over the catalog."""
    update: dict[str, Any] = {}
    if listed.context_window:
        update["context_window"] = listed.context_window
    if listed.max_output_tokens:
        update["max_output_tokens"] = listed.max_output_tokens
    if listed.max_input_tokens:
        # A prompt limit can only narrow the input the context window leaves room for.
        window = update.get("context_window", info.context_window)
        update["max_input_tokens"] = min(listed.max_input_tokens, window)
    capabilities = info.capabilities.model_copy()
    for name in ("tools", "images", "thinking"):
        reported = getattr(listed, name)
        if reported is not None:
            setattr(capabilities, name, reported)
    update["capabilities"] = Capabilities.model_validate(capabilities.model_dump())
    if listed.input_per_m_tok is not None and listed.output_per_m_tok is not None:
        update["pricing"] = Pricing(
            inputPerMTok=listed.input_per_m_tok,
            outputPerMTok=listed.output_per_m_tok,
            cacheReadPerMTok=listed.cache_read_per_m_tok,
            cacheWritePerMTok=listed.cache_write_per_m_tok,
        )
    return info.model_copy(update=update)


def _plain(model: ListedModel) -> dict[str, Any]:
    data = asdict(model)
    data["notes"] = dict(model.notes)
    return data
