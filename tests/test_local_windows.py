"""Reading the window a local server runs a model with from its own answers."""

from __future__ import annotations

from typing import Any

import pytest
from switchboard.providers.adapters.local import (
    LlamaCppAdapter,
    LMStudioAdapter,
    OllamaAdapter,
)
from switchboard.providers.base import ListedModel, ProviderSettings
from switchboard.providers.catalog.local_servers import is_local_server


def show(parameters: str, info: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": parameters, "model_info": info, "details": {}}


LLAMA = {"general.architecture": "llama", "llama.context_length": 131072}


@pytest.mark.parametrize(
    ("body", "window"),
    [
        (show('stop "<|eot_id|>"\nnum_ctx 4096', LLAMA), 4096),  # what it runs with
        (show('stop "<|eot_id|>"', LLAMA), 131072),  # what it was trained for
        (show("", {"general.architecture": "qwen3", "qwen3.context_length": 40960}), 40960),
        (show("num_ctx 0", {}), None),
        (show("", {"general.architecture": "llama", "llama.context_length": "big"}), None),
        ({"error": "model not found"}, None),
        ([], None),
    ],
)
def test_ollama_show(body: Any, window: int | None) -> None:
    assert OllamaAdapter().parse_window(body) == window


@pytest.mark.parametrize(
    ("body", "window"),
    [
        ({"default_generation_settings": {"n_ctx": 512}, "total_slots": 1}, 512),
        ({"n_ctx": 2048}, 2048),
        ({"default_generation_settings": {"n_ctx": True}}, None),
        ("<html>", None),
    ],
)
def test_llamacpp_props(body: Any, window: int | None) -> None:
    assert LlamaCppAdapter().parse_window(body) == window


def test_the_requests_go_to_the_servers_own_endpoints() -> None:
    ollama = ProviderSettings(id="ollama", kind="ollama", base_url="http://127.0.0.1:11434/v1")
    models = [ListedModel("llama3.2:latest"), ListedModel("qwen3:8b")]
    requests = OllamaAdapter().window_requests(ollama, None, models)
    assert [(name, r.method, r.url, r.json) for name, r in requests] == [
        (
            "llama3.2:latest",
            "POST",
            "http://127.0.0.1:11434/api/show",
            {"model": "llama3.2:latest"},
        ),
        ("qwen3:8b", "POST", "http://127.0.0.1:11434/api/show", {"model": "qwen3:8b"}),
    ]
    llama = ProviderSettings(id="llamacpp", kind="llamacpp", base_url="http://127.0.0.1:8080/v1")
    [(name, props)] = LlamaCppAdapter().window_requests(llama, None, models)
    assert (name, props.method, props.url) == (None, "GET", "http://127.0.0.1:8080/props")


def test_every_local_kind_is_a_local_server() -> None:
    for adapter in (OllamaAdapter(), LlamaCppAdapter(), LMStudioAdapter()):
        assert is_local_server(adapter)
