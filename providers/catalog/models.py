"""The model catalog: what each provider's models can do and what they cost.

Loaded once from the packaged ``data/catalog.json`` (index, defaults) and
``data/catalog/<provider>.json`` (one file per provider). A model it does
not know still works: ``resolve`` gives it conservative limits of its provider
and no price (``source="fallback"``), and says so once in the log.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, cast, get_args

from switchboard.protocol.catalog import CacheConfiguration, Capabilities, ModelInfo, Pricing

from .pricing import PriceTier

log = logging.getLogger("switchboard.catalog")

ApiKind = Literal["messages", "chat", "responses", "converse", "generateContent"]
ThinkingMode = Literal["budget", "effort"]
ThinkingDefault = Literal["off", "on", "always"]
Status = Literal["active", "legacy", "deprecated"]

CATALOG_RESOURCE = "data/catalog.json"
PROVIDER_CATALOGS = "data/catalog"


class CatalogError(ValueError):
    """The catalog data is malformed."""


@dataclass(frozen=True)
class Limits:
    context_window: int
    max_output_tokens: int


@dataclass(frozen=True)
class ModelExtras:
    """Catalog facts that ModelInfo does not carry."""

    api: ApiKind
    status: Status
    thinking_mode: ThinkingMode | None
    thinking_default: ThinkingDefault | None
    default_effort: str | None
    max_input_tokens: int | None
    cache_write_1h_per_m_tok: float | None
    tiers: tuple[PriceTier, ...]
    aliases: tuple[str, ...]
    released: str | None
    shutdown_date: str | None
    price_checked: str | None
    price_source: str | None
    spec_source: str
    notes: str | None


@dataclass(frozen=True)
class _Entry:
    info: ModelInfo
    extras: ModelExtras


@dataclass(frozen=True)
class _Provider:
    id: str
    name: str
    default_model: str
    default_fast_model: str
    fallback: Limits
    entries: tuple[_Entry, ...]
    by_name: Mapping[str, _Entry]


#: A provider id: a config table's name or a built-in kind.
PROVIDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
#: One segment of a model name. Slashes join segments where catalogs and servers use them
#: (OpenRouter's `vendor/model`, a local server's `org/model`); a segment starts with a
#: letter, digit or `_`, so `.` and `..` are never one, and nothing here is a control
#: character, a space, `%`, `?`, `#` or `\`. `:` (Bedrock, Ollama tags) and `@` (Vertex) are.
MODEL_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+\-]*")
MAX_MODEL_ID = 256


class MalformedModelId(ValueError):
    """A `provider/model` whose characters or segments are not allowed."""


def parse_model_id(text: str) -> tuple[str, str]:
    """Split ``provider/model`` on the first "/" (the model part may hold more slashes).

    ValueError when it is not of that form; MalformedModelId when a part has a character or
    a segment a model id never has (it would reach another path of the provider's URL).
    """
    provider, slash, model = text.partition("/")
    if not slash or not provider.strip() or not model.strip():
        raise ValueError(f"model id {text!r} must look like 'provider/model'")
    if len(text) > MAX_MODEL_ID:
        raise MalformedModelId(f"a model id is at most {MAX_MODEL_ID} characters")
    if not PROVIDER_ID.fullmatch(provider):
        raise MalformedModelId(
            f"provider {provider!r} may hold only letters, digits, '_', '.' and '-'"
        )
    for segment in model.split("/"):
        if not MODEL_SEGMENT.fullmatch(segment):
            raise MalformedModelId(
                f"model {model!r} has a part that no model id has ({segment!r}): each "
                "'/'-separated part starts with a letter, digit or '_' and holds only "
                "letters, digits and _ . : @ + -"
            )
    return provider, model


def closest_provider(name: str, known: Iterable[str]) -> str | None:
    """The known provider id nearest to a mistyped one, if any is close enough."""
    import difflib

    by_lower = {k.lower(): k for k in known}
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


class Catalog:
    def __init__(self, data: Mapping[str, Any]) -> None:
        try:
            self._providers = {
                pid: _parse_provider(pid, raw) for pid, raw in _mapping(data, "providers").items()
            }
            self._default = parse_model_id(_str(data, "defaultModel"))
            self._default_fast = parse_model_id(_str(data, "defaultFastModel"))
            self._fallback = _limits(_mapping(data, "fallback"))
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(f"malformed model catalog: {exc}") from exc
        for provider, model in (self._default, self._default_fast):
            if self.get(provider, model) is None:
                raise CatalogError(f"default model {provider}/{model} is not in the catalog")
        self._warned: set[tuple[str, str]] = set()
        self._warned_lock = threading.Lock()

    @classmethod
    def load(cls) -> Catalog:
        """The packaged catalog, read once per process."""
        return default_catalog()

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        return cls(json.loads(text))

    def with_providers(self, extra: Mapping[str, Mapping[str, Any]]) -> Catalog:
        """This catalog and more providers (plugins'), each in a provider file's shape."""
        merged = copy.copy(self)
        merged._providers = dict(self._providers)
        for provider_id, raw in extra.items():
            try:
                merged._providers[provider_id] = _parse_provider(provider_id, raw)
            except (KeyError, TypeError, ValueError) as exc:
                raise CatalogError(f"malformed models of {provider_id}: {exc}") from exc
        merged._warned = set()
        merged._warned_lock = threading.Lock()
        return merged

    def provider_ids(self) -> list[str]:
        return list(self._providers)

    def provider_name(self, provider: str) -> str:
        """The display name of a catalog provider; an unknown provider's id is its own name."""
        known = self._providers.get(provider)
        return known.name if known else provider

    def get(self, provider: str, model: str) -> ModelInfo | None:
        entry = self._entry(provider, model)
        return entry.info.model_copy(deep=True) if entry else None

    def entry_extras(self, provider: str, model: str) -> ModelExtras | None:
        entry = self._entry(provider, model)
        return entry.extras if entry else None

    def resolve(
        self, provider: str, model: str, kind: str | None = None, *, quiet: bool = False
    ) -> ModelInfo:
        """The catalog entry, or conservative limits with no price for a model it lacks.

        ``kind`` names the catalog provider whose limits a configured provider
        of another id (a proxy, say) falls back to.
        """
        info = self.get(provider, model)
        if info is not None:
            return info
        limits = self.fallback_limits(provider, kind)
        if not quiet:
            self._warn_once(provider, model, limits)
        return ModelInfo(
            id=f"{provider}/{model}",
            provider=provider,
            name=model,
            context_window=limits.context_window,
            max_output_tokens=limits.max_output_tokens,
            capabilities=Capabilities(),
            pricing=None,
            source="fallback",
        )

    def fallback_limits(self, provider: str, kind: str | None = None) -> Limits:
        for candidate in (provider, kind):
            if candidate is not None and candidate in self._providers:
                return self._providers[candidate].fallback
        return self._fallback

    def models(
        self,
        provider: str | None = None,
        default: str | None = None,
        default_fast: str | None = None,
    ) -> list[ModelInfo]:
        """Catalog models (one provider's, or all), with the default and fast default marked.

        The defaults are ``provider/model`` ids (aliases allowed); when not
        given they are ``default_model(provider)`` and ``default_fast_model(provider)``.
        """
        chosen = [self._provider(provider)] if provider is not None else self._providers.values()
        default = self._canonical(default or self.default_model(provider))
        default_fast = self._canonical(default_fast or self.default_fast_model(provider))
        listed: list[ModelInfo] = []
        for known in chosen:
            for entry in known.entries:
                info = entry.info.model_copy(deep=True)
                info.is_default = info.id == default
                info.is_default_fast = info.id == default_fast
                listed.append(info)
        return listed

    def default_model(self, provider: str | None = None) -> str:
        if provider is None:
            return "/".join(self._default)
        return f"{provider}/{self._provider(provider).default_model}"

    def default_fast_model(self, provider: str | None = None) -> str:
        if provider is None:
            return "/".join(self._default_fast)
        return f"{provider}/{self._provider(provider).default_fast_model}"

    def _provider(self, provider: str) -> _Provider:
        try:
            return self._providers[provider]
        except KeyError:
            raise KeyError(f"provider {provider!r} is not in the catalog") from None

    def _canonical(self, model_id: str) -> str:
        provider, _, model = model_id.partition("/")
        entry = self._entry(provider, model)
        return entry.info.id if entry else model_id

    def _entry(self, provider: str, model: str) -> _Entry | None:
        known = self._providers.get(provider)
        return known.by_name.get(model) if known else None

    def _warn_once(self, provider: str, model: str, limits: Limits) -> None:
        with self._warned_lock:
            if (provider, model) in self._warned:
                return
            self._warned.add((provider, model))
        log.warning(
            "model %s/%s is not in the catalog: assuming a %d-token context, %d output tokens,"
            " tool use, and no price",
            provider,
            model,
            limits.context_window,
            limits.max_output_tokens,
        )


@cache
def default_catalog() -> Catalog:
    return Catalog(catalog_data())


def catalog_data() -> dict[str, Any]:
    """The packaged catalog: the index file, then one file per provider in `data/catalog/`."""
    package = resources.files("switchboard.providers.catalog")
    data: dict[str, Any] = json.loads(package.joinpath(CATALOG_RESOURCE).read_text("utf-8"))
    providers = data.setdefault("providers", {})
    for item in sorted(package.joinpath(PROVIDER_CATALOGS).iterdir(), key=lambda f: f.name):
        if item.name.endswith(".json"):
            providers[item.name.removesuffix(".json")] = json.loads(item.read_text("utf-8"))
    return data


# ---- parsing ----------------------------------------------------------------


def _parse_provider(provider_id: str, raw: Mapping[str, Any]) -> _Provider:
    entries = tuple(_parse_model(provider_id, m) for m in _list(raw, "models"))
    by_name: dict[str, _Entry] = {}
    for entry in entries:
        for name in (entry.info.id.split("/", 1)[1], *entry.extras.aliases):
            if name in by_name:
                raise ValueError(f"{provider_id}: model name {name!r} is listed twice")
            by_name[name] = entry
    known = _Provider(
        id=provider_id,
        name=_str(raw, "name"),
        default_model=_str(raw, "defaultModel"),
        default_fast_model=_str(raw, "defaultFastModel"),
        fallback=_limits(_mapping(raw, "fallback")),
        entries=entries,
        by_name=by_name,
    )
    for model in (known.default_model, known.default_fast_model):
        if model not in by_name:
            raise ValueError(f"{provider_id}: default model {model!r} is not listed")
    return known


def _parse_model(provider_id: str, raw: Mapping[str, Any]) -> _Entry:
    model_id = _str(raw, "id")
    price = raw["pricing"]
    thinking_mode, thinking_default, default_effort = _thinking(raw.get("thinking"))
    context_window = _positive(raw, "contextWindow")
    max_input_tokens = _optional_positive(raw, "maxInputTokens")
    if max_input_tokens is not None and max_input_tokens > context_window:
        raise ValueError(f"{model_id}: maxInputTokens exceeds contextWindow")
    capabilities = Capabilities.model_validate(_mapping(raw, "capabilities"))
    cache_configuration = _cache_configuration(model_id, raw.get("cacheConfiguration"))
    if cache_configuration is not None and not capabilities.prompt_caching:
        raise ValueError(f"{model_id}: cacheConfiguration without promptCaching")
    info = ModelInfo(
        id=f"{provider_id}/{model_id}",
        provider=provider_id,
        name=_str(raw, "name"),
        context_window=context_window,
        max_input_tokens=max_input_tokens,
        max_output_tokens=_optional_positive(raw, "maxOutputTokens"),
        capabilities=capabilities,
        pricing=_pricing(price),
        cache_configuration=cache_configuration,
        source="catalog",
    )
    extras = ModelExtras(
        api=cast(ApiKind, _choice(raw, "api", get_args(ApiKind))),
        status=cast(Status, _choice(raw, "status", ("active", "legacy", "deprecated"))),
        thinking_mode=thinking_mode,
        thinking_default=thinking_default,
        default_effort=default_effort,
        max_input_tokens=max_input_tokens,
        cache_write_1h_per_m_tok=price.get("cacheWrite1hPerMTok") if price else None,
        tiers=_tiers(price),
        aliases=tuple(raw.get("aliases", ())),
        released=raw.get("released"),
        shutdown_date=raw.get("shutdownDate"),
        price_checked=price.get("checked") if price else None,
        price_source=price.get("source") if price else None,
        spec_source=_str(raw, "specSource"),
        notes=raw.get("notes"),
    )
    return _Entry(info=info, extras=extras)


def _thinking(
    raw: Mapping[str, Any] | None,
) -> tuple[ThinkingMode | None, ThinkingDefault | None, str | None]:
    if raw is None:
        return None, None, None
    mode = cast(ThinkingMode, _choice(raw, "mode", ("budget", "effort")))
    default = cast(ThinkingDefault, _choice(raw, "default", ("off", "on", "always")))
    return mode, default, raw.get("defaultEffort")


def _cache_configuration(model_id: str, raw: Any) -> CacheConfiguration | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise TypeError(f"{model_id}: cacheConfiguration must be an object")
    return CacheConfiguration.model_validate(raw)


def _pricing(raw: Mapping[str, Any] | None) -> Pricing | None:
    if raw is None or raw.get("inputPerMTok") is None or raw.get("outputPerMTok") is None:
        return None
    return Pricing.model_validate(raw)


def _tiers(raw: Mapping[str, Any] | None) -> tuple[PriceTier, ...]:
    if raw is None:
        return ()
    tiers: list[PriceTier] = []
    for tier in raw.get("tiers", ()):
        pricing = _pricing(tier)
        if pricing is None:
            raise ValueError("a price tier needs input and output rates")
        tiers.append(PriceTier(above_input_tokens=int(tier["aboveInputTokens"]), pricing=pricing))
    return tuple(sorted(tiers, key=lambda t: t.above_input_tokens))


def _limits(raw: Mapping[str, Any]) -> Limits:
    return Limits(int(raw["contextWindow"]), int(raw["maxOutputTokens"]))


def _mapping(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"{key} must be an object")
    return value


def _list(raw: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    value = raw[key]
    if not isinstance(value, list):
        raise TypeError(f"{key} must be a list")
    return value


def _positive(raw: Mapping[str, Any], key: str) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TypeError(f"{key} must be a positive integer")
    return value


def _optional_positive(raw: Mapping[str, Any], key: str) -> int | None:
    """A limit the entry must state: a positive integer, or null when the provider gives none."""
    return None if raw[key] is None else _positive(raw, key)


def _str(raw: Mapping[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} must be a non-empty string")
    return value


def _choice(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = _str(raw, key)
    if value not in allowed:
        raise ValueError(f"{key} must be one of {allowed}, not {value!r}")
    return value
