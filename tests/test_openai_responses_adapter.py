"""The OpenAI Responses translator: request building, stream decoding, errors.

Expected values for the recorded corpus come from the bodies themselves: the
terminal event's `response.output` says what the final text, reasoning and
function calls are, and its `usage` what was counted.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.catalog import Capabilities, ModelInfo
from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    ImagePart,
    Message,
    RedactedThinkingPart,
    StartedEvent,
    StopEvent,
    TextEvent,
    TextPart,
    ThinkingEvent,
    ThinkingPart,
    ToolResultPart,
    ToolUseDeltaEvent,
    ToolUseEvent,
    ToolUseJsonParseErrorEvent,
    ToolUsePart,
    ToolUseStartEvent,
    UsageEvent,
)
from switchboard.providers.adapters import adapter_for
from switchboard.providers.adapters.openai_responses import (
    OpenAIResponsesAdapter,
    reasoning_input_item,
)
from switchboard.providers.base import Credential, ModelTarget, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.accumulator import ChatAccumulator
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.sse import SSEDecoder
from switchboard.providers.wire.transport import Transport

from tests.corpus import WIRE, body_bytes, random_chunks
from tests.fakes.openai_responses import FakeOpenAIResponses, reasoning_tokens, sse_from_payloads
from tests.fakes.scenario import Scenario, ToolCall

ADAPTER = OpenAIResponsesAdapter()
SETTINGS = ProviderSettings(id="openai", kind="openai")
KEY = Credential("sk-test-abcdefghijklmnopqrstuvwxyz012345", "env:OPENAI_API_KEY")
SEEDS = range(5)
REASONING_MODEL = "gpt-6.2-sol"
STREAMS = [
    "openai-responses/stream-background-queued.sse",
    "openai-responses/stream-error-insufficient-quota.chunks.jsonl",
    "openai-responses/stream-function-call.sse",
    "openai-responses/stream-output-text.sse",
    "openai-responses/stream-reasoning-message-function-call.sse",
    "openai-responses/stream-reasoning-summary-long.sse",
    "openrouter/responses-stream-reasoning-text.sse",
    "copilot/responses-stream-id-rotation.chunks.jsonl",
    "xai/responses-stream-reasoning-summary.chunks.jsonl",
]
BODIES = [
    "openai-responses/nonstream-output-text.json",
    "azure/responses-nonstream-v1-endpoint.json",
]


def target(model: str = "gpt-4o", thinking: bool = False) -> ModelTarget:
    info = ModelInfo(
        id=f"openai/{model}",
        provider="openai",
        name=model,
        context_window=128000,
        capabilities=Capabilities(thinking=thinking),
    )
    return ModelTarget("openai", model, info)


def params(**fields: Any) -> ChatParams:
    fields.setdefault("messages", [Message(role="user", content="hi")])
    return ChatParams(**fields)


def body(model: str = "gpt-4o", **fields: Any) -> dict[str, Any]:
    request = ADAPTER.build_request(params(**fields), target(model), SETTINGS, KEY)
    decoded: dict[str, Any] = json.loads(request.body())
    return decoded


def sse(*payloads: dict[str, Any]) -> bytes:
    return sse_from_payloads([json.dumps(p) for p in payloads])


def decode(data: bytes, chunks: list[bytes] | None = None, model: str = "gpt-4o") -> list[Any]:
    framer, decoder = SSEDecoder(), ADAPTER.decoder(target(model))
    events: list[Any] = []
    for chunk in chunks if chunks is not None else [data]:
        for event in framer.feed(chunk):
            events += decoder.feed(event)
    for event in framer.close():
        events += decoder.feed(event)
    return events + decoder.close()


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def text_of(events: list[Any]) -> str:
    return "".join(event.text for event in of_type(events, TextEvent))


def thinking_of(events: list[Any]) -> str:
    return "".join(event.text for event in of_type(events, ThinkingEvent))


def corpus_file(name: str) -> Path:
    path = WIRE / name
    if not path.exists():
        pytest.skip(f"wire corpus not found at {path} (it lives in ../shared beside the repo)")
    return path


def corpus_sse(name: str) -> bytes:
    path = corpus_file(name)
    if name.endswith(".chunks.jsonl"):
        return sse_from_payloads(path.read_text().splitlines())
    return body_bytes(path)


CREATED = {"type": "response.created", "response": {"id": "resp_1", "model": "gpt-x"}}


def completed(**response: Any) -> dict[str, Any]:
    return {"type": "response.completed", "response": {"id": "resp_1", **response}}


def added(index: int, **item: Any) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def done(index: int, **item: Any) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


# ---- request ------------------------------------------------------------------


def test_url_headers_and_basic_body() -> None:
    request = ADAPTER.build_request(params(system="Be brief."), target(), SETTINGS, KEY)
    assert request.method == "POST"
    assert request.url == "https://api.openai.com/v1/responses"
    assert request.headers["Authorization"] == f"Bearer {KEY.secret}"
    assert request.headers["Accept"] == "text/event-stream"
    assert request.json == {
        "model": "gpt-4o",
        "instructions": "Be brief.",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
        ],
        "stream": True,
        "store": False,
    }


def test_registered_as_the_openai_responses_api() -> None:
    assert isinstance(adapter_for("openai", "responses"), OpenAIResponsesAdapter)
    assert not isinstance(adapter_for("openai"), OpenAIResponsesAdapter)
    settings = ProviderSettings(id="o", kind="openai", base_url="http://127.0.0.1:9/v1/")
    request = ADAPTER.build_request(params(), target(), settings, None)
    assert request.url == "http://127.0.0.1:9/v1/responses"
    assert "Authorization" not in request.headers


def test_system_messages_become_instructions_or_developer_messages() -> None:
    sent = body(
        system="Rule one.",
        messages=[
            Message(role="system", content="Rule two."),
            Message(role="user", content="hi"),
            Message(role="system", content="Now be terse."),
        ],
    )
    assert sent["instructions"] == "Rule one.\n\nRule two."
    assert sent["input"][1] == {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": "Now be terse."}],
    }


def test_user_text_and_images() -> None:
    content: list[Any] = [
        TextPart(text="What is this?"),
        ImagePart(media_type="image/png", data="iVBORw0KGgo="),
        ImagePart(url="https://example.com/cat.jpg"),
    ]
    [item] = body(messages=[Message(role="user", content=content)])["input"]
    assert item["content"] == [
        {"type": "input_text", "text": "What is this?"},
        {
            "type": "input_image",
            "image_url": "data:image/png;base64,iVBORw0KGgo=",
            "detail": "auto",
        },
        {"type": "input_image", "image_url": "https://example.com/cat.jpg", "detail": "auto"},
    ]


def test_tool_turn_round_trip_items() -> None:
    assistant: list[Any] = [
        TextPart(text="Let me look."),
        ToolUsePart(id="call_1", name="search", input={"q": "ünï"}),
        ToolUsePart(id="call_2", name="clock", input={}),
    ]
    results: list[Any] = [
        ToolResultPart(tool_use_id="call_1", content="found it"),
        ToolResultPart(
            tool_use_id="call_2",
            content=[TextPart(text="noon"), ImagePart(media_type="image/png", data="AAAA")],
        ),
        TextPart(text="thanks"),
    ]
    sent = body(
        messages=[
            Message(role="user", content="find"),
            Message(role="assistant", content=assistant),
            Message(role="tool", content=results),
        ]
    )
    assert sent["input"][1:] == [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me look."}],
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "search",
            "arguments": '{"q": "ünï"}',
        },
        {"type": "function_call", "call_id": "call_2", "name": "clock", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "found it"},
        {
            "type": "function_call_output",
            "call_id": "call_2",
            "output": [
                {"type": "input_text", "text": "noon"},
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64,AAAA",
                    "detail": "auto",
                },
            ],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "thanks"}]},
    ]


def test_text_only_tool_result_list_is_joined() -> None:
    result = ToolResultPart(tool_use_id="c", content=[TextPart(text="a"), TextPart(text="b")])
    messages = [
        Message(role="assistant", content=[ToolUsePart(id="c", name="t")]),
        Message(role="user", content=[result]),
    ]
    assert body(messages=messages)["input"][-1]["output"] == "ab"


def test_tools_and_tool_choice() -> None:
    sent = body(
        tools=[{"name": "search", "description": "Find", "inputSchema": {"type": "object"}}],
        tool_choice={"name": "search"},
    )
    assert sent["tools"] == [
        {
            "type": "function",
            "name": "search",
            "description": "Find",
            "parameters": {"type": "object"},
            "strict": False,
        }
    ]
    assert sent["tool_choice"] == {"type": "function", "name": "search"}


@pytest.mark.parametrize(
    ("choice", "wire"), [("auto", "auto"), ("any", "required"), ("none", "none")]
)
def test_tool_choice(choice: str, wire: str) -> None:
    assert body(tool_choice=choice)["tool_choice"] == wire


def test_sampling_fields_for_other_models() -> None:
    sent = body(max_tokens=500, temperature=0.3, thinking={"budgetTokens": 8000})
    assert sent["max_output_tokens"] == 500
    assert sent["temperature"] == 0.3
    assert "reasoning" not in sent and "include" not in sent


@pytest.mark.parametrize("model", [REASONING_MODEL, "gpt-5-mini", "o3"])
def test_reasoning_models_keep_their_reasoning(model: str) -> None:
    sent = body(model, temperature=0.3, thinking={"budgetTokens": 20000})
    assert "temperature" not in sent
    assert sent["include"] == ["reasoning.encrypted_content"]
    assert sent["store"] is False
    assert sent["reasoning"] == {"effort": "high", "summary": "auto"}
    assert "reasoning" not in body(model)


def test_a_catalog_thinking_model_counts_as_reasoning() -> None:
    request = ADAPTER.build_request(
        params(temperature=1.0), target("future-model", thinking=True), SETTINGS, KEY
    )
    assert "temperature" not in request.json
    assert request.json["include"] == ["reasoning.encrypted_content"]


def test_provider_options_are_merged_last() -> None:
    sent = body(REASONING_MODEL, provider_options={"store": True, "reasoning": {"effort": "low"}})
    assert sent["store"] is True
    assert sent["reasoning"] == {"effort": "low"}


def test_reasoning_is_carried_to_the_next_turn() -> None:
    """A decoded reasoning item comes back, in order and without its id, on the next turn."""
    item = {
        "id": "rs_1",
        "type": "reasoning",
        "summary": [
            {"type": "summary_text", "text": "First."},
            {"type": "summary_text", "text": "Second."},
        ],
        "encrypted_content": "gAAAAB-secret",
    }
    stream = sse(
        CREATED,
        done(0, **item),
        done(
            1,
            type="message",
            id="msg_1",
            content=[{"type": "output_text", "text": "Calling."}],
        ),
        done(2, type="function_call", id="fc_1", call_id="call_9", name="t", arguments="{}"),
        completed(usage={"input_tokens": 3, "output_tokens": 2}),
    )
    events = decode(stream)
    accumulator = ChatAccumulator("sb-1", "openai/x")
    for event in events:
        accumulator.add(event)
    content = accumulator.result(None).content
    assert [part.type for part in content] == ["thinking", "text", "toolUse"]
    assert isinstance(content[0], ThinkingPart) and content[0].text == "First.\n\nSecond."
    history = [
        Message(role="user", content="go"),
        Message(role="assistant", content=content),
        Message(role="user", content=[ToolResultPart(tool_use_id="call_9", content="ok")]),
    ]
    sent = body(REASONING_MODEL, messages=history)["input"]
    assert [entry["type"] for entry in sent] == [
        "message",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
    ]
    assert sent[1] == {
        "type": "reasoning",
        "summary": item["summary"],
        "encrypted_content": "gAAAAB-secret",
    }


def test_reasoning_without_a_usable_signature_is_left_out() -> None:
    parts: list[Any] = [
        ThinkingPart(text="an Anthropic thought", signature="EqQBCkgIARABGAIi"),
        ThinkingPart(text="no signature at all"),
        ThinkingPart(text="", signature='{"type":"reasoning","summary":[]}'),
        RedactedThinkingPart(data="opaque"),
        TextPart(text="Hi."),
    ]
    sent = body(
        messages=[Message(role="user", content="x"), Message(role="assistant", content=parts)]
    )
    assert [entry["type"] for entry in sent["input"]] == ["message", "message"]


def test_a_redacted_part_with_a_reasoning_item_is_sent() -> None:
    data = json.dumps({"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "e"})
    assert reasoning_input_item(data) == {
        "type": "reasoning",
        "summary": [],
        "encrypted_content": "e",
    }
    messages = [
        Message(role="user", content="x"),
        Message(role="assistant", content=[RedactedThinkingPart(data=data)]),
    ]
    assert body(messages=messages)["input"][1]["type"] == "reasoning"


@pytest.mark.parametrize("bad", ["", "{", "[]", '{"type":"reasoning"}', '{"type":"x"}', "null"])
def test_reasoning_input_item_rejects_other_strings(bad: str) -> None:
    assert reasoning_input_item(bad) is None


# ---- the recorded corpus ------------------------------------------------------


def terminal_response(data: bytes) -> dict[str, Any]:
    """The `response` of the body's last completed/incomplete/failed event."""
    found: dict[str, Any] = {}
    for line in data.decode().splitlines():
        if line.startswith("data: {"):
            payload = json.loads(line[6:])
            if payload.get("type") in ("response.completed", "response.failed"):
                found = payload["response"]
    return found


