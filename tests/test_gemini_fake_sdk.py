"""The Gemini/Vertex fake is faithful: the official SDKs (google-genai, anthropic's Vertex client)
talk to it, and they read the recorded corpus the same way our decoder does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from google.oauth2 import service_account
from switchboard.protocol.chat import ChatEvent, TextEvent, ThinkingEvent, ToolUseEvent
from switchboard.providers.adapters.gemini import GeminiStreamDecoder
from switchboard.providers.wire.sse import SSEDecoder

from tests.corpus import WIRE, wire_files
from tests.fakes.gemini import FakeGemini, service_account_info
from tests.fakes.scenario import Scenario, ToolCall

MODEL = "gemini-2.5-flash"
CLOUD = ["https://www.googleapis.com/auth/cloud-platform"]


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


@pytest.fixture
def client(fake: FakeGemini) -> genai.Client:
    return genai.Client(api_key=fake.api_key, http_options=types.HttpOptions(base_url=fake.url))


def sdk_parts(responses: list[Any]) -> list[Any]:
    return [
        part
        for response in responses
        for candidate in response.candidates or []
        for part in (candidate.content.parts if candidate.content else None) or []
    ]


def test_streaming_text_thinking_and_usage(fake: FakeGemini, client: genai.Client) -> None:
    scenario = Scenario(text="Hello there, friend!", thinking="Greet them.", output_tokens=9)
    fake.enqueue_scenario(scenario)
    responses = list(client.models.generate_content_stream(model=MODEL, contents="hi"))
    parts = sdk_parts(responses)
    assert "".join(p.text for p in parts if p.thought) == "Greet them."
    assert "".join(p.text for p in parts if not p.thought) == "Hello there, friend!"
    last = responses[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    usage = last.usage_metadata
    assert usage is not None and usage.prompt_token_count == 12
    assert (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0) == 9
    request = fake.requests[-1]
    assert request.path.endswith(f"/models/{MODEL}:streamGenerateContent?alt=sse")
    assert request.headers["x-goog-api-key"] == fake.api_key
    assert request.json()["contents"] == [{"parts": [{"text": "hi"}], "role": "user"}]
    assert b"\r\n\r\n" in fake.sent_bodies[-1] and b'"text": "' in fake.sent_bodies[-1]


def test_function_calls_with_a_thought_signature(fake: FakeGemini, client: genai.Client) -> None:
    calls = [
        ToolCall(id="a", name="get_weather", input={"city": "Paris"}),
        ToolCall(id="b", name="get_time", input={}),
    ]
    fake.enqueue_scenario(Scenario(text="", tool_calls=calls, stop="toolUse"))
    response = client.models.generate_content(model=MODEL, contents="weather and time?")
    assert [(c.name, c.args) for c in response.function_calls or []] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {}),
    ]
    parts = sdk_parts([response])
    assert parts[0].thought_signature and not parts[1].thought_signature
    assert fake.requests[-1].path.endswith(f"/models/{MODEL}:generateContent")


def test_count_tokens_and_model_list(fake: FakeGemini, client: genai.Client) -> None:
    counted = client.models.count_tokens(model=MODEL, contents="count these words please")
    assert counted.total_tokens and counted.total_tokens > 0
    names = [model.name for model in client.models.list()]
    assert names == [
        "models/gemini-2.5-pro",
        "models/gemini-2.5-flash",
        "models/text-embedding-004",
    ]


def test_error_envelope(fake: FakeGemini, client: genai.Client) -> None:
    fake.enqueue_error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota.",
        [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}],
    )
    with pytest.raises(genai_errors.ClientError) as caught:
        client.models.generate_content(
            model=MODEL,
            contents="hi",
            config=types.GenerateContentConfig(
                http_options=types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1))
            ),
        )
    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    assert "exceeded your current quota" in str(caught.value.message)


def test_a_wrong_key_is_refused(fake: FakeGemini) -> None:
    wrong = genai.Client(
        api_key="AIzaWrong000000000000000000000000000",
        http_options=types.HttpOptions(base_url=fake.url),
    )
    with pytest.raises(genai_errors.ClientError) as caught:
        wrong.models.generate_content(model=MODEL, contents="hi")
    assert caught.value.code == 400 and "API key not valid" in str(caught.value.message)


# ---- the corpus: the SDK and our decoder read the same answer -------------------------


def streams() -> list[Any]:
    files = [*wire_files("gemini", (".sse",)), *wire_files("vertex", (".sse",))]
    if files:
        return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in files]
    reason = f"wire corpus not found at {WIRE}"
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]


def ours(body: bytes) -> list[ChatEvent]:
    sse, decoder = SSEDecoder(), GeminiStreamDecoder(MODEL)
    events = [event for wire in sse.feed(body) + sse.close() for event in decoder.feed(wire)]
    return events + decoder.close()


@pytest.mark.parametrize("path", streams())
def test_corpus_streams_read_the_same_by_the_sdk(
    path: Path, fake: FakeGemini, client: genai.Client
) -> None:
    fake.enqueue_replay(path, chunk_size=97)
    parts = sdk_parts(list(client.models.generate_content_stream(model=MODEL, contents="x")))
    events = ours(path.read_bytes())
    sdk_text = "".join(p.text or "" for p in parts if not p.thought)
    sdk_thinking = "".join(p.text or "" for p in parts if p.thought)
    assert "".join(e.text for e in events if isinstance(e, TextEvent)) == sdk_text
    assert "".join(e.text for e in events if isinstance(e, ThinkingEvent)) == sdk_thinking
    sdk_calls = [
        (p.function_call.name, p.function_call.args or {}) for p in parts if p.function_call
    ]
    assert [(e.name, e.input) for e in events if isinstance(e, ToolUseEvent)] == sdk_calls


# ---- Vertex: service-account credentials against the fake's token endpoint ---------------


def test_vertex_gemini_with_a_service_account(fake: FakeGemini) -> None:
    credentials = service_account.Credentials.from_service_account_info(
        service_account_info(fake), scopes=CLOUD
    )
    client = genai.Client(
        vertexai=True,
        project="proj-1",
        location="us-central1",
        credentials=credentials,
        http_options=types.HttpOptions(base_url=fake.url),
    )
    fake.enqueue_scenario(Scenario(text="From Vertex."))
    assert client.models.generate_content(model=MODEL, contents="hi").text == "From Vertex."
    fake.enqueue_scenario(Scenario(text="Streamed from Vertex.", pieces=3))
    streamed = client.models.generate_content_stream(model=MODEL, contents="hi")
    assert "".join(r.text or "" for r in streamed) == "Streamed from Vertex."
    counted = client.models.count_tokens(model=MODEL, contents="hello")
    assert counted.total_tokens and counted.total_tokens > 0
    assert len(fake.token_requests) == 1
    vertex_paths = [r.path for r in fake.requests if r.path != "/token"]
    assert all(
        "/projects/proj-1/locations/us-central1/publishers/google/models/" in p
        for p in vertex_paths
    )
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.issued_tokens[0]}"


def test_vertex_without_a_token_is_refused(fake: FakeGemini) -> None:
    import httpx

    model_path = f"publishers/google/models/{MODEL}:generateContent"
    url = f"{fake.url}/v1/projects/p/locations/global/{model_path}"
    response = httpx.post(url, json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]})
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_vertex_claude_with_the_anthropic_sdk(fake: FakeGemini) -> None:
    fake.issued_tokens.append("ya29.test-token-for-the-anthropic-sdk")
    client = anthropic.AnthropicVertex(
        project_id="proj-1",
        region="us-east5",
        access_token="ya29.test-token-for-the-anthropic-sdk",
        base_url=f"{fake.url}/v1",
    )
    call = ToolCall(id="toolu_vrtx_01", name="lookup", input={"q": "cats"})
    fake.enqueue_scenario(Scenario(text="Looking it up.", tool_calls=[call], stop="toolUse"))
    with client.messages.stream(
        model="claude-sonnet-4-5@20250929",
        max_tokens=100,
        messages=[{"role": "user", "content": "find cats"}],
    ) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "tool_use"
    assert [b.type for b in message.content] == ["text", "tool_use"]
    request = fake.requests[-1]
    assert request.path == (
        "/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/"
        "claude-sonnet-4-5@20250929:streamRawPredict"
    )
    body = json.loads(request.body)
    assert body["anthropic_version"] and "model" not in body
