"""Journaled calls as the protocol shows them: a partial answer, a replay, a history entry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from switchboard.protocol.chat import ChatEvent, ChatResult, Cost, StartedEvent, Usage
from switchboard.protocol.errors import ErrorData
from switchboard.protocol.history import CallDetail, CallSummary
from switchboard.providers.wire.accumulator import ChatAccumulator

from .journal_store import StoredCall

_EVENT = TypeAdapter(ChatEvent)


def parsed_events(raw: list[dict[str, Any]]) -> list[Any]:
    """The journaled events that still parse (a newer server may have written others)."""
    events = []
    for item in raw:
        try:
            events.append(_EVENT.validate_python(item))
        except ValidationError:
            continue
    return events


def replayable(events: list[dict[str, Any]], *, finished: bool) -> list[dict[str, Any]]:
    """Journaled events as a client should see them again: a resumed call's earlier end
    (its `error` and `stop`) is not shown, and a finished one has one `stop`, the last."""
    last_stop = max((i for i, e in enumerate(events) if e.get("type") == "stop"), default=-1)
    return [
        event
        for index, event in enumerate(events)
        if event.get("type") not in ("error", "stop") or (finished and index == last_stop)
    ]


def partial_answer(stored: StoredCall) -> ChatResult:
    """What an interrupted call had produced, rebuilt from its journaled events."""
    events = parsed_events(stored.events or [])
    started = next((e for e in events if isinstance(e, StartedEvent)), None)
    accumulator = ChatAccumulator(
        started.id if started else stored.id, started.model if started else stored.model
    )
    for event in events:
        if not isinstance(event, StartedEvent):
            accumulator.add(event)
    cost = Cost.model_validate(stored.cost) if stored.cost else None
    return accumulator.result(cost)


def replayed_result(stored: StoredCall) -> dict[str, Any]:
    """A completed call's answer as it was first given."""
    if stored.result is not None:
        return stored.result
    return partial_answer(stored).to_wire()


def _head(stored: StoredCall) -> dict[str, Any]:
    """The fields of `CallHead`, from the journal's row."""
    return {
        "id": stored.id,
        "model": stored.model,
        "status": stored.status,
        "started_at": _time(stored.started_at),
        "duration_ms": stored.duration_ms,
        "usage": Usage.model_validate(stored.usage) if stored.usage else None,
        "cost": Cost.model_validate(stored.cost) if stored.cost else None,
    }


def summary(stored: StoredCall) -> CallSummary:
    return CallSummary(**_head(stored), text_preview=stored.text_preview)


def detail_wire(stored: StoredCall) -> dict[str, Any]:
    """One call with its events, as `switchboard/history` answers it. The events were
    valid when they streamed: they go out as journaled, not parsed again on the loop."""
    call = CallDetail(**_head(stored), events=[], error=_error(stored.error)).to_wire()
    call["events"] = stored.events or []
    return {"call": call}


def _error(raw: dict[str, Any] | None) -> ErrorData | None:
    if raw is None:
        return None
    try:
        return ErrorData.model_validate(raw)
    except ValidationError:
        return None


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
