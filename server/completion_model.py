"""Which model completes code when `[completion] model` is not set.

The fast model of the first provider with credentials, fill-in-the-middle
models preferred: a provider whose fast model fills in (DeepSeek), then a
provider with any model that does (Codestral, Copilot's completions model, a
local coder model named in `models`), then the configured `fast_model`, then
the first provider's fast model. Providers named in the config come first,
in the file's order; a built-in provider counts only once it has a key, so
a provider that needs none (a local server) counts only when configured.
"""

from __future__ import annotations

from collections.abc import Iterator

from switchboard.providers.base import ModelTarget
from switchboard.providers.catalog.models import parse_model_id
from switchboard.providers.engine import ChatEngine
from switchboard.providers.errors import ProviderError


def default_completion_model(engine: ChatEngine) -> str:
    usable = list(_usable_providers(engine))
    for provider in usable:
        fast = _fast_model(engine, provider)
        if fast is not None and _fills_in(engine, fast):
            return fast
    for provider in usable:
        for model in _models(engine, provider):
            if _fills_in(engine, model):
                return model
    configured = engine.config.fast_model
    if configured is not None and parse_model_id(configured)[0] in usable:
        return configured
    for provider in usable:
        fast = _fast_model(engine, provider)
        if fast is not None:
            return fast
    return engine.fast_model()


def _usable_providers(engine: ChatEngine) -> Iterator[str]:
    configured = list(engine.config.providers)
    for provider in [*configured, *(p for p in engine.provider_ids() if p not in configured)]:
        needs_key = bool(engine.adapter(provider).api_key_envs)
        if (provider in configured or needs_key) and engine.has_credentials(provider):
            yield provider


def _fast_model(engine: ChatEngine, provider: str) -> str | None:
    kind = engine.settings(provider).kind
    try:
        model = parse_model_id(engine.catalog.default_fast_model(kind))[1]
    except KeyError:  # a local server: its first listed model, if the config names any
        return next(iter(_models(engine, provider)), None)
    return f"{provider}/{model}"


def _models(engine: ChatEngine, provider: str) -> list[str]:
    settings = engine.settings(provider)
    try:
        listed = [info.id.split("/", 1)[1] for info in engine.catalog.models(settings.kind)]
    except KeyError:
        named = settings.options.get("models")
        listed = [m for m in named if isinstance(m, str)] if isinstance(named, list) else []
    return [f"{provider}/{model}" for model in listed]


def _fills_in(engine: ChatEngine, model: str) -> bool:
    try:
        target: ModelTarget = engine.resolve(model)
        adapter = engine.adapter(target.provider, target.model)
        return adapter.has_fim(target, engine.settings(target.provider))
    except (ProviderError, ValueError):  # a model that cannot be resolved is not chosen
        return False
