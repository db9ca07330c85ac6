"""The packaged model catalog: its data, and the Catalog API over it."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import Any, get_args

import pytest
from switchboard.protocol.catalog import ModelsResult
from switchboard.providers.adapters import listed_kinds
from switchboard.providers.catalog.models import (
    ApiKind,
    Catalog,
    CatalogError,
    catalog_data,
    closest_provider,
    default_catalog,
    parse_model_id,
)

CAPABILITY_TYPES = {
    "images": bool,
    "tools": bool,
    "toolChoice": list,
    "thinking": bool,
    "promptCaching": bool,
    "streaming": bool,
}
# fim absent: no fill-in-the-middle; toolInputFormat absent: full JSON Schema
OPTIONAL_CAPABILITY_TYPES = {"fim": bool, "toolInputFormat": str}
TOOL_INPUT_FORMATS = {"jsonSchema", "simplified"}
CACHE_CONFIGURATION_KEYS = {"maxCacheAnchors", "cacheTools", "minCacheableTokens"}
RATE_KEYS = ("inputPerMTok", "outputPerMTok", "cacheReadPerMTok", "cacheWritePerMTok")
INDEX_KEYS = {"version", "checked", "about", "defaultModel", "defaultFastModel", "fallback"}
PROVIDER_KEYS = {"name", "defaultModel", "defaultFastModel", "fallback", "models"}
MODEL_KEYS = {
    "id",
    "name",
    "aliases",
    "status",
    "released",
    "shutdownDate",
    "api",
    "contextWindow",
    "maxInputTokens",
    "maxOutputTokens",
    "capabilities",
    "thinking",
    "pricing",
    "specSource",
}
OPTIONAL_MODEL_KEYS = {"notes", "cacheConfiguration"}
PRICING_KEYS = {*RATE_KEYS, "tiers", "checked", "source"}
OPTIONAL_PRICING_KEYS = {"cacheWrite1hPerMTok", "note"}
TIER_KEYS = {"aboveInputTokens", *RATE_KEYS}
EFFORTS = {"none", "minimal", "low", "medium", "high", "xhigh", "max"}
URL = re.compile(r"^https://[\w.-]+/\S*$")


def packaged_data() -> dict[str, Any]:
    return catalog_data()


def packaged_text() -> str:
    return json.dumps(catalog_data())


def model_params() -> list[Any]:
    return [pytest.param(p, m, id=f"{p}/{m['id']}") for p, m in all_models()]


def all_models() -> list[tuple[str, dict[str, Any]]]:
    return [
        (provider_id, model)
        for provider_id, provider in packaged_data()["providers"].items()
        for model in provider["models"]
    ]


def fresh_catalog() -> Catalog:
    return Catalog.from_json(packaged_text())


# ---- the schema ---------------------------------------------------------------
# Every check returns the problems it finds, so a broken entry reports all of them at once.


def keys_problems(
    where: str, raw: Any, required: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    if not isinstance(raw, dict):
        return [f"{where}: must be an object"]
    problems = [f"{where}: missing {key}" for key in sorted(required - set(raw))]
    problems += [f"{where}: unknown key {key}" for key in sorted(set(raw) - required - optional)]
    return problems


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_rate(value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and value >= 0 and value == value and value != float("inf")


def iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def limits_problems(where: str, model: Any) -> list[str]:
    window = model.get("contextWindow")
    if not is_int(window) or window <= 0:
        return [f"{where}: contextWindow must be a positive integer"]
    problems = []
    for key, nullable in (("maxOutputTokens", False), ("maxInputTokens", True)):
        value = model.get(key)
        if value is None and nullable:
            continue
        if not is_int(value) or not 0 < value <= window:
            problems.append(f"{where}: {key} must be an integer in 1..contextWindow")
    return problems


def capabilities_problems(where: str, model: Any) -> list[str]:
    capabilities = model.get("capabilities")
    problems = keys_problems(
        f"{where}: capabilities",
        capabilities,
        set(CAPABILITY_TYPES),
        set(OPTIONAL_CAPABILITY_TYPES),
    )
    if problems:
        return problems
    for key, kind in (*CAPABILITY_TYPES.items(), *OPTIONAL_CAPABILITY_TYPES.items()):
        if key in capabilities and not isinstance(capabilities[key], kind):
            problems.append(f"{where}: capabilities.{key} must be a {kind.__name__}")
    modes = capabilities["toolChoice"]
    if not isinstance(modes, list) or "auto" not in modes or len(set(modes)) != len(modes):
        problems.append(f"{where}: toolChoice must list auto, once each")
    elif not set(modes) <= {"auto", "any", "none", "tool"}:
        problems.append(f"{where}: toolChoice has an unknown mode")
    if capabilities.get("toolInputFormat", "jsonSchema") not in TOOL_INPUT_FORMATS:
        problems.append(f"{where}: toolInputFormat must be one of {sorted(TOOL_INPUT_FORMATS)}")
    thinking = model.get("thinking")
    if (thinking is not None) != capabilities["thinking"]:
        problems.append(f"{where}: thinking is set exactly when capabilities.thinking is true")
    return problems


def thinking_problems(where: str, model: Any) -> list[str]:
    thinking = model.get("thinking")
    if thinking is None:
        return []
    problems = keys_problems(f"{where}: thinking", thinking, {"mode", "default", "defaultEffort"})
    if problems:
        return problems
    if thinking["mode"] not in {"budget", "effort"}:
        problems.append(f"{where}: thinking.mode must be budget or effort")
    if thinking["default"] not in {"off", "on", "always"}:
        problems.append(f"{where}: thinking.default must be off, on or always")
    effort = thinking["defaultEffort"]
    if effort is not None and (thinking["mode"] != "effort" or effort not in EFFORTS):
        problems.append(f"{where}: defaultEffort must be null or an effort of an effort model")
    return problems


def rates_problems(where: str, rates: Any) -> list[str]:
    problems = []
    for key in (*RATE_KEYS, "cacheWrite1hPerMTok"):
        value = rates.get(key)
        if value is not None and not is_rate(value):
            problems.append(f"{where}: {key} must be a non-negative number or null")
    if problems:
        return problems
    base, read = rates.get("inputPerMTok"), rates.get("cacheReadPerMTok")
    write, write_1h = rates.get("cacheWritePerMTok"), rates.get("cacheWrite1hPerMTok")
    # Swapped fields show up as a cache read dearer than input, or a write cheaper than it.
    if base is not None and read is not None and read > base:
        problems.append(f"{where}: cacheReadPerMTok above inputPerMTok")
    if base is not None and write is not None and write < base:
        problems.append(f"{where}: cacheWritePerMTok below inputPerMTok")
    if write_1h is not None and (write is None or write_1h < write):
        problems.append(f"{where}: cacheWrite1hPerMTok needs a 5-minute rate at or below it")
    return problems


def pricing_problems(where: str, model: Any, checked: date) -> list[str]:
    pricing = model.get("pricing")
    problems = keys_problems(f"{where}: pricing", pricing, PRICING_KEYS, OPTIONAL_PRICING_KEYS)
    if problems:
        return problems
    problems += rates_problems(f"{where}: pricing", pricing)
    if any(pricing[key] is None for key in RATE_KEYS) and not pricing.get("note"):
        problems.append(f"{where}: a null rate needs a note saying why")
    priced = pricing["inputPerMTok"] is not None and pricing["outputPerMTok"] is not None
    if not priced and pricing["tiers"]:
        problems.append(f"{where}: an unpriced model has no tiers")
    price_date = iso_date(pricing["checked"])
    if price_date is None or price_date > checked:
        problems.append(f"{where}: pricing.checked must be an ISO date not after {checked}")
    if not isinstance(pricing["source"], str) or not URL.match(pricing["source"]):
        problems.append(f"{where}: pricing.source must be an https URL")
    return problems + tiers_problems(where, model)


def tiers_problems(where: str, model: Any) -> list[str]:
    pricing, problems = model["pricing"], []
    tiers = pricing["tiers"]
    if not isinstance(tiers, list):
        return [f"{where}: tiers must be a list"]
    thresholds = []
    for index, tier in enumerate(tiers):
        at = f"{where}: tier {index}"
        found = keys_problems(at, tier, TIER_KEYS, {"cacheWrite1hPerMTok"})
        if found:
            problems += found
            continue
        problems += rates_problems(at, tier)
        above = tier["aboveInputTokens"]
        thresholds.append(above)
        # a tier may start at the standard window when a beta extends it (Sonnet 4.5)
        if not is_int(above) or not 0 < above <= model["contextWindow"]:
            problems.append(f"{at}: aboveInputTokens must be in 1..contextWindow")
        if tier["inputPerMTok"] is None or tier["outputPerMTok"] is None:
            problems.append(f"{at}: a tier needs input and output rates")
        elif is_rate(pricing["inputPerMTok"]) and tier["inputPerMTok"] < pricing["inputPerMTok"]:
            problems.append(f"{at}: a long-context tier is not cheaper than the base")
    if thresholds != sorted(set(thresholds)):
        problems.append(f"{where}: tiers must be sorted by aboveInputTokens, no repeats")
    return problems


def cache_configuration_problems(where: str, model: Any) -> list[str]:
    if "cacheConfiguration" not in model:
        return []
    configured = model["cacheConfiguration"]
    problems = keys_problems(f"{where}: cacheConfiguration", configured, CACHE_CONFIGURATION_KEYS)
    if problems:
        return problems
    for key in ("maxCacheAnchors", "minCacheableTokens"):
        if not is_int(configured[key]) or configured[key] < 0:
            problems.append(f"{where}: cacheConfiguration.{key} must be a non-negative integer")
    if not isinstance(configured["cacheTools"], bool):
        problems.append(f"{where}: cacheConfiguration.cacheTools must be a bool")
    if not model["capabilities"].get("promptCaching"):
        problems.append(f"{where}: cacheConfiguration needs capabilities.promptCaching")
    return problems


def model_problems(provider_id: str, model: Any, checked: date) -> list[str]:
    where = f"{provider_id}/{model.get('id') if isinstance(model, dict) else '?'}"
    problems = keys_problems(where, model, MODEL_KEYS, OPTIONAL_MODEL_KEYS)
    if problems:
        return problems
    for key in ("id", "name"):
        if not isinstance(model[key], str) or not model[key]:
            problems.append(f"{where}: {key} must be a non-empty string")
    aliases = model["aliases"]
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        problems.append(f"{where}: aliases must be a list of names")
    if model["api"] not in get_args(ApiKind):
        problems.append(f"{where}: api must be one of {get_args(ApiKind)}")
    if model["status"] not in {"active", "legacy", "deprecated"}:
        problems.append(f"{where}: status must be active, legacy or deprecated")
    for key in ("released", "shutdownDate"):
        if model[key] is not None and iso_date(model[key]) is None:
            problems.append(f"{where}: {key} must be an ISO date or null")
    if not isinstance(model["specSource"], str) or not URL.match(model["specSource"]):
        problems.append(f"{where}: specSource must be an https URL")
    if "notes" in model and (not isinstance(model["notes"], str) or not model["notes"]):
        problems.append(f"{where}: notes must be a non-empty string when given")
    return (
        problems
        + limits_problems(where, model)
        + capabilities_problems(where, model)
        + cache_configuration_problems(where, model)
        + thinking_problems(where, model)
        + pricing_problems(where, model, checked)
    )


def index_problems(data: dict[str, Any]) -> list[str]:
    problems = keys_problems("catalog.json", data, {*INDEX_KEYS, "providers"})
    if problems:
        return problems
    if not is_int(data["version"]):
        problems.append("catalog.json: version must be an integer")
    if iso_date(data["checked"]) is None:
        problems.append("catalog.json: checked must be an ISO date")
    for provider_id, provider in data["providers"].items():
        problems += keys_problems(provider_id, provider, PROVIDER_KEYS, {"about"})
    return problems


def catalog_problems(data: dict[str, Any]) -> list[str]:
    problems = index_problems(data)
    if problems:
        return problems
    checked = date.fromisoformat(data["checked"])
    for provider_id, provider in data["providers"].items():
        if not provider["models"]:
            problems.append(f"{provider_id}: no models")
        for model in provider["models"]:
            problems += model_problems(provider_id, model, checked)
    return problems


# ---- the data -----------------------------------------------------------------


def test_the_packaged_catalog_passes_the_schema() -> None:
    assert catalog_problems(packaged_data()) == []


def test_every_provider_kind_with_a_list_has_a_catalog_file() -> None:
    # local servers (ollama, lmstudio, ...) have no catalog: their models are configured
    assert set(packaged_data()["providers"]) == set(listed_kinds())


@pytest.mark.parametrize(("provider_id", "model"), model_params())
def test_every_model_has_limits_and_prices_or_an_explained_null_with_a_date(
    provider_id: str, model: dict[str, Any]
) -> None:
    checked = date.fromisoformat(packaged_data()["checked"])
    assert model_problems(provider_id, model, checked) == []
    info = fresh_catalog().get(provider_id, model["id"])
    assert info is not None and info.context_window == model["contextWindow"]
    assert info.max_input_tokens == model["maxInputTokens"]
    assert info.max_output_tokens == model["maxOutputTokens"]
    priced = model["pricing"]["inputPerMTok"] is not None
    assert (info.pricing is not None) == priced


def test_fallback_limits_are_positive() -> None:
    data = packaged_data()
    for where, fallback in [
        ("catalog.json", data["fallback"]),
        *((p, provider["fallback"]) for p, provider in data["providers"].items()),
    ]:
        assert set(fallback) == {"contextWindow", "maxOutputTokens"}, where
        assert is_int(fallback["contextWindow"]) and fallback["contextWindow"] > 0, where
        assert 0 < fallback["maxOutputTokens"] <= fallback["contextWindow"], where


def broken(change: Any) -> list[str]:
    """The schema's complaints about the packaged data after one change to its first model."""
    data = packaged_data()
    model = data["providers"]["anthropic"]["models"][0]
    change(model)
    return catalog_problems(data)