def expected_from(response: dict[str, Any]) -> dict[str, Any]:
    text, thinking, calls, encrypted = "", [], [], []
    for item in response.get("output") or []:
        if item["type"] == "message":
            text += "".join(p.get("text", "") for p in item["content"])
        elif item["type"] == "function_call":
            calls.append((item["call_id"], item["name"], json.loads(item["arguments"] or "{}")))
        elif item["type"] == "reasoning":
            summary = [p["text"] for p in item.get("summary") or []]
            thinking.append(
                "\n\n".join(summary) or "".join(p["text"] for p in item.get("content") or [])
            )
            if item.get("encrypted_content"):
                encrypted.append(item["id"])
    return {"text": text, "thinking": "".join(thinking), "calls": calls, "encrypted": encrypted}


@pytest.mark.parametrize("name", STREAMS, ids=[Path(n).name for n in STREAMS])
def test_corpus_streams(name: str) -> None:
    data = corpus_sse(name)
    whole = decode(data)
    for seed in SEEDS:
        assert decode(data, random_chunks(data, seed)) == whole, f"seed {seed}"
    assert isinstance(whole[0], StartedEvent)
    assert of_type(whole, StartedEvent) == [whole[0]]
    assert of_type(whole, StopEvent) == [whole[-1]]
    response = terminal_response(data)
    if response.get("status") == "failed":
        [error] = of_type(whole, ErrorEvent)
        assert error.code == "rateLimited" and "exceeded your current quota" in error.message
        assert whole[-1].reason == "error"
        return
    expected = expected_from(response)
    assert text_of(whole) == expected["text"]
    assert thinking_of(whole) == expected["thinking"]
    uses = of_type(whole, ToolUseEvent)
    assert [(u.id, u.name, u.input) for u in uses] == expected["calls"]
    assert [e.id for e in of_type(whole, ToolUseStartEvent)] == [u.id for u in uses]
    for use in uses:
        deltas = "".join(e.input_json for e in of_type(whole, ToolUseDeltaEvent) if e.id == use.id)
        assert json.loads(deltas) == use.input
    signatures = [e.signature for e in of_type(whole, ThinkingEvent) if e.signature]
    # Same items; the terminal copy of encrypted_content differs (a fresh IV), not the id.
    assert [json.loads(s)["id"] for s in signatures] == expected["encrypted"]
    usage = response["usage"]
    [reported] = of_type(whole, UsageEvent)
    assert reported.input_tokens == usage["input_tokens"]
    assert reported.output_tokens == usage["output_tokens"]
    assert reported.cache_read_input_tokens == usage["input_tokens_details"]["cached_tokens"]
    assert reported.reasoning_tokens == usage["output_tokens_details"]["reasoning_tokens"]
    assert whole[-1].reason == ("toolUse" if uses else "endTurn")
    assert not of_type(whole, ErrorEvent)


