"""Exact token counts of long texts, counted in chunks and re-counted incrementally.

tiktoken cuts a text into pieces with its pre-tokenizer regex and runs BPE on
each piece alone, so a text cut only where the regex always cuts can be
tokenized chunk by chunk and the counts summed: the sum equals
``len(encode_ordinary(text))`` exactly. Two kinds of cut are safe for both
cl100k_base and o200k_base:

- just after a "\\n" followed by a character that is neither whitespace nor "/";
- between an ASCII letter and a space.

Why. Every character belongs to some regex piece. The alternatives that can
match a "\\n" are the whitespace ones and the punctuation one, whose tail is
``[\\r\\n]*`` (o200k: ``[\\r\\n/]*``): all of them stop before a character
that is not whitespace (nor "/"), so the piece holding the "\\n" ends at the
cut. Likewise a piece holding a letter stops before a space. Cutting the text
there changes what the regex sees only at the cut: the letter and punctuation
alternatives fail on a space and at the end alike, and the one alternative
that differs, cl100k's ``\\s++$``, then matches the same whitespace run that
``\\s*[\\r\\n]`` matches in the whole text. Neither pattern looks behind, so
the rest is split as if it began at the cut. Python's ``\\s`` covers every
Unicode White_Space character the Rust regex's ``\\s`` does, and a few more,
which only removes cuts. tests/test_text_counting.py checks all of this
against whole-text encoding on random texts. Any other encoding is counted
whole.

BPE's cost grows faster than the length of a piece, and a text with no cut
for a long way (10 MB of one letter is one piece) would take tens of
seconds. So no chunk is longer than MAX_CHUNK_CHARS: where no safe cut comes
within it, the text is cut there anyway, and its count is an estimate (the
Tally says `exact=False`). Ordinary text and code always have a safe cut
long before.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from itertools import accumulate
from typing import NamedTuple, Protocol

CHUNK_CHARS = 4096
MAX_CHUNK_CHARS = 32_768
# Chunk texts the shared count cache may hold per encoding (the chunks of open
# documents are usually the same string objects, so this is rarely extra memory).
CACHE_CHARS = 8_000_000

_CUT = re.compile(r"\n(?=[^\s/])|(?<=[A-Za-z])(?= )")


class Tally(NamedTuple):
    tokens: int
    #: False when the text had to be cut where a cut may change the count
    exact: bool


class Encoder(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


def is_cut(text: str, position: int) -> bool:
    """Whether `text` may be cut at `position` without changing its token count."""
    if position <= 0 or position >= len(text):
        return True
    before, after = text[position - 1], text[position]
    if before == "\n":
        return not after.isspace() and after != "/"
    return after == " " and before.isascii() and before.isalpha()


def cut_points(
    text: str,
    start: int,
    end: int,
    target: int = CHUNK_CHARS,
    max_chunk: int = MAX_CHUNK_CHARS,
) -> list[int]:
    """Ends of chunks of about `target` characters covering text[start:end], the last `end`.

    `start` and `end` must themselves be cuts (see `is_cut`). A chunk is never
    longer than `max_chunk`: with no safe cut that soon, it ends there anyway.
    """
    cuts: list[int] = []
    position = start
    while end - position > target:
        window_end = min(end, position + max(max_chunk, target + 1))
        found = _CUT.search(text, position + target, window_end)
        if found is not None:
            position = found.end()
        elif window_end == end:
            break
        else:
            position = window_end
        cuts.append(position)
    if not cuts or cuts[-1] != end:
        cuts.append(end)
    return cuts


def all_cuts_safe(text: str, start: int, chunks: Sequence[str]) -> bool:
    """Whether `chunks`, laid end to end from `start`, meet only where `is_cut` allows."""
    position = start
    for chunk in chunks[:-1]:
        position += len(chunk)
        if not is_cut(text, position):
            return False
    return True


class ChunkedCounter:
    """Counts text chunk by chunk for one encoding, remembering recent chunks' counts."""

    def __init__(
        self,
        encoder: Encoder,
        splittable: bool,
        target: int = CHUNK_CHARS,
        cache_chars: int = CACHE_CHARS,
        max_chunk: int = MAX_CHUNK_CHARS,
    ) -> None:
        self.encoder = encoder
        self.splittable = splittable
        self.target = target
        self.max_chunk = max_chunk
        self._cache_chars = cache_chars
        self._cached_chars = 0
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        return self.tally(text).tokens

    def tally(self, text: str) -> Tally:
        chunks = self.chunks(text, 0, len(text))
        return Tally(sum(self.chunk_counts(chunks)), all_cuts_safe(text, 0, chunks))

    def chunks(self, text: str, start: int, end: int) -> list[str]:
        """text[start:end] cut into chunks; `start` and `end` must be cuts."""
        if not self.splittable:
            return [text[start:end]] if end > start else []
        chunks = []
        for cut in cut_points(text, start, end, self.target, self.max_chunk):
            if cut > start:
                chunks.append(text[start:cut])
            start = cut
        return chunks

    def chunk_counts(self, chunks: Sequence[str]) -> list[int]:
        counts = []
        for chunk in chunks:
            with self._lock:
                cached = self._cache.get(chunk)
                if cached is not None:
                    self._cache.move_to_end(chunk)
            if cached is None:
                cached = len(self.encoder.encode_ordinary(chunk))
                self._remember(chunk, cached)
            counts.append(cached)
        return counts

    def _remember(self, chunk: str, tokens: int) -> None:
        if len(chunk) > self._cache_chars:
            return
        with self._lock:
            if chunk in self._cache:
                return
            self._cache[chunk] = tokens
            self._cached_chars += len(chunk)
            while self._cached_chars > self._cache_chars:
                oldest, _ = self._cache.popitem(last=False)
                self._cached_chars -= len(oldest)


