"""What reaches the terminal from a model: control characters escaped, newline and tab kept."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from switchboard.server.terminal_text import StreamEscaper, printable


def test_escape_sequences_and_controls_become_visible() -> None:
    raw = "a\x1b[2Jb\x07c\rd\x00e\x7ff\x9bg\x08h"
    assert printable(raw) == "a\\x1b[2Jb\\x07c\\rd\\0e\\x7ff\\x9bg\\bh"


def test_newline_tab_and_text_pass_unchanged() -> None:
    text = "def f():\n\treturn 'é → ✓'\n"
    assert printable(text) == text


def test_crlf_is_a_line_break() -> None:
    assert printable("one\r\ntwo\r") == "one\ntwo\\r"


def test_a_crlf_split_between_pieces_is_still_a_line_break() -> None:
    escaper = StreamEscaper()
    shown = escaper.feed("one\r") + escaper.feed("\ntwo\r") + escaper.feed("x") + escaper.flush()
    assert shown == "one\ntwo\\rx"


def test_a_cr_at_the_very_end_is_escaped_on_flush() -> None:
    escaper = StreamEscaper()
    assert escaper.feed("end\r") + escaper.flush() == "end\\r"


@given(st.lists(st.text(), max_size=6))
def test_no_control_character_but_newline_and_tab_survives(pieces: list[str]) -> None:
    escaper = StreamEscaper()
    shown = "".join(escaper.feed(piece) for piece in pieces) + escaper.flush()
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in shown)
    assert shown.count("\n") >= "".join(pieces).count("\n")
