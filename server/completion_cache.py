"""Suggestions already made, for typing through them without asking the model again.

A suggestion stays good while the user types its first characters: the
text before the cursor has grown by exactly what the suggestion starts
with, and the text after the cursor is unchanged. Such a request is
answered with the rest of the suggestion. Entries keep only a window of the
text around the cursor (and the lengths), so large documents cost little.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

WINDOW = 1024
PER_DOCUMENT = 4
MAX_DOCUMENTS = 32


@dataclass(frozen=True)
class _Entry:
    prefix_length: int
    prefix_tail: str
    suffix_length: int
    suffix_head: str
    text: str


class SuggestionCache:
    def __init__(
        self, per_document: int = PER_DOCUMENT, max_documents: int = MAX_DOCUMENTS
    ) -> None:
        self._per_document = per_document
        self._max_documents = max_documents
        self._entries: OrderedDict[str, list[_Entry]] = OrderedDict()

    def store(self, uri: str, prefix: str, suffix: str, text: str) -> None:
        if not text:
            return
        entry = _Entry(len(prefix), prefix[-WINDOW:], len(suffix), suffix[:WINDOW], text)
        entries = self._entries.pop(uri, [])
        entries.append(entry)
        self._entries[uri] = entries[-self._per_document :]
        while len(self._entries) > self._max_documents:
            self._entries.popitem(last=False)

    def lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The rest of a suggestion the user is typing through at this cursor, if any."""
        for entry in reversed(self._entries.get(uri, ())):
            typed_length = len(prefix) - entry.prefix_length
            if not 0 <= typed_length < len(entry.text) or len(suffix) != entry.suffix_length:
                continue
            typed = prefix[entry.prefix_length :]
            start = entry.prefix_length - len(entry.prefix_tail)
            if (
                entry.text.startswith(typed)
                and prefix.startswith(entry.prefix_tail, start)
                and suffix.startswith(entry.suffix_head)
            ):
                return entry.text[typed_length:]
        return None

    def forget(self, uri: str) -> None:
        self._entries.pop(uri, None)
