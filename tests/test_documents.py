"""Open documents' counts: LSP ranges to text offsets, and state kept per document."""

from __future__ import annotations

import pytest
from switchboard.protocol.tokens import TextPosition, TextRange
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.catalog.tokens import load_encoding
from switchboard.server.documents import OpenDocumentCounts, line_starts, span_offsets

TEXT = 'a = "😀é"\r\nsecond line\rthird\n\nlast'


def span(start: tuple[int, int], end: tuple[int, int]) -> TextRange:
    return TextRange(
        start=TextPosition(line=start[0], character=start[1]),
        end=TextPosition(line=end[0], character=end[1]),
    )


def offsets(start: tuple[int, int], end: tuple[int, int], encoding: str = "utf-16") -> str:
    first, last = span_offsets(TEXT, line_starts(TEXT), span(start, end), encoding)
    return TEXT[first:last]


def test_lines_break_at_crlf_cr_and_lf() -> None:
    assert line_starts(TEXT) == [0, 10, 22, 28, 29]
    assert offsets((1, 0), (1, 6)) == "second"
    assert offsets((2, 0), (4, 4)) == "third\n\nlast"


def test_characters_are_utf16_units_by_default() -> None:
    # 😀 is two UTF-16 units, four UTF-8 bytes, one code point.
    assert offsets((0, 5), (0, 8)) == "😀é"
    assert offsets((0, 5), (0, 8), "utf-32") == '😀é"'
    assert offsets((0, 5), (0, 11), "utf-8") == "😀é"


def test_a_position_inside_a_character_rounds_down() -> None:
    assert offsets((0, 6), (0, 8)) == "😀é"
    assert offsets((0, 5), (0, 6)) == ""
    assert offsets((0, 7), (0, 11), "utf-8") == "😀é"


def test_a_character_past_the_line_end_means_the_line_end() -> None:
    assert offsets((0, 0), (0, 500)) == 'a = "😀é"'
    assert offsets((3, 9), (4, 99)) == "\nlast"


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [((1, 4), (1, 2), "start is after end"), ((2, 0), (5, 0), "line 5 is past the end")],
)
def test_invalid_ranges_name_the_field(
    start: tuple[int, int], end: tuple[int, int], problem: str
) -> None:
    with pytest.raises(InvalidParams) as invalid:
        offsets(start, end)
    assert invalid.value.field == "textDocument.range"
    assert problem in str(invalid.value)


def test_counts_follow_versions_and_forget_closed_documents() -> None:
    o200k = load_encoding("o200k_base")
    counts = OpenDocumentCounts(max_documents=2)
    first = counts.count("openai", "gpt-4o", "file:///a", 1, TEXT)
    assert first.input_tokens == len(o200k.encode_ordinary(TEXT))
    assert first.exact and first.method == "tiktoken:o200k_base"
    edited = TEXT.replace("second", "2nd")
    assert counts.count("openai", "gpt-4o", "file:///a", 2, edited).input_tokens == len(
        o200k.encode_ordinary(edited)
    )
    ranged = counts.count("openai", "gpt-4o", "file:///a", 2, edited, span((1, 0), (1, 3)))
    assert ranged.input_tokens == len(o200k.encode_ordinary("2nd"))
    counts.count("openai", "gpt-4o", "file:///b", 1, "b")
    counts.count("openai", "gpt-4o", "file:///c", 1, "c")
    assert counts.tracked() == ["file:///b", "file:///c"], "at most two documents are kept"
    counts.forget_all_but({"file:///c"})
    assert counts.tracked() == ["file:///c"]
