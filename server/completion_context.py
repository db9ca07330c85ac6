"""The text a completion is asked about: around the cursor, within the `[completion]` budgets.

The prefix and suffix come from the synced document, cut at line
boundaries to fit `prefix_budget` and `suffix_budget` (characters, or
tokens of the completing model). What the prefix leaves of its budget may
hold a few snippets of other open documents of the same language, the most
recently edited first, written as comments above the prefix so that a FIM
model reads them as part of the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from switchboard.protocol.tokens import TextPosition, TextRange
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.base import CompletionRequest
from switchboard.providers.catalog.completion_settings import CompletionSettings

from .documents import line_starts, span_offsets
from .recent_edits import Edit

POSITION_FIELD = "position"
SNIPPET_LINES = 12
#: characters per token, for the first cut of a window whose budget is in tokens
CHARS_PER_TOKEN = 4
#: a line comment in languages by LSP languageId; snippets go only where one is known
LINE_COMMENTS = {
    **dict.fromkeys(
        (
            "python",
            "shellscript",
            "ruby",
            "perl",
            "r",
            "yaml",
            "toml",
            "elixir",
            "julia",
            "nix",
            "dockerfile",
            "makefile",
            "powershell",
        ),
        "#",
    ),
    **dict.fromkeys(
        (
            "c",
            "cpp",
            "csharp",
            "java",
            "javascript",
            "javascriptreact",
            "typescript",
            "typescriptreact",
            "go",
            "rust",
            "swift",
            "kotlin",
            "scala",
            "dart",
            "php",
            "objective-c",
            "zig",
        ),
        "//",
    ),
    **dict.fromkeys(("lua", "sql", "haskell", "elm", "ada"), "--"),
    **dict.fromkeys(("lisp", "clojure", "scheme", "emacs-lisp", "elisp"), ";;"),
    "vim": '"',
    "erlang": "%",
    "latex": "%",
}
_WORD_AT_END = re.compile(r"\w+$")

Measure = Callable[[str], int]


@dataclass(frozen=True)
class Cursor:
    """Where a completion is asked for: the document split at the cursor."""

    uri: str
    prefix: str  # the whole document before the cursor
    suffix: str  # and after it
    language: str | None
    path: str | None

    @property
    def line_prefix(self) -> str:
        return self.prefix[self.prefix.rfind("\n") + 1 :]

    @property
    def indentation(self) -> str:
        line = self.line_prefix
        return line[: len(line) - len(line.lstrip(" \t"))]

    @property
    def word(self) -> str:
        """The identifier the cursor ends, which completion clients filter by."""
        found = _WORD_AT_END.search(self.line_prefix)
        return found.group() if found else ""


@dataclass(frozen=True)
class OtherDocument:
    uri: str
    text: str
    path: str | None
    edit: Edit


def cursor_at(
    uri: str,
    text: str,
    line: int,
    character: int,
    encoding: str,
    language: str | None,
    path: str | None,
) -> Cursor:
    """The cursor at an LSP position (in the negotiated encoding); -32602 naming `position`."""
    point = TextPosition(line=line, character=character)
    try:
        offset, _ = span_offsets(
            text, line_starts(text), TextRange(start=point, end=point), encoding
        )
    except InvalidParams as error:
        detail = str(error).partition("textDocument.range: ")[2] or str(error)
        raise InvalidParams(f"invalid params: position: {detail}", POSITION_FIELD) from None
    return Cursor(uri, text[:offset], text[offset:], language, path)


def completion_request(
    cursor: Cursor,
    settings: CompletionSettings,
    *,
    others: Sequence[OtherDocument] = (),
    measure: Measure | None = None,
    stop: tuple[str, ...] = (),
) -> CompletionRequest:
    """The request for the model: the cursor's surroundings and snippets, within budget."""
    size: Measure = measure if settings.budget_unit == "tokens" and measure else len
    prefix = _tail_within(cursor.prefix, settings.prefix_budget, size)
    suffix = _head_within(cursor.suffix, settings.suffix_budget, size)
    left = settings.prefix_budget - size(prefix) if prefix else settings.prefix_budget
    snippets = _snippets(cursor, others, settings.snippets, left, size)
    return CompletionRequest(
        prefix=snippets + prefix,
        suffix=suffix,
        language=cursor.language,
        path=cursor.path,
        max_tokens=settings.max_tokens,
        stop=stop,
    )


def relative_path(path: str | None, root: str | None) -> str | None:
    """A document's path as the model should see it: from the workspace root when inside it,
    else its file name alone (where the user keeps files is nothing to send a provider)."""
    if path is None:
        return None
    if root is None:
        return os.path.basename(path)
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive
        return os.path.basename(path)
    return os.path.basename(path) if relative.startswith(os.pardir) else relative


def _tail_within(text: str, budget: int, size: Measure) -> str:
    """The end of `text`, whole lines but the first, within `budget`."""
    window = _window(text, budget, size, from_end=True)
    if len(window) < len(text):
        newline = window.find("\n")
        window = window[newline + 1 :] if 0 <= newline < len(window) - 1 else window
    return window


def _head_within(text: str, budget: int, size: Measure) -> str:
    """The start of `text`, whole lines but the last, within `budget`."""
    window = _window(text, budget, size, from_end=False)
    if len(window) < len(text):
        newline = window.rfind("\n")
        window = window[: newline + 1] if newline > 0 else window
    return window


def _window(text: str, budget: int, size: Measure, *, from_end: bool) -> str:
    """The most of `text` (from its end or its start) that `size` puts within `budget`.

    A token budget is found in a few steps: guessed from the characters per token,
    then scaled by how far each try's count is from the budget."""
    if budget <= 0:
        return ""
    length = budget if size is len else budget * CHARS_PER_TOKEN
    best = ""
    for _ in range(1 if size is len else 5):
        window = text if length >= len(text) else text[-length:] if from_end else text[:length]
        measured = size(window)
        if measured <= budget:
            best = window
            if window is text or measured >= budget * 0.9:
                break
        length = max(1, int(length * budget / max(measured, 1) * 0.95))
    return best


def _snippets(
    cursor: Cursor, others: Sequence[OtherDocument], wanted: int, budget: int, size: Measure
) -> str:
    comment = LINE_COMMENTS.get((cursor.language or "").lower())
    if comment is None or wanted <= 0 or budget <= 0:
        return ""
    written: list[str] = []
    for other in others:
        if len(written) == wanted:
            break
        if other.uri == cursor.uri:
            continue
        lines = other.text.split("\n")
        first = max(0, min(other.edit.line, len(lines) - 1) - SNIPPET_LINES // 2)
        excerpt = lines[first : first + SNIPPET_LINES]
        if not any(line.strip() for line in excerpt):
            continue
        heading = f"{comment} From {other.path or other.uri}:"
        snippet = "\n".join([heading, *(f"{comment} {line}".rstrip() for line in excerpt)]) + "\n"
        if size(snippet) > budget:
            break
        budget -= size(snippet)
        written.append(snippet)
    return "".join(written)