def test_corpus_signature_is_the_done_items_encrypted_content() -> None:
    data = corpus_sse("openai-responses/stream-reasoning-message-function-call.sse")
    done_items = [
        json.loads(line[6:])["item"]
        for line in data.decode().splitlines()
        if line.startswith("data: {") and '"response.output_item.done"' in line
    ]
    [signature] = [e.signature for e in of_type(decode(data), ThinkingEvent) if e.signature]
    assert json.loads(signature)["encrypted_content"] == done_items[0]["encrypted_content"]
    assert json.loads(signature)["id"] == done_items[0]["id"]


def test_openrouter_cost_is_reported() -> None:
    events = decode(corpus_sse("openrouter/responses-stream-reasoning-text.sse"))
    assert of_type(events, UsageEvent)[-1].reported_cost_usd == pytest.approx(0.0000113)


@pytest.mark.parametrize("name", BODIES, ids=[Path(n).name for n in BODIES])
def test_corpus_nonstream_bodies(name: str) -> None:
    raw = json.loads(body_bytes(corpus_file(name)))
    events = ADAPTER.decode_body(raw, target())
    assert events[0] == StartedEvent(id=raw["id"], model=raw["model"])
    assert text_of(events) == expected_from(raw)["text"]
    [usage] = of_type(events, UsageEvent)
    assert (usage.input_tokens, usage.output_tokens) == (
        raw["usage"]["input_tokens"],
        raw["usage"]["output_tokens"],
    )
    assert of_type(events, StopEvent) == [StopEvent(reason="endTurn")] == [events[-1]]