def _set(path: str, value: Any) -> Any:
    def change(model: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = model
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _drop(key: str) -> Any:
    return lambda model: model.pop(key)


def _drop_cache_key(model: dict[str, Any]) -> None:
    del model["cacheConfiguration"]["minCacheableTokens"]


def _unexplained_null_rate(model: dict[str, Any]) -> None:
    model["pricing"]["cacheWritePerMTok"] = None
    model["pricing"].pop("note", None)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (_drop("maxInputTokens"), "missing maxInputTokens"),
        (_set("maxInputTokens", 2_000_000), "maxInputTokens must be an integer"),
        (_set("maxOutputTokens", None), "maxOutputTokens must be an integer"),
        (_set("contextWindow", "1M"), "contextWindow must be a positive integer"),
        (_set("cacheRead", 1), "unknown key cacheRead"),
        (_set("api", "graphql"), "api must be one of"),
        (_set("status", "retired"), "status must be"),
        (_set("released", "22 Sep 2026"), "released must be an ISO date"),
        (_set("specSource", "http://example.com/x"), "specSource must be an https URL"),
        (_set("capabilities.toolChoice", ["any"]), "toolChoice must list auto"),
        (_set("capabilities.streaming", "yes"), "capabilities.streaming must be a bool"),
        (_set("thinking", None), "thinking is set exactly when"),
        (_set("thinking.mode", "tokens"), "thinking.mode must be budget or effort"),
        (_set("thinking.defaultEffort", "extreme"), "defaultEffort must be null"),
        (_set("pricing", None), "pricing: must be an object"),
        (_set("pricing.inputPerMTok", -1), "inputPerMTok must be a non-negative number"),
        (_set("pricing.outputPerMTok", "10"), "outputPerMTok must be a non-negative number"),
        (_set("pricing.cacheReadPerMTok", 50), "cacheReadPerMTok above inputPerMTok"),
        (_set("pricing.cacheWritePerMTok", 0.5), "cacheWritePerMTok below inputPerMTok"),
        (_set("pricing.cacheWrite1hPerMTok", 1), "cacheWrite1hPerMTok needs"),
        (_set("capabilities.toolInputFormat", "yaml"), "toolInputFormat must be one of"),
        (_set("cacheConfiguration.maxCacheAnchors", -1), "maxCacheAnchors must be a non-neg"),
        (_set("cacheConfiguration.cacheTools", "yes"), "cacheTools must be a bool"),
        (_drop_cache_key, "cacheConfiguration: missing minCacheableTokens"),
        (_set("capabilities.promptCaching", False), "cacheConfiguration needs"),
        (_unexplained_null_rate, "a null rate needs a note"),
        (_set("pricing.checked", "2099-01-01"), "pricing.checked must be an ISO date not after"),
        (_set("pricing.checked", "yesterday"), "pricing.checked must be an ISO date"),
        (_set("pricing.source", "openrouter.ai"), "pricing.source must be an https URL"),
        (
            _set(
                "pricing.tiers",
                [
                    {"aboveInputTokens": 400_000, **dict.fromkeys(RATE_KEYS, 20)},
                    {"aboveInputTokens": 200_000, **dict.fromkeys(RATE_KEYS, 20)},
                ],
            ),
            "tiers must be sorted",
        ),
        (
            _set("pricing.tiers", [{"aboveInputTokens": 200_000, **dict.fromkeys(RATE_KEYS, 1)}]),
            "not cheaper than the base",
        ),
        (
            _set("pricing.tiers", [{"aboveInputTokens": 9_000_000, **dict.fromkeys(RATE_KEYS, 9)}]),
            "aboveInputTokens must be in",
        ),
    ],
)
def test_the_schema_catches(change: Any, complaint: str) -> None:
    problems = broken(change)
    assert any(complaint in problem for problem in problems), problems


