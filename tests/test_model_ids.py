"""Model ids stay model ids: a strict pattern at the door, and one path segment in every URL.

`gemini/../../../v1/messages` once reached another path of the provider's host with the
key attached. The engine now refuses such an id with invalid params naming `model`, and
every adapter that puts a model (or an Azure deployment) into a URL path encodes it as
one segment, so even an id that got past the pattern could not climb out.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import ChatParams
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.adapters import adapter_for, kinds
from switchboard.providers.base import Credential, ModelTarget, ProviderSettings, path_segment
from switchboard.providers.catalog.models import (
    MalformedModelId,
    default_catalog,
    parse_model_id,
)
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine

CHAT = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
KEY = Credential(secret="k" * 24, source="test")
BASE = "https://host.example/base"
OPTIONS: dict[str, dict[str, Any]] = {
    "vertex": {"project": "p", "location": "us-east5"},
    "bedrock": {"region": "us-east-1"},
    "azure": {"api_version": "2024-10-21"},
}
HOSTILE = [
    "../../../v1/messages",
    "..",
    ".",
    "a/../../b",
    "x?key=1",
    "x#frag",
    "x:other",
    "%2e%2e/%2e%2e/v1",
    "x\\..\\y",
]


@pytest.mark.parametrize(
    "text",
    [
        "gemini/../../../v1/messages",
        "gemini/..",
        "openrouter/anthropic/../../v1",
        "openrouter/./x",
        "openai/gpt-4o/",
        "openai/a//b",
        "openai/gpt 4o",
        "openai/gpt-4o\n",
        "openai/gpt\x00-4o",
        "openai/gpt\u200b-4o",
        "openai/%2e%2e",
        "openai/x?y=1",
        "openai/x#y",
        "openai/x\\y",
        "open ai/gpt-4o",
        "../openai/gpt-4o",
        "openai/" + "x" * 300,
    ],
)
def test_malformed_ids_are_refused(text: str) -> None:
    with pytest.raises(MalformedModelId):
        parse_model_id(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openrouter/anthropic/claude-sonnet-4.5", ("openrouter", "anthropic/claude-sonnet-4.5")),
        ("vertex/claude-sonnet-4-5@20250929", ("vertex", "claude-sonnet-4-5@20250929")),
        (
            "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ),
        ("ollama/hf.co/org/model-GGUF:Q4_K_M", ("ollama", "hf.co/org/model-GGUF:Q4_K_M")),
        ("my-local_2/org/model", ("my-local_2", "org/model")),
        ("openrouter/vendor/model:free", ("openrouter", "vendor/model:free")),
    ],
)
def test_the_ids_catalogs_and_servers_use_pass(text: str, expected: tuple[str, str]) -> None:
    assert parse_model_id(text) == expected


def test_every_catalog_id_passes() -> None:
    catalog = default_catalog()
    ids = [model.id for model in catalog.models()]
    assert len(ids) > 50
    for model_id in ids:
        parse_model_id(model_id)


def test_the_engine_refuses_a_malformed_id_as_invalid_params_naming_model() -> None:
    engine = ChatEngine(Config(), environ={})
    with pytest.raises(InvalidParams) as refused:
        engine.resolve("gemini/../../../v1/messages")
    assert refused.value.field == "model"
    assert str(refused.value).startswith("invalid params: model:")


@pytest.mark.parametrize("value", HOSTILE)
def test_a_path_segment_is_one_segment(value: str) -> None:
    url = httpx.URL(f"https://host.example/v1/models/{path_segment(value)}/tail")
    segments = url.raw_path.decode().split("/")
    assert segments[:4] == ["", "v1", "models", path_segment(value)]
    assert segments[4:] == ["tail"]
    assert url.query == b""
    assert url.fragment == ""
    assert path_segment(value) not in (".", "..")


def test_a_path_segment_keeps_vertex_versions_readable() -> None:
    assert path_segment("claude-sonnet-4-5@20250929") == "claude-sonnet-4-5@20250929"
    assert path_segment("anthropic.claude-v1:0") == "anthropic.claude-v1%3A0"


def hostile_requests(model: str) -> list[tuple[str, str]]:
    """(kind, url) of each adapter's chat request for `model`, built against BASE."""
    built = []
    for kind in kinds():
        info = ModelInfo(id=f"{kind}/{model}", provider=kind, name=model, context_window=100_000)
        settings = ProviderSettings(
            id=kind, kind=kind, base_url=BASE, options=OPTIONS.get(kind, {})
        )
        request = adapter_for(kind).build_request(
            CHAT, ModelTarget(kind, model, info), settings, KEY
        )
        built.append((kind, request.url))
    return built


@pytest.mark.parametrize("model", HOSTILE)
def test_no_adapter_lets_a_model_reach_another_path(model: str) -> None:
    expected_prefixes = {
        "gemini": "/base/models/",
        "vertex": "/base/projects/p/locations/us-east5/publishers/google/models/",
        "bedrock": "/base/model/",
        "azure": "/base/openai/deployments/",
    }
    for kind, url in hostile_requests(model):
        parsed = httpx.URL(url)
        path = parsed.raw_path.decode().split("?")[0]
        assert ".." not in path.split("/"), (kind, url)
        assert "/v1/messages" not in path or kind == "anthropic", (kind, url)
        prefix = expected_prefixes.get(kind)
        if prefix is not None:
            rest = path.removeprefix(prefix)
            assert rest != path, (kind, url)
            # The model is the one segment after the prefix; what follows is the adapter's own.
            assert rest.split("/")[0].split(":")[0] == path_segment(model).split(":")[0]
        assert parsed.fragment == "", (kind, url)
        assert "key=1" not in parsed.query.decode(), (kind, url)
