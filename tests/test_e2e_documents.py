"""countTokens on open documents through the real server: incremental edits, ranges, closing."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest
import tiktoken
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from tests.lsp_harness import Session, initialized_server

URI = "file:///work/big_module.py"
COUNT = "switchboard/countTokens"


@cache
def encoding(name: str) -> tiktoken.Encoding:
    from switchboard.providers.catalog.tokens import load_encoding

    return load_encoding(name)


def tokens(text: str, name: str = "o200k_base") -> int:
    return len(encoding(name).encode_ordinary(text))


def source(size: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    words = ["def", "return", "self", "value", "for", "in", "if", "None", "print", "naïve"]
    lines = []
    while sum(map(len, lines)) < size:
        indent = rng.choice(["", "    ", "        "])
        lines.append(indent + " ".join(rng.choice(words) for _ in range(rng.randint(1, 9))) + "\n")
    return "".join(lines)


def position(text: str, offset: int) -> lsp.Position:
    """The LSP position (UTF-16 units) of `offset` in `text`, whose lines end in "\\n"."""
    line = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    units = len(text[line_start:offset].encode("utf-16-le")) // 2
    return lsp.Position(line=line, character=units)


class Editor:
    """One open document, edited the way an editor sends incremental changes."""

    def __init__(self, session: Session, text: str, uri: str = URI) -> None:
        self.session, self.text, self.uri, self.version = session, text, uri, 1
        session.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )

    def replace(self, start: int, end: int, new: str) -> None:
        change = lsp.TextDocumentContentChangePartial(
            range=lsp.Range(start=position(self.text, start), end=position(self.text, end)),
            text=new,
        )
        self._send([change])
        self.text = self.text[:start] + new + self.text[end:]

    def replace_all(self, new: str) -> None:
        self._send([lsp.TextDocumentContentChangeWholeDocument(text=new)])
        self.text = new

    def _send(self, changes: list[lsp.TextDocumentContentChangeEvent]) -> None:
        self.version += 1
        self.session.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                content_changes=changes,
            )
        )

    async def count(self, model: str = "openai/gpt-4o", **ref: object) -> dict[str, object]:
        result: dict[str, object] = await self.session.request(
            COUNT, {"model": model, "textDocument": {"uri": self.uri, **ref}}
        )
        return result


async def test_the_server_advertises_incremental_sync(tmp_path: Path) -> None:
    async with initialized_server(tmp_path) as (_, result):
        sync = result.capabilities.text_document_sync
        assert isinstance(sync, lsp.TextDocumentSyncOptions)
        assert sync.open_close is True
        assert sync.change == lsp.TextDocumentSyncKind.Incremental


async def test_counts_follow_incremental_edits_exactly(session: Session) -> None:
    editor = Editor(session, source(120_000))
    first = await editor.count()
    assert first["inputTokens"] == tokens(editor.text)
    assert first["exact"] is True and first["method"] == "tiktoken:o200k_base"

    middle = len(editor.text) // 2
    edits = [
        (middle, middle, "x"),  # one character typed
        (middle, middle + 1, ""),  # and deleted again
        (1000, 1000, "😀 naïve //"),  # astral characters: positions after it are UTF-16
        (editor.text.index("\n", 5000), editor.text.index("\n", 5000) + 1, ""),  # join lines
        (0, 0, "/"),  # at the very start
        (len(editor.text), len(editor.text), "\n  tail"),  # at the very end
        (2000, 60_000, "a large cut\n"),
    ]
    for start, end, new in edits:
        start, end = min(start, len(editor.text)), min(end, len(editor.text))
        editor.replace(start, end, new)
        counted = await editor.count()
        assert counted["inputTokens"] == tokens(editor.text), (start, end, new)


async def test_counts_after_a_full_text_change(session: Session) -> None:
    editor = Editor(session, source(30_000, seed=1))
    await editor.count()
    editor.replace_all(source(30_000, seed=2))
    assert (await editor.count())["inputTokens"] == tokens(editor.text)


async def test_other_encodings_and_estimates_count_the_same_document(session: Session) -> None:
    editor = Editor(session, source(20_000, seed=3))
    await editor.count()
    editor.replace(500, 500, "new words ")
    gpt4 = await editor.count(model="openai/gpt-4")
    assert gpt4["inputTokens"] == tokens(editor.text, "cl100k_base") and gpt4["exact"] is True
    claude = await editor.count(model="anthropic/claude-sonnet-4-5")
    assert claude["inputTokens"] == tokens(editor.text, "cl100k_base")
    assert claude["exact"] is False and claude["method"] == "estimate:cl100k_base"


async def test_a_range_counts_only_that_part(session: Session) -> None:
    text = "intro line\n😀 emoji line with naïve words\nthird line\nlast"
    editor = Editor(session, text)
    start, end = text.index("emoji"), text.index("third") + len("third")
    counted = await editor.count(
        range={"start": _wire(position(text, start)), "end": _wire(position(text, end))}
    )
    assert counted["inputTokens"] == tokens(text[start:end])
    # A character past the end of its line means the end of the line (LSP).
    whole_line = await editor.count(
        range={"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 999}}
    )
    assert whole_line["inputTokens"] == tokens("third line")

    big = Editor(session, source(100_000, seed=4), uri="file:///work/other.py")
    await big.count()
    big.replace(50_000, 50_000, "typed")
    start, end = 3_000, 90_000
    ranged = await big.count(
        range={"start": _wire(position(big.text, start)), "end": _wire(position(big.text, end))}
    )
    assert ranged["inputTokens"] == tokens(big.text[start:end])


@pytest.mark.parametrize(
    ("span", "problem"),
    [
        ({"start": {"line": 2, "character": 0}, "end": {"line": 1, "character": 0}}, "after end"),
        ({"start": {"line": 0, "character": 0}, "end": {"line": 40, "character": 0}}, "past the"),
        ({"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}, "range"),
    ],
)
async def test_an_invalid_range_is_invalid_params(
    session: Session, span: dict[str, object], problem: str
) -> None:
    editor = Editor(session, "one\ntwo\nthree")
    with pytest.raises(JsonRpcException) as invalid:
        await editor.count(range=span)
    assert invalid.value.code == -32602
    assert "textDocument.range" in invalid.value.message and problem in invalid.value.message


async def test_a_closed_document_cannot_be_counted(session: Session) -> None:
    editor = Editor(session, "short text")
    assert (await editor.count())["inputTokens"] == tokens("short text")
    session.client.text_document_did_close(
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=URI))
    )
    with pytest.raises(JsonRpcException) as closed:
        await editor.count()
    assert closed.value.code == -32602 and "textDocument.uri" in closed.value.message


def _wire(at: lsp.Position) -> dict[str, int]:
    return {"line": at.line, "character": at.character}


async def test_a_change_after_the_close_is_ignored_without_an_error(session: Session) -> None:
    """VS Code sends a last didChange for an untitled buffer it has just closed."""
    editor = Editor(session, "draft text\n", uri="untitled:Untitled-1")
    assert (await editor.count())["inputTokens"] == tokens("draft text\n")
    session.client.text_document_did_close(
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=editor.uri))
    )
    editor.replace_all("")
    with pytest.raises(JsonRpcException, match="not open"):
        await editor.count()
    reopened = Editor(session, "new text\n", uri=editor.uri)
    assert (await reopened.count())["inputTokens"] == tokens("new text\n")
    assert not [m.message for m in session.client.messages if "Error" in m.message]
    log = (session.data_dir / "logs" / "switchboard.log").read_text(encoding="utf-8")
    assert "KeyError" not in log and "Traceback" not in log
