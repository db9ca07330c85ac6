"""ChatAccumulator: the whole ChatResult built from normalized stream events."""

from __future__ import annotations

from typing import Any

from switchboard.protocol.chat import (
    ErrorEvent,
    RedactedThinkingEvent,
    RedactedThinkingPart,
    RetryEvent,
    StartedEvent,
    StopEvent,
    TextEvent,
    TextPart,
    ThinkingEvent,
    ThinkingPart,
    ToolUseDeltaEvent,
    ToolUseEvent,
    ToolUsePart,
    ToolUseStartEvent,
    Usage,
    UsageEvent,
)
from switchboard.providers.wire.accumulator import ChatAccumulator


def accumulate(*events: Any) -> ChatAccumulator:
    acc = ChatAccumulator("req-1", "anthropic/claude-sonnet-4-5")
    for event in events:
        acc.add(event)
    return acc


def test_consecutive_text_deltas_form_one_part() -> None:
    acc = accumulate(TextEvent(text="Hel"), TextEvent(text="lo, "), TextEvent(text="world"))
    result = acc.result(None)
    assert result.content == [TextPart(text="Hello, world")]
    assert acc.text() == "Hello, world"
    assert acc.output_chars == len("Hello, world")


def test_thinking_deltas_and_signature_form_one_thinking_part() -> None:
    acc = accumulate(
        ThinkingEvent(text="Let me "),
        ThinkingEvent(text="think."),
        ThinkingEvent(text="", signature="sig-1"),
        TextEvent(text="Answer"),
    )
    assert acc.result(None).content == [
        ThinkingPart(text="Let me think.", signature="sig-1"),
        TextPart(text="Answer"),
    ]
    assert acc.text() == "Answer"
    assert acc.output_chars == len("Let me think.Answer")


def test_a_signed_block_followed_by_more_thinking_starts_a_new_block() -> None:
    acc = accumulate(
        ThinkingEvent(text="first"),
        ThinkingEvent(text="", signature="sig-1"),
        ThinkingEvent(text="second"),
        ThinkingEvent(text="", signature="sig-2"),
    )
    assert acc.result(None).content == [
        ThinkingPart(text="first", signature="sig-1"),
        ThinkingPart(text="second", signature="sig-2"),
    ]


def test_thinking_separated_by_text_gives_separate_blocks() -> None:
    acc = accumulate(
        ThinkingEvent(text="a"),
        TextEvent(text="x"),
        ThinkingEvent(text="b"),
        TextEvent(text="y"),
    )
    assert acc.result(None).content == [
        ThinkingPart(text="a"),
        TextPart(text="x"),
        ThinkingPart(text="b"),
        TextPart(text="y"),
    ]
    assert acc.text() == "xy"


def test_signature_without_text_still_gives_a_thinking_part() -> None:
    acc = accumulate(ThinkingEvent(text="", signature="only-sig"), TextEvent(text="hi"))
    assert acc.result(None).content == [
        ThinkingPart(text="", signature="only-sig"),
        TextPart(text="hi"),
    ]


def test_tool_uses_in_order_between_text() -> None:
    acc = accumulate(
        StartedEvent(id="msg_1", model="claude"),
        TextEvent(text="Checking."),
        ToolUseStartEvent(id="t1", name="read"),
        ToolUseDeltaEvent(id="t1", input_json='{"path":'),
        ToolUseEvent(id="t1", name="read", input={"path": "a.py"}),
        ToolUseEvent(
            id="t2", name="grep", input={"q": "x"}, provider_data={"thoughtSignature": "s"}
        ),
        TextEvent(text="Done."),
        StopEvent(reason="toolUse"),
    )
    result = acc.result(None)
    assert result.content == [
        TextPart(text="Checking."),
        ToolUsePart(id="t1", name="read", input={"path": "a.py"}),
        ToolUsePart(
            id="t2", name="grep", input={"q": "x"}, provider_data={"thoughtSignature": "s"}
        ),
        TextPart(text="Done."),
    ]
    assert result.stop_reason == "toolUse"
    assert acc.provider_message_id == "msg_1"


def test_redacted_thinking_is_its_own_part() -> None:
    acc = accumulate(
        ThinkingEvent(text="visible"),
        RedactedThinkingEvent(data="EmwKAhgBEgy3va"),
        TextEvent(text="ok"),
    )
    assert acc.result(None).content == [
        ThinkingPart(text="visible"),
        RedactedThinkingPart(data="EmwKAhgBEgy3va"),
        TextPart(text="ok"),
    ]


def test_usage_last_one_wins() -> None:
    acc = accumulate(
        UsageEvent(input_tokens=100, output_tokens=1, cache_read_input_tokens=80),
        TextEvent(text="x"),
        UsageEvent(input_tokens=100, output_tokens=42, cache_read_input_tokens=80),
    )
    assert acc.result(None).usage == Usage(
        input_tokens=100, output_tokens=42, cache_read_input_tokens=80, total_tokens=142
    )


def test_result_without_usage_or_stop() -> None:
    result = accumulate(TextEvent(text="x")).result(None)
    assert result.id == "req-1"
    assert result.model == "anthropic/claude-sonnet-4-5"
    assert result.usage == Usage(input_tokens=0, output_tokens=0, total_tokens=0)
    assert result.stop_reason == "endTurn"
    assert result.cost is None
    assert result.warnings is None
    wire = result.to_wire()
    assert wire["cost"] is None  # explicit null: the price is unknown
    assert wire["stopReason"] == "endTurn"


def test_stop_reason_is_kept() -> None:
    assert accumulate(StopEvent(reason="maxTokens")).result(None).stop_reason == "maxTokens"


def test_error_makes_the_stop_reason_error() -> None:
    acc = accumulate(
        TextEvent(text="partial"),
        ErrorEvent(code="providerUnavailable", message="Overloaded"),
    )
    assert acc.error == ErrorEvent(code="providerUnavailable", message="Overloaded")
    result = acc.result(None, warnings=["w"])
    assert result.stop_reason == "error"
    assert result.content == [TextPart(text="partial")]
    assert result.warnings == ["w"]


def test_explicit_stop_wins_over_the_error_default() -> None:
    acc = accumulate(ErrorEvent(code="network", message="cut"), StopEvent(reason="error"))
    assert acc.result(None).stop_reason == "error"


def test_retry_events_and_tool_deltas_add_no_content() -> None:
    acc = accumulate(
        RetryEvent(attempt=1, delay_ms=10, reason="busy"),
        ToolUseStartEvent(id="t", name="n"),
        ToolUseDeltaEvent(id="t", input_json="{}"),
    )
    assert not acc.has_content
    assert acc.result(None).content == []


def test_has_content() -> None:
    assert not accumulate(StartedEvent(id="m", model="x")).has_content
    assert accumulate(TextEvent(text="a")).has_content
    assert accumulate(ThinkingEvent(text="a")).has_content
    assert accumulate(ToolUseEvent(id="t", name="n", input={})).has_content


def test_text_then_result_does_not_duplicate_parts() -> None:
    acc = accumulate(TextEvent(text="a"))
    assert acc.text() == "a"
    acc.add(TextEvent(text="b"))
    assert acc.result(None).content == [TextPart(text="a"), TextPart(text="b")]
    assert acc.result(None).content == [TextPart(text="a"), TextPart(text="b")]