def test_the_schema_checks_the_index_and_provider_files() -> None:
    data = packaged_data()
    data["checked"] = "21/11/2026"
    assert catalog_problems(data) == ["catalog.json: checked must be an ISO date"]
    data = packaged_data()
    del data["providers"]["xai"]["defaultFastModel"]
    assert catalog_problems(data) == ["xai: missing defaultFastModel"]
    data = packaged_data()
    data["providers"]["xai"]["models"] = []
    assert catalog_problems(data) == ["xai: no models"]


def test_model_names_and_aliases_are_unique_per_provider() -> None:
    for provider_id, provider in packaged_data()["providers"].items():
        names = [name for m in provider["models"] for name in (m["id"], *m["aliases"])]
        assert len(names) == len(set(names)), provider_id


# ---- lookups ------------------------------------------------------------------


def test_every_alias_resolves_to_its_entry() -> None:
    catalog = fresh_catalog()
    aliased = [(p, m) for p, m in all_models() if m["aliases"]]
    assert aliased, "dated snapshot ids exist for some models"
    for provider_id, model in aliased:
        canonical = catalog.get(provider_id, model["id"])
        assert canonical is not None
        assert canonical.id == f"{provider_id}/{model['id']}"
        for alias in model["aliases"]:
            assert catalog.get(provider_id, alias) == canonical


