"""FakeOpenAIResponses is faithful: the official `openai` SDK reads everything it serves.

The SDK is also the oracle for the recorded corpus: it reads each recorded
stream (served by the fake) as typed events, and the Switchboard decoder must
find the same text, function calls and usage in the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam, ResponseInputParam
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import StopEvent, TextEvent, ToolUseEvent, UsageEvent
from switchboard.providers.adapters.openai_responses import OpenAIResponsesAdapter
from switchboard.providers.base import ModelTarget
from switchboard.providers.wire.sse import SSEDecoder

from tests.corpus import WIRE, body_bytes
from tests.fakes.http import Reply
from tests.fakes.openai_responses import (
    Failure,
    FakeOpenAIResponses,
    reasoning_tokens,
    sse_from_payloads,
)
from tests.fakes.scenario import Scenario, ToolCall

HELLO: ResponseInputParam = [{"role": "user", "content": "hello"}]
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}
REASONING_MODEL = "gpt-6.2-sol"
CORPUS = [
    "openai-responses/stream-background-queued.sse",
    "openai-responses/stream-function-call.sse",
    "openai-responses/stream-output-text.sse",
    "openai-responses/stream-reasoning-message-function-call.sse",
    "openai-responses/stream-reasoning-summary-long.sse",
    "openrouter/responses-stream-reasoning-text.sse",
    "copilot/responses-stream-id-rotation.chunks.jsonl",
    "xai/responses-stream-reasoning-summary.chunks.jsonl",
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIResponses]:
    with FakeOpenAIResponses() as running:
        yield running


@pytest.fixture
def fake(server: FakeOpenAIResponses) -> FakeOpenAIResponses:
    server.requests.clear()
    while not server.replies.empty():
        server.replies.get_nowait()
    return server


@pytest.fixture
def client(fake: FakeOpenAIResponses) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url, api_key=fake.api_key, max_retries=0)


def thinking_scenario(**fields: Any) -> Scenario:
    fields.setdefault("thinking", "The user wants the weather; call the tool.")
    fields.setdefault("text", "Let me check.")
    fields.setdefault("tool_calls", [ToolCall("call_w1", "get_weather", {"city": "Zürich"})])
    fields.setdefault("stop", "toolUse")
    fields.setdefault("input_tokens", 120)
    fields.setdefault("output_tokens", 60)
    fields.setdefault("cache_read_tokens", 64)
    return Scenario(**fields)


def test_create_stream_yields_the_real_event_sequence(
    fake: FakeOpenAIResponses, client: openai.OpenAI
) -> None:
    scenario = Scenario(text="Hello from the fake Responses API.", pieces=5)
    fake.enqueue_scenario(scenario)
    events = list(client.responses.create(model="gpt-4o", input=HELLO, stream=True))
    kinds = [event.type for event in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed"
    assert kinds.count("response.output_text.delta") == 5
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == scenario.text
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == scenario.text
    assert final.response.usage is not None
    assert final.response.usage.input_tokens == scenario.input_tokens
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.api_key}"


def test_stream_helper_accumulates_reasoning_text_and_calls(
    fake: FakeOpenAIResponses, client: openai.OpenAI
) -> None:
    scenario = thinking_scenario()
    fake.enqueue_scenario(scenario)
    with client.responses.stream(
        model=REASONING_MODEL,
        input=HELLO,
        tools=[WEATHER],
        include=["reasoning.encrypted_content"],
        reasoning={"effort": "low", "summary": "auto"},
        store=False,
    ) as stream:
        texts = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == scenario.text == final.output_text
    reasoning, message, call = final.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    assert [part.text for part in reasoning.summary] == [scenario.thinking]
    assert reasoning.encrypted_content in fake.issued
    assert message.type == "message"
    assert call.type == "function_call"
    assert (call.call_id, call.name, json.loads(call.arguments)) == (
        "call_w1",
        "get_weather",
        {"city": "Zürich"},
    )
    usage = final.usage
    assert usage is not None
    assert usage.input_tokens_details.cached_tokens == 64
    assert usage.output_tokens_details.reasoning_tokens == reasoning_tokens(scenario)


def test_no_summary_or_encrypted_content_unless_asked(
    fake: FakeOpenAIResponses, client: openai.OpenAI
) -> None:
    fake.enqueue_scenario(thinking_scenario(tool_calls=[], stop="endTurn"))
    final = client.responses.create(model=REASONING_MODEL, input=HELLO)
    reasoning = final.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.summary == [] and reasoning.encrypted_content is None


def test_non_stream_response_object(fake: FakeOpenAIResponses, client: openai.OpenAI) -> None:
    scenario = Scenario(text="Whole answer.", input_tokens=30, cache_read_tokens=10)
    fake.enqueue_scenario(scenario)
    response = client.responses.create(model="gpt-4o", input=HELLO, instructions="Be brief.")
    assert response.status == "completed"
    assert response.output_text == scenario.text
    assert response.instructions == "Be brief."
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == 10
    assert "stream" not in fake.requests[-1].json()


@pytest.mark.parametrize(
    ("stop", "reason"), [("maxTokens", "max_output_tokens"), ("contentFilter", "content_filter")]
)
def test_incomplete_responses(
    fake: FakeOpenAIResponses, client: openai.OpenAI, stop: str, reason: str
) -> None:
    fake.enqueue_scenario(Scenario(text="Cut sho", stop=stop))
    events = list(client.responses.create(model="gpt-4o", input=HELLO, stream=True))
    final = events[-1]
    assert final.type == "response.incomplete"
    assert final.response.status == "incomplete"
    assert final.response.incomplete_details is not None
    assert final.response.incomplete_details.reason == reason


def test_refusal_streams_refusal_deltas(fake: FakeOpenAIResponses, client: openai.OpenAI) -> None:
    fake.enqueue_scenario(Scenario(text="I can't help with that.", stop="refusal"))
    events = list(client.responses.create(model="gpt-4o", input=HELLO, stream=True))
    refusal = "".join(e.delta for e in events if e.type == "response.refusal.delta")
    assert refusal == "I can't help with that."
    final = events[-1]
    assert final.type == "response.completed"
    [message] = final.response.output
    assert message.type == "message" and message.content[0].type == "refusal"


def test_failed_stream_raises_in_the_sdk(fake: FakeOpenAIResponses, client: openai.OpenAI) -> None:
    fake.enqueue_failure(Failure("rate_limit_exceeded", "Rate limit reached for gpt-6.2-sol."))
    with pytest.raises(openai.APIError) as caught:
        list(client.responses.create(model=REASONING_MODEL, input=HELLO, stream=True))
    assert "Rate limit reached" in caught.value.message
    body = fake.sent_bodies[-1].decode()
    assert "event: response.failed" in body and '"status":"failed"' in body


def test_error_envelopes(fake: FakeOpenAIResponses, client: openai.OpenAI) -> None:
    fake.enqueue_error(400, "Invalid 'input': bad.", "invalid_request_error", "invalid_value")
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="gpt-4o", input=HELLO)
    assert bad.value.code == "invalid_value"
    wrong = openai.OpenAI(base_url=fake.url, api_key="sk-wrong-0123456789abcdef", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.responses.create(model="gpt-4o", input=HELLO)


def test_rejects_what_the_real_api_rejects(
    fake: FakeOpenAIResponses, client: openai.OpenAI
) -> None:
    with pytest.raises(openai.BadRequestError) as hot:
        client.responses.create(model=REASONING_MODEL, input=HELLO, temperature=0.5)
    assert hot.value.param == "temperature"
    orphan: ResponseInputParam = [
        {"role": "user", "content": "hi"},
        {"type": "function_call_output", "call_id": "call_nope", "output": "x"},
    ]
    with pytest.raises(openai.BadRequestError, match="No tool call found"):
        client.responses.create(model="gpt-4o", input=orphan)
    forged: ResponseInputParam = [
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAforged"},
    ]
    with pytest.raises(openai.BadRequestError) as unverified:
        client.responses.create(model=REASONING_MODEL, input=forged, store=False)
    assert unverified.value.code == "invalid_encrypted_content"
    bare: ResponseInputParam = [
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
    ]
    with pytest.raises(openai.NotFoundError, match="not persisted"):
        client.responses.create(model=REASONING_MODEL, input=bare, store=False)


def test_a_second_turn_with_the_issued_reasoning_is_accepted(
    fake: FakeOpenAIResponses, client: openai.OpenAI
) -> None:
    fake.enqueue_scenario(thinking_scenario())
    first = client.responses.create(
        model=REASONING_MODEL,
        input=HELLO,
        tools=[WEATHER],
        include=["reasoning.encrypted_content"],
        store=False,
    )
    fake.enqueue_scenario(Scenario(text="Sunny."))
    history: list[Any] = [*HELLO, *[item.to_dict() for item in first.output]]
    history.append({"type": "function_call_output", "call_id": "call_w1", "output": "sunny"})
    second = client.responses.create(model=REASONING_MODEL, input=history, store=False)
    assert second.output_text == "Sunny."


# ---- the SDK as the oracle for the recorded corpus ---------------------------------


def _corpus_body(name: str) -> bytes:
    path = WIRE / name
    if not path.exists():
        pytest.skip(f"wire corpus not found at {path}")
    if name.endswith(".chunks.jsonl"):
        return sse_from_payloads(path.read_text().splitlines())
    return body_bytes(path)


def _switchboard_events(data: bytes) -> list[Any]:
    info = ModelInfo(id="openai/replay", provider="openai", name="replay", context_window=1)
    adapter = OpenAIResponsesAdapter()
    sse, decoder = SSEDecoder(), adapter.decoder(ModelTarget("openai", "replay", info))
    events: list[Any] = []
    for event in sse.feed(data) + sse.close():
        events += decoder.feed(event)
    return events + decoder.close()


@pytest.mark.parametrize("name", CORPUS, ids=[Path(n).name for n in CORPUS])
def test_corpus_streams_read_the_same_by_the_sdk_and_switchboard(
    fake: FakeOpenAIResponses, client: openai.OpenAI, name: str
) -> None:
    data = _corpus_body(name)
    fake.enqueue(lambda request: _replay(data))
    sdk_events = list(client.responses.create(model="replay", input=HELLO, stream=True))
    text = "".join(e.delta for e in sdk_events if e.type == "response.output_text.delta")
    calls = [
        (e.item.call_id, e.item.name, json.loads(e.item.arguments or "{}"))
        for e in sdk_events
        if e.type == "response.output_item.done" and e.item.type == "function_call"
    ]
    terminal = [e for e in sdk_events if e.type == "response.completed"]
    usage = terminal[-1].response.usage

    events = _switchboard_events(data)
    assert "".join(e.text for e in events if isinstance(e, TextEvent)) == text
    assert [(u.id, u.name, u.input) for u in events if isinstance(u, ToolUseEvent)] == calls
    [reported] = [e for e in events if isinstance(e, UsageEvent)]
    assert usage is not None
    assert (reported.input_tokens, reported.output_tokens) == (
        usage.input_tokens,
        usage.output_tokens,
    )
    assert reported.reasoning_tokens == usage.output_tokens_details.reasoning_tokens
    stops = [e for e in events if isinstance(e, StopEvent)]
    assert stops == [events[-1]]
    assert stops[0].reason == ("toolUse" if calls else "endTurn")


def _replay(data: bytes) -> Reply:
    return Reply.sse(data, chunk_size=97)
