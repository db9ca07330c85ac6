"""xAI (Grok): reasoning_content, cost in ticks, reasoning tokens, reasoning_effort per model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.chat import (
    ChatParams,
    ErrorEvent,
    Message,
    ThinkingEvent,
    ToolUseEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for
from switchboard.providers.adapters.xai import XAIAdapter
from switchboard.providers.base import Credential, ProviderSettings
from switchboard.providers.wire.sse import SSEEvent

from tests.test_azure_adapter import check_shape, corpus, of_type, replay, target, text_of

ADAPTER = XAIAdapter()
SETTINGS = ProviderSettings(id="xai", kind="xai")
KEY = Credential("xai-" + "k" * 40, "env:XAI_API_KEY")


def body(model: str = "grok-4.5", **fields: Any) -> dict[str, Any]:
    fields.setdefault("messages", [Message(role="user", content="hi")])
    request = ADAPTER.build_request(ChatParams(**fields), target("xai", model), SETTINGS, KEY)
    assert request.url == "https://api.x.ai/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY.secret}"
    decoded: dict[str, Any] = json.loads(request.body())
    return decoded


def test_registered() -> None:
    assert isinstance(adapter_for("xai"), XAIAdapter)
    assert ADAPTER.api_key_envs == ("XAI_API_KEY",)


@pytest.mark.parametrize(
    ("model", "budget", "effort"),
    [
        ("grok-3-mini", 1000, "low"),
        ("grok-3-mini", 8000, "high"),  # grok-3-mini knows only low and high
        ("grok-4.5", 8000, "medium"),
        ("grok-4.5", 32000, "high"),
    ],
)
def test_reasoning_effort_for_models_that_take_it(model: str, budget: int, effort: str) -> None:
    wire = body(model, thinking={"budgetTokens": budget}, temperature=0.4)
    assert wire["reasoning_effort"] == effort
    assert wire["temperature"] == 0.4


@pytest.mark.parametrize("model", ["grok-4", "grok-4-0709", "grok-4.3", "grok-code-fast-1"])
def test_no_reasoning_effort_where_it_is_rejected(model: str) -> None:
    assert "reasoning_effort" not in body(model, thinking={"budgetTokens": 8000})
    assert "reasoning_effort" not in body("grok-3-mini")  # no thinking asked for


def test_models_list_skips_image_and_video_models() -> None:
    listed = ADAPTER.models_request(SETTINGS, KEY)
    assert listed is not None and listed.url == "https://api.x.ai/v1/models"
    data = [{"id": n} for n in ("grok-4.5", "grok-2-image-1212", "grok-imagine-video", "grok-3")]
    assert [m.name for m in ADAPTER.parse_models({"data": data})] == ["grok-4.5", "grok-3"]


EXPECTED = {
    # file: (text, tool input, stop, output tokens incl. reasoning, reasoning, cost in USD)
    "chat-stream-text.chunks.jsonl": ("Hello", None, "endTurn", 1 + 290, 290, 0.000146625),
    "chat-stream-reasoning-tool-call.chunks.jsonl": (
        "",
        {"location": "San Francisco"},
        "toolUse",
        26 + 196,
        196,
        0.00013305,
    ),
    "chat-nonstream-reasoning-tool-call.json": (
        "",
        {"location": "San Francisco"},
        "toolUse",
        26 + 189,
        189,
        0.0001399,
    ),
}


@pytest.mark.parametrize("path", corpus("xai", ("chat-",)))
def test_corpus_replays(path: Path) -> None:
    events = replay(ADAPTER, path)
    check_shape(events)
    text, tool_input, stop, output, reasoning, cost = EXPECTED[path.name]
    assert text_of(events) == text
    assert "".join(e.text for e in of_type(events, ThinkingEvent)).startswith("First,")
    uses = of_type(events, ToolUseEvent)
    assert [u.input for u in uses] == ([tool_input] if tool_input else [])
    assert events[-1].reason == stop
    usage = of_type(events, UsageEvent)[-1]
    assert (usage.output_tokens, usage.reasoning_tokens) == (output, reasoning)
    assert usage.reported_cost_usd == pytest.approx(cost)


def test_cost_ticks_and_reasoning_only_when_total_says_so() -> None:
    decoder = ADAPTER.decoder(target("xai", "grok-4.5"))
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "total_tokens": 30,  # reasoning already inside completion_tokens here
        "completion_tokens_details": {"reasoning_tokens": 5},
        "cost_in_usd_ticks": 37756000,
    }
    event = decoder.usage_event(usage)
    assert (event.output_tokens, event.reasoning_tokens) == (20, 5)
    assert event.reported_cost_usd == pytest.approx(0.0037756)
    bare = decoder.usage_event(
        {"prompt_tokens": 1, "completion_tokens": 2, "cost_in_usd_ticks": "x"}
    )
    assert bare.reported_cost_usd is None and bare.output_tokens == 2


def test_garbage_never_raises() -> None:
    decoder = ADAPTER.decoder(target("xai", "grok-4.5"))
    events: list[Any] = []
    for data in ["", "{", '{"choices": "x"}', '{"usage": {"cost_in_usd_ticks": true}}', "[DONE]"]:
        events += decoder.feed(SSEEvent("message", data))
    events += decoder.close()
    assert events[-1].reason == "endTurn"


@pytest.mark.parametrize("status", [400, 401])
def test_flat_error_body_with_a_bad_key(status: int) -> None:
    raw = {
        "code": "Client specified an invalid argument",
        "error": "Incorrect API key provided: xa***00. You can obtain an API key from"
        " https://console.x.ai.",
    }
    error = ADAPTER.parse_error(status, {}, json.dumps(raw).encode())
    assert error.code == ErrorCode.AUTHENTICATION_FAILED
    assert "Incorrect API key provided" in error.message


def test_stream_error_object() -> None:
    decoder = ADAPTER.decoder(target("xai", "grok-4.5"))
    events = decoder.feed(SSEEvent("message", '{"error": {"message": "rate limit exceeded"}}'))
    assert of_type(events, ErrorEvent)[0].code == "rateLimited"
