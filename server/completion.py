"""Completions as you type: `textDocument/inlineCompletion` and `textDocument/completion`.

Both methods ask for the same suggestion, which the configured model writes
(fill-in-the-middle where it has it, the chat fallback where not; see
providers/completion.py). Per document, at most one request is in flight:
a new one at another place cancels it, its upstream connection is closed,
and it is answered with an empty list; a second request at the same place
(an editor that asks both methods) shares the first one's answer. Each waits
`debounce_ms` before calling the model, and a request whose cursor has only
typed through the last suggestion is answered from the cache at once.

A completion that fails (no credentials, provider down, a bad model in the
config) is answered with an empty list: the editor asks again at the next
keystroke, and an error there would be a toast per keystroke. The failure
is logged once, until a completion succeeds or the failure changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote
from weakref import WeakKeyDictionary

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from switchboard.protocol.methods import USAGE_CHANGED
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.catalog.completion_settings import CompletionSettings
from switchboard.providers.catalog.tokens import count_text
from switchboard.providers.completion import Completer
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine
from switchboard.providers.errors import ProviderError

from .completion_cache import SuggestionCache
from .completion_context import (
    Cursor,
    Measure,
    OtherDocument,
    completion_request,
    cursor_at,
    relative_path,
)
from .completion_model import default_completion_model
from .documents import position_encoding
from .recent_edits import recent_edits
from .shutdown import is_shutting_down
from .usage import CoalescedNotices

if TYPE_CHECKING:
    from pygls.workspace import TextDocument

    from .app import SwitchboardServer

logger = logging.getLogger("switchboard.completion")

#: how long a default model (chosen by who has credentials) is kept before choosing again
DEFAULT_MODEL_TTL_S = 30.0
#: block mode: two blank lines end a block in every language
BLOCK_STOPS = ("\n\n\n",)
#: line mode with code after the cursor on its line: only that line's middle is missing
MID_LINE_STOPS = ("\n",)
LABEL_CHARS = 60


@dataclass
class _InFlight:
    key: tuple[str, int | None, int, int]
    task: asyncio.Task[str | None]
    waiters: int = 0


@dataclass
class _Suggestion:
    text: str
    cursor: Cursor


@dataclass
class CompletionService:
    ls: SwitchboardServer
    cache: SuggestionCache = field(default_factory=SuggestionCache)
    _in_flight: dict[str, _InFlight] = field(default_factory=dict)
    _default_model: tuple[Config, float, str] | None = None
    _failure: str | None = None
    _notices: CoalescedNotices | None = None

    async def suggest(
        self, uri: str, position: lsp.Position, *, explicit: bool = False
    ) -> _Suggestion | None:
        """The suggestion at `position`, or None (disabled, superseded, failed, nothing).

        `explicit`: the user asked for it (a key, a command), so neither `enabled = false`
        nor the language filter nor the debounce stands in the way."""
        ls = self.ls
        if is_shutting_down(ls):
            return None
        runtime = ls.runtime()
        settings = runtime.config.completion
        document = _open_document(ls, uri)
        cursor = cursor_at(
            uri,
            document.source,
            position.line,
            position.character,
            position_encoding(document.position_codec.encoding),
            document.language_id,
            relative_path(document.path, ls.workspace.root_path),
        )
        wanted = settings.enabled and settings.covers(document.language_id)
        if not (wanted or explicit):
            return None
        cached = self.cache.lookup(uri, cursor.prefix, cursor.suffix)
        if cached is not None:
            self._supersede(uri)
            return _Suggestion(cached, cursor)
        key = (uri, document.version, len(cursor.prefix), len(cursor.suffix))
        running = self._in_flight.get(uri)
        if running is None or running.key != key or running.task.done():
            self._supersede(uri)
            task = asyncio.ensure_future(self._complete(cursor, settings, explicit))
            running = self._in_flight[uri] = _InFlight(key, task)
        text = await self._wait(uri, running)
        return _Suggestion(text, cursor) if text else None

    async def _wait(self, uri: str, running: _InFlight) -> str | None:
        running.waiters += 1
        try:
            return await asyncio.shield(running.task)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # the client cancelled this request
                if running.waiters == 1:
                    running.task.cancel()
                raise
            return None  # superseded by a newer request for the document
        finally:
            running.waiters -= 1
            if self._in_flight.get(uri) is running and running.task.done():
                del self._in_flight[uri]

    def _supersede(self, uri: str) -> None:
        running = self._in_flight.pop(uri, None)
        if running is not None and not running.task.done():
            running.task.cancel()  # cancelling the stream closes the upstream connection

    async def _complete(
        self, cursor: Cursor, settings: CompletionSettings, explicit: bool
    ) -> str | None:
        if settings.debounce_ms and not explicit:
            await asyncio.sleep(settings.debounce_ms / 1000)
        runtime = self.ls.runtime()
        engine = runtime.engine
        try:
            model = settings.model or await self._default(runtime.config)
            request = completion_request(
                cursor,
                settings,
                others=self._others(cursor) if settings.snippets else (),
                measure=_token_measure(engine, model) if settings.budget_unit == "tokens" else None,
                stop=stop_sequences(cursor, settings.mode),
            )
            result = await Completer(engine).complete(model, request, mode=settings.mode)
        except (ProviderError, InvalidParams) as error:
            self._failed(_failure(error))
            return None
        except Exception as error:  # a bug here must not become an error per keystroke
            self._failed(f"internal error: {type(error).__name__}", exc_info=True)
            return None
        self._failure = None
        if result.usage is not None:
            changed = runtime.ledger.record(result.model, result.usage, result.cost)
            self._usage_notices().offer(changed.to_wire())
            runtime.announce_budget(self.ls.window_show_message)
        if settings.mode == "block":
            text = end_of_block(result.text, cursor.indentation, settings.block_max_lines)
        else:
            text = result.text.rstrip()
        self.cache.store(cursor.uri, cursor.prefix, cursor.suffix, text)
        return text or None

    async def _default(self, config: Config) -> str:
        chosen = self._default_model
        now = time.monotonic()
        if chosen is None or chosen[0] is not config or now - chosen[1] > DEFAULT_MODEL_TTL_S:
            engine = self.ls.runtime().engine
            # Credential look-ups may reach the OS keyring: off the event loop.
            model = await asyncio.to_thread(default_completion_model, engine)
            self._default_model = chosen = (config, now, model)
            logger.info("completions use %s", model)
        return chosen[2]

    def _others(self, cursor: Cursor) -> list[OtherDocument]:
        documents = self.ls.workspace.text_documents
        found = []
        for edit in recent_edits(self.ls).latest_first():
            document = documents.get(edit.uri) or documents.get(unquote(edit.uri))
            if document is None or edit.uri == cursor.uri:
                continue
            if (document.language_id or "") != (cursor.language or ""):
                continue
            path = relative_path(document.path, self.ls.workspace.root_path)
            found.append(OtherDocument(edit.uri, document.source, path, edit))
        return found

    def _failed(self, failure: str, *, exc_info: bool = False) -> None:
        """One log line per failure, not one per keystroke, until it changes or clears."""
        level = logging.WARNING if failure != self._failure else logging.DEBUG
        logger.log(level, "completion failed: %s", failure, exc_info=exc_info)
        self._failure = failure

    def _usage_notices(self) -> CoalescedNotices:
        if self._notices is None:
            ls = self.ls
            self._notices = CoalescedNotices(lambda wire: ls.notify_json(USAGE_CHANGED, wire))
        return self._notices


def stop_sequences(cursor: Cursor, mode: str) -> tuple[str, ...]:
    """Where the model should stop writing, by what surrounds the cursor.

    (The end of a block at a dedent cannot be a literal stop sequence: `end_of_block`
    cuts it from the answer.)"""
    if mode == "block":
        return BLOCK_STOPS
    rest_of_line = cursor.suffix.split("\n", 1)[0]
    return MID_LINE_STOPS if rest_of_line.strip() else ()


def end_of_block(text: str, indentation: str, max_lines: int) -> str:
    """Block mode's cut: at most `max_lines` lines, ending before a blank line that is
    followed by a line indented less than the cursor's (the block has ended)."""
    lines = text.split("\n")[:max_lines]
    depth = len(indentation.expandtabs(4))
    for index in range(2, len(lines)):
        line = lines[index]
        dedented = (
            line.strip() and len(line.expandtabs(4)) - len(line.lstrip().expandtabs(4)) < depth
        )
        if dedented and not lines[index - 1].strip():
            lines = lines[: index - 1]
            break
    return "\n".join(lines).rstrip()


