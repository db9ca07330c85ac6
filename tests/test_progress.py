"""Partial results batched under backpressure, and throttled work-done progress."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from switchboard.protocol.chat import (
    ChatProgress,
    StopEvent,
    TextEvent,
    ThinkingEvent,
    ToolUseDeltaEvent,
    UsageEvent,
)
from switchboard.server import progress as progress_module
from switchboard.server.progress import PartialResults, WorkDoneReporter

Sent = list[tuple[int | str, dict[str, Any]]]


class Recorder:
    def __init__(self) -> None:
        self.sent: Sent = []

    def __call__(self, token: int | str, value: dict[str, Any]) -> None:
        self.sent.append((token, value))

    def batches(self) -> list[list[str]]:
        """The text of each notification's events, per notification."""
        return [[e.get("text", e["type"]) for e in value["events"]] for _, value in self.sent]


class SlowWriter:
    """A pipe the client reads slowly: bytes stay pending until `release()`."""

    def __init__(self) -> None:
        self.pending = 0
        self.drains = 0
        self._released = asyncio.Event()

    def pending_bytes(self) -> int:
        return self.pending

    async def drain(self) -> None:
        self.drains += 1
        await self._released.wait()
        self.pending = 0

    def release(self) -> None:
        self._released.set()


class BrokenWriter:
    def pending_bytes(self) -> int:
        return 10

    async def drain(self) -> None:
        raise ConnectionResetError("client went away")


