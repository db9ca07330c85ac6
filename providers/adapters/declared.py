"""Providers declared in a `*.toml` file of the plugins directory, on an existing translator.

For an API that speaks a wire format Switchboard already has (OpenAI Chat or
Responses, Anthropic Messages, Gemini) at another address, with its own models:

    id = "acme"                      # the provider id: `acme/<model>`
    name = "Acme AI"                 # display name (default: the id)
    api = "openai-chat"              # openai-chat | openai-responses | anthropic-messages | gemini
    base_url = "https://api.acme.example/v1"
    api_key_env = "ACME_API_KEY"     # optional: no key sent without it
    headers = { "X-Team" = "editors" }   # optional
    version = "1"                    # optional

    [[models]]
    id = "acme-large"
    context_window = 128000
    max_output_tokens = 8192         # optional
    input_per_m_tok = 1.0            # optional, USD per million tokens, with output_per_m_tok
    output_per_m_tok = 3.0
    tools = true                     # optional flags, false by default
    images = false
    fim = false

Validation names the file and the key of every problem (`models[1].context_window`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .contract import PluginModel

#: `api` -> the translator, and the catalog's name for that API
TRANSLATORS = {
    "openai-chat": ("switchboard.providers.adapters.openai_chat:OpenAIChatAdapter", "chat"),
    "openai-responses": (
        "switchboard.providers.adapters.openai_responses:OpenAIResponsesAdapter",
        "responses",
    ),
    "anthropic-messages": ("switchboard.providers.adapters.anthropic:AnthropicAdapter", "messages"),
    "gemini": ("switchboard.providers.adapters.gemini:GeminiAdapter", "generateContent"),
}
TOP_KEYS = frozenset({"id", "name", "api", "base_url", "api_key_env", "headers", "version"})
MODEL_KEYS = frozenset(
    {
        "id",
        "name",
        "context_window",
        "max_output_tokens",
        "input_per_m_tok",
        "output_per_m_tok",
        "tools",
        "images",
        "fim",
    }
)
PROVIDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
MODEL_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+/\-]*")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: makes the error for a key (None: the whole file) and a message
Failure = Callable[[str | None, str], Exception]


class DeclarationError(ValueError):
    """A declaration that cannot be used: the message names the file and the key."""

    def __init__(self, file: Path, key: str | None, message: str) -> None:
        self.file = file
        self.key = key
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + message)


@dataclass(frozen=True)
class DeclaredProvider:
    id: str
    name: str
    api: str
    base_url: str
    api_key_env: str | None
    headers: Mapping[str, str]
    version: str | None
    models: tuple[PluginModel, ...]
    file: Path


def read_declaration(path: Path) -> DeclaredProvider:
    """The provider a TOML file declares; DeclarationError naming the file and key if not."""
    import tomllib

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise DeclarationError(path, None, f"cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise DeclarationError(path, None, f"not valid TOML: {error}") from None
    return parse_declaration(raw, path)


def parse_declaration(raw: Mapping[str, Any], path: Path) -> DeclaredProvider:
    def fail(key: str | None, message: str) -> DeclarationError:
        return DeclarationError(path, key, message)

    unknown = sorted(set(raw) - TOP_KEYS - {"models"})
    if unknown:
        known = ", ".join(sorted(TOP_KEYS | {"models"}))
        raise fail(unknown[0], f"unknown key (known: {known})")
    provider_id = _string(raw, "id", fail, required=True)
    if not PROVIDER_ID.fullmatch(provider_id):
        raise fail("id", "may hold only letters, digits, '_', '.' and '-' (at most 64)")
    api = _string(raw, "api", fail, required=True)
    if api not in TRANSLATORS:
        raise fail("api", f"'{api}' is not one of {', '.join(TRANSLATORS)}")
    base_url = _string(raw, "base_url", fail, required=True)
    if not base_url.startswith(("https://", "http://")):
        raise fail("base_url", "must be an http(s) URL")
    api_key_env = _string(raw, "api_key_env", fail)
    if api_key_env is not None and not ENV_NAME.fullmatch(api_key_env):
        raise fail("api_key_env", "must name an environment variable")
    headers = raw.get("headers", {})
    if not isinstance(headers, Mapping) or not all(
        isinstance(value, str) for value in headers.values()
    ):
        raise fail("headers", "must be a table of strings")
    version = raw.get("version")
    if version is not None and not isinstance(version, str | int | float):
        raise fail("version", "must be a string")
    models = raw.get("models")
    if not isinstance(models, list) or not models:
        raise fail("models", "needs at least one [[models]] entry")
    parsed = tuple(parse_model(entry, f"models[{n}]", fail) for n, entry in enumerate(models))
    seen: set[str] = set()
    for n, model in enumerate(parsed):
        if model.id in seen:
            raise fail(f"models[{n}].id", f"'{model.id}' is declared twice")
        seen.add(model.id)
    return DeclaredProvider(
        id=provider_id,
        name=_string(raw, "name", fail) or provider_id,
        api=api,
        base_url=base_url.rstrip("/"),
        api_key_env=api_key_env,
        headers=dict(headers),
        version=None if version is None else str(version),
        models=parsed,
        file=path,
    )


def parse_model(entry: Any, where: str, fail: Failure) -> PluginModel:
    """One `[[models]]` entry (or a plugin's PluginModel as a mapping), checked."""
    if not isinstance(entry, Mapping):
        raise fail(where, "must be a table ([[models]])")
    unknown = sorted(set(entry) - MODEL_KEYS)
    if unknown:
        raise fail(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(MODEL_KEYS))})")
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        raise fail(f"{where}.id", "must be a model name (letters, digits, _ . : @ + - /)")
    numbers: dict[str, Any] = {}
    for key, kind in (
        ("context_window", int),
        ("max_output_tokens", int),
        ("input_per_m_tok", float),
        ("output_per_m_tok", float),
    ):
        value = entry.get(key)
        if value is None:
            if key == "context_window":
                raise fail(f"{where}.{key}", "is required (a positive whole number of tokens)")
            continue
        whole = isinstance(value, int) and not isinstance(value, bool)
        number = whole or isinstance(value, float)
        if kind is int and not (whole and value > 0):
            raise fail(f"{where}.{key}", "must be a positive whole number of tokens")
        if kind is float and not (number and value >= 0):
            raise fail(f"{where}.{key}", "must be a price >= 0 (USD per million tokens)")
        numbers[key] = value
    if ("input_per_m_tok" in numbers) != ("output_per_m_tok" in numbers):
        raise fail(f"{where}.output_per_m_tok", "a price needs both input_per_m_tok and this")
    flags: dict[str, bool] = {}
    for key in ("tools", "images", "fim"):
        value = entry.get(key, False)
        if not isinstance(value, bool):
            raise fail(f"{where}.{key}", "must be true or false")
        flags[key] = value
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise fail(f"{where}.name", "must be a string")
    return PluginModel(id=model_id, name=name, **numbers, **flags)


def _string(raw: Mapping[str, Any], key: str, fail: Failure, *, required: bool = False) -> Any:
    value = raw.get(key)
    if value is None:
        if required:
            raise fail(key, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise fail(key, "must be a non-empty string")
    return value
