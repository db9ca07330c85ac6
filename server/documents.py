"""Token counts of the editor's open documents, kept from one version to the next.

Each (document, encoding) keeps an IncrementalCount: asking again about the
same version costs nothing, and after an edit only the chunks the edit
touched are tokenized again. Ranges are LSP Ranges: 0-based lines split at
"\\n", "\\r\\n" or "\\r", characters in the position encoding agreed at
`initialize` (UTF-16 code units unless the client chose otherwise).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from switchboard.protocol.tokens import TextPosition, TextRange
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.catalog.text_counting import ChunkedCounter, IncrementalCount, Tally
from switchboard.providers.catalog.tokens import TokenCount, count_for_model

from .text_lines import LINE_BREAK, index_of_units, position_encoding

__all__ = ["OpenDocumentCounts", "counts_for", "line_starts", "position_encoding", "span_offsets"]

MAX_DOCUMENTS = 64
RANGE_FIELD = "textDocument.range"


@dataclass
class _Document:
    text: str
    version: int | None
    counts: dict[str, IncrementalCount] = field(default_factory=dict)
    #: the text whose line starts these are, and the line starts
    lines: tuple[str, list[int]] | None = None


class OpenDocumentCounts:
    """Per-document counting state for one server, for at most MAX_DOCUMENTS documents.

    Counts run on worker threads, off the event loop: the state is locked.
    """

    def __init__(self, max_documents: int = MAX_DOCUMENTS) -> None:
        self._max_documents = max_documents
        self._documents: OrderedDict[str, _Document] = OrderedDict()
        self._lock = threading.Lock()

    def count(
        self,
        provider: str,
        model: str,
        uri: str,
        version: int | None,
        text: str,
        span: TextRange | None = None,
        position_encoding: str = "utf-16",
    ) -> TokenCount:
        """Tokens of the document `uri` at `version` (whose text is `text`), or of a range of it."""
        with self._lock:
            document = self._document(uri, version, text)

        def tally_of(counter: ChunkedCounter, encoding_name: str) -> Tally:
            counting = document.counts.setdefault(encoding_name, IncrementalCount(counter))
            if span is None:
                return counting.tally(text)
            lines = document.lines
            if lines is None or lines[0] is not text:  # another thread may have moved on
                lines = document.lines = (text, line_starts(text))
            start, end = span_offsets(text, lines[1], span, position_encoding)
            # The first count of a range counts the whole document too: later ones are cheap.
            return counting.tally_span(text, start, end)

        return count_for_model(provider, model, tally_of)

    def tracked(self) -> list[str]:
        """The documents whose state is kept, least recently counted first."""
        with self._lock:
            return list(self._documents)

    def forget_all_but(self, open_uris: set[str]) -> None:
        """Drop the state of documents the editor has closed."""
        with self._lock:
            for uri in [uri for uri in self._documents if uri not in open_uris]:
                del self._documents[uri]

    def _document(self, uri: str, version: int | None, text: str) -> _Document:
        document = self._documents.get(uri)
        if document is None:
            document = self._documents[uri] = _Document(text, version)
            while len(self._documents) > self._max_documents:
                self._documents.popitem(last=False)
        else:
            self._documents.move_to_end(uri)
            if document.text is not text or document.version != version:
                document.text, document.version = text, version
        return document


def line_starts(text: str) -> list[int]:
    """Where each line begins, LSP line breaks being "\\n", "\\r\\n" and "\\r"."""
    return [0, *(found.end() for found in LINE_BREAK.finditer(text))]


def span_offsets(
    text: str, starts: list[int], span: TextRange, position_encoding: str = "utf-16"
) -> tuple[int, int]:
    """A range as indexes into `text`; InvalidParams naming textDocument.range if invalid."""
    first, last = span.start, span.end
    if (first.line, first.character) > (last.line, last.character):
        raise InvalidParams(f"invalid params: {RANGE_FIELD}: start is after end", RANGE_FIELD)
    return (
        _offset(text, starts, first, position_encoding),
        _offset(text, starts, last, position_encoding),
    )


def _offset(text: str, starts: list[int], position: TextPosition, encoding: str) -> int:
    if position.line >= len(starts):
        raise InvalidParams(
            f"invalid params: {RANGE_FIELD}: line {position.line} is past the end of the "
            f"document (it has {len(starts)} lines)",
            RANGE_FIELD,
        )
    line_start = starts[position.line]
    line_end = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
    found = LINE_BREAK.search(text, line_start, line_end)
    line = text[line_start : found.start() if found else line_end]
    # LSP: a character past the end of the line means the end of the line.
    return line_start + index_of_units(line, position.character, encoding)


_by_server: WeakKeyDictionary[object, OpenDocumentCounts] = WeakKeyDictionary()


def counts_for(server: object) -> OpenDocumentCounts:
    """The counting state of one language server's open documents."""
    counts = _by_server.get(server)
    if counts is None:
        counts = _by_server[server] = OpenDocumentCounts()
    return counts