async def ticks(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_first_event_is_sent_synchronously() -> None:
    send = Recorder()
    partial = PartialResults(send, "tok-1", writer=None)
    partial.emit(TextEvent(text="Hi"))
    assert send.sent == [("tok-1", {"events": [{"type": "text", "text": "Hi"}]})]
    assert partial.notifications == 1


async def test_later_events_in_one_tick_share_one_notification() -> None:
    send = Recorder()
    partial = PartialResults(send, 7, writer=None)
    partial.emit(TextEvent(text="a"))
    partial.emit(TextEvent(text="b"))
    partial.emit(TextEvent(text="c"))
    assert send.batches() == [["a"]]
    await asyncio.sleep(0)
    assert send.batches() == [["a"], ["b", "c"]]
    partial.emit(TextEvent(text="d"))
    await ticks()
    assert send.batches() == [["a"], ["b", "c"], ["d"]]
    assert partial.notifications == 3
    assert {token for token, _ in send.sent} == {7}


async def test_events_are_held_while_the_client_is_behind() -> None:
    send = Recorder()
    writer = SlowWriter()
    partial = PartialResults(send, "t", writer)
    partial.emit(TextEvent(text="first"))
    writer.pending = 4096
    partial.emit(TextEvent(text="b"))
    partial.emit(TextEvent(text="c"))
    await ticks()
    partial.emit(TextEvent(text="d"))
    await ticks(5)
    assert send.batches() == [["first"]]
    assert writer.drains == 1
    writer.release()
    await ticks()
    assert send.batches() == [["first"], ["b", "c", "d"]]
    # Caught up: the next event goes out on the next tick again.
    partial.emit(TextEvent(text="e"))
    await ticks()
    assert send.batches() == [["first"], ["b", "c", "d"], ["e"]]
    assert writer.drains == 1


async def test_first_event_is_not_held_by_backpressure() -> None:
    send = Recorder()
    writer = SlowWriter()
    writer.pending = 4096
    partial = PartialResults(send, "t", writer)
    partial.emit(TextEvent(text="now"))
    assert send.batches() == [["now"]]
    assert writer.drains == 0


async def test_close_flushes_pending_events() -> None:
    send = Recorder()
    partial = PartialResults(send, "t", writer=None)
    partial.emit(TextEvent(text="a"))
    partial.emit(TextEvent(text="b"))
    partial.emit(StopEvent(reason="endTurn"))
    partial.close()
    assert send.batches() == [["a"], ["b", "stop"]]
    await ticks()
    assert partial.notifications == 2, "the scheduled flush must not send an empty batch"


async def test_close_while_draining_sends_at_once_and_only_once() -> None:
    send = Recorder()
    writer = SlowWriter()
    partial = PartialResults(send, "t", writer)
    partial.emit(TextEvent(text="a"))
    writer.pending = 1
    partial.emit(TextEvent(text="b"))
    await ticks()
    assert writer.drains == 1
    partial.emit(TextEvent(text="c"))
    partial.close()
    assert send.batches() == [["a"], ["b", "c"]]
    writer.release()
    await ticks()
    assert send.batches() == [["a"], ["b", "c"]]


async def test_close_with_nothing_pending_sends_nothing() -> None:
    send = Recorder()
    partial = PartialResults(send, "t", writer=None)
    partial.close()
    partial.emit(TextEvent(text="a"))
    partial.close()
    assert send.batches() == [["a"]]


async def test_a_failing_drain_still_sends_the_held_events() -> None:
    send = Recorder()
    partial = PartialResults(send, "t", BrokenWriter())
    partial.emit(TextEvent(text="a"))
    partial.emit(TextEvent(text="b"))
    await ticks()
    assert send.batches() == [["a"], ["b"]]


async def test_payload_is_camel_case_chat_progress() -> None:
    send = Recorder()
    partial = PartialResults(send, "t", writer=None)
    partial.emit(ThinkingEvent(text="", signature="sig"))
    partial.emit(ToolUseDeltaEvent(id="call_1", input_json='{"a":'))
    partial.emit(UsageEvent(input_tokens=12, output_tokens=3, cache_read_input_tokens=10))
    partial.close()
    values = [value for _, value in send.sent]
    assert values == [
        {"events": [{"type": "thinking", "text": "", "signature": "sig"}]},
        {
            "events": [
                {"type": "toolUseDelta", "id": "call_1", "inputJson": '{"a":'},
                {"type": "usage", "inputTokens": 12, "outputTokens": 3, "cacheReadInputTokens": 10},
            ]
        },
    ]
    for value in values:
        ChatProgress.model_validate(value)


# ---- work-done progress ---------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(progress_module, "time", fake)
    return fake


def test_work_done_begin_report_end(clock: Clock) -> None:
    send = Recorder()
    reporter = WorkDoneReporter(send, "wd", interval_s=0.25)
    reporter.begin("openai/gpt-4o", "waiting")
    clock.now += 0.3
    reporter.report("10 tokens")
    reporter.end("done")
    assert send.sent == [
        (
            "wd",
            {"kind": "begin", "title": "openai/gpt-4o", "cancellable": True, "message": "waiting"},
        ),
        ("wd", {"kind": "report", "message": "10 tokens"}),
        ("wd", {"kind": "end", "message": "done"}),
    ]


def test_begin_without_message_leaves_it_out(clock: Clock) -> None:
    send = Recorder()
    WorkDoneReporter(send, 1).begin("chat")
    assert send.sent == [(1, {"kind": "begin", "title": "chat", "cancellable": True})]


def test_reports_are_throttled_to_the_interval(clock: Clock) -> None:
    send = Recorder()
    reporter = WorkDoneReporter(send, "wd", interval_s=0.25)
    reporter.begin("chat")
    reporter.report("too soon after begin")
    clock.now += 0.25
    reporter.report("1")
    clock.now += 0.1
    reporter.report("too soon")
    clock.now += 0.1
    reporter.report("still too soon")
    clock.now += 0.06
    reporter.report("2")
    reporter.report("forced", force=True)
    assert [v["message"] for _, v in send.sent if v["kind"] == "report"] == ["1", "2", "forced"]


def test_end_is_sent_once_and_silences_reports(clock: Clock) -> None:
    send = Recorder()
    reporter = WorkDoneReporter(send, "wd")
    reporter.begin("chat")
    reporter.end("done")
    reporter.end("done again")
    clock.now += 10
    reporter.report("late")
    reporter.report("late and forced", force=True)
    assert [v["kind"] for _, v in send.sent] == ["begin", "end"]
    assert send.sent[-1] == ("wd", {"kind": "end", "message": "done"})


def test_work_that_ends_before_the_client_created_the_token_sends_nothing(clock: Clock) -> None:
    send = Recorder()
    reporter = WorkDoneReporter(send, "created-late")
    reporter.report("no begin yet", force=True)
    reporter.end("done")
    reporter.begin("chat")  # the client's answer to workDoneProgress/create arrives now
    assert send.sent == []
