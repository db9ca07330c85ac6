"""Which open documents the user edited last, and where: the other files a completion looks at.

Fed by every `textDocument/didChange`, so it is imported at start-up:
only the standard library here.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

MAX_DOCUMENTS = 64


@dataclass(frozen=True)
class Edit:
    uri: str
    line: int  # where the last change began, 0-based


class RecentEdits:
    def __init__(self, max_documents: int = MAX_DOCUMENTS) -> None:
        self._max_documents = max_documents
        self._edits: OrderedDict[str, Edit] = OrderedDict()

    def note(self, uri: str, line: int) -> None:
        self._edits.pop(uri, None)
        self._edits[uri] = Edit(uri, line)
        while len(self._edits) > self._max_documents:
            self._edits.popitem(last=False)

    def latest_first(self) -> list[Edit]:
        return list(reversed(self._edits.values()))


_by_server: WeakKeyDictionary[object, RecentEdits] = WeakKeyDictionary()


def recent_edits(server: object) -> RecentEdits:
    found = _by_server.get(server)
    if found is None:
        found = _by_server[server] = RecentEdits()
    return found


def note_change(server: object, params: Any) -> None:
    """A didChange: the document is now the most recently edited, at its first change."""
    changes = params.content_changes
    first = getattr(changes[0], "range", None) if changes else None
    recent_edits(server).note(params.text_document.uri, first.start.line if first else 0)
