"""Builds the whole ChatResult from the stream of normalized events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from switchboard.protocol.chat import (
    ChatResult,
    Cost,
    ErrorEvent,
    RedactedThinkingEvent,
    RedactedThinkingPart,
    StartedEvent,
    StopEvent,
    StopReason,
    TextEvent,
    TextPart,
    ThinkingEvent,
    ThinkingPart,
    ToolUseDeltaEvent,
    ToolUseEvent,
    ToolUseJsonParseErrorEvent,
    ToolUsePart,
    Usage,
    UsageEvent,
)


class ChatAccumulator:
    """Consecutive text deltas form one text part, thinking deltas one thinking part."""

    def __init__(self, request_id: str, model: str) -> None:
        self.id = request_id
        self.model = model
        self.provider_message_id: str | None = None
        #: when the answer began (ISO 8601, UTC): set by `mark_started`
        self.started_at: str | None = None
        self.parts: list[Any] = []
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._signature: str | None = None
        self.usage: Usage | None = None
        self.stop_reason: StopReason | None = None
        self.error: ErrorEvent | None = None
        self.output_chars = 0

    def add(self, event: Any) -> None:
        if isinstance(event, TextEvent):
            self._close_thinking()
            self._text.append(event.text)
            self.output_chars += len(event.text)
        elif isinstance(event, ThinkingEvent):
            self._close_text()
            if self._signature is not None and (event.text or event.signature):
                self._close_thinking()  # a signed block is complete: this is a new one
            self._thinking.append(event.text)
            self.output_chars += len(event.text)
            if event.signature:
                self._signature = event.signature
        elif isinstance(event, ToolUseDeltaEvent):
            self.output_chars += len(event.input_json)
        elif isinstance(event, ToolUseEvent):
            self._close_open()
            self.parts.append(
                ToolUsePart(
                    id=event.id,
                    name=event.name,
                    input=event.input,
                    provider_data=event.provider_data,
                )
            )
        elif isinstance(event, ToolUseJsonParseErrorEvent):
            # Kept, unparsed: the stop reason says toolUse, so the call must be in the content.
            self._close_open()
            self.parts.append(
                ToolUsePart(
                    id=event.id,
                    name=event.name,
                    input=None,
                    raw_input=event.raw_input,
                    parse_error=event.error,
                )
            )
        elif isinstance(event, RedactedThinkingEvent):
            self._close_open()
            self.parts.append(RedactedThinkingPart(data=event.data))
        elif isinstance(event, UsageEvent):
            self.usage = event.as_usage()
        elif isinstance(event, StopEvent):
            self.stop_reason = event.reason
        elif isinstance(event, ErrorEvent):
            self.error = event
        elif isinstance(event, StartedEvent):
            self.provider_message_id = event.id

    def mark_started(self) -> None:
        self.started_at = (
            datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )

    @property
    def has_content(self) -> bool:
        return bool(self.parts or self._text or self._thinking)

    def text(self) -> str:
        self._close_open()
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    def output_text(self) -> str:
        """Everything the model wrote (text, thinking, tool input) as one string, for counting."""
        self._close_open()
        pieces: list[str] = []
        for part in self.parts:
            if isinstance(part, TextPart | ThinkingPart):
                pieces.append(part.text)
            elif isinstance(part, ToolUsePart):
                pieces.append(part.name + _written_input(part))
        return "".join(pieces)

    def result(
        self,
        cost: Cost | None,
        warnings: list[str] | None = None,
        provider_metadata: dict[str, Any] | None = None,
    ) -> ChatResult:
        self._close_open()
        return ChatResult(
            id=self.id,
            model=self.model,
            content=list(self.parts),
            stop_reason=self.stop_reason or ("error" if self.error else "endTurn"),
            usage=self.usage or Usage(),
            cost=cost,
            warnings=warnings or None,
            provider_id=self.provider_message_id or None,
            timestamp=self.started_at,
            provider_metadata=provider_metadata,
        )

    def _close_open(self) -> None:
        self._close_text()
        self._close_thinking()

    def _close_text(self) -> None:
        if self._text:
            self.parts.append(TextPart(text="".join(self._text)))
            self._text = []

    def _close_thinking(self) -> None:
        if self._thinking or self._signature is not None:
            self.parts.append(ThinkingPart(text="".join(self._thinking), signature=self._signature))
            self._thinking = []
            self._signature = None


def _written_input(part: ToolUsePart) -> str:
    """A tool call's input as the model wrote it."""
    if part.input is None:
        return part.raw_input or ""
    return json.dumps(part.input)