def test_known_snapshot_aliases() -> None:
    catalog = fresh_catalog()
    info = catalog.get("anthropic", "claude-sonnet-4-5-20250929")
    assert info is not None and info.id == "anthropic/claude-sonnet-4-5"
    assert info == catalog.get("anthropic", "claude-sonnet-4-5")
    info = catalog.get("openai", "gpt-4o-2024-08-06")
    assert info is not None and info.id == "openai/gpt-4o"


def test_get_returns_catalog_source_with_wire_shape() -> None:
    info = fresh_catalog().get("anthropic", "claude-haiku-4-5")
    assert info is not None
    wire = info.to_wire()
    assert wire["id"] == "anthropic/claude-haiku-4-5"
    assert wire["source"] == "catalog"
    assert wire["contextWindow"] == 200_000
    assert wire["pricing"] == {
        "inputPerMTok": 1.0,
        "outputPerMTok": 5.0,
        "cacheReadPerMTok": 0.1,
        "cacheWritePerMTok": 1.25,
        "cacheWrite1hPerMTok": 2.0,
    }
    assert wire["capabilities"]["toolChoice"] == ["auto", "any", "none", "tool"]
    assert wire["capabilities"]["toolInputFormat"] == "jsonSchema"
    assert wire["cacheConfiguration"] == {
        "maxCacheAnchors": 4,
        "cacheTools": True,
        "minCacheableTokens": 4096,
    }