class IncrementalCount:
    """The token count of one text that changes over time, such as an open document.

    It keeps the last text's chunks. A new text reuses every chunk it still
    starts or ends with, so an edit re-tokenizes only the chunks it touches.
    """

    def __init__(self, counter: ChunkedCounter) -> None:
        self.counter = counter
        self._text = ""
        self._chunks: list[str] = []
        self._counts: list[int] = []
        self._exact = True
        self._offsets_cache: tuple[list[int], list[int], list[int]] | None = None
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        return self.tally(text).tokens

    def tally(self, text: str) -> Tally:
        with self._lock:
            self._update(text)
            return Tally(sum(self._counts), self._exact)

    def count_span(self, text: str, start: int, end: int) -> int:
        return self.tally_span(text, start, end).tokens

    def tally_span(self, text: str, start: int, end: int) -> Tally:
        """Tokens of text[start:end] counted on its own (as if it were the whole text).

        Not exact if the document had to be cut unsafely anywhere, inside the span or not.
        """
        if not self.counter.splittable:
            return self.counter.tally(text[start:end])
        with self._lock:
            self._update(text)
            starts, ends, totals = self._offsets()
            # Whole chunks inside the span keep their counts; the partial ones at its
            # edges are counted on their own (a cut of the text is a cut of its substrings).
            first = bisect_left(starts, start)
            last = bisect_right(ends, end) - 1
            if first > last:
                alone = self.counter.tally(text[start:end])
                return Tally(alone.tokens, alone.exact and self._exact)
            inner = totals[last] - (totals[first - 1] if first > 0 else 0)
            head = self.counter.tally(text[start : starts[first]])
            tail = self.counter.tally(text[ends[last] : end])
            return Tally(
                inner + head.tokens + tail.tokens, self._exact and head.exact and tail.exact
            )

    def _update(self, text: str) -> None:
        if text is self._text:
            return
        old, old_counts = (self._chunks, self._counts) if self.counter.splittable else ([], [])
        kept_head, start = _common_head(old, text)
        kept_tail, end = _common_tail(old[kept_head:], text, start)
        if not is_cut(text, start):
            kept_head -= 1
            start -= len(old[kept_head])
        if not is_cut(text, end):
            end += len(old[len(old) - kept_tail])
            kept_tail -= 1
        middle = self.counter.chunks(text, start, end)
        tail = len(old) - kept_tail
        self._chunks = [*old[:kept_head], *middle, *old[tail:]]
        self._counts = [
            *old_counts[:kept_head],
            *self.counter.chunk_counts(middle),
            *old_counts[tail:],
        ]
        self._text = text
        self._exact = all_cuts_safe(text, 0, self._chunks)
        self._offsets_cache = None

    def _offsets(self) -> tuple[list[int], list[int], list[int]]:
        if self._offsets_cache is None:
            ends = list(accumulate(map(len, self._chunks)))
            self._offsets_cache = (
                [0, *ends[:-1]] if ends else [],
                ends,
                list(accumulate(self._counts)),
            )
        return self._offsets_cache


def _common_head(chunks: Sequence[str], text: str) -> tuple[int, int]:
    """How many leading chunks `text` still starts with, and where they end."""
    kept = position = 0
    for chunk in chunks:
        if not text.startswith(chunk, position):
            break
        kept += 1
        position += len(chunk)
    return kept, position


def _common_tail(chunks: Sequence[str], text: str, floor: int) -> tuple[int, int]:
    """How many trailing chunks `text` still ends with (after `floor`), and where they start."""
    kept, position = 0, len(text)
    for chunk in reversed(chunks):
        starts = position - len(chunk)
        if starts < floor or not text.startswith(chunk, starts):
            break
        kept += 1
        position = starts
    return kept, position
