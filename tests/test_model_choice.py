"""Which provider/model a request means: aliases, bare names, and near misses."""

from __future__ import annotations

from pathlib import Path

import pytest
from switchboard.protocol.chat import ChatParams
from switchboard.protocol.errors import ErrorCode
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.adapters import kinds
from switchboard.providers.base import ListedModel
from switchboard.providers.catalog.model_choice import ProviderLookup, choose_model
from switchboard.providers.catalog.models import Catalog, MalformedModelId
from switchboard.providers.config import Config, apply_overrides
from switchboard.providers.engine import ChatEngine
from switchboard.providers.errors import ProviderError

OPENAI_KEY = {"OPENAI_API_KEY": "sk-test-abcdefghijklmnopqrstuvwxyz0123"}
CATALOG = Catalog.load()


def engine(environ: dict[str, str] | None = None, config: Config | None = None) -> ChatEngine:
    return ChatEngine(config or Config(), environ=environ or {})


def configured(settings: dict[str, object]) -> Config:
    return apply_overrides(Config(), settings, frozenset(kinds()))


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("google/gemini-2.5-flash", "gemini/gemini-2.5-flash"),
        ("grok/grok-4", "xai/grok-4"),
        ("claude/claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"),
        ("Google/gemini-2.5-flash", "gemini/gemini-2.5-flash"),
        ("openai/gpt-4o", "openai/gpt-4o"),
    ],
)
def test_provider_aliases_name_their_provider(written: str, meant: str) -> None:
    choice = engine().choose_model(written)
    assert choice.model_id == meant and choice.note is None
    target = engine().resolve(written)
    assert target.id == meant and target.info.source == "catalog"


def test_a_provider_the_config_names_like_an_alias_is_that_provider() -> None:
    config = configured({"providers": {"google": {"kind": "openai", "baseUrl": "http://x"}}})
    assert engine(config=config).resolve("google/gpt-4o").id == "google/gpt-4o"


def test_a_bare_name_goes_to_the_first_provider_with_credentials() -> None:
    choice = engine(OPENAI_KEY).choose_model("gpt-4o")
    assert choice.model_id == "openai/gpt-4o"
    assert choice.note is not None
    assert "'openai/gpt-4o'" in choice.note and "credentials" in choice.note
    assert "also served by azure" in choice.note


def test_a_bare_name_skips_a_preferred_provider_without_credentials() -> None:
    azure = {"AZURE_OPENAI_API_KEY": "azure-test-key-0123456789abcdef"}
    assert engine(azure).choose_model("gpt-4o").model_id == "azure/gpt-4o"
    both = {**azure, **OPENAI_KEY}
    assert engine(both).choose_model("gpt-4o").model_id == "openai/gpt-4o"


def test_a_cloud_serves_a_bare_name_when_its_credential_chain_is_found(tmp_path: Path) -> None:
    vertex = configured({"providers": {"vertex": {"project": "p", "location": "us-east5"}}})
    nothing_found = {"HOME": str(tmp_path)}
    assert engine(nothing_found, vertex).choose_model("gemini-2.5-flash").model_id == (
        "gemini/gemini-2.5-flash"
    )
    adc = tmp_path / "adc.json"
    adc.write_text("{}", encoding="utf-8")
    chain = {"HOME": str(tmp_path), "GOOGLE_APPLICATION_CREDENTIALS": str(adc)}
    assert engine(chain, vertex).choose_model("gemini-2.5-flash").model_id == (
        "vertex/gemini-2.5-flash"
    )
    # The first-party API still comes first when it has a key.
    both = {**chain, "GEMINI_API_KEY": "gemini-test-key-0123456789abcdef"}
    assert engine(both, vertex).choose_model("gemini-2.5-flash").model_id == (
        "gemini/gemini-2.5-flash"
    )


def test_with_no_credentials_the_first_server_is_named_and_said() -> None:
    choice = engine().choose_model("claude-sonnet-4-5")
    assert choice.model_id == "anthropic/claude-sonnet-4-5"
    assert choice.note is not None and "no provider that serves it has credentials" in choice.note


def test_a_name_no_catalog_lists_goes_by_its_family() -> None:
    choice = engine(OPENAI_KEY).choose_model("o3")
    assert choice.model_id == "openai/o3"
    assert choice.note is not None and "openai's models" in choice.note
    assert engine().choose_model("grok-9-preview").model_id == "xai/grok-9-preview"
    # A near miss of a catalog name still goes to its family, with the name it may mean.
    typo = engine().choose_model("claude-sonet-4-5")
    assert typo.model_id == "anthropic/claude-sonet-4-5"
    assert typo.note is not None and "did you mean 'anthropic/claude-sonnet-4-5'?" in typo.note


def test_a_name_a_provider_listed_is_served_by_it() -> None:
    lookup = ProviderLookup(
        provider_ids=["openai", "box"],
        kind_of=lambda p: {"box": "openai-compatible"}.get(p, p),
        has_credentials=lambda p: True,
        lists_model=lambda p, name: p == "box" and name == "box-model",
    )
    assert choose_model("box-model", CATALOG, lookup).model_id == "box/box-model"


def test_the_engine_reads_a_configured_list_for_bare_names() -> None:
    config = configured(
        {
            "providers": {
                "box": {"kind": "openai-compatible", "baseUrl": "http://x", "models": ["box-model"]}
            }
        }
    )
    box = engine(config=config)
    assert box.models.listed("box", "box-model") == ListedModel(name="box-model")
    assert box.choose_model("box-model").model_id == "box/box-model"


def test_an_unknown_bare_name_suggests_the_nearest_catalog_model() -> None:
    with pytest.raises(ProviderError) as unknown:
        engine().choose_model("gemni-2.5-flash")
    assert unknown.value.code == ErrorCode.UNKNOWN_MODEL
    assert unknown.value.suggestion == "did you mean 'gemini/gemini-2.5-flash'?"
    with pytest.raises(ProviderError) as nothing:
        engine().choose_model("zzzz")
    assert nothing.value.code == ErrorCode.UNKNOWN_MODEL and nothing.value.suggestion is None


def test_an_unknown_provider_suggests_the_closest_name_aliases_included() -> None:
    with pytest.raises(ProviderError) as typo:
        engine().resolve("opnai/gpt-4o")
    assert typo.value.code == ErrorCode.UNKNOWN_PROVIDER and typo.value.suggestion == "openai"
    with pytest.raises(ProviderError) as alias_typo:
        engine().resolve("gogle/gemini-2.5-flash")
    assert alias_typo.value.suggestion == "google"


def test_a_bare_name_no_model_could_have_is_invalid_params() -> None:
    with pytest.raises(MalformedModelId):
        choose_model("gpt 4o", CATALOG, ProviderLookup([], str, bool, lambda p, n: False))
    with pytest.raises(InvalidParams) as invalid:
        engine().resolve("gpt 4o")
    assert invalid.value.field == "model"


def test_the_choice_is_a_warning_of_the_chat() -> None:
    params = ChatParams.model_validate(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    )
    run = engine(OPENAI_KEY).prepare(params)
    assert run.target.id == "openai/gpt-4o"
    assert any("resolved to 'openai/gpt-4o'" in w for w in run._warnings)


def test_a_provider_named_by_its_alias_is_that_provider() -> None:
    assert engine().provider_id("google") == "gemini"
    assert engine().provider_id("xai") == "xai"
    with pytest.raises(ProviderError) as unknown:
        engine().provider_id("grock")
    assert unknown.value.code == ErrorCode.UNKNOWN_PROVIDER and unknown.value.suggestion == "grok"