def test_a_model_list_keeps_the_explicit_nulls_of_each_model() -> None:
    unpriced = fresh_catalog().resolve("copilot", "gpt-5-mini")
    listed = ModelsResult(models=[unpriced]).to_wire()["models"][0]
    assert listed["pricing"] is None and listed["maxInputTokens"] == 128_000
    fallback = fresh_catalog().resolve("xai", "grok-next", quiet=True)
    listed = ModelsResult(models=[fallback]).to_wire()["models"][0]
    assert listed["pricing"] is None and listed["maxInputTokens"] is None


def test_get_hands_out_copies() -> None:
    catalog = fresh_catalog()
    info = catalog.get("openai", "gpt-4o")
    assert info is not None
    info.available = True
    info.capabilities.images = False
    again = catalog.get("openai", "gpt-4o")
    assert again is not None and not again.available and again.capabilities.images


def test_unknown_model_or_provider_is_none() -> None:
    catalog = fresh_catalog()
    assert catalog.get("anthropic", "claude-nonexistent") is None
    assert catalog.get("nowhere", "gpt-4o") is None
    assert catalog.entry_extras("nowhere", "gpt-4o") is None


def test_entry_extras_carry_api_thinking_tiers_and_sources() -> None:
    catalog = fresh_catalog()
    haiku = catalog.entry_extras("anthropic", "claude-haiku-5-5")
    assert haiku is not None
    assert haiku.api == "messages"
    assert haiku.thinking_mode == "effort"
    assert [t.above_input_tokens for t in haiku.tiers] == [100_000]
    assert haiku.tiers[0].pricing.input_per_m_tok == 0.5
    assert haiku.cache_write_1h_per_m_tok == 0.2
    assert haiku.price_source and haiku.price_source.startswith("https://")
    date.fromisoformat(haiku.price_checked or "")

    legacy = catalog.entry_extras("anthropic", "claude-sonnet-4-5-20250929")
    assert legacy is not None
    assert legacy.thinking_mode == "budget"
    assert legacy.aliases == ("claude-sonnet-4-5-20250929",)
    assert legacy.status == "deprecated"

    gpt4o = catalog.entry_extras("openai", "gpt-4o")
    assert gpt4o is not None and gpt4o.api == "chat" and gpt4o.thinking_mode is None


