"""Which `provider/model` a request means: provider aliases and bare model names.

- `google/…`, `grok/…` and `claude/…` are other names of the gemini, xai and
  anthropic providers (unless the config names a provider so itself).
- A bare model name (`gpt-4o`, `claude-sonnet-4-5`, `o3`) goes to the first provider,
  in PREFERENCE order, that serves it and has credentials: a provider serves a name
  its catalog lists, else one its model list reported; a name neither knows goes by
  its family's prefix (`gpt-`, `o3`, `claude-`, …) to that family's own provider.
  The choice comes with a note that names it, for the caller to show.
- Anything else is an unknown model, with the nearest catalog name as a suggestion.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError
from .models import MODEL_SEGMENT, Catalog, MalformedModelId

#: Other names of a provider, as other tools spell them.
PROVIDER_ALIASES = {"google": "gemini", "grok": "xai", "claude": "anthropic"}
#: Kinds in the order a bare name tries them: first-party APIs, then clouds and aggregators.
PREFERENCE = (
    "anthropic",
    "openai",
    "gemini",
    "xai",
    "mistral",
    "deepseek",
    "azure",
    "bedrock",
    "vertex",
    "copilot",
    "openrouter",
)
#: A bare name no catalog or model list knows, by its family's prefix, to its own provider.
FAMILIES = (
    (re.compile(r"(gpt-|chatgpt-|o\d+(-|$)|text-embedding-)"), "openai"),
    (re.compile(r"claude-"), "anthropic"),
    (re.compile(r"gemini-|gemma-"), "gemini"),
    (re.compile(r"grok-"), "xai"),
    (re.compile(r"(mistral|codestral|magistral|devstral|pixtral|ministral)-"), "mistral"),
    (re.compile(r"deepseek-"), "deepseek"),
)


@dataclass(frozen=True)
class ModelChoice:
    """The `provider/model` a request names, and a note when it was chosen for it."""

    model_id: str
    note: str | None = None


@dataclass(frozen=True)
class ProviderLookup:
    """What the choice needs to know of the configured providers."""

    provider_ids: Sequence[str]
    kind_of: Callable[[str], str]
    has_credentials: Callable[[str], bool]
    #: True when the provider's own model list (cached or configured) holds the name
    lists_model: Callable[[str, str], bool]


def canonical_provider(provider: str, known: Sequence[str]) -> str:
    """The provider an alias stands for; a configured provider of that name wins."""
    if provider in known:
        return provider
    return PROVIDER_ALIASES.get(provider.lower(), provider)


def choose_model(wanted: str, catalog: Catalog, lookup: ProviderLookup) -> ModelChoice:
    """`provider/model` for what the caller wrote; MalformedModelId for a bare name that no
    model id could be, ProviderError(unknownModel) for one nobody serves."""
    provider, slash, model = wanted.partition("/")
    if slash:
        return ModelChoice(f"{canonical_provider(provider, lookup.provider_ids)}/{model}")
    name = wanted.strip()
    if not MODEL_SEGMENT.fullmatch(name):
        raise MalformedModelId(
            f"{wanted!r} is neither 'provider/model' nor a model name (letters, digits and "
            "_ . : @ + -)"
        )
    serving, by_family = _serving(name, catalog, lookup)
    if not serving:
        raise ProviderError(
            ErrorCode.UNKNOWN_MODEL,
            f"no provider serves a model named '{name}': write it as provider/model",
            suggestion=_nearest(name, catalog),
        )
    signed_in = [p for p in serving if lookup.has_credentials(p)]
    chosen = (signed_in or serving)[0]
    others = [p for p in serving if p != chosen]
    if by_family:
        why = f"no catalog or model list has it, and its name is of {chosen}'s models"
        if (nearest := _nearest(name, catalog)) is not None:
            why += f" ({nearest})"
    elif signed_in:
        why = "the first provider with credentials that serves it"
    else:
        why = "no provider that serves it has credentials"
    also = f"; also served by {', '.join(others)}" if others else ""
    note = f"model '{name}' resolved to '{chosen}/{name}': {why}{also}"
    return ModelChoice(f"{chosen}/{name}", note)


def _serving(name: str, catalog: Catalog, lookup: ProviderLookup) -> tuple[list[str], bool]:
    """The providers that serve a bare name, best first, and whether only its family's
    prefix says so."""
    ranked = sorted(lookup.provider_ids, key=lambda p: _rank(p, lookup.kind_of(p)))
    catalogued = [p for p in ranked if catalog.get(lookup.kind_of(p), name) is not None]
    if catalogued:
        return catalogued, False
    listed = [p for p in ranked if lookup.lists_model(p, name)]
    if listed:
        return listed, False
    for pattern, kind in FAMILIES:
        if pattern.match(name):
            return [p for p in ranked if lookup.kind_of(p) == kind], True
    return [], False


def _rank(provider: str, kind: str) -> tuple[int, int, str]:
    order = PREFERENCE.index(kind) if kind in PREFERENCE else len(PREFERENCE)
    return order, provider != kind, provider


def _nearest(name: str, catalog: Catalog) -> str | None:
    by_preference = sorted(catalog.provider_ids(), key=lambda p: _rank(p, p), reverse=True)
    # The most preferred provider's id wins for a name several serve: it is written last.
    ids = {
        info.id.partition("/")[2]: info.id
        for provider in by_preference
        for info in catalog.models(provider)
    }
    close = difflib.get_close_matches(name, list(ids), n=1, cutoff=0.6)
    return f"did you mean '{ids[close[0]]}'?" if close else None
