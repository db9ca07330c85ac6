"""The provider translators, by kind. Imported lazily: start-up loads none of them.

Each built-in kind names its adapter class, the provider-specific config keys it
accepts (beyond kind, base_url, api_key_env, timeout, headers), and the
adapters for the other APIs a model of that kind may need (the catalog's
`api` for the model picks one).

Kinds that plugins add (installed packages, the plugins directory) are found by
providers/adapters/plugins.py on first need, against the contract in
providers/adapters/contract.py; this table is for the built-in ones only.
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
    "gemini": AdapterEntry("switchboard.providers.adapters.gemini:GeminiAdapter"),
    "vertex": AdapterEntry(
        "switchboard.providers.adapters.vertex:VertexAdapter",
        options=frozenset({"project", "location", "credentials_file"}),
        apis={"messages": "switchboard.providers.adapters.vertex:VertexClaudeAdapter"},
    ),
    "anthropic": AdapterEntry("switchboard.providers.adapters.anthropic:AnthropicAdapter"),
    "bedrock": AdapterEntry(
        "switchboard.providers.adapters.bedrock:BedrockAdapter",
        options=frozenset({"region", "profile"}),
    ),
    "azure": AdapterEntry(
        "switchboard.providers.adapters.azure:AzureOpenAIAdapter",
        options=frozenset({"endpoint", "api_version", "deployments", "auth"}),
    ),
    "xai": AdapterEntry("switchboard.providers.adapters.xai:XAIAdapter"),
    "mistral": AdapterEntry("switchboard.providers.adapters.mistral:MistralAdapter"),
    "deepseek": AdapterEntry("switchboard.providers.adapters.deepseek:DeepSeekAdapter"),
    "openrouter": AdapterEntry(
        "switchboard.providers.adapters.openrouter:OpenRouterAdapter",
        options=frozenset({"referer", "title", "provider", "auth_site"}),
    ),
    "copilot": AdapterEntry(
        "switchboard.providers.adapters.copilot:CopilotAdapter",
        options=frozenset({"enterprise_host", "github_api_url", "github_url"}),
    ),
    **{
        kind: AdapterEntry(
            f"switchboard.providers.adapters.local:{class_name}",
            options=frozenset({"models", "context_window", "stream_usage", "fim"}),
            only_when_configured=True,
        )
        for kind, class_name in (
            ("openai-compatible", "LocalServerAdapter"),
            ("ollama", "OllamaAdapter"),
            ("lmstudio", "LMStudioAdapter"),
            ("llamacpp", "LlamaCppAdapter"),
            ("vllm", "VLLMAdapter"),
        )
    },
    "openai": AdapterEntry(
        "switchboard.providers.adapters.openai_chat:OpenAIChatAdapter",
        apis={
            "responses": "switchboard.providers.adapters.openai_responses:OpenAIResponsesAdapter"
        },
    ),
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