def test_provider_ids_and_names() -> None:
    catalog = fresh_catalog()
    assert catalog.provider_ids() == list(packaged_data()["providers"])
    assert catalog.provider_name("anthropic") == "Anthropic"
    assert catalog.provider_name("openai") == "OpenAI"
    assert catalog.provider_name("my-proxy") == "my-proxy"


# ---- defaults -----------------------------------------------------------------


def test_global_defaults_are_a_sonnet_and_a_haiku_in_the_catalog() -> None:
    catalog = fresh_catalog()
    default = catalog.default_model()
    fast = catalog.default_fast_model()
    assert default.startswith("anthropic/claude-sonnet-")
    assert fast.startswith("anthropic/claude-haiku-")
    for model_id in (default, fast):
        assert catalog.get(*parse_model_id(model_id)) is not None


def test_every_provider_default_is_in_the_catalog() -> None:
    catalog = fresh_catalog()
    for provider_id in catalog.provider_ids():
        for model_id in (
            catalog.default_model(provider_id),
            catalog.default_fast_model(provider_id),
        ):
            provider, model = parse_model_id(model_id)
            assert provider == provider_id
            assert catalog.get(provider, model) is not None
    with pytest.raises(KeyError):
        catalog.default_model("nowhere")


def test_models_marks_exactly_one_default_and_one_fast_default() -> None:
    catalog = fresh_catalog()
    every = catalog.models()
    assert len(every) == len(all_models())
    assert [m.id for m in every if m.is_default] == [catalog.default_model()]
    assert [m.id for m in every if m.is_default_fast] == [catalog.default_fast_model()]

    openai = catalog.models("openai")
    assert openai and {m.provider for m in openai} == {"openai"}
    assert [m.id for m in openai if m.is_default] == [catalog.default_model("openai")]
    assert [m.id for m in openai if m.is_default_fast] == [catalog.default_fast_model("openai")]

    chosen = catalog.models(default="openai/gpt-4o-2024-11-20", default_fast="openai/gpt-4o-mini")
    assert [m.id for m in chosen if m.is_default] == ["openai/gpt-4o"]
    assert [m.id for m in chosen if m.is_default_fast] == ["openai/gpt-4o-mini"]