def test_decode_body_of_incomplete_failed_and_odd_bodies() -> None:
    incomplete = {
        "id": "r",
        "status": "incomplete",
        "incomplete_details": {"reason": "content_filter"},
        "output": [{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}],
    }
    events = ADAPTER.decode_body(incomplete, target())
    assert text_of(events) == "No." and events[-1] == StopEvent(reason="contentFilter")
    failed = {"id": "r", "status": "failed", "error": {"code": "server_error", "message": "boom"}}
    events = ADAPTER.decode_body(failed, target())
    assert of_type(events, ErrorEvent) == [ErrorEvent(code="providerUnavailable", message="boom")]
    assert events[-1] == StopEvent(reason="error")
    odd_bodies: list[Any] = [None, [], "x", {"output": "nope"}, {"output": [1, {"type": 5}]}]
    for odd in odd_bodies:
        events = ADAPTER.decode_body(odd, target())
        assert of_type(events, StopEvent) == [events[-1]]


# ---- errors -------------------------------------------------------------------


def test_corpus_error_body() -> None:
    raw = body_bytes(corpus_file("openai-responses/error-400-invalid-param.json"))
    error = ADAPTER.parse_error(400, {}, raw)
    assert (error.code, error.status, error.provider) == ("invalidRequest", 400, "openai")
    assert json.loads(raw)["error"]["message"] in error.message


