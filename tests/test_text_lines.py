"""Edits through the line index give the text a straightforward rebuild gives."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from switchboard.server.app import create_server
from switchboard.server.text_document import LineIndexedWorkspace
from switchboard.server.text_lines import TextLines

URI = "file:///doc.txt"
ENCODINGS = ["utf-16", "utf-8", "utf-32"]
_BREAK = re.compile(r"\r\n|\r|\n")


# ---- the reference: offsets found by walking the whole text, then one slice ----------------


def _units(char: str, encoding: str) -> int:
    if encoding == "utf-32":
        return 1
    if encoding == "utf-8":
        return len(char.encode("utf-8"))
    return 2 if ord(char) > 0xFFFF else 1


def reference_offset(text: str, line: int, character: int, encoding: str) -> int:
    starts = [0, *(m.end() for m in _BREAK.finditer(text))]
    if line >= len(starts):
        return len(text)
    begin = starts[line]
    found = _BREAK.search(text, begin)
    end = found.start() if found else len(text)
    used = 0
    for index in range(begin, end):
        used += _units(text[index], encoding)
        if used > character:
            return index
    return end


def reference_apply(text: str, change: lsp.Range, new: str, encoding: str) -> str:
    start = reference_offset(text, change.start.line, change.start.character, encoding)
    end = reference_offset(text, change.end.line, change.end.character, encoding)
    start, end = min(start, end), max(start, end)
    return text[:start] + new + text[end:]


def reference_lines(text: str) -> tuple[str, ...]:
    pieces = [text[m.start() : m.end()] for m in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n)", text)]
    rest = text[sum(map(len, pieces)) :]
    return tuple([*pieces, rest] if rest else pieces)


# ---- the document under test: pygls' workspace API, as the server uses it ------------------


def open_document(text: str, encoding: str) -> LineIndexedWorkspace:
    workspace = LineIndexedWorkspace(None, position_encoding=encoding)
    item = lsp.TextDocumentItem(uri=URI, language_id="plaintext", version=1, text=text)
    workspace.put_text_document(item)
    return workspace


def change(workspace: LineIndexedWorkspace, version: int, span: lsp.Range, new: str) -> None:
    edit = lsp.TextDocumentContentChangePartial(range=span, text=new)
    workspace.update_text_document(
        lsp.VersionedTextDocumentIdentifier(uri=URI, version=version), edit
    )


def span(a: tuple[int, int], b: tuple[int, int]) -> lsp.Range:
    return lsp.Range(
        start=lsp.Position(line=a[0], character=a[1]), end=lsp.Position(line=b[0], character=b[1])
    )


def check_edits(text: str, edits: list[tuple[lsp.Range, str]], encoding: str) -> None:
    workspace = open_document(text, encoding)
    for version, (where, new) in enumerate(edits, start=2):
        change(workspace, version, where, new)
        text = reference_apply(text, where, new, encoding)
        document = workspace.get_text_document(URI)
        assert document.source == text
        assert tuple(document.lines) == reference_lines(text)
        assert document.version == version
        for line in range(len(document.lines) + 1):
            position = lsp.Position(line=line, character=3)
            expected = reference_offset(text, line, 3, encoding)
            assert document.offset_at_position(position) == expected


# ---- named cases -----------------------------------------------------------------------------

TEXT = "first line\nsecond line\nthird\n"


@pytest.mark.parametrize(
    ("where", "new", "expected"),
    [
        (span((0, 0), (0, 0)), "x", "xfirst line\nsecond line\nthird\n"),
        (span((1, 3), (1, 3)), "x", "first line\nsecxond line\nthird\n"),
        (span((3, 0), (3, 0)), "end", "first line\nsecond line\nthird\nend"),
        (span((2, 5), (2, 5)), "!", "first line\nsecond line\nthird!\n"),
        (span((0, 5), (2, 0)), "", "firstthird\n"),
        (span((0, 5), (2, 0)), " A\nB\r\nC ", "first A\nB\r\nC third\n"),
        (span((0, 0), (3, 0)), "all new", "all new"),
        (span((1, 99), (1, 99)), "?", "first line\nsecond line?\nthird\n"),  # past the end
        (span((9, 0), (9, 0)), "tail", "first line\nsecond line\nthird\ntail"),  # past the last
    ],
)
def test_edits(where: lsp.Range, new: str, expected: str) -> None:
    workspace = open_document(TEXT, "utf-16")
    change(workspace, 2, where, new)
    assert workspace.get_text_document(URI).source == expected
    check_edits(TEXT, [(where, new)], "utf-16")


def test_crlf_line_ends_are_not_content() -> None:
    text = "one\r\ntwo\r\nthree"
    workspace = open_document(text, "utf-16")
    change(workspace, 2, span((0, 3), (1, 0)), " ")  # joins the first two lines
    document = workspace.get_text_document(URI)
    assert document.source == "one two\r\nthree"
    assert document.lines == ("one two\r\n", "three")


def test_a_cr_and_a_lf_brought_together_make_one_break() -> None:
    workspace = open_document("a\rb\nc", "utf-16")
    change(workspace, 2, span((1, 0), (1, 1)), "")  # "a\r" + "\nc"
    document = workspace.get_text_document(URI)
    assert document.source == "a\r\nc"
    assert document.lines == ("a\r\n", "c")
    change(workspace, 3, span((0, 1), (0, 1)), "\r")  # "a" + "\r" before the "\r\n"
    assert document.lines == ("a\r", "\r\n", "c")


def test_astral_characters_count_two_utf16_units() -> None:
    workspace = open_document("😀😀x\n", "utf-16")
    change(workspace, 2, span((0, 2), (0, 4)), "y")  # the second emoji
    assert workspace.get_text_document(URI).source == "😀yx\n"
    change(workspace, 3, span((0, 1), (0, 1)), "z")  # inside the first: before it
    assert workspace.get_text_document(URI).source == "z😀yx\n"


def test_only_lsp_line_breaks_split_lines() -> None:
    workspace = open_document("a\u2028b\x0cc\nd", "utf-16")
    change(workspace, 2, span((1, 0), (1, 0)), ">")
    document = workspace.get_text_document(URI)
    assert document.source == "a\u2028b\x0cc\n>d"
    assert len(document.lines) == 2


def test_full_text_replacement() -> None:
    workspace = open_document(TEXT, "utf-16")
    edit = lsp.TextDocumentContentChangeWholeDocument(text="new\r\ntext")
    workspace.update_text_document(lsp.VersionedTextDocumentIdentifier(uri=URI, version=2), edit)
    document = workspace.get_text_document(URI)
    assert document.source == "new\r\ntext"
    assert document.lines == ("new\r\n", "text")
    assert document.version == 2


def test_an_empty_document_has_one_empty_line() -> None:
    index = TextLines("")
    assert len(index) == 1 and index.lines == () and index.text == ""
    index.replace((0, 0), (0, 0), "x\n")
    assert index.text == "x\n" and len(index) == 2


# ---- any text, any edits ---------------------------------------------------------------------

PIECES = ["a", "b", " ", "\n", "\r", "\r\n", "é", "😀", "\u2028"]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
positions = st.tuples(st.integers(0, 8), st.integers(0, 12))
edits = st.lists(st.tuples(st.builds(span, positions, positions), texts), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(text=texts, changes=edits, encoding=st.sampled_from(ENCODINGS))
def test_any_edits_match_the_rebuild(
    text: str, changes: list[tuple[lsp.Range, str]], encoding: str
) -> None:
    check_edits(text, changes, encoding)


# ---- the server's own workspace ----------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    def write(self, data: bytes) -> None:
        self.sent.append(json.loads(data))

    def close(self) -> None:
        pass


async def test_the_server_keeps_documents_as_line_indexes() -> None:
    server = create_server()
    sink = Sink()
    server.protocol.set_writer(sink, include_headers=False)
    capabilities = {"general": {"positionEncodings": ["utf-8"]}}
    initialize = {"processId": None, "rootUri": None, "capabilities": capabilities}
    message = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize}
    server.protocol.receive(json.dumps(message).encode())
    for _ in range(10):
        await asyncio.sleep(0)
        if sink.sent:
            break
    assert sink.sent[0]["result"]["capabilities"]["positionEncoding"] == "utf-8"  # type: ignore[index]
    workspace = server.workspace
    assert isinstance(workspace, LineIndexedWorkspace)
    assert workspace.position_encoding == "utf-8"
    item = lsp.TextDocumentItem(uri=URI, language_id="plaintext", version=1, text="é\n")
    workspace.put_text_document(item)
    change(workspace, 2, span((0, 2), (0, 2)), "!")  # after "é", two UTF-8 units
    assert workspace.get_text_document(URI).source == "é!\n"
