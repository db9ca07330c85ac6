"""Code completion through a chat model: the prompt, and cleaning up what comes back.

A model without fill-in-the-middle gets the file with a marked gap and is
asked for the gap's contents only. Chat models still tend to wrap code in
fences, to start by repeating the line they were given, and to carry on
past the gap into the code that follows it; `clean_middle` undoes all three,
so the text can be inserted at the cursor as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..base import CompletionRequest

GAP = "<FILL_HERE>"
SYSTEM = (
    "You are a code completion engine inside an editor. You get one file with a gap marked "
    f"{GAP}. Reply with exactly the text that belongs at {GAP}, nothing else: no explanation, "
    "no code fences, and do not repeat the code before or after the gap. Keep the file's "
    "indentation and style. If nothing belongs there, reply with an empty message."
)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*$", re.MULTILINE)
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_FENCED_LANGUAGES = frozenset({"markdown", "mdx", "rmarkdown", "quarto"})


def chat_prompt(request: CompletionRequest) -> tuple[str, str]:
    """(system prompt, user message) asking a chat model for the middle only."""
    about = []
    if request.path:
        about.append(f"File: {request.path}")
    if request.language:
        about.append(f"Language: {request.language}")
    heading = "\n".join(about)
    body = f"{request.prefix}{GAP}{request.suffix}"
    parts = [heading, f"<file>\n{body}\n</file>", f"Write the text that replaces {GAP}."]
    return SYSTEM, "\n\n".join(part for part in parts if part)


def clean_middle(text: str, request: CompletionRequest) -> str:
    """A chat model's answer as the text to insert at the cursor."""
    fenced = request.language in _FENCED_LANGUAGES  # there a fence may be the code itself
    middle = (text if fenced else strip_fences(text)).replace(GAP, "")
    middle = strip_prefix_echo(middle, request.prefix)
    middle = trim_suffix_overlap(middle, request.suffix)
    return cut_at_stop(middle, request.stop)


def strip_fences(text: str) -> str:
    """The inside of the first fenced block; an unclosed fence (a cut stream) loses its opener."""
    opening = _FENCE.search(text)
    if opening is None:
        return text
    start = opening.end() + 1 if opening.end() < len(text) else len(text)
    fence = opening.group(1)
    closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
    end = closing.search(text, start)
    inside = text[start : end.start() if end else len(text)]
    # The newline before the closing fence belongs to the fence, not to the code.
    return inside.removesuffix("\n") if end else inside


def strip_prefix_echo(text: str, prefix: str) -> str:
    """Drop the start of `text` that repeats the prefix from the beginning of one of its lines."""
    if not text or not prefix:
        return text
    current_line_start = prefix.rfind("\n") + 1
    # Earliest first, so the longest repeat wins; a start further back than
    # len(text) characters cannot be repeated whole, so the scan begins there.
    for start in _line_starts(prefix, len(prefix) - len(text)):
        tail = prefix[start:]
        # Whitespace alone is an echo only on the cursor's own line (its indentation).
        if (tail.strip() or start == current_line_start) and tail and text.startswith(tail):
            return text[len(tail) :]
    typed = prefix[current_line_start:].lstrip(" \t")
    relaxed = text.lstrip(" \t")
    if typed.strip() and relaxed.startswith(typed):
        return relaxed[len(typed) :]
    return text


def _line_starts(text: str, lowest: int) -> Iterator[int]:
    """The offsets at which a line of `text` begins, from `lowest` on."""
    if lowest <= 0:
        yield 0
        lowest = 1
    newline = text.find("\n", lowest - 1)
    while newline >= 0:
        yield newline + 1
        newline = text.find("\n", newline + 1)


def trim_suffix_overlap(text: str, suffix: str) -> str:
    """Drop what repeats the code after the cursor: a copy of its first line, or a tail."""
    first_line = next((line for line in suffix.split("\n") if line.strip()), "")
    if not text or not first_line:
        return text
    lines = text.split("\n")
    wanted = first_line.rstrip()
    for index, line in enumerate(lines):
        if index and line.rstrip() == wanted:
            kept = "\n".join(lines[:index])
            return kept if not suffix.startswith("\n") else kept.rstrip("\n")
    end_of_first = suffix.index(first_line) + len(first_line)
    for size in range(min(len(text), len(suffix)), end_of_first - 1, -1):
        overlap = suffix[:size]
        if text.endswith(overlap) and _closes_own_brackets(text, overlap):
            return text[: len(text) - size]
    return text


def _closes_own_brackets(text: str, overlap: str) -> bool:
    """An overlap on the cursor's line (`)`, `]);`) counts only where `text` opened nothing
    that it closes: `foo()` inside `bar(|)` keeps its own `)`."""
    if "\n" in overlap:
        return True
    for closer, opener in _CLOSERS.items():
        wanted = overlap.count(closer)
        if wanted and text.count(closer) - text.count(opener) < wanted:
            return False
    return True


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    cut = min((text.find(stop) for stop in stops if stop and stop in text), default=-1)
    return text[:cut] if cut >= 0 else text


def first_line(text: str) -> str | None:
    """The text through its first complete line with content (without the newline); None
    while that line is still being written."""
    searched = 0
    while True:
        newline = text.find("\n", searched)
        if newline < 0:
            return None
        if text[:newline].strip():
            return text[:newline]
        searched = newline + 1
