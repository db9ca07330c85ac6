"""Assemble streamed tool-call arguments into parsed tool uses.

Providers stream a tool call's JSON arguments in fragments keyed by a block
or call index. Every adapter uses this one assembler: it emits
toolUseStart, a toolUseDelta per fragment, and at the end either the parsed
toolUse or a toolUseJsonParseError carrying the raw text; never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchboard.protocol.chat import (
    ChatEvent,
    ToolUseDeltaEvent,
    ToolUseEvent,
    ToolUseJsonParseErrorEvent,
    ToolUseStartEvent,
)

from . import json_codec


@dataclass
class _OpenCall:
    id: str
    name: str
    fragments: list[str] = field(default_factory=list)
    provider_data: dict[str, Any] | None = None


def parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """(input, None) when `raw` is a JSON object (empty means {}), else (None, why)."""
    if not raw.strip():
        return {}, None
    try:
        value = json_codec.loads(raw)
    except ValueError as error:
        return None, str(error)
    if not isinstance(value, dict):
        return None, f"arguments are a JSON {type(value).__name__}, not an object"
    return value, None


class ToolCallAssembler:
    def __init__(self) -> None:
        self._open: dict[Any, _OpenCall] = {}

    def __contains__(self, key: Any) -> bool:
        return key in self._open

    def start(
        self, key: Any, call_id: str, name: str, provider_data: dict[str, Any] | None = None
    ) -> list[ChatEvent]:
        self._open[key] = _OpenCall(call_id, name, provider_data=provider_data)
        return [ToolUseStartEvent(id=call_id, name=name)]

    def rename(self, key: Any, name: str) -> None:
        """Some providers send the name in a later fragment than the id."""
        if key in self._open and name:
            self._open[key].name = name

    def delta(self, key: Any, fragment: str) -> list[ChatEvent]:
        call = self._open.get(key)
        if call is None or not fragment:
            return []
        call.fragments.append(fragment)
        return [ToolUseDeltaEvent(id=call.id, input_json=fragment)]

    def finish(self, key: Any) -> list[ChatEvent]:
        call = self._open.pop(key, None)
        if call is None:
            return []
        raw = "".join(call.fragments)
        parsed, problem = parse_arguments(raw)
        if parsed is None:
            return [
                ToolUseJsonParseErrorEvent(
                    id=call.id, name=call.name, raw_input=raw, error=problem or "invalid JSON"
                )
            ]
        return [
            ToolUseEvent(id=call.id, name=call.name, input=parsed, provider_data=call.provider_data)
        ]

    def finish_all(self) -> list[ChatEvent]:
        events: list[ChatEvent] = []
        for key in list(self._open):
            events.extend(self.finish(key))
        return events
