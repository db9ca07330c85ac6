"""A provider-neutral description of one answer, which each fake renders in its wire format.

End-to-end tests say what the model should answer (text, thinking, tool calls,
usage, stop reason) once; every provider fake turns it into its own bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    id: str
    name: str
    input: dict[str, Any]


@dataclass
class Scenario:
    text: str = "Hello from the fake."
    thinking: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int = 12
    output_tokens: int = 7
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    stop: str = "endTurn"  # a normalized stop reason
    pieces: int = 4  # how many deltas the text is split into
    delay_s: float = 0.0  # pause between wire events
    model: str | None = None  # echoed model name; default: the requested one

    def text_pieces(self) -> list[str]:
        if not self.text:
            return []
        n = max(1, min(self.pieces, len(self.text)))
        size = -(-len(self.text) // n)
        return [self.text[i : i + size] for i in range(0, len(self.text), size)]
