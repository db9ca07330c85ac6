"""The provider translators, by kind. Imported lazily: start-up loads none of them.

Each kind names its adapter class, the provider-specific config keys it
accepts (beyond kind, base_url, api_key_env, timeout, headers), and the
adapters for the other APIs a model of that kind may need (the catalog's
`api` for the model picks one).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache

from ..base import Adapter


@dataclass(frozen=True)
class AdapterEntry:
    target: str
    options: frozenset[str] = frozenset()
    apis: dict[str, str] = field(default_factory=dict)
    only_when_configured: bool = False


_ADAPTERS: dict[str, AdapterEntry] = {
    "anthropic": AdapterEntry("switchboard.providers.adapters.anthropic:AnthropicAdapter"),
    "openai": AdapterEntry("switchboard.providers.adapters.openai_chat:OpenAIChatAdapter"),
}


def kinds() -> list[str]:
    return sorted(_ADAPTERS)


def listed_kinds() -> list[str]:
    """Kinds that exist as providers without a config table (local servers need one)."""
    return sorted(kind for kind, entry in _ADAPTERS.items() if not entry.only_when_configured)


def option_keys(kind: str) -> frozenset[str]:
    entry = _ADAPTERS.get(kind)
    return entry.options if entry else frozenset()


@cache
def adapter_for(kind: str, api: str | None = None) -> Adapter:
    entry = _ADAPTERS[kind]
    target = entry.apis.get(api, entry.target) if api else entry.target
    module_name, _, class_name = target.partition(":")
    adapter_class = getattr(importlib.import_module(module_name), class_name)
    adapter: Adapter = adapter_class()
    return adapter
