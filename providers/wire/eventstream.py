"""Splits an AWS eventstream body (`application/vnd.amazon.eventstream`) into messages.

The binary framing (prelude, headers, payload, CRCs) is parsed by botocore's
`EventStreamBuffer`; this module only adapts it to the framer interface the
engine drives: `feed(bytes)` returns the messages completed so far, in order,
and `close()` what the end of the body means. A corrupt frame never raises:
it becomes one `CorruptStream` and the framer stops parsing, since nothing
after a bad length or checksum can be trusted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.eventstream import EventStreamBuffer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One decoded frame: its headers (`:message-type`, `:event-type`, ...) and raw payload."""

    headers: dict[str, Any] = field(default_factory=dict)
    payload: bytes = b""

    @property
    def message_type(self) -> str:
        value = self.headers.get(":message-type")
        return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class CorruptStream:
    """The body could not be framed (bad checksum or length, or it ended inside a frame)."""

    error: str


FramedItem = EventMessage | CorruptStream


class EventStreamFramer:
    def __init__(self) -> None:
        self._buffer: EventStreamBuffer | None = None
        self._pending = 0
        self._broken = False

    def feed(self, chunk: bytes) -> list[FramedItem]:
        if self._broken or not chunk:
            return []
        buffer = self._parser()
        buffer.add_data(chunk)
        self._pending += len(chunk)
        messages: list[FramedItem] = []
        try:
            for message in buffer:
                self._pending -= message.prelude.total_length
                messages.append(EventMessage(dict(message.headers), bytes(message.payload)))
        except Exception as error:  # botocore raises ParserError subclasses, struct and key errors
            self._broken = True
            reason = f"corrupt eventstream frame ({type(error).__name__}: {error})"
            log.debug("eventstream: %s", reason)
            messages.append(CorruptStream(reason))
        return messages

    def close(self) -> list[FramedItem]:
        if self._broken or self._pending <= 0:
            return []
        self._broken = True
        return [CorruptStream(f"the stream ended inside a frame ({self._pending} bytes left)")]

    def _parser(self) -> EventStreamBuffer:
        if self._buffer is None:
            from botocore.eventstream import EventStreamBuffer

            self._buffer = EventStreamBuffer()
        return self._buffer