def openai_error(message: str, error_type: str, code: str | None) -> bytes:
    return json.dumps({"error": {"message": message, "type": error_type, "code": code}}).encode()


@pytest.mark.parametrize(
    ("status", "raw", "code"),
    [
        (
            401,
            openai_error("Incorrect API key", "invalid_request_error", "invalid_api_key"),
            "authenticationFailed",
        ),
        (
            404,
            openai_error(
                "The model 'gpt-9' does not exist", "invalid_request_error", "model_not_found"
            ),
            "unknownModel",
        ),
        (
            400,
            openai_error(
                "Your input exceeds the context window",
                "invalid_request_error",
                "context_length_exceeded",
            ),
            "contextLengthExceeded",
        ),
        (500, b"<html>oops</html>", "providerUnavailable"),
    ],
)
def test_error_envelopes(status: int, raw: bytes, code: str) -> None:
    assert ADAPTER.parse_error(status, {}, raw).code == code


def test_insufficient_quota_is_rate_limited_but_not_retryable() -> None:
    raw = openai_error(
        "You exceeded your current quota", "insufficient_quota", "insufficient_quota"
    )
    error = ADAPTER.parse_error(429, {"retry-after": "3"}, raw)
    assert error.code == "rateLimited"
    assert not error.retryable
    assert "You exceeded your current quota" in error.message


