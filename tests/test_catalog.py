"""The packaged model catalog: its data, and the Catalog API over it."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import Any

import pytest
from switchboard.providers.catalog import (
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
RATE_KEYS = ("inputPerMTok", "outputPerMTok", "cacheReadPerMTok", "cacheWritePerMTok")
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


# ---- the data -----------------------------------------------------------------


def test_catalog_has_both_providers_with_models() -> None:
    data = packaged_data()
    assert isinstance(data["version"], int)
    assert {"anthropic", "openai"} <= set(data["providers"])
    for provider in data["providers"].values():
        assert provider["name"]
        assert provider["models"]
        assert provider["fallback"]["contextWindow"] > 0
        assert provider["fallback"]["maxOutputTokens"] > 0


@pytest.mark.parametrize(("provider_id", "model"), model_params())
def test_every_model_has_limits_capabilities_and_sourced_prices(
    provider_id: str, model: dict[str, Any]
) -> None:
    where = f"{provider_id}/{model['id']}"
    assert model["name"], where
    assert isinstance(model["contextWindow"], int) and model["contextWindow"] > 0, where
    assert isinstance(model["maxOutputTokens"], int), where
    assert 0 < model["maxOutputTokens"] <= model["contextWindow"], where
    assert model["api"] in {"messages", "chat", "responses", "converse", "generateContent"}, where
    assert model["status"] in {"active", "legacy", "deprecated"}, where
    assert URL.match(model["specSource"]), where

    capabilities = model["capabilities"]
    assert set(capabilities) == set(CAPABILITY_TYPES), where
    for key, kind in CAPABILITY_TYPES.items():
        assert isinstance(capabilities[key], kind), f"{where}: {key}"
    assert set(capabilities["toolChoice"]) <= {"auto", "any", "none", "tool"}, where
    assert "auto" in capabilities["toolChoice"], where

    thinking = model["thinking"]
    assert (thinking is not None) == capabilities["thinking"], where
    if thinking is not None:
        assert thinking["mode"] in {"budget", "effort"}, where
        assert thinking["default"] in {"off", "on", "always"}, where

    assert "pricing" in model, f"{where}: pricing must be given, or null"
    pricing = model["pricing"]
    if pricing is None:
        assert model.get("notes"), f"{where}: a missing price must say why"
        return
    for key in RATE_KEYS:
        assert key in pricing, f"{where}: {key} must be given, or null"
        assert pricing[key] is None or pricing[key] >= 0, f"{where}: {key}"
    if any(pricing[key] is None for key in RATE_KEYS):
        assert pricing.get("note"), f"{where}: a null price must say why"
    date.fromisoformat(pricing["checked"])
    assert URL.match(pricing["source"]), where
    thresholds = [tier["aboveInputTokens"] for tier in pricing["tiers"]]
    assert thresholds == sorted(set(thresholds)), where
    for tier in pricing["tiers"]:
        # a tier may start at the standard window when a beta extends it (Sonnet 4.5)
        assert 0 < tier["aboveInputTokens"] <= model["contextWindow"], where
        for key in RATE_KEYS:
            assert key in tier, f"{where}: tier {key}"
        assert tier["inputPerMTok"] >= pricing["inputPerMTok"], where


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
    }
    assert wire["capabilities"]["toolChoice"] == ["auto", "any", "none", "tool"]


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
