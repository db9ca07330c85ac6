"""The provider translators, by kind. Imported lazily: start-up loads none of them."""

from __future__ import annotations

import importlib
from functools import cache

from ..base import Adapter

_ADAPTERS: dict[str, str] = {
    "anthropic": "switchboard.providers.adapters.anthropic:AnthropicAdapter",
    "openai": "switchboard.providers.adapters.openai_chat:OpenAIChatAdapter",
}


def kinds() -> list[str]:
    return sorted(_ADAPTERS)


@cache
def adapter_for(kind: str) -> Adapter:
    module_name, _, class_name = _ADAPTERS[kind].partition(":")
    adapter_class = getattr(importlib.import_module(module_name), class_name)
    adapter: Adapter = adapter_class()
    return adapter
