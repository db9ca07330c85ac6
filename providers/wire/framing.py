"""Splits a response body into wire events: SSE for most providers, AWS eventstream for Bedrock."""

from __future__ import annotations

from typing import Any, Protocol

from ..base import Framing


class Framer(Protocol):
    def feed(self, chunk: bytes) -> list[Any]: ...

    def close(self) -> list[Any]: ...


def framer_for(framing: Framing) -> Framer:
    if framing == "eventstream":
        from .eventstream import EventStreamFramer

        return EventStreamFramer()
    from .sse import SSEDecoder

    return SSEDecoder()