def _token_measure(engine: ChatEngine, model: str) -> Measure:
    target = engine.resolve(model)
    kind = engine.settings(target.provider).kind

    def measure(text: str) -> int:
        return count_text(kind, target.model, text).input_tokens if text else 0

    return measure


def _failure(error: ProviderError | InvalidParams) -> str:
    if isinstance(error, InvalidParams):
        return str(error)
    hint = f" ({error.suggestion})" if isinstance(error.suggestion, str) else ""
    return f"{error.code.value}: {error.message}{hint}"


def _open_document(ls: SwitchboardServer, uri: str) -> TextDocument:
    documents = ls.workspace.text_documents
    document = documents.get(uri) or documents.get(unquote(uri))
    if document is None:
        raise InvalidParams(
            f"invalid params: textDocument.uri: {uri} is not open", "textDocument.uri"
        )
    return document


_by_server: WeakKeyDictionary[object, CompletionService] = WeakKeyDictionary()


def service_for(ls: SwitchboardServer) -> CompletionService:
    found = _by_server.get(ls)
    if found is None:
        found = _by_server[ls] = CompletionService(ls)
    return found


# ---- the two LSP methods ------------------------------------------------------------------


async def inline_completion(
    ls: SwitchboardServer, params: lsp.InlineCompletionParams
) -> lsp.InlineCompletionList:
    invoked = params.context.trigger_kind == lsp.InlineCompletionTriggerKind.Invoked
    suggestion = await _suggest(ls, params.text_document.uri, params.position, explicit=invoked)
    if suggestion is None:
        return lsp.InlineCompletionList(items=[])
    here = lsp.Range(start=params.position, end=params.position)
    return lsp.InlineCompletionList(
        items=[lsp.InlineCompletionItem(insert_text=suggestion.text, range=here)]
    )


