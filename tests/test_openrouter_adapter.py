"""OpenRouter: attribution, routing, reasoning_details round trip, cost, in-stream errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.chat import (
    ChatParams,
    ErrorEvent,
    Message,
    StopEvent,
    TextEvent,
    ThinkingEvent,
    ToolUseEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for, option_keys
from switchboard.providers.adapters.openrouter import OpenRouterAdapter
from switchboard.providers.base import Credential, ProviderSettings
from switchboard.providers.wire.accumulator import ChatAccumulator
from switchboard.providers.wire.sse import SSEDecoder

from tests.corpus import body_bytes
from tests.test_azure_adapter import check_shape, corpus, of_type, replay, target, text_of

ADAPTER = OpenRouterAdapter()
SETTINGS = ProviderSettings(id="openrouter", kind="openrouter")
KEY = Credential("sk-or-v1-" + "a" * 64, "env:OPENROUTER_API_KEY")
MODEL = "anthropic/claude-sonnet-4.5"


def build(settings: ProviderSettings = SETTINGS, **fields: Any) -> Any:
    fields.setdefault("messages", [Message(role="user", content="hi")])
    return ADAPTER.build_request(ChatParams(**fields), target("openrouter", MODEL), settings, KEY)


def test_registered_with_its_options() -> None:
    assert isinstance(adapter_for("openrouter"), OpenRouterAdapter)
    assert option_keys("openrouter") == {"referer", "title", "provider", "auth_site"}


def test_url_headers_and_body() -> None:
    request = build(max_tokens=100, thinking={"budgetTokens": 2048}, temperature=0.5)
    assert request.url == "https://openrouter.ai/api/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY.secret}"
    assert request.headers["HTTP-Referer"].startswith("https://")
    assert request.headers["X-Title"] == "Switchboard"
    wire = request.json
    assert wire["model"] == MODEL
    assert wire["max_tokens"] == 100
    assert wire["usage"] == {"include": True}
    assert wire["reasoning"] == {"max_tokens": 2048}
    assert wire["temperature"] == 0.5
    assert "reasoning_effort" not in wire and "provider" not in wire


def test_attribution_can_be_overridden_and_headers_win() -> None:
    settings = ProviderSettings(
        id="or",
        kind="openrouter",
        headers={"X-Title": "From headers"},
        options={"referer": "https://example.com/app", "title": "My App"},
    )
    request = build(settings)
    assert request.headers["HTTP-Referer"] == "https://example.com/app"
    assert request.headers["X-Title"] == "From headers"


def test_routing_default_merges_under_provider_options() -> None:
    settings = ProviderSettings(
        id="or",
        kind="openrouter",
        options={"provider": {"order": ["anthropic", "google-vertex"], "allow_fallbacks": True}},
    )
    assert build(settings).json["provider"] == {
        "order": ["anthropic", "google-vertex"],
        "allow_fallbacks": True,
    }
    routed = build(settings, provider_options={"provider": {"allow_fallbacks": False}})
    assert routed.json["provider"] == {
        "order": ["anthropic", "google-vertex"],
        "allow_fallbacks": False,
    }
    passed = build(provider_options={"provider": {"order": ["xai"]}, "transforms": []})
    assert passed.json["provider"] == {"order": ["xai"]}
    assert passed.json["transforms"] == []


@pytest.mark.parametrize(("key", "value"), [("provider", ["x"]), ("title", ""), ("referer", 7)])
def test_bad_options_are_named(key: str, value: Any) -> None:
    settings = ProviderSettings(id="or", kind="openrouter", options={key: value})
    with pytest.raises(Exception, match=f"option '{key}'"):
        build(settings)


def stream_events(path: Path) -> list[Any]:
    return replay(ADAPTER, path)


def test_reasoning_details_travel_back_on_the_next_turn() -> None:
    paths = [
        p for p in (param.values[0] for param in corpus("openrouter", ("chat-stream-claude",)))
    ]
    if paths[0] is None:
        pytest.skip("wire corpus not found")
    events = stream_events(paths[0])
    accumulator = ChatAccumulator("r", "openrouter/x")
    for event in events:
        accumulator.add(event)
    result = accumulator.result(None)
    assistant = Message(role="assistant", content=result.content)
    wire = ADAPTER.assistant_message(assistant)
    [detail] = wire["reasoning_details"]
    assert detail["type"] == "reasoning.text"
    assert detail["text"] == "This is a simple arithmetic question. 2+2 equals 4."
    assert detail["signature"].startswith("Et0BCkgIChACGAIqQA2s7h7tA7IG35")
    assert detail["format"] == "anthropic-claude-v1"
    assert wire["content"] == "2 + 2 = 4"


def test_plain_thinking_parts_send_no_details() -> None:
    message = Message(
        role="assistant",
        content=[
            {"type": "thinking", "text": "x", "signature": "not json"},
            {"type": "text", "text": "hi"},
        ],
    )
    assert "reasoning_details" not in ADAPTER.assistant_message(message)


EXPECTED = {
    # file: (text, tool names, stop, input, output, reported cost, error code)
    "chat-stream-claude-reasoning.sse": (
        "2 + 2 = 4",
        [],
        "endTurn",
        43,
        36,
        0.000669,
        None,
    ),
    "chat-stream-midstream-error.sse": ("", [], "error", 43, 10, 0.0, "contextLengthExceeded"),
    "chat-stream-xai-grok4.sse": (None, [], "endTurn", 687, 187, 0.00333825, None),
    "chat-nonstream-tool-call.json": ("", ["divide"], "toolUse", 134, 43, None, None),
    "chat-nonstream-gemini-tool-call-byok-cost.json": (
        "",
        ["insert_level_with_spaces"],
        "toolUse",
        326,
        91,
        0.0003253,  # BYOK: OpenRouter's cost (0) plus the upstream bill
        None,
    ),
}


@pytest.mark.parametrize("path", corpus("openrouter", ("chat-",)))
def test_corpus_replays(path: Path) -> None:
    events = replay(ADAPTER, path)
    check_shape(events)
    if path.suffix == ".sse":
        for seed in range(5):
            assert replay(ADAPTER, path, seed) == events
    text, tools, stop, input_tokens, output_tokens, cost, code = EXPECTED[path.name]
    if text is not None:
        assert text_of(events) == text
    assert [u.name for u in of_type(events, ToolUseEvent)] == tools
    assert events[-1] == StopEvent(reason=stop)
    usage = of_type(events, UsageEvent)[-1]
    assert (usage.input_tokens, usage.output_tokens) == (input_tokens, output_tokens)
    assert usage.reported_cost_usd == (pytest.approx(cost) if cost is not None else None)
    errors = of_type(events, ErrorEvent)
    assert [e.code for e in errors] == ([code] if code else [])
    if code:
        assert errors[0].message == "Token limit reached"
        assert events[-2] == errors[0]


def test_comments_are_ignored_and_grok_details_become_a_signature() -> None:
    params = corpus("openrouter", ("chat-stream-xai",))
    if params[0].values[0] is None:
        pytest.skip("wire corpus not found")
    path = params[0].values[0]
    assert body_bytes(path).count(b": OPENROUTER PROCESSING") > 5
    events = replay(ADAPTER, path)
    assert text_of(events).startswith("I'm Grok,")
    [signed] = [e for e in of_type(events, ThinkingEvent) if e.signature]
    [detail] = json.loads(signed.signature)
    assert detail["type"] == "reasoning.encrypted" and detail["format"] == "xai-responses-v1"
    assert events.index(signed) < events.index(of_type(events, TextEvent)[0])


def feed(lines: list[Any]) -> list[Any]:
    decoder = ADAPTER.decoder(target("openrouter", MODEL))
    sse = SSEDecoder()
    events: list[Any] = []
    for line in lines:
        raw = line if isinstance(line, bytes) else b"data: " + json.dumps(line).encode() + b"\n\n"
        for event in sse.feed(raw):
            events += decoder.feed(event)
    return events + decoder.close()


def chunk(delta: dict[str, Any], finish: str | None = None, **top: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "gen-1", "model": MODEL, "choices": [choice], **top}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (429, "rateLimited"),
        (402, "rateLimited"),
        (502, "providerUnavailable"),
        (503, "providerUnavailable"),
        (401, "authenticationFailed"),
        (408, "timeout"),
    ],
)
def test_mid_stream_error_codes(code: int, expected: str) -> None:
    events = feed(
        [
            b": OPENROUTER PROCESSING\n\n",
            chunk({"content": "partial"}),
            chunk({"content": ""}, "error", error={"code": code, "message": "Upstream said no"}),
            b"data: [DONE]\n\n",
        ]
    )
    assert text_of(events) == "partial"
    assert events[-2:] == [
        ErrorEvent(code=expected, message="Upstream said no"),
        StopEvent(reason="error"),
    ]


def test_error_finish_without_an_error_object_still_fails() -> None:
    events = feed([chunk({"content": "x"}), chunk({}, "error")])
    assert of_type(events, ErrorEvent)[0].code == "providerUnavailable"
    assert events[-1].reason == "error"
    assert len(of_type(events, StopEvent)) == 1


def test_details_only_thinking_is_spoken_and_garbage_never_raises() -> None:
    summary = {"type": "reasoning.summary", "summary": "Plan: add.", "index": 0}
    events = feed(
        [
            b"data: {nope\n\n",
            chunk({"reasoning_details": [summary, "junk"]}),
            chunk({"reasoning_details": "junk", "tool_calls": "junk"}),
            chunk({"content": "done"}, "stop"),
            b"data: [DONE]\n\n",
        ]
    )
    thinking = of_type(events, ThinkingEvent)
    assert thinking[0].text == "Plan: add."
    assert json.loads(thinking[-1].signature or "") == [summary]
    assert events[-1].reason == "endTurn"


def test_http_error_bodies() -> None:
    paths = [param.values[0] for param in corpus("openrouter", ("error-",))]
    if paths[0] is None:
        pytest.skip("wire corpus not found")
    error = ADAPTER.parse_error(429, {"retry-after": "4"}, paths[0].read_bytes())
    assert error.code == ErrorCode.RATE_LIMITED
    assert error.retry_after_ms == 4000
    assert "Provider returned error (Google)" in error.message
    assert "temporarily rate-limited upstream" in error.message

    credits = json.dumps({"error": {"code": 402, "message": "Insufficient credits"}}).encode()
    error = ADAPTER.parse_error(402, {}, credits)
    assert error.code == ErrorCode.RATE_LIMITED and not error.retryable
    assert error.suggestion and "credits" in error.suggestion

    flagged = {
        "error": {
            "code": 403,
            "message": "Input flagged",
            "metadata": {"reasons": ["violence"], "flagged_input": "..."},
        }
    }
    error = ADAPTER.parse_error(403, {}, json.dumps(flagged).encode())
    assert error.code == ErrorCode.CONTENT_FILTERED


def test_models_parse() -> None:
    body = {
        "data": [
            {
                "id": MODEL,
                "name": "Anthropic: Claude Sonnet 4.5",
                "context_length": 1000000,
                "architecture": {"input_modalities": ["text", "image"]},
                "pricing": {
                    "prompt": "0.000003",
                    "completion": "0.000015",
                    "input_cache_read": "0.0000003",
                    "input_cache_write": "0.00000375",
                },
                "top_provider": {"max_completion_tokens": 64000},
                "supported_parameters": ["tools", "reasoning", "max_tokens"],
            },
            {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
            {"id": 5},
        ]
    }
    listed = ADAPTER.parse_models(body)
    first, auto = listed
    assert (first.context_window, first.max_output_tokens) == (1000000, 64000)
    assert (first.input_per_m_tok, first.output_per_m_tok) == (3.0, 15.0)
    assert (first.cache_read_per_m_tok, first.cache_write_per_m_tok) == (0.3, 3.75)
    assert (first.tools, first.thinking, first.images) == (True, True, True)
    assert auto.input_per_m_tok is None and auto.tools is None
    request = ADAPTER.models_request(SETTINGS, KEY)
    assert request is not None and request.url == "https://openrouter.ai/api/v1/models"
