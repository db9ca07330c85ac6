"""The Anthropic translator: request bodies, and decoding checked against the official SDK."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    RedactedThinkingEvent,
    StartedEvent,
    StopEvent,
    StopReason,
    TextEvent,
    ThinkingEvent,
    ToolUseDeltaEvent,
    ToolUseEvent,
    ToolUseJsonParseErrorEvent,
    ToolUseStartEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for
from switchboard.providers.adapters.anthropic import AnthropicAdapter
from switchboard.providers.base import Credential, ModelTarget, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.sse import SSEDecoder, SSEEvent

from tests.corpus import WIRE, body_bytes, random_chunks, wire_files
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scenario import Scenario, ToolCall

ADAPTER = AnthropicAdapter()
SETTINGS = ProviderSettings(id="anthropic", kind="anthropic")
KEY = Credential(secret="sk-ant-test-adapterkey000000000000", source="test")
SEEDS = (1, 2, 3, 7, 42)
TRUNCATED_TOOL_JSON = "stream-max-tokens-mid-tool-json.sse"
ERROR_VECTOR = "stream-error-event-overloaded.sse"
# Written out here rather than imported, so a wrong table in the adapter fails these tests.
EXPECTED_STOP: dict[str, StopReason] = {
    "end_turn": "endTurn",
    "max_tokens": "maxTokens",
    "tool_use": "toolUse",
    "stop_sequence": "stopSequence",
    "refusal": "refusal",
    "pause_turn": "endTurn",
    "model_context_window_exceeded": "maxTokens",
}


def target(model: str = "claude-sonnet-4-6", max_output: int | None = None) -> ModelTarget:
    info = ModelInfo(
        id=f"anthropic/{model}",
        provider="anthropic",
        name=model,
        context_window=200_000,
        max_output_tokens=max_output,
    )
    return ModelTarget("anthropic", model, info)


def body_for(**params: Any) -> dict[str, Any]:
    params.setdefault("messages", [{"role": "user", "content": "hi"}])
    request = ADAPTER.build_request(ChatParams.model_validate(params), target(), SETTINGS, KEY)
    body: dict[str, Any] = request.json
    return body


def decode(chunks: list[bytes]) -> list[ChatEvent]:
    sse, decoder = SSEDecoder(), ADAPTER.decoder(target())
    events: list[ChatEvent] = []
    for chunk in chunks:
        for event in sse.feed(chunk):
            events += decoder.feed(event)
    for event in sse.close():
        events += decoder.feed(event)
    return events + decoder.close()


def feed_objects(*objects: dict[str, Any]) -> list[ChatEvent]:
    decoder = ADAPTER.decoder(target())
    events: list[ChatEvent] = []
    for item in objects:
        events += decoder.feed(SSEEvent(item.get("type", "message"), json.dumps(item)))
    return events + decoder.close()


def of(events: list[ChatEvent], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def corpus(accept: Any) -> list[Any]:
    files = [p for p in wire_files("anthropic", (".sse", ".bin", ".json")) if accept(p.name)]
    if files:
        return [pytest.param(path, id=path.name) for path in files]
    reason = (
        f"wire corpus not found at {WIRE / 'anthropic'} (it lives in ../shared beside the repo)"
    )
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]


STREAMS = corpus(lambda name: name.endswith((".sse", ".bin")))
MESSAGE_STREAMS = corpus(lambda name: name.endswith((".sse", ".bin")) and name != ERROR_VECTOR)
NONSTREAM = corpus(lambda name: name.startswith("nonstream-") and not name.endswith(".meta.json"))
ERRORS = corpus(lambda name: name.startswith("error-") and not name.endswith(".meta.json"))


# ---- the request --------------------------------------------------------------


def test_registered_under_its_kind() -> None:
    adapter = adapter_for("anthropic")
    assert isinstance(adapter, AnthropicAdapter)
    assert adapter.framing == "sse"
    assert adapter.default_base_url == "https://api.anthropic.com"
    assert adapter.api_key_envs == ("ANTHROPIC_API_KEY",)


def test_url_and_headers() -> None:
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    settings = ProviderSettings(id="anthropic", kind="anthropic", headers={"x-extra": "1"})
    request = ADAPTER.build_request(params, target(), settings, KEY)
    assert (request.method, request.url) == ("POST", "https://api.anthropic.com/v1/messages")
    assert request.headers == {
        "x-api-key": KEY.secret,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "x-extra": "1",
    }
    assert "authorization" not in {name.lower() for name in request.headers}


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:9", "http://127.0.0.1:9/v1/messages"),
        ("http://127.0.0.1:9/", "http://127.0.0.1:9/v1/messages"),
        ("https://proxy.example/anthropic/v1", "https://proxy.example/anthropic/v1/messages"),
    ],
)
def test_base_url(base_url: str, expected: str) -> None:
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    settings = ProviderSettings(id="anthropic", kind="anthropic", base_url=base_url)
    assert ADAPTER.build_request(params, target(), settings, None).url == expected


def test_no_credential_no_key_header() -> None:
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    assert "x-api-key" not in ADAPTER.build_request(params, target(), SETTINGS, None).headers


def test_minimal_body() -> None:
    assert body_for() == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "stream": True,
    }


def test_max_tokens_from_params_then_catalog() -> None:
    assert body_for(maxTokens=300)["max_tokens"] == 300
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    request = ADAPTER.build_request(params, target(max_output=64_000), SETTINGS, KEY)
    assert request.json["max_tokens"] == 64_000


def test_system_prompt_and_system_messages_are_joined() -> None:
    body = body_for(
        system="Be brief.",
        messages=[
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "hi"},
        ],
    )
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert [message["role"] for message in body["messages"]] == ["user"]


def test_cached_system_message_becomes_blocks() -> None:
    body = body_for(
        system="Be brief.",
        messages=[
            {"role": "system", "content": "A long shared preamble.", "cache": True},
            {"role": "user", "content": "hi"},
        ],
    )
    assert body["system"] == [
        {"type": "text", "text": "Be brief."},
        {
            "type": "text",
            "text": "A long shared preamble.",
            "cache_control": {"type": "ephemeral"},
        },
    ]


def test_images() -> None:
    body = body_for(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What are these?"},
                    {"type": "image", "mediaType": "image/png", "data": "iVBORw0KGgo="},
                    {"type": "image", "url": "https://example.com/cat.jpg"},
                    {"type": "image", "url": "data:image/gif;base64,R0lGOD=="},
                ],
            }
        ]
    )
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "What are these?"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/gif", "data": "R0lGOD=="},
        },
    ]


def test_tools_and_tool_choice() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    tools = [
        {"name": "get_weather", "description": "Weather now", "inputSchema": schema},
        {"name": "get_time"},
    ]
    body = body_for(tools=tools, toolChoice="auto")
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather now", "input_schema": schema},
        {"name": "get_time", "input_schema": {"type": "object"}},
    ]
    assert body["tool_choice"] == {"type": "auto"}
    assert body_for(tools=tools, toolChoice="any")["tool_choice"] == {"type": "any"}
    assert body_for(tools=tools, toolChoice="none")["tool_choice"] == {"type": "none"}
    named = body_for(tools=tools, toolChoice={"name": "get_time"})
    assert named["tool_choice"] == {"type": "tool", "name": "get_time"}
    assert "tool_choice" not in body_for(tools=tools)


def test_tool_round_trip_messages() -> None:
    body = body_for(
        messages=[
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "toolUse",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "toolUse",
                        "id": "toolu_2",
                        "name": "get_weather",
                        "input": {"city": "Rome"},
                    },
                ],
            },
            {
                "role": "tool",
                "content": [{"type": "toolResult", "toolUseId": "toolu_1", "content": "18C"}],
            },
            {
                "role": "tool",
                "content": [
                    {
                        "type": "toolResult",
                        "toolUseId": "toolu_2",
                        "isError": True,
                        "content": [
                            {"type": "text", "text": "no data"},
                            {"type": "image", "mediaType": "image/png", "data": "AAAA"},
                        ],
                    }
                ],
            },
            {"role": "user", "content": "Thanks!"},
        ]
    )
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [
                        {"type": "text", "text": "no data"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                        },
                    ],
                    "is_error": True,
                },
                {"type": "text", "text": "Thanks!"},
            ],
        },
    ]


def test_tool_results_go_before_text_in_a_merged_user_turn() -> None:
    body = body_for(
        messages=[
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [{"type": "toolUse", "id": "t1", "name": "run", "input": {}}],
            },
            {"role": "user", "content": "(also, be quick)"},
            {
                "role": "tool",
                "content": [{"type": "toolResult", "toolUseId": "t1", "content": "ok"}],
            },
        ]
    )
    assert [block["type"] for block in body["messages"][-1]["content"]] == ["tool_result", "text"]


def test_thinking_blocks_travel_back() -> None:
    body = body_for(
        messages=[
            {"role": "user", "content": "Solve it."},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "text": "Let me see.", "signature": "sig=="},
                    {"type": "redactedThinking", "data": "opaque"},
                    {"type": "thinking", "text": "unsigned, from another provider"},
                    {"type": "text", "text": "42"},
                ],
            },
            {"role": "user", "content": "Why?"},
        ]
    )
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Let me see.", "signature": "sig=="},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "42"},
    ]


def test_thinking_config_and_max_tokens_above_budget() -> None:
    body = body_for(thinking={"budgetTokens": 8000})
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 8000}
    assert body["max_tokens"] == 8000 + 4096
    assert body_for(thinking={"budgetTokens": 2000}, maxTokens=16_000)["max_tokens"] == 16_000
    assert body_for(thinking={"budgetTokens": 2000}, maxTokens=500)["max_tokens"] == 2500
    assert "thinking" not in body_for(thinking={"budgetTokens": 0})
    params = ChatParams.model_validate(
        {"messages": [{"role": "user", "content": "hi"}], "thinking": {"budgetTokens": 10_000}}
    )
    capped = ADAPTER.build_request(params, target(max_output=12_000), SETTINGS, KEY).json
    assert capped["max_tokens"] == 12_000


def test_stop_sequences_and_temperature() -> None:
    body = body_for(stopSequences=["```", "END"], temperature=0.2)
    assert body["stop_sequences"] == ["```", "END"]
    assert body["temperature"] == 0.2
    assert body_for(temperature=0)["temperature"] == 0


def test_cache_flag_marks_the_last_block_of_its_message() -> None:
    body = body_for(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "doc one"},
                    {"type": "text", "text": "doc two"},
                ],
                "cache": True,
            },
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "question"},
        ]
    )
    first, reply, last = body["messages"]
    assert first["content"] == [
        {"type": "text", "text": "doc one"},
        {"type": "text", "text": "doc two", "cache_control": {"type": "ephemeral"}},
    ]
    assert "cache_control" not in reply["content"][-1]
    assert "cache_control" not in last["content"][-1]


def test_consecutive_same_role_messages_merge() -> None:
    body = body_for(
        messages=[{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        }
    ]


def test_provider_options_win() -> None:
    body = body_for(
        maxTokens=100,
        providerOptions={"max_tokens": 77, "top_k": 5, "metadata": {"user_id": "u1"}},
    )
    assert body["max_tokens"] == 77
    assert body["top_k"] == 5
    assert body["metadata"] == {"user_id": "u1"}
    assert list(body)[-2:] == ["top_k", "metadata"]


def test_count_tokens_request() -> None:
    params = ChatParams.model_validate(
        {
            "messages": [{"role": "user", "content": "hi"}],
            "system": "Be brief.",
            "maxTokens": 100,
            "temperature": 0.5,
            "stopSequences": ["x"],
            "tools": [{"name": "get_time"}],
        }
    )
    request = ADAPTER.count_tokens_request(params, target(), SETTINGS, KEY)
    assert request.url == "https://api.anthropic.com/v1/messages/count_tokens"
    assert request.headers["x-api-key"] == KEY.secret
    assert request.json == {
        "model": "claude-sonnet-4-6",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [{"name": "get_time", "input_schema": {"type": "object"}}],
    }


def test_parse_count_tokens() -> None:
    assert ADAPTER.parse_count_tokens({"input_tokens": 42}) == 42
    assert ADAPTER.parse_count_tokens(b'{"input_tokens": 7}') == 7
    bad_answers: list[Any] = [{}, {"input_tokens": "7"}, b"not json", [], {"input_tokens": True}]
    for bad in bad_answers:
        with pytest.raises(ProviderError):
            ADAPTER.parse_count_tokens(bad)


# ---- against the loopback fake ------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic()
    server.start()
    yield server
    server.stop()


def send(fake: FakeAnthropic, request: Any) -> httpx.Response:
    url = request.url.replace("https://api.anthropic.com", fake.url)
    return httpx.request(request.method, url, headers=request.headers, content=request.body())


def test_round_trip_through_the_fake(fake: FakeAnthropic) -> None:
    fake.enqueue_scenario(
        Scenario(
            text="Sunny.",
            thinking="Use the tool result.",
            tool_calls=[ToolCall("toolu_9", "log", {"note": "done"})],
            input_tokens=50,
            cache_read_tokens=20,
            cache_write_tokens=5,
            output_tokens=9,
            stop="toolUse",
        )
    )
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "Weather?"}]})
    credential = Credential(secret=fake.api_key, source="test")
    request = ADAPTER.build_request(params, target(), SETTINGS, credential)
    response = send(fake, request)
    assert response.status_code == 200
    events = decode(random_chunks(response.content, seed=5))
    assert of(events, StartedEvent)[0].model == "claude-sonnet-4-6"
    assert "".join(e.text for e in of(events, TextEvent)) == "Sunny."
    assert "".join(e.text for e in of(events, ThinkingEvent)) == "Use the tool result."
    assert [(e.id, e.name, e.input) for e in of(events, ToolUseEvent)] == [
        ("toolu_9", "log", {"note": "done"})
    ]
    assert of(events, UsageEvent)[-1] == UsageEvent(
        input_tokens=50, output_tokens=9, cache_read_input_tokens=20, cache_creation_input_tokens=5
    )
    assert events[-1] == StopEvent(reason="toolUse")


def test_count_tokens_through_the_fake(fake: FakeAnthropic) -> None:
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    credential = Credential(secret=fake.api_key, source="test")
    response = send(fake, ADAPTER.count_tokens_request(params, target(), SETTINGS, credential))
    assert response.status_code == 200
    assert ADAPTER.parse_count_tokens(response.json()) > 0


def test_error_answer_through_the_fake(fake: FakeAnthropic) -> None:
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    wrong = Credential(secret="sk-ant-not-the-right-key-000", source="test")
    response = send(fake, ADAPTER.build_request(params, target(), SETTINGS, wrong))
    error = ADAPTER.parse_error(response.status_code, response.headers, response.content)
    assert error.code == ErrorCode.AUTHENTICATION_FAILED
    assert "invalid x-api-key" in error.message
    assert "sk-ant-not-the-right-key" not in error.message


# ---- the corpus, against the official SDK as the oracle ----------------------------


@pytest.fixture(scope="module")
def sdk(fake: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.url, api_key=fake.api_key, max_retries=0)


def sdk_message(fake: FakeAnthropic, sdk: anthropic.Anthropic, path: Path) -> Any:
    fake.enqueue_replay(path)
    messages: Any = [{"role": "user", "content": "replay"}]
    with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=messages) as stream:
        return stream.get_final_message()


def assert_matches(events: list[ChatEvent], message: Any, *, truncated_tool: bool = False) -> None:
    blocks = message.content
    assert of(events, StartedEvent) == [StartedEvent(id=message.id, model=message.model)]
    assert "".join(e.text for e in of(events, TextEvent)) == "".join(
        b.text for b in blocks if b.type == "text"
    )
    assert "".join(e.text for e in of(events, ThinkingEvent)) == "".join(
        b.thinking for b in blocks if b.type == "thinking"
    )
    assert [e.signature for e in of(events, ThinkingEvent) if e.signature] == [
        b.signature for b in blocks if b.type == "thinking" and b.signature
    ]
    assert [e.data for e in of(events, RedactedThinkingEvent)] == [
        b.data for b in blocks if b.type == "redacted_thinking"
    ]
    sdk_tools = [(b.id, b.name, b.input) for b in blocks if b.type == "tool_use"]
    if truncated_tool:
        assert of(events, ToolUseEvent) == []
        failed = of(events, ToolUseJsonParseErrorEvent)
        assert [(e.id, e.name) for e in failed] == [(i, n) for i, n, _ in sdk_tools]
    else:
        assert [(e.id, e.name, e.input) for e in of(events, ToolUseEvent)] == sdk_tools
        assert of(events, ToolUseJsonParseErrorEvent) == []
    assert [e.id for e in of(events, ToolUseStartEvent)] == [i for i, _, _ in sdk_tools]
    usage = message.usage
    read, written = usage.cache_read_input_tokens, usage.cache_creation_input_tokens
    assert of(events, UsageEvent)[-1] == UsageEvent(
        input_tokens=usage.input_tokens + (read or 0) + (written or 0),
        output_tokens=usage.output_tokens,
        cache_read_input_tokens=read,
        cache_creation_input_tokens=written,
    )
    assert of(events, StopEvent) == [StopEvent(reason=EXPECTED_STOP[message.stop_reason])]
    assert events[-1] == StopEvent(reason=EXPECTED_STOP[message.stop_reason])
    assert of(events, ErrorEvent) == []


@pytest.mark.parametrize("path", MESSAGE_STREAMS)
def test_stream_matches_the_sdk(path: Path, fake: FakeAnthropic, sdk: anthropic.Anthropic) -> None:
    message = sdk_message(fake, sdk, path)
    events = decode([body_bytes(path)])
    assert_matches(events, message, truncated_tool=path.name == TRUNCATED_TOOL_JSON)
    for seed in SEEDS:
        assert decode(random_chunks(body_bytes(path), seed)) == events


@pytest.mark.parametrize("path", STREAMS)
def test_every_stream_survives_every_chunking(path: Path) -> None:
    body = body_bytes(path)
    whole = decode([body])
    assert sum(isinstance(event, StopEvent) for event in whole) == 1
    for seed in SEEDS:
        assert decode(random_chunks(body, seed)) == whole
    assert decode([bytes([byte]) for byte in body]) == whole


def test_truncated_tool_json_is_a_parse_error() -> None:
    path = WIRE / "anthropic" / TRUNCATED_TOOL_JSON
    if not path.exists():
        pytest.skip(f"wire corpus not found at {path.parent}")
    events = decode([body_bytes(path)])
    (failed,) = of(events, ToolUseJsonParseErrorEvent)
    assert failed.name == "make_file"
    assert failed.raw_input.startswith('{"filename": "taxes.txt"')
    assert events[-2:] == [of(events, UsageEvent)[-1], StopEvent(reason="maxTokens")]


def test_in_stream_error_vector() -> None:
    path = WIRE / "anthropic" / ERROR_VECTOR
    if not path.exists():
        pytest.skip(f"wire corpus not found at {path.parent}")
    for chunks in ([body_bytes(path)], random_chunks(body_bytes(path), seed=3)):
        assert decode(chunks) == [
            ErrorEvent(code=ErrorCode.PROVIDER_UNAVAILABLE, message="Overloaded"),
            StopEvent(reason="error"),
        ]


@pytest.mark.parametrize("path", NONSTREAM)
def test_nonstream_message_matches_the_sdk(path: Path) -> None:
    body = json.loads(path.read_text())
    message = anthropic.types.Message.model_validate(body)
    assert_matches(ADAPTER.decode_message(body), message)


@pytest.mark.parametrize("path", ERRORS)
def test_error_bodies(path: Path) -> None:
    status = int(path.name.split("-")[1])
    body = path.read_bytes()
    recorded = json.loads(body)
    error = ADAPTER.parse_error(status, {}, body)
    expected = {400: ErrorCode.INVALID_REQUEST, 404: ErrorCode.UNKNOWN_MODEL}[status]
    assert (error.code, error.status, error.provider) == (expected, status, "anthropic")
    assert recorded["error"]["message"] in error.message
    assert recorded["request_id"] in error.message
    assert not error.retryable


# ---- error answers ---------------------------------------------------------------


def error_body(error_type: str, message: str) -> bytes:
    return json.dumps(
        {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_1"}
    ).encode()


@pytest.mark.parametrize(
    ("status", "error_type", "message", "code"),
    [
        (529, "overloaded_error", "Overloaded", ErrorCode.PROVIDER_UNAVAILABLE),
        (500, "api_error", "Internal server error", ErrorCode.PROVIDER_UNAVAILABLE),
        (401, "authentication_error", "invalid x-api-key", ErrorCode.AUTHENTICATION_FAILED),
        (403, "permission_error", "no access", ErrorCode.PERMISSION_DENIED),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum size",
            ErrorCode.CONTEXT_LENGTH_EXCEEDED,
        ),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
            ErrorCode.CONTEXT_LENGTH_EXCEEDED,
        ),
    ],
)
def test_error_codes(status: int, error_type: str, message: str, code: ErrorCode) -> None:
    error = ADAPTER.parse_error(status, {}, error_body(error_type, message))
    assert error.code == code
    assert message in error.message


def test_rate_limit_carries_retry_after() -> None:
    body = error_body("rate_limit_error", "Number of request tokens has exceeded your rate limit")
    error = ADAPTER.parse_error(429, {"retry-after": "12"}, body)
    assert (error.code, error.retry_after_ms, error.retryable) == (
        ErrorCode.RATE_LIMITED,
        12_000,
        True,
    )


def test_error_body_that_is_not_json() -> None:
    html = b"<html><body>502 Bad Gateway</body></html>" + b"x" * 5000
    error = ADAPTER.parse_error(502, {}, html)
    assert error.code == ErrorCode.PROVIDER_UNAVAILABLE
    assert "502 Bad Gateway" in error.message
    assert len(error.message) < 700
    assert ADAPTER.parse_error(503, {}, b"").message == "anthropic: HTTP 503"


# ---- decoder details the corpus does not show -------------------------------------------


def start(**usage: int) -> dict[str, Any]:
    message = {"id": "msg_1", "model": "claude-x", "content": [], "usage": usage}
    return {"type": "message_start", "message": message}


def stop_delta(reason: str | None, **usage: int) -> dict[str, Any]:
    return {"type": "message_delta", "delta": {"stop_reason": reason}, "usage": usage}


def test_latest_usage_wins_and_cache_counts_are_input() -> None:
    events = feed_objects(
        start(
            input_tokens=10,
            cache_read_input_tokens=1000,
            cache_creation_input_tokens=0,
            output_tokens=1,
        ),
        stop_delta("end_turn", output_tokens=40, cache_creation_input_tokens=200),
        {"type": "message_stop"},
    )
    assert of(events, UsageEvent) == [
        UsageEvent(
            input_tokens=1210,
            output_tokens=40,
            cache_read_input_tokens=1000,
            cache_creation_input_tokens=200,
        )
    ]


@pytest.mark.parametrize(("wire", "normalized"), [*EXPECTED_STOP.items(), ("novel", "other")])
def test_stop_reasons(wire: str, normalized: str) -> None:
    events = feed_objects(start(input_tokens=1), stop_delta(wire), {"type": "message_stop"})
    assert events[-1] == StopEvent.model_validate({"reason": normalized})


def test_tool_input_given_whole_in_the_start_block() -> None:
    block = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}
    events = feed_objects(
        start(input_tokens=1),
        {"type": "content_block_start", "index": 0, "content_block": block},
        {"type": "content_block_stop", "index": 0},
        stop_delta("tool_use"),
        {"type": "message_stop"},
    )
    assert of(events, ToolUseDeltaEvent) == [ToolUseDeltaEvent(id="toolu_1", input_json='{"a": 1}')]
    assert of(events, ToolUseEvent) == [ToolUseEvent(id="toolu_1", name="f", input={"a": 1})]


def test_server_tool_use_is_not_a_client_tool_call() -> None:
    block = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    delta = {"type": "input_json_delta", "partial_json": '{"query": "x"}'}
    events = feed_objects(
        start(input_tokens=1),
        {"type": "content_block_start", "index": 0, "content_block": block},
        {"type": "content_block_delta", "index": 0, "delta": delta},
        {"type": "content_block_stop", "index": 0},
        stop_delta("end_turn"),
        {"type": "message_stop"},
    )
    assert not [e for e in events if e.type.startswith("toolUse")]


def test_message_delta_without_message_stop_still_stops() -> None:
    events = feed_objects(start(input_tokens=3), stop_delta("max_tokens", output_tokens=9))
    assert events[-1] == StopEvent(reason="maxTokens")
    assert of(events, ErrorEvent) == []


def test_stream_cut_short() -> None:
    block = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    delta = {"type": "input_json_delta", "partial_json": '{"a": '}
    events = feed_objects(
        start(input_tokens=3),
        {"type": "content_block_start", "index": 0, "content_block": block},
        {"type": "content_block_delta", "index": 0, "delta": delta},
    )
    assert [e.type for e in events[-4:]] == ["toolUseJsonParseError", "usage", "error", "stop"]
    assert events[-2:] == [
        ErrorEvent(code=ErrorCode.NETWORK, message="the stream ended early"),
        StopEvent(reason="error"),
    ]


def test_nothing_after_the_stop() -> None:
    text = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "late"},
    }
    events = feed_objects(
        start(input_tokens=1), stop_delta("end_turn"), {"type": "message_stop"}, text
    )
    assert of(events, TextEvent) == []
    assert of(events, StopEvent) == [StopEvent(reason="endTurn")]


def test_in_stream_rate_limit_error() -> None:
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}}
    events = feed_objects(start(input_tokens=1), error)
    assert events[-2:] == [
        ErrorEvent(code=ErrorCode.RATE_LIMITED, message="Slow down"),
        StopEvent(reason="error"),
    ]


# ---- hostile input ---------------------------------------------------------------------


def assert_one_stop_at_the_end(events: list[ChatEvent]) -> None:
    assert sum(isinstance(event, StopEvent) for event in events) == 1
    assert isinstance(events[-1], StopEvent)


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000)))
    framed = b"event: message_start\ndata: " + noise + b"\n\n" + noise
    for body in (noise, framed):
        assert_one_stop_at_the_end(decode(random_chunks(body, seed)))


@pytest.mark.parametrize("path", STREAMS)
def test_truncated_bodies_never_raise(path: Path) -> None:
    body = body_bytes(path)
    rng = random.Random(path.name)
    for cut in sorted({rng.randrange(len(body)) for _ in range(25)}):
        assert_one_stop_at_the_end(decode(random_chunks(body[:cut], cut)))


JUNK: list[Any] = [None, True, 3, -1, 2.5, "x", "", [], [1, {}], {}, {"type": 5}, {"index": []}]


def mangle(value: Any, rng: random.Random) -> Any:
    """The same JSON shape, with some values swapped for values of the wrong type."""
    if isinstance(value, dict):
        return {
            k: rng.choice(JUNK) if rng.random() < 0.3 else mangle(v, rng) for k, v in value.items()
        }
    if isinstance(value, list):
        return [mangle(item, rng) for item in value]
    return value


@pytest.mark.parametrize("path", STREAMS)
def test_wrong_types_in_valid_json_never_raise(path: Path) -> None:
    objects = [
        json.loads(event.data)
        for event in SSEDecoder().feed(body_bytes(path) + b"\n\n")
        if event.data.startswith("{")
    ]
    for seed in range(10):
        rng = random.Random(seed)
        mangled = [mangle(item, rng) for item in objects]
        decoder = ADAPTER.decoder(target())
        events: list[ChatEvent] = []
        for item in mangled:
            events += decoder.feed(SSEEvent("message", json.dumps(item)))
        assert_one_stop_at_the_end(events + decoder.close())
        message = mangle(objects[0].get("message", objects[0]), rng)
        if isinstance(message, dict):
            assert_one_stop_at_the_end(ADAPTER.decode_message(message))