# ---- the decoder on synthetic streams ---------------------------------------------


def test_stream_error_event_then_failed_gives_one_error() -> None:
    events = decode(
        sse(
            CREATED,
            {"type": "error", "code": "server_error", "message": "The server had an error"},
            {"type": "response.failed", "response": {"id": "resp_1", "error": {"message": "x"}}},
        )
    )
    assert of_type(events, ErrorEvent) == [
        ErrorEvent(code="providerUnavailable", message="The server had an error")
    ]
    assert of_type(events, StopEvent) == [StopEvent(reason="error")] == [events[-1]]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ({"code": "rate_limit_exceeded", "message": "Rate limit reached"}, "rateLimited"),
        ({"code": "invalid_prompt", "message": "Invalid prompt: flagged"}, "contentFiltered"),
        ({"code": "server_error", "message": "Something went wrong"}, "providerUnavailable"),
        (None, "providerUnavailable"),
    ],
)
def test_response_failed(error: Any, code: str) -> None:
    failed = {"type": "response.failed", "response": {"id": "resp_1", "error": error}}
    events = decode(sse(CREATED, failed))
    [reported] = of_type(events, ErrorEvent)
    assert reported.code == code
    assert events[-1] == StopEvent(reason="error")


@pytest.mark.parametrize(
    ("reason", "stop"),
    [("max_output_tokens", "maxTokens"), ("content_filter", "contentFilter"), (None, "maxTokens")],
)
def test_incomplete(reason: str | None, stop: str) -> None:
    incomplete = {
        "type": "response.incomplete",
        "response": {
            "id": "r",
            "incomplete_details": {"reason": reason},
            "usage": {"input_tokens": 5},
        },
    }
    events = decode(sse(CREATED, incomplete))
    assert events[-1] == StopEvent(reason=stop)  # type: ignore[arg-type]
    assert of_type(events, UsageEvent)[-1].input_tokens == 5


def test_refusal_deltas_stop_as_refusal() -> None:
    events = decode(
        sse(
            CREATED,
            added(0, type="message", id="m"),
            {"type": "response.refusal.delta", "output_index": 0, "delta": "I can't"},
            {"type": "response.refusal.delta", "output_index": 0, "delta": " help."},
            done(0, type="message", content=[{"type": "refusal", "refusal": "I can't help."}]),
            completed(),
        )
    )
    assert text_of(events) == "I can't help."
    assert events[-1] == StopEvent(reason="refusal")


