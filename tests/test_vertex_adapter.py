"""The Vertex AI translator: endpoints, Gemini and Claude bodies, decoding, token auth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import ChatParams, StopEvent, TextEvent, ToolUseEvent
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for
from switchboard.providers.adapters.anthropic import AnthropicAdapter
from switchboard.providers.adapters.gemini import GeminiAdapter
from switchboard.providers.adapters.vertex import VertexAdapter, VertexClaudeAdapter
from switchboard.providers.auth.google_auth import GoogleAuthenticator
from switchboard.providers.base import ModelTarget, ProviderSettings
from switchboard.providers.catalog.models import default_catalog
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.sse import SSEDecoder

from tests.fakes.gemini import FakeGemini, service_account_info
from tests.fakes.scenario import Scenario, ToolCall

ADAPTER = VertexAdapter(environ={})
OPTIONS = {"project": "my-proj", "location": "us-east5"}
SETTINGS = ProviderSettings(id="vertex", kind="vertex", options=OPTIONS)
CHAT = ChatParams.model_validate(
    {"messages": [{"role": "user", "content": "hi"}], "maxTokens": 100}
)
PREFIX = "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5"


def target(model: str) -> ModelTarget:
    info = ModelInfo(id=f"vertex/{model}", provider="vertex", name=model, context_window=200_000)
    return ModelTarget("vertex", model, info)


def test_registered_with_its_options_and_the_claude_api() -> None:
    from switchboard.providers.adapters import option_keys

    assert isinstance(adapter_for("vertex"), VertexAdapter)
    assert isinstance(adapter_for("vertex", "messages"), VertexClaudeAdapter)
    assert option_keys("vertex") == {"project", "location", "credentials_file"}
    assert adapter_for("vertex").api_key_envs == ()


def test_catalog_claude_models_use_the_messages_api() -> None:
    catalog = default_catalog()
    extras = catalog.entry_extras("vertex", "claude-sonnet-4-5@20250929")
    assert extras is not None and extras.api == "messages"
    gemini = catalog.entry_extras("vertex", "gemini-2.5-pro")
    assert gemini is not None and gemini.api == "generateContent"


def test_gemini_request() -> None:
    request = ADAPTER.build_request(CHAT, target("gemini-2.5-pro"), SETTINGS, None)
    assert request.url == (
        f"{PREFIX}/publishers/google/models/gemini-2.5-pro:streamGenerateContent"
    )
    assert request.params == {"alt": "sse"}
    assert "authorization" not in request.headers and "x-goog-api-key" not in request.headers
    gemini_body = GeminiAdapter().build_request(CHAT, target("gemini-2.5-pro"), SETTINGS, None)
    assert request.json == gemini_body.json


def test_claude_request() -> None:
    request = ADAPTER.build_request(CHAT, target("claude-sonnet-4-5@20250929"), SETTINGS, None)
    assert request.url == (
        f"{PREFIX}/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    )
    assert request.params is None
    body = request.json
    assert "model" not in body
    assert body["anthropic_version"] == "vertex-2023-10-16"
    assert body["stream"] is True and body["max_tokens"] == 100
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_the_claude_adapter_needs_no_claude_name() -> None:
    request = VertexClaudeAdapter(environ={}).build_request(
        CHAT, target("partner-model"), SETTINGS, None
    )
    assert request.url.endswith("/publishers/anthropic/models/partner-model:streamRawPredict")


@pytest.mark.parametrize(
    ("options", "environ", "base_url", "prefix"),
    [
        (
            {"project": "p"},
            {},
            None,
            "https://aiplatform.googleapis.com/v1/projects/p/locations/global",
        ),
        (
            {},
            {"GOOGLE_CLOUD_PROJECT": "envp", "GOOGLE_CLOUD_LOCATION": "europe-west4"},
            None,
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/envp/locations/europe-west4",
        ),
        (
            {},
            {"GOOGLE_CLOUD_PROJECT": "envp", "CLOUD_ML_REGION": "us-east5"},
            None,
            "https://us-east5-aiplatform.googleapis.com/v1/projects/envp/locations/us-east5",
        ),
        (
            {"project": "p", "location": "asia-east1"},
            {"GOOGLE_CLOUD_PROJECT": "ignored"},
            "http://127.0.0.1:9/v1/",
            "http://127.0.0.1:9/v1/projects/p/locations/asia-east1",
        ),
    ],
)
def test_project_and_location(
    options: dict[str, str], environ: dict[str, str], base_url: str | None, prefix: str
) -> None:
    settings = ProviderSettings(id="v", kind="vertex", base_url=base_url, options=options)
    request = VertexAdapter(environ=environ).build_request(CHAT, target("gemini-x"), settings, None)
    assert request.url == f"{prefix}/publishers/google/models/gemini-x:streamGenerateContent"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({}, "no Google Cloud project"),
        ({"project": 5}, "option 'project'"),
        ({"project": "p", "location": "us/east"}, "option 'location'"),
    ],
)
def test_bad_or_missing_options(options: dict[str, Any], words: str) -> None:
    settings = ProviderSettings(id="v", kind="vertex", options=options)
    with pytest.raises(ProviderError) as caught:
        ADAPTER.build_request(CHAT, target("gemini-x"), settings, None)
    assert caught.value.code == ErrorCode.INVALID_REQUEST
    assert words in caught.value.message


def test_authenticator_and_credentials_file_option(tmp_path: Path) -> None:
    settings = ProviderSettings(
        id="v", kind="vertex", options={**OPTIONS, "credentials_file": "/keys/sa.json"}
    )
    authenticator = ADAPTER.authenticator(settings, None, {})
    assert isinstance(authenticator, GoogleAuthenticator)
    assert "/keys/sa.json" in repr(authenticator)
    with pytest.raises(ProviderError, match="credentials_file"):
        ADAPTER.authenticator(
            ProviderSettings(id="v", kind="vertex", options={"credentials_file": 3}), None, {}
        )


def test_count_tokens() -> None:
    request = ADAPTER.count_tokens_request(CHAT, target("gemini-2.5-pro"), SETTINGS, None)
    assert request is not None
    assert request.url == f"{PREFIX}/publishers/google/models/gemini-2.5-pro:countTokens"
    assert request.json == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert ADAPTER.parse_count_tokens({"totalTokens": 9}) == 9
    assert ADAPTER.count_tokens_request(CHAT, target("claude-haiku-4-5@x"), SETTINGS, None) is None


def test_errors_in_both_shapes() -> None:
    google = json.dumps(
        {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
    )
    assert ADAPTER.parse_error(429, {}, google.encode()).code == ErrorCode.RATE_LIMITED
    anthropic = json.dumps(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    error = ADAPTER.parse_error(529, {}, anthropic.encode())
    assert error.code == ErrorCode.PROVIDER_UNAVAILABLE and "Overloaded" in error.message
    assert error.provider == "vertex"


# ---- through the fake, with a real token -----------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


async def round_trip(fake: FakeGemini, tmp_path: Path, model: str) -> list[Any]:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps(service_account_info(fake)))
    settings = ProviderSettings(
        id="vertex",
        kind="vertex",
        base_url=f"{fake.url}/v1",
        options={"project": "p", "location": "us-east5", "credentials_file": str(key)},
    )
    authenticator = ADAPTER.authenticator(settings, None, {})
    assert authenticator is not None

    async def unused(request: HttpRequest) -> Any:
        raise AssertionError

    request = await authenticator.authorize(
        ADAPTER.build_request(CHAT, target(model), settings, None), unused
    )
    async with httpx.AsyncClient() as client:
        response = await client.request(
            request.method,
            request.url,
            headers=request.headers,
            params=request.params,
            content=request.body(),
        )
    assert response.status_code == 200, response.text
    sse, decoder = SSEDecoder(), ADAPTER.decoder(target(model))
    events = [event for wire in sse.feed(response.content) for event in decoder.feed(wire)]
    return events + decoder.close()


async def test_gemini_through_the_fake(fake: FakeGemini, tmp_path: Path) -> None:
    fake.enqueue_scenario(Scenario(text="From Vertex Gemini."))
    events = await round_trip(fake, tmp_path, "gemini-2.5-flash")
    assert "".join(e.text for e in events if isinstance(e, TextEvent)) == "From Vertex Gemini."
    assert events[-1] == StopEvent(reason="endTurn")
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.issued_tokens[0]}"


async def test_claude_through_the_fake(fake: FakeGemini, tmp_path: Path) -> None:
    call = ToolCall(id="toolu_vrtx_1", name="lookup", input={"q": "x"})
    fake.enqueue_scenario(Scenario(text="Looking.", tool_calls=[call], stop="toolUse"))
    events = await round_trip(fake, tmp_path, "claude-sonnet-4-5@20250929")
    tools = [e for e in events if isinstance(e, ToolUseEvent)]
    assert [(t.id, t.name, t.input) for t in tools] == [("toolu_vrtx_1", "lookup", {"q": "x"})]
    assert events[-1] == StopEvent(reason="toolUse")
    assert fake.requests[-1].path.endswith(":streamRawPredict")


def test_claude_non_streamed_body() -> None:
    message = {
        "id": "msg_vrtx_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    claude = target("claude-sonnet-4-5@20250929")
    assert ADAPTER.decode_body(message, claude) == AnthropicAdapter().decode_body(message, claude)
