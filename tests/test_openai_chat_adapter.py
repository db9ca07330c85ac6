"""The OpenAI Chat Completions translator: request building, stream decoding, errors.

Expected values for the recorded corpus come from an independent oracle: the
official `openai` SDK reads the same bytes (served by FakeOpenAI) and a few
lines of plain accumulation here collect choice 0's text, tool calls, usage
and finish reason.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    Message,
    StartedEvent,
    StopEvent,
    TextEvent,
    ThinkingEvent,
    ToolUseDeltaEvent,
    ToolUseEvent,
    ToolUseJsonParseErrorEvent,
    ToolUseStartEvent,
    UsageEvent,
)
from switchboard.providers.adapters import adapter_for
from switchboard.providers.adapters.openai_chat import OpenAIChatAdapter
from switchboard.providers.base import Credential, ModelTarget, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.sse import SSEDecoder
from switchboard.providers.wire.transport import Transport

from tests.corpus import body_bytes, random_chunks, wire_files
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario, ToolCall

ADAPTER = OpenAIChatAdapter()
SETTINGS = ProviderSettings(id="openai", kind="openai")
KEY = Credential("sk-test-abcdefghijklmnopqrstuvwxyz012345", "env:OPENAI_API_KEY")
NO_CORPUS = "wire corpus not found (it lives in ../shared beside the repo)"
SEEDS = range(5)


def target(model: str = "gpt-4o") -> ModelTarget:
    info = ModelInfo(id=f"openai/{model}", provider="openai", name=model, context_window=128000)
    return ModelTarget("openai", model, info)


def params(**fields: Any) -> ChatParams:
    fields.setdefault("messages", [Message(role="user", content="hi")])
    return ChatParams(**fields)


def body(model: str = "gpt-4o", **fields: Any) -> dict[str, Any]:
    request = ADAPTER.build_request(params(**fields), target(model), SETTINGS, KEY)
    decoded: dict[str, Any] = json.loads(request.body())
    return decoded


def corpus(provider: str, suffix: str, prefix: str = "") -> list[Any]:
    files = [
        path
        for path in wire_files(provider, (suffix,))
        if path.name.startswith(prefix) and not path.name.endswith(".meta.json")
    ]
    return [pytest.param(path, id=path.name) for path in files] or [
        pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS))
    ]


def decode(data: bytes, chunks: list[bytes] | None = None, model: str = "gpt-4o") -> list[Any]:
    sse, decoder = SSEDecoder(), ADAPTER.decoder(target(model))
    events: list[Any] = []
    for chunk in chunks if chunks is not None else [data]:
        for event in sse.feed(chunk):
            events += decoder.feed(event)
    for event in sse.close():
        events += decoder.feed(event)
    return events + decoder.close()


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def text_of(events: list[Any]) -> str:
    return "".join(event.text for event in of_type(events, TextEvent))


# ---- request ------------------------------------------------------------------


def test_url_headers_and_basic_body() -> None:
    request = ADAPTER.build_request(params(), target(), SETTINGS, KEY)
    assert request.method == "POST"
    assert request.url == "https://api.openai.com/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY.secret}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body()) == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_base_url_settings_headers_and_no_credential() -> None:
    settings = ProviderSettings(
        id="lab", kind="openai", base_url="http://127.0.0.1:9/v1/", headers={"OpenAI-Project": "p"}
    )
    request = ADAPTER.build_request(params(), target(), settings, None)
    assert request.url == "http://127.0.0.1:9/v1/chat/completions"
    assert request.headers["OpenAI-Project"] == "p"
    assert "Authorization" not in request.headers


def test_registered_under_its_kind() -> None:
    adapter = adapter_for("openai")
    assert isinstance(adapter, OpenAIChatAdapter)
    assert (adapter.kind, adapter.framing, adapter.api_key_envs) == (
        "openai",
        "sse",
        ("OPENAI_API_KEY",),
    )


def test_system_prompt_comes_first_then_system_messages() -> None:
    messages = [
        Message(role="system", content="Be brief."),
        Message(
            role="user", content=[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
        ),
    ]
    assert body(system="You are helpful.", messages=messages)["messages"] == [
        {"role": "system", "content": "You are helpful."},
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]


def test_user_images_as_data_urls_and_plain_urls() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "mediaType": "image/png", "data": "iVBORw0KGgo="},
        {"type": "image", "url": "https://example.com/cat.jpg"},
    ]
    [message] = body(messages=[Message(role="user", content=content)])["messages"]
    assert message["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]


def test_tool_turn_round_trip() -> None:
    messages = [
        Message(role="user", content="Weather in Paris and Oslo?"),
        Message(
            role="assistant",
            content=[
                {"type": "thinking", "text": "two calls", "signature": "sig"},
                {"type": "redactedThinking", "data": "xx"},
                {"type": "text", "text": "Checking."},
                {"type": "toolUse", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "toolUse", "id": "call_2", "name": "weather", "input": {"city": "Oslo"}},
            ],
        ),
        Message(
            role="user",
            content=[
                {"type": "toolResult", "toolUseId": "call_1", "content": "sunny"},
                {
                    "type": "toolResult",
                    "toolUseId": "call_2",
                    "content": [{"type": "text", "text": "rain"}, {"type": "text", "text": "y"}],
                    "isError": True,
                },
                {"type": "text", "text": "Thanks"},
            ],
        ),
    ]
    wire = body(messages=messages)["messages"]
    assert wire[1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
            },
        ],
    }
    assert wire[2:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "Error: rainy"},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ]


def test_assistant_with_only_tool_calls_has_null_content() -> None:
    call = {"type": "toolUse", "id": "c", "name": "f", "input": {}}
    messages = [Message(role="user", content="go"), Message(role="assistant", content=[call])]
    assistant = body(messages=messages)["messages"][1]
    assert assistant["content"] is None
    assert assistant["tool_calls"][0]["function"]["arguments"] == "{}"


def test_tool_role_message_and_image_results() -> None:
    result = {
        "type": "toolResult",
        "toolUseId": "call_9",
        "content": [
            {"type": "text", "text": "a chart"},
            {"type": "image", "mediaType": "image/jpeg", "data": "AAAA"},
        ],
    }
    wire = body(messages=[Message(role="tool", content=[result])])["messages"]
    assert wire == [
        {"role": "tool", "tool_call_id": "call_9", "content": "a chart"},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}}],
        },
    ]


def test_tools_and_tool_choice() -> None:
    tools = [
        {"name": "weather", "description": "Get weather", "inputSchema": {"type": "object"}},
        {"name": "noop"},
    ]
    wire = body(tools=tools)
    assert wire["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Get weather",
                "parameters": {"type": "object"},
            },
        },
        {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}},
    ]
    assert "tool_choice" not in wire
    assert "parallel_tool_calls" not in wire


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("any", "required"),
        ("none", "none"),
        ({"name": "weather"}, {"type": "function", "function": {"name": "weather"}}),
    ],
)
def test_tool_choice(choice: Any, wire: Any) -> None:
    assert body(tools=[{"name": "weather"}], tool_choice=choice)["tool_choice"] == wire


def test_sampling_fields() -> None:
    wire = body(max_tokens=512, temperature=0.3, stop_sequences=["END", "STOP"])
    assert wire["max_completion_tokens"] == 512
    assert wire["temperature"] == 0.3
    assert wire["stop"] == ["END", "STOP"]
    assert "max_tokens" not in wire
    assert "reasoning_effort" not in body(thinking={"budgetTokens": 8000})


def test_a_subclass_can_use_max_tokens() -> None:
    class Legacy(OpenAIChatAdapter):
        max_tokens_field = "max_tokens"

    request = Legacy().build_request(params(max_tokens=99), target(), SETTINGS, KEY)
    assert request.json["max_tokens"] == 99
    assert "max_completion_tokens" not in request.json


@pytest.mark.parametrize(
    "model", ["o1", "o1-mini", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "gpt-5-mini", "openai/o3"]
)
def test_reasoning_models_drop_temperature_and_take_an_effort(model: str) -> None:
    wire = body(model=model, temperature=0.2, thinking={"budgetTokens": 1024})
    assert "temperature" not in wire
    assert wire["reasoning_effort"] == "low"


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1-mini", "gpt-5-chat-latest", "o-custom"])
def test_other_models_keep_temperature(model: str) -> None:
    assert body(model=model, temperature=0.2)["temperature"] == 0.2


@pytest.mark.parametrize(("budget", "effort"), [(0, "low"), (4096, "medium"), (32000, "high")])
def test_reasoning_effort_by_budget(budget: int, effort: str) -> None:
    assert body(model="o3", thinking={"budgetTokens": budget})["reasoning_effort"] == effort


def test_provider_options_are_merged_last() -> None:
    options = {
        "temperature": 1.5,
        "stream_options": {"include_usage": False},
        "parallel_tool_calls": False,
        "seed": 7,
    }
    wire = body(temperature=0.1, provider_options=options)
    assert wire["temperature"] == 1.5
    assert wire["stream_options"] == {"include_usage": False}
    assert wire["parallel_tool_calls"] is False
    assert wire["seed"] == 7


def test_subclass_hooks_change_url_auth_and_body() -> None:
    class Compatible(OpenAIChatAdapter):
        kind = "compatible"
        chat_path = "openai/chat/completions"

        def auth_headers(self, credential: Credential | None) -> dict[str, str]:
            return {"api-key": credential.secret} if credential else {}

        def extra_body(self, *_: Any) -> dict[str, Any]:
            return {"user": "switchboard", "seed": 1}

        def stream_options(self) -> dict[str, Any] | None:
            return None

    settings = ProviderSettings(id="c", kind="compatible", base_url="http://127.0.0.1:1")
    request = Compatible().build_request(
        params(provider_options={"seed": 2}), target(), settings, KEY
    )
    assert request.url == "http://127.0.0.1:1/openai/chat/completions"
    assert request.headers["api-key"] == KEY.secret
    assert "Authorization" not in request.headers
    assert request.json["user"] == "switchboard"
    assert request.json["seed"] == 2
    assert "stream_options" not in request.json


# ---- the oracle: the official SDK reads the same bytes ---------------------------------


@dataclass
class SdkView:
    first_id: str | None = None
    model: str | None = None
    text: str = ""
    refusal: str = ""
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish: str | None = None
    usage: Any = None

    def stop(self) -> str:
        reasons = {
            "stop": "endTurn",
            "length": "maxTokens",
            "tool_calls": "toolUse",
            "content_filter": "contentFilter",
        }
        reason = reasons[self.finish or "stop"]
        return "refusal" if self.refusal and reason == "endTurn" else reason

    def tool_uses(self) -> list[tuple[str, str, Any]]:
        return [
            (call["id"], call["name"], json.loads("".join(call["args"]) or "{}"))
            for _, call in sorted(self.calls.items())
        ]


@pytest.fixture(scope="module")
def replayer() -> Iterator[openai.OpenAI]:
    with FakeOpenAI() as fake:
        client = openai.OpenAI(base_url=fake.url, api_key=fake.api_key, max_retries=0)
        client.fake = fake  # type: ignore[attr-defined]
        yield client


def sdk_view(client: openai.OpenAI, data: bytes) -> SdkView:
    client.fake.enqueue_replay(data)  # type: ignore[attr-defined]
    view = SdkView()
    stream = client.chat.completions.create(
        model="replay", messages=[{"role": "user", "content": "x"}], stream=True
    )
    for chunk in stream:
        view.first_id = view.first_id or chunk.id
        view.model = view.model or chunk.model
        view.usage = chunk.usage or view.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            view.text += choice.delta.content or ""
            view.refusal += choice.delta.refusal or ""
            view.finish = choice.finish_reason or view.finish
            for call in choice.delta.tool_calls or []:
                slot = view.calls.setdefault(call.index, {"id": None, "name": "", "args": []})
                slot["id"] = slot["id"] or call.id
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["args"].append(call.function.arguments or "")
    return view


def assert_matches(events: list[Any], view: SdkView) -> None:
    assert isinstance(events[0], StartedEvent)
    assert (events[0].id, events[0].model) == (view.first_id, view.model)
    assert text_of(events) == view.text + view.refusal
    uses = of_type(events, ToolUseEvent)
    assert [(u.id, u.name, u.input) for u in uses] == view.tool_uses()
    assert not of_type(events, ToolUseJsonParseErrorEvent)
    for use in uses:
        deltas = [e.input_json for e in of_type(events, ToolUseDeltaEvent) if e.id == use.id]
        assert json.loads("".join(deltas) or "{}") == use.input
    assert [e.id for e in of_type(events, ToolUseStartEvent)] == [u.id for u in uses]
    usages = of_type(events, UsageEvent)
    if view.usage is None:
        assert usages == []
    else:
        details = view.usage.prompt_tokens_details
        assert usages[-1] == UsageEvent(
            input_tokens=view.usage.prompt_tokens,
            output_tokens=view.usage.completion_tokens,
            cache_read_input_tokens=details.cached_tokens if details else None,
        )
    assert of_type(events, StopEvent) == [events[-1]]
    assert events[-1].reason == view.stop()
    assert not of_type(events, ErrorEvent)


@pytest.mark.parametrize("path", corpus("openai-chat", ".sse") + corpus("openai-compat", ".sse"))
def test_corpus_stream_matches_the_sdk(path: Path, replayer: openai.OpenAI) -> None:
    data = body_bytes(path)
    view = sdk_view(replayer, data)
    whole = decode(data)
    assert_matches(whole, view)
    for seed in SEEDS:
        split = decode(data, random_chunks(data, seed))
        assert split == whole, f"seed {seed}"


def test_n3_corpus_keeps_choice_zero_only(replayer: openai.OpenAI) -> None:
    files = [p for p in wire_files("openai-chat", (".sse",)) if "n3" in p.name]
    if not files:
        pytest.skip(NO_CORPUS)
    path = files[0]
    everything = "".join(
        choice["delta"].get("content") or ""
        for line in body_bytes(path).splitlines()
        if line.startswith(b"data: {")
        for choice in json.loads(line[6:])["choices"]
    )
    text = text_of(decode(body_bytes(path)))
    assert text and len(everything) > 2 * len(text)


@pytest.mark.parametrize("path", corpus("openai-chat", ".json", "nonstream-"))
def test_corpus_completion_matches_the_sdk(path: Path) -> None:
    raw = json.loads(body_bytes(path))
    oracle = ChatCompletion.model_validate(raw)
    events = ADAPTER.decode_completion(raw)
    message, usage = oracle.choices[0].message, oracle.usage
    assert isinstance(events[0], StartedEvent) and events[0].id == oracle.id
    assert text_of(events) == (message.content or "")
    expected_calls = [
        (call.id, call.function.name, json.loads(call.function.arguments))
        for call in message.tool_calls or []
        if call.type == "function"
    ]
    assert [(u.id, u.name, u.input) for u in of_type(events, ToolUseEvent)] == expected_calls
    assert usage is not None
    [reported] = of_type(events, UsageEvent)
    assert (reported.input_tokens, reported.output_tokens) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    view = SdkView(finish=oracle.choices[0].finish_reason)
    assert of_type(events, StopEvent) == [StopEvent(reason=view.stop())] == [events[-1]]


# ---- errors -------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus("openai-chat", ".json", "error-"))
def test_corpus_error_bodies(path: Path) -> None:
    status = int(path.name.split("-")[1])
    raw = body_bytes(path)
    error = ADAPTER.parse_error(status, {}, raw)
    expected = "unknownModel" if "model-not-found" in path.name else "invalidRequest"
    assert (error.code, error.status, error.provider) == (expected, status, "openai")
    assert json.loads(raw)["error"]["message"] in error.message


def openai_error(message: str, error_type: str, code: str | None) -> bytes:
    error = {"message": message, "type": error_type, "param": None, "code": code}
    return json.dumps({"error": error}).encode()


def test_context_length_exceeded() -> None:
    raw = openai_error(
        "This model's maximum context length is 128000 tokens. However, your messages resulted"
        " in 130512 tokens. Please reduce the length of the messages.",
        "invalid_request_error",
        "context_length_exceeded",
    )
    error = ADAPTER.parse_error(400, {}, raw)
    assert error.code == "contextLengthExceeded"
    assert error.suggestion


def test_codes_decide_over_wording() -> None:
    raw = openai_error("Request rejected.", "invalid_request_error", "context_length_exceeded")
    assert ADAPTER.parse_error(400, {}, raw).code == "contextLengthExceeded"
    raw = openai_error("No deployment for that name.", "invalid_request_error", "model_not_found")
    assert ADAPTER.parse_error(400, {}, raw).code == "unknownModel"


def test_insufficient_quota_is_rate_limited_with_a_billing_hint() -> None:
    raw = openai_error(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )
    error = ADAPTER.parse_error(429, {"retry-after": "3"}, raw)
    assert error.code == "rateLimited"
    assert error.suggestion is not None and "billing" in error.suggestion
    assert error.retry_after_ms == 3000


def test_rate_limit_and_auth_errors() -> None:
    raw = openai_error("Rate limit reached for gpt-4o.", "tokens", "rate_limit_exceeded")
    limited = ADAPTER.parse_error(429, {"retry-after-ms": "250"}, raw)
    assert (limited.code, limited.retry_after_ms) == ("rateLimited", 250)
    leaked = "Incorrect API key provided: sk-live-0123456789abcdefghijkl."
    denied = ADAPTER.parse_error(401, {}, openai_error(leaked, "invalid_request_error", None))
    assert denied.code == "authenticationFailed"
    assert "0123456789abcdefghijkl" not in denied.message


@pytest.mark.parametrize(
    ("status", "raw", "code"),
    [
        (502, b"<html><body>Bad gateway</body></html>", "providerUnavailable"),
        (500, b"", "providerUnavailable"),
        (400, b'{"error": "bad thing"}', "invalidRequest"),
        (400, b'{"message": "flat message", "code": 400}', "invalidRequest"),
        (404, b"[" * 100_000, "invalidRequest"),
        (503, b"\xff\xfe\x00garbage", "providerUnavailable"),
    ],
)
def test_odd_error_bodies(status: int, raw: bytes, code: str) -> None:
    error = ADAPTER.parse_error(status, {}, raw)
    assert isinstance(error, ProviderError)
    assert error.code == code
    assert error.message.startswith("openai: ")


# ---- stream edge cases --------------------------------------------------------


def sse(*chunks: Any, done: bool = True) -> bytes:
    lines = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks]
    return b"".join(lines) + (b"data: [DONE]\n\n" if done else b"")


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> Any:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return {"id": "chatcmpl-1", "model": "m", "choices": [choice], **extra}


def test_error_object_in_a_stream() -> None:
    error = {"message": "The server had an error processing your request.", "type": "server_error"}
    events = decode(sse(chunk({"content": "partial"}), {"error": error}, done=False))
    assert text_of(events) == "partial"
    assert events[-2:] == [
        ErrorEvent(code="providerUnavailable", message=error["message"]),
        StopEvent(reason="error"),
    ]


def test_openrouter_midstream_error_with_usage() -> None:
    files = [p for p in wire_files("openrouter", (".sse",)) if "midstream-error" in p.name]
    if not files:
        pytest.skip(NO_CORPUS)
    events = decode(body_bytes(files[0]))
    assert of_type(events, ThinkingEvent)
    assert of_type(events, UsageEvent)[-1].input_tokens == 43
    [error] = of_type(events, ErrorEvent)
    assert error.message == "Token limit reached"
    assert of_type(events, StopEvent) == [StopEvent(reason="error")] == [events[-1]]


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("stop", "endTurn"),
        ("length", "maxTokens"),
        ("tool_calls", "toolUse"),
        ("function_call", "toolUse"),
        ("content_filter", "contentFilter"),
        ("something_new", "other"),
    ],
)
def test_finish_reasons(finish: str, reason: str) -> None:
    events = decode(sse(chunk({"content": "x"}), chunk(finish=finish)))
    assert events[-1] == StopEvent(reason=reason)


def test_stop_waits_for_the_usage_chunk() -> None:
    usage = {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35}
    usage["prompt_tokens_details"] = {"cached_tokens": 24}  # type: ignore[assignment]
    events = decode(sse(chunk({"content": "x"}), chunk(finish="stop"), chunk(None, usage=usage)))
    assert [type(e).__name__ for e in events[-2:]] == ["UsageEvent", "StopEvent"]
    assert events[-2] == UsageEvent(input_tokens=30, output_tokens=5, cache_read_input_tokens=24)


def test_truncated_stream_is_a_network_error() -> None:
    call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a":'}}
    events = decode(sse(chunk({"tool_calls": [call]}), done=False))
    assert [type(e).__name__ for e in events[-3:]] == [
        "ToolUseJsonParseErrorEvent",
        "ErrorEvent",
        "StopEvent",
    ]
    assert events[-2] == ErrorEvent(code="network", message="the stream ended early")
    assert events[-1] == StopEvent(reason="error")


def test_finish_without_done_and_done_without_finish() -> None:
    assert decode(sse(chunk({"content": "x"}, "stop"), done=False))[-1] == StopEvent(
        reason="endTurn"
    )
    call = {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}
    assert decode(sse(chunk({"tool_calls": [call]})))[-1] == StopEvent(reason="toolUse")
    assert decode(sse(chunk({"content": "x"})))[-1] == StopEvent(reason="endTurn")


def test_nothing_after_the_stop() -> None:
    data = sse(chunk({"content": "a"}, "stop")) + sse(chunk({"content": "late"}))
    events = decode(data)
    assert text_of(events) == "a"
    assert len(of_type(events, StopEvent)) == 1


def test_reasoning_fields_first_one_wins() -> None:
    events = decode(
        sse(
            chunk({"reasoning_content": "think ", "reasoning": "think "}),
            chunk({"reasoning": "more"}),
            chunk({"content": "answer"}, "stop"),
        )
    )
    assert [e.text for e in of_type(events, ThinkingEvent)] == ["think ", "more"]
    assert text_of(events) == "answer"


def test_tool_call_quirks() -> None:
    no_index = [
        {"id": "a", "function": {"name": "first", "arguments": '{"x": 1}'}},
        {"id": "b", "function": {"name": "second", "arguments": {"y": 2}}},
    ]
    reused_index = [{"index": 0, "id": "c", "function": {"name": "third", "arguments": "{}"}}]
    late_name = [{"index": 1, "id": "d", "function": {"arguments": ""}}]
    named = [{"index": 1, "function": {"name": "fourth", "arguments": '{"z": 3}'}}]
    events = decode(
        sse(
            chunk({"tool_calls": no_index}),
            chunk({"tool_calls": reused_index}),
            chunk({"tool_calls": late_name}),
            chunk({"tool_calls": named}, "tool_calls"),
        )
    )
    assert [(u.id, u.name, u.input) for u in of_type(events, ToolUseEvent)] == [
        ("a", "first", {"x": 1}),  # closed when "c" reuses index 0
        ("b", "second", {"y": 2}),  # closed when "d" reuses index 1
        ("c", "third", {}),
        ("d", "fourth", {"z": 3}),
    ]


def test_decode_completion_with_refusal_reasoning_and_garbage() -> None:
    completion = {
        "id": "chatcmpl-9",
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"content": None, "refusal": "No.", "reasoning_content": "hmm"},
                "finish_reason": "stop",
            }
        ],
    }
    events = ADAPTER.decode_completion(completion)
    assert events[0] == StartedEvent(id="chatcmpl-9", model="gpt-4o")
    assert of_type(events, ThinkingEvent) == [ThinkingEvent(text="hmm")]
    assert text_of(events) == "No."
    assert events[-1] == StopEvent(reason="refusal")
    odd_bodies: list[Any] = [{}, {"choices": "x"}, {"error": {"message": "overloaded"}}, [], None]
    for odd in odd_bodies:
        ending = ADAPTER.decode_completion(odd)
        assert of_type(ending, StopEvent) == [StopEvent(reason="error")] == [ending[-1]]


GARBAGE = [
    b"",
    b"data: [DONE]\n\n",
    b"data: {\n\ndata: }\n\ndata: null\n\ndata: 42\n\ndata: []\n\n",
    b"data: " + b"[" * 50_000 + b"\n\n",
    b'data: {"choices": "x", "usage": 5, "id": 7, "model": null}\n\n',
    b'data: {"choices": [null, 1, {"index": 0, "delta": 5}]}\n\n',
    b'data: {"choices": [{"delta": {"content": 5, "refusal": [], "tool_calls": "x"}}]}\n\n',
    b'data: {"choices": [{"delta": {"tool_calls": [null, {"index": "a", "id": 3}]}}]}\n\n',
    b'data: {"choices": [{"delta": {"tool_calls": [{"index": true, "function": "f"}]}}]}\n\n',
    b'data: {"choices": [], "usage": {"prompt_tokens": "x", "completion_tokens": NaN}}\n\n',
    b'data: {"choices": [], "usage": {"prompt_tokens": Infinity, "prompt_tokens_details": 1}}\n\n',
    b'data: {"error": "just a string"}\n\n',
    b'data: {"error": {"message": 5, "type": []}}\n\n',
    b'data: {"choices": [{"finish_reason": 7, "delta": {"content": "a"}}]}\n\n',
    b"\xef\xbb\xbfdata: \xff\xfe\n\nevent: ping\n\n: comment\n\n",
]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_never_raises(data: bytes) -> None:
    for chunks in ([data], random_chunks(data, 1)):
        events = decode(data, chunks)
        assert of_type(events, StopEvent) == [events[-1]]


def test_mangled_corpus_never_raises() -> None:
    files = wire_files("openai-chat", (".sse",)) + wire_files("openai-compat", (".sse",))
    if not files:
        pytest.skip(NO_CORPUS)
    rng = random.Random(7)
    for path in files:
        data = bytearray(body_bytes(path))
        for _ in range(20):
            mangled = bytearray(data)
            for _ in range(rng.randint(1, 12)):
                mangled[rng.randrange(len(mangled))] = rng.randrange(256)
            cut = bytes(mangled[: rng.randrange(len(mangled) + 1)])
            events = decode(cut, random_chunks(cut, rng.randrange(1000)))
            assert of_type(events, StopEvent) == [events[-1]]


# ---- over real HTTP: build_request → Transport → FakeOpenAI → decoder ----------------


async def run_chat(fake: FakeOpenAI, secret: str, chat: ChatParams) -> list[ChatEvent]:
    settings = ProviderSettings(id="openai", kind="openai", base_url=fake.url)
    request = ADAPTER.build_request(chat, target(), settings, Credential(secret, "test"))
    transport = Transport(RetryPolicy(max_retries=0))
    sse_decoder, decoder = SSEDecoder(), ADAPTER.decoder(target())
    events: list[ChatEvent] = []
    try:
        async for item in transport.stream(
            request, provider="openai", parse_error=ADAPTER.parse_error
        ):
            assert isinstance(item, bytes)
            for event in sse_decoder.feed(item):
                events += decoder.feed(event)
    finally:
        await transport.aclose()
    return events + decoder.close()


async def test_against_the_fake_over_http() -> None:
    scenario = Scenario(
        text="Let me look.",
        tool_calls=[ToolCall("call_7", "search", {"query": "ünïcode", "n": 3})],
        input_tokens=100,
        output_tokens=20,
        cache_read_tokens=64,
        stop="toolUse",
    )
    with FakeOpenAI() as fake:
        fake.enqueue_scenario(scenario)
        events = await run_chat(fake, fake.api_key, params(tools=[{"name": "search"}]))
        sent = fake.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {fake.api_key}"
    assert sent.json()["stream_options"] == {"include_usage": True}
    assert text_of(events) == scenario.text
    assert [(u.id, u.name, u.input) for u in of_type(events, ToolUseEvent)] == [
        ("call_7", "search", {"query": "ünïcode", "n": 3})
    ]
    assert of_type(events, UsageEvent)[-1] == UsageEvent(
        input_tokens=100, output_tokens=20, cache_read_input_tokens=64
    )
    assert events[-1] == StopEvent(reason="toolUse")


async def test_a_bad_key_over_http() -> None:
    wrong = "sk-wrong-abcdefghijklmnopqrstuvwxyz"
    with FakeOpenAI() as fake, pytest.raises(ProviderError) as caught:
        await run_chat(fake, wrong, params())
    assert caught.value.code == "authenticationFailed"
    assert caught.value.status == 401
    assert wrong not in caught.value.message
