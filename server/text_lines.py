"""A document's text as its LSP lines, edited in time proportional to the edit.

Lines end at "\\n", "\\r\\n" or "\\r" (LSP's line breaks, not `str.splitlines`'s
longer list) and keep their break; the last line has none and may be empty.
Characters in a position are code units of the negotiated position encoding.
An edit replaces only the lines it touches; the whole text is joined again
only when someone asks for it.
"""

from __future__ import annotations

import re
from itertools import accumulate

LINE_BREAK = re.compile(r"\r\n|\r|\n")


def position_encoding(kind: object) -> str:
    """The negotiated PositionEncodingKind as its wire value ("utf-16" when unknown)."""
    value = getattr(kind, "value", kind)
    return value if value in ("utf-8", "utf-16", "utf-32") else "utf-16"


def split_lines(text: str) -> list[str]:
    """`text` as lines with their breaks, and the last line (perhaps empty) without one."""
    # From the breaks' ends, in linear time: a pattern for "a line and its break" would
    # rescan a long line without a break from each of its characters.
    lines = []
    start = 0
    for found in LINE_BREAK.finditer(text):
        lines.append(text[start : found.end()])
        start = found.end()
    lines.append(text[start:])
    return lines


def break_length(line: str) -> int:
    if line.endswith("\r\n"):
        return 2
    return 1 if line.endswith(("\n", "\r")) else 0


def index_of_units(line: str, units: int, encoding: str) -> int:
    """The index in `line` of the position `units` code units from its start.

    A position inside a character (UTF-16 pair, UTF-8 sequence) rounds down to its start;
    one past the end of the line means its end.
    """
    if encoding == "utf-32" or line.isascii():
        return min(units, len(line))
    if encoding == "utf-8":
        used = 0
        for index, char in enumerate(line):
            used += len(char.encode("utf-8", "surrogatepass"))
            if used > units:
                return index
        return len(line)
    decoded = line.encode("utf-16-le", "surrogatepass")[: 2 * units].decode(
        "utf-16-le", "surrogatepass"
    )
    index = len(decoded)
    if index and decoded[-1] != line[index - 1]:  # the cut fell inside a surrogate pair
        index -= 1
    return index


class TextLines:
    def __init__(self, text: str) -> None:
        self._lines = split_lines(text)
        self._text: str | None = text
        self._starts: list[int] | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self._lines)
        return self._text

    @property
    def lines(self) -> tuple[str, ...]:
        """The lines with their breaks, without an empty last line (as `str.splitlines(True)`)."""
        lines = self._lines
        return tuple(lines if lines[-1] else lines[:-1])

    def __len__(self) -> int:
        """The number of LSP lines: one more than the line breaks."""
        return len(self._lines)

    def position(self, line: int, character: int, encoding: str) -> tuple[int, int]:
        """A position as (line, index in that line), clamped to the document and line ends."""
        if line >= len(self._lines):
            last = len(self._lines) - 1
            return last, len(self._lines[last])
        text = self._lines[line]
        content = text[: len(text) - break_length(text)]
        return line, index_of_units(content, character, encoding)

    def offset(self, line: int, character: int, encoding: str) -> int:
        """A position as an index into `text`."""
        row, index = self.position(line, character, encoding)
        if self._starts is None:
            self._starts = [0, *accumulate(map(len, self._lines))]
        return self._starts[row] + index

    def replace(self, start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        """Replace the text between two (line, index) positions with `new`."""
        start, end = min(start, end), max(start, end)
        lines = self._lines
        first, last = start[0], end[0]
        segment = lines[first][: start[1]] + new + lines[last][end[1] :]
        # A "\r" and a "\n" that the edit brings together are one line break.
        if first > 0 and segment.startswith("\n") and lines[first - 1].endswith("\r"):
            first -= 1
            segment = lines[first] + segment
        if last + 1 < len(lines) and segment.endswith("\r") and lines[last + 1].startswith("\n"):
            last += 1
            segment += lines[last]
        replacement = split_lines(segment)
        if last + 1 < len(lines):  # the segment ends with a break: no partial line after it
            replacement.pop()
        lines[first : last + 1] = replacement
        self._text = None
        self._starts = None
