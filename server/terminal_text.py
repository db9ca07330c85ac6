"""Text from a model or a provider, made safe to print on a terminal.

A model's answer may carry control characters (ESC sequences can recolour,
retitle or rewrite the terminal, a lone CR overwrites the line). Every one of
them except newline and tab is printed as a visible escape instead: `\\x1b`,
`\\r`, `\\x9b`. A CR LF pair is a line break and prints as one.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\r": "\\r", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\0": "\\0"}
_KEPT = frozenset("\n\t")


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def is_control(char: str) -> bool:
    return char not in _KEPT and unicodedata.category(char) == "Cc"


def printable(text: str) -> str:
    """`text` with every control character except newline and tab escaped."""
    text = text.replace("\r\n", "\n")
    if not any(is_control(char) for char in text):
        return text
    return "".join(_escape(char) if is_control(char) else char for char in text)


class StreamEscaper:
    """`printable` for text that arrives in pieces: a CR at the end of one piece
    waits to see whether the next begins with LF."""

    def __init__(self) -> None:
        self._held_cr = False

    def feed(self, piece: str) -> str:
        if self._held_cr:
            piece = "\r" + piece
            self._held_cr = False
        if piece.endswith("\r"):
            piece = piece[:-1]
            self._held_cr = True
        return printable(piece)

    def flush(self) -> str:
        held, self._held_cr = self._held_cr, False
        return printable("\r") if held else ""