async def completion(ls: SwitchboardServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    """The suggestion as one completion item, for editors without ghost text.

    The item replaces the word before the cursor with that word and the
    suggestion, so that clients, which filter items by the typed word, keep
    it; `isIncomplete` makes them ask again as the user types (answered from
    the cache while the typing follows the suggestion)."""
    suggestion = await _suggest(ls, params.text_document.uri, params.position)
    if suggestion is None:
        return lsp.CompletionList(is_incomplete=True, items=[])
    return lsp.CompletionList(is_incomplete=True, items=[_item(ls, suggestion, params.position)])


def _item(ls: SwitchboardServer, suggestion: _Suggestion, position: lsp.Position) -> Any:
    cursor, text = suggestion.cursor, suggestion.text
    word = cursor.word
    document = _open_document(ls, cursor.uri)
    units = _units(word, position_encoding(document.position_codec.encoding))
    start = lsp.Position(line=position.line, character=max(0, position.character - units))
    replaced = word + text
    first_line = replaced.split("\n", 1)[0]
    label = (first_line.strip() or replaced.strip()).split("\n", 1)[0]
    if len(label) > LABEL_CHARS:
        label = label[: LABEL_CHARS - 1] + "…"
    elif "\n" in replaced.strip("\n"):
        label += " …"
    language = cursor.language or ""
    return lsp.CompletionItem(
        label=label,
        label_details=lsp.CompletionItemLabelDetails(description="Switchboard"),
        kind=lsp.CompletionItemKind.Text,
        detail="Switchboard suggestion",
        documentation=lsp.MarkupContent(
            kind=lsp.MarkupKind.Markdown, value=f"```{language}\n{cursor.line_prefix}{text}\n```"
        ),
        filter_text=first_line,
        insert_text_format=lsp.InsertTextFormat.PlainText,
        text_edit=lsp.TextEdit(range=lsp.Range(start=start, end=position), new_text=replaced),
    )


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


async def _suggest(
    ls: SwitchboardServer, uri: str, position: lsp.Position, *, explicit: bool = False
) -> _Suggestion | None:
    try:
        return await service_for(ls).suggest(uri, position, explicit=explicit)
    except InvalidParams as error:
        logger.info("completion: %s", error)
        raise JsonRpcInvalidParams(str(error), data={"field": error.field}) from None