def test_items_without_deltas_come_from_their_done_event() -> None:
    events = decode(
        sse(
            CREATED,
            done(0, type="reasoning", summary=[{"type": "summary_text", "text": "Hmm."}]),
            done(1, type="message", content=[{"type": "output_text", "text": "Hi."}]),
            added(2, type="function_call", call_id="c1", name="t", arguments=""),
            {
                "type": "response.function_call_arguments.done",
                "output_index": 2,
                "arguments": '{"a":1}',
            },
            done(2, type="function_call", call_id="c1", name="t", arguments='{"a":1}'),
            done(3, type="function_call", call_id="c2", name="u", arguments='{"b":2}'),
            completed(),
        )
    )
    assert thinking_of(events) == "Hmm." and text_of(events) == "Hi."
    assert [(u.id, u.input) for u in of_type(events, ToolUseEvent)] == [
        ("c1", {"a": 1}),
        ("c2", {"b": 2}),
    ]
    assert not [e for e in of_type(events, ThinkingEvent) if e.signature]
    assert events[-1] == StopEvent(reason="toolUse")


def test_a_completed_event_alone_carries_the_whole_answer() -> None:
    output = [
        {"type": "message", "content": [{"type": "output_text", "text": "All at once."}]},
        {"type": "function_call", "call_id": "c", "name": "t", "arguments": "{}"},
    ]
    events = decode(sse(completed(model="m", output=output)))
    assert events[0] == StartedEvent(id="resp_1", model="m")
    assert text_of(events) == "All at once."
    assert events[-1] == StopEvent(reason="toolUse")


def test_summary_parts_are_separated() -> None:
    def part(index: int, delta: str) -> list[dict[str, Any]]:
        return [
            {
                "type": "response.reasoning_summary_part.added",
                "output_index": 0,
                "summary_index": index,
            },
            {"type": "response.reasoning_summary_text.delta", "output_index": 0, "delta": delta},
        ]

    events = decode(
        sse(CREATED, added(0, type="reasoning"), *part(0, "One."), *part(1, "Two."), completed())
    )
    assert thinking_of(events) == "One.\n\nTwo."