def test_load_reads_once() -> None:
    assert Catalog.load() is Catalog.load() is default_catalog()


# ---- fallback -----------------------------------------------------------------


def test_fallback_for_unknown_model_uses_provider_limits_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalog = fresh_catalog()
    fallback = packaged_data()["providers"]["openai"]["fallback"]
    with caplog.at_level(logging.WARNING, logger="switchboard.catalog"):
        first = catalog.resolve("openai", "gpt-99-preview")
        second = catalog.resolve("openai", "gpt-99-preview")
    assert first == second
    assert first.source == "fallback"
    assert first.pricing is None
    assert first.id == "openai/gpt-99-preview"
    assert first.context_window == fallback["contextWindow"]
    assert first.max_output_tokens == fallback["maxOutputTokens"]
    assert first.capabilities.tools
    warnings = [r for r in caplog.records if r.name == "switchboard.catalog"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "openai/gpt-99-preview" in warnings[0].getMessage()
    wire = first.to_wire()
    assert wire["pricing"] is None and wire["source"] == "fallback"


def test_fallback_warns_once_per_model(caplog: pytest.LogCaptureFixture) -> None:
    catalog = fresh_catalog()
    with caplog.at_level(logging.WARNING, logger="switchboard.catalog"):
        for model in ("a", "b", "a", "b"):
            catalog.resolve("anthropic", model)
    assert len([r for r in caplog.records if r.name == "switchboard.catalog"]) == 2


def test_a_quiet_resolve_leaves_the_one_warning_for_later(caplog: pytest.LogCaptureFixture) -> None:
    # the model list resolves listed models quietly; a chat with one still says it once
    catalog = fresh_catalog()
    with caplog.at_level(logging.WARNING, logger="switchboard.catalog"):
        quiet = catalog.resolve("xai", "grok-9", quiet=True)
        assert not caplog.records
        for _ in range(3):
            assert catalog.resolve("xai", "grok-9") == quiet
    assert len([r for r in caplog.records if r.name == "switchboard.catalog"]) == 1


def test_max_input_tokens_is_on_the_wire_and_null_when_the_window_bounds_input() -> None:
    catalog = fresh_catalog()
    gpt = catalog.get("openai", "gpt-6.2-sol")
    assert gpt is not None and gpt.to_wire()["maxInputTokens"] == 922_000
    claude = catalog.get("anthropic", "claude-haiku-4-5")
    assert claude is not None
    wire = claude.to_wire()
    assert "maxInputTokens" in wire and wire["maxInputTokens"] is None
    fallback = catalog.resolve("anthropic", "claude-next", quiet=True).to_wire()
    assert fallback["maxInputTokens"] is None and fallback["contextWindow"] == 200_000


def test_resolve_of_a_known_model_is_the_catalog_entry(caplog: pytest.LogCaptureFixture) -> None:
    catalog = fresh_catalog()
    with caplog.at_level(logging.WARNING, logger="switchboard.catalog"):
        info = catalog.resolve("anthropic", "claude-opus-4-5-20251101")
    assert info.source == "catalog" and info.id == "anthropic/claude-opus-4-5"
    assert not caplog.records


def test_fallback_limits_for_unknown_provider_and_by_kind() -> None:
    catalog = fresh_catalog()
    data = packaged_data()
    proxy = catalog.resolve("my-proxy", "some-model")
    assert proxy.context_window == data["fallback"]["contextWindow"]
    assert proxy.max_output_tokens == data["fallback"]["maxOutputTokens"]
    by_kind = catalog.resolve("my-proxy", "some-model", kind="anthropic")
    assert by_kind.context_window == data["providers"]["anthropic"]["fallback"]["contextWindow"]
    assert by_kind.pricing is None and by_kind.source == "fallback"


# ---- malformed data -------------------------------------------------------------


def test_duplicate_alias_is_rejected() -> None:
    data = packaged_data()
    models = data["providers"]["anthropic"]["models"]
    models[1]["aliases"] = [models[0]["id"]]
    with pytest.raises(CatalogError, match="listed twice"):
        Catalog(data)


def test_default_outside_the_catalog_is_rejected() -> None:
    data = packaged_data()
    data["defaultModel"] = "anthropic/claude-missing"
    with pytest.raises(CatalogError, match="not in the catalog"):
        Catalog(data)


def test_missing_field_is_rejected() -> None:
    data = packaged_data()
    del data["providers"]["openai"]["models"][0]["contextWindow"]
    with pytest.raises(CatalogError):
        Catalog(data)


@pytest.mark.parametrize("value", ["missing", 0, 2_000_000, True, "1M"])
def test_a_bad_max_input_limit_is_rejected(value: Any) -> None:
    data = packaged_data()
    model = data["providers"]["openai"]["models"][0]
    if value == "missing":
        del model["maxInputTokens"]
    else:
        model["maxInputTokens"] = value
    with pytest.raises(CatalogError):
        Catalog(data)


def test_unknown_api_kind_is_rejected() -> None:
    data = packaged_data()
    data["providers"]["openai"]["models"][0]["api"] = "graphql"
    with pytest.raises(CatalogError, match="api"):
        Catalog(data)


# ---- ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anthropic/claude-sonnet-4-5", ("anthropic", "claude-sonnet-4-5")),
        ("openai/gpt-4o", ("openai", "gpt-4o")),
        ("openrouter/anthropic/claude-x", ("openrouter", "anthropic/claude-x")),
        ("ollama/library/llama3:8b", ("ollama", "library/llama3:8b")),
    ],
)
def test_parse_model_id_splits_on_the_first_slash(text: str, expected: tuple[str, str]) -> None:
    assert parse_model_id(text) == expected


@pytest.mark.parametrize("text", ["", "claude-sonnet", "/gpt-4o", "openai/", " /x", "x/ ", "/"])
def test_parse_model_id_rejects_malformed_ids(text: str) -> None:
    with pytest.raises(ValueError, match="provider/model"):
        parse_model_id(text)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("anthropc", "anthropic"),
        ("antropic", "anthropic"),
        ("OpenAI", "openai"),
        ("open-ai", "openai"),
        ("zzzz", None),
    ],
)
def test_closest_provider(name: str, expected: str | None) -> None:
    assert closest_provider(name, ["anthropic", "openai", "openrouter"]) == expected