def test_bad_tool_json_is_a_parse_error_event() -> None:
    events = decode(
        sse(
            CREATED,
            added(0, type="function_call", call_id="c", name="t"),
            {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": '{"a":'},
            completed(),
        )
    )
    [problem] = of_type(events, ToolUseJsonParseErrorEvent)
    assert (problem.id, problem.raw_input) == ("c", '{"a":')
    assert events[-1] == StopEvent(reason="toolUse")


def test_truncated_stream_is_a_network_error() -> None:
    events = decode(
        sse(
            CREATED,
            added(0, type="function_call", call_id="c", name="t"),
            {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{}"},
        )
    )
    assert of_type(events, ToolUseEvent)[0].input == {}
    assert events[-2:] == [
        ErrorEvent(code="network", message="the stream ended early"),
        StopEvent(reason="error"),
    ]


def test_nothing_after_the_stop_and_done_marker_ignored() -> None:
    data = (
        sse(CREATED, completed())
        + b"data: [DONE]\n\n"
        + sse({"type": "response.output_text.delta", "output_index": 0, "delta": "late"})
    )
    events = decode(data)
    assert not of_type(events, TextEvent)
    assert of_type(events, StopEvent) == [StopEvent(reason="endTurn")]


GARBAGE = [
    b"",
    b"data: not json\n\n",
    b"data: [1,2]\n\ndata: null\n\n",
    b'data: {"type": 5}\n\n',
    b'data: {"type": "response.output_text.delta", "delta": 7}\n\n',
    b'data: {"type": "response.output_item.done", "item": "x", "output_index": true}\n\n',
    b'data: {"type": "response.completed", "response": "nope"}\n\n',
    b'data: {"type": "response.failed", "response": {"error": "just a string"}}\n\n',
    b'data: {"type": "error", "error": [1]}\n\n',
    b'data: {"type": "response.completed", "response": {"usage": {"input_tokens": "x"},'
    b' "output": [null]}}\n\n',
    b"\xef\xbb\xbfdata: \xff\xfe\n\nevent: ping\n\n: comment\n\n",
]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_never_raises(data: bytes) -> None:
    for chunks in ([data], random_chunks(data, 1)):
        events = decode(data, chunks)
        assert of_type(events, StopEvent) == [events[-1]]


def test_mangled_corpus_never_raises() -> None:
    rng = random.Random(11)
    for name in STREAMS[:5] + STREAMS[6:]:
        data = bytearray(corpus_sse(name)[:20000])
        for _ in range(10):
            mangled = bytearray(data)
            for _ in range(rng.randint(1, 12)):
                mangled[rng.randrange(len(mangled))] = rng.randrange(256)
            cut = bytes(mangled[: rng.randrange(len(mangled) + 1)])
            events = decode(cut, random_chunks(cut, rng.randrange(1000)))
            assert of_type(events, StopEvent) == [events[-1]]


# ---- over real HTTP: build_request → Transport → fake → decoder -------------------


async def run_chat(fake: FakeOpenAIResponses, chat: ChatParams, model: str) -> list[ChatEvent]:
    settings = ProviderSettings(id="openai", kind="openai", base_url=fake.url)
    request = ADAPTER.build_request(chat, target(model), settings, Credential(fake.api_key, "t"))
    transport = Transport(RetryPolicy(max_retries=0))
    framer, decoder = SSEDecoder(), ADAPTER.decoder(target(model))
    events: list[ChatEvent] = []
    try:
        async for item in transport.stream(
            request, provider="openai", parse_error=ADAPTER.parse_error
        ):
            assert isinstance(item, bytes)
            for event in framer.feed(item):
                events += decoder.feed(event)
    finally:
        await transport.aclose()
    return events + decoder.close()


async def test_against_the_fake_over_http() -> None:
    scenario = Scenario(
        thinking="Use the tool.",
        text="Let me look.",
        tool_calls=[ToolCall("call_7", "search", {"query": "ünïcode", "n": 3})],
        input_tokens=100,
        output_tokens=20,
        cache_read_tokens=64,
        cache_write_tokens=8,
        stop="toolUse",
    )
    chat = params(tools=[{"name": "search"}], thinking={"budgetTokens": 1000}, temperature=0.2)
    with FakeOpenAIResponses() as fake:
        fake.enqueue_scenario(scenario)
        events = await run_chat(fake, chat, REASONING_MODEL)
        sent = fake.requests[-1].json()
    assert sent["reasoning"] == {"effort": "low", "summary": "auto"}
    assert thinking_of(events) == scenario.thinking
    [signature] = [e.signature for e in of_type(events, ThinkingEvent) if e.signature]
    assert json.loads(signature)["encrypted_content"] in fake.issued
    assert text_of(events) == scenario.text
    assert [(u.id, u.name, u.input) for u in of_type(events, ToolUseEvent)] == [
        ("call_7", "search", {"query": "ünïcode", "n": 3})
    ]
    assert of_type(events, UsageEvent)[-1] == UsageEvent(
        input_tokens=100,
        output_tokens=20,
        cache_read_input_tokens=64,
        cache_creation_input_tokens=8,
        reasoning_tokens=reasoning_tokens(scenario),
    )
    assert events[-1] == StopEvent(reason="toolUse")


async def test_an_http_400_from_the_fake() -> None:
    with FakeOpenAIResponses() as fake, pytest.raises(ProviderError) as caught:
        fake.enqueue_error(
            400, "Invalid 'input[0]': bad.", "invalid_request_error", "invalid_value"
        )
        await run_chat(fake, params(), "gpt-4o")
    assert caught.value.code == "invalidRequest"
    assert "Invalid 'input[0]'" in caught.value.message
