"""pygls's LSP protocol, behind a JSON-RPC front door that answers every request.

pygls drops what it cannot structure: a body that is not JSON, an envelope
that is not a request, params of the wrong shape for a standard method. Each
left the client waiting for ever. Here each gets its JSON-RPC error (-32700,
-32600, -32602 naming the field, -32601), and only well-formed messages
reach pygls. It is also tolerant of document notifications that arrive out of order, and
keeps open documents as line indexes, so that an edit costs what it changes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from typing import Any
from urllib.parse import unquote

import attrs
import orjson
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from . import jsonrpc
from .jsonrpc import Envelope, Rejected
from .text_document import LineIndexedWorkspace

logger = logging.getLogger("switchboard.server")

#: Notifications pygls handles itself although no feature is registered for them.
_HANDLED_WITHOUT_FEATURE = frozenset({lsp.CANCEL_REQUEST})


class SwitchboardProtocol(LanguageServerProtocol):
    def receive(self, body: bytes) -> None:
        """Handle one message body as read from the stream: answered, dispatched or dropped."""
        parsed = jsonrpc.parse(body)
        if isinstance(parsed, Rejected):
            self._reject(parsed)
            return
        if parsed.kind == "response":
            self.handle_message(self.structure_message(parsed.message))
            return
        if parsed.kind == "request" and self._shutdown and parsed.method != lsp.EXIT:
            self._reject(
                Rejected(jsonrpc.INVALID_REQUEST, "the server is shutting down", parsed.id)
            )
            return
        if not self._has_handler(parsed.method):
            if parsed.kind == "request":
                self._reject(
                    Rejected(
                        jsonrpc.METHOD_NOT_FOUND, f"method not found: {parsed.method}", parsed.id
                    )
                )
            elif not parsed.method.startswith("$/"):
                logger.info("ignored the notification %s: no handler", parsed.method)
            return
        structured = self._structure(parsed)
        if structured is not None:
            self.handle_message(structured)

    def _has_handler(self, method: str) -> bool:
        return (
            method in self.fm.builtin_features
            or method in self.fm.features
            or method in _HANDLED_WITHOUT_FEATURE
        )

    def _structure(self, parsed: Envelope) -> Any | None:
        """The message as pygls's typed message, or None once the client has its -32602."""
        fallback = JsonRPCRequestMessage if parsed.kind == "request" else JsonRPCNotification
        message_type = self.get_message_type(parsed.method) or fallback
        if parsed.kind == "request" and "id" not in attrs.fields_dict(message_type):
            # pygls would structure it as a notification, and the client would wait for ever.
            self._reject(
                Rejected(
                    jsonrpc.INVALID_REQUEST,
                    f"invalid request: {parsed.method} is a notification: send it without an id",
                    parsed.id,
                )
            )
            return None
        message = {"params": None, **parsed.message}  # params may be left out
        try:
            return self._converter.structure(message, message_type)
        except Exception as error:
            rejected = jsonrpc.invalid_params(parsed.id, error)
            if parsed.kind == "request":
                logger.info("%s: %s", parsed.method, rejected.message)
                self._reject(rejected)
            else:
                logger.warning("dropped the notification %s: %s", parsed.method, rejected.message)
            return None

    def _reject(self, rejected: Rejected) -> None:
        self._send_data(rejected.to_wire())

    def notify_json(self, method: str, params: dict[str, Any]) -> None:
        """A notification whose params are JSON values already (a chat's `$/progress`):
        encoded once, without pygls's walk through its converter."""
        if self.writer is None:
            return
        try:
            body = orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params})
        except TypeError:  # what orjson refuses (an int beyond 64 bits) json still writes
            body = json.dumps(
                {"jsonrpc": "2.0", "method": method, "params": params}, ensure_ascii=False
            ).encode()
        header = (
            f"Content-Length: {len(body)}\r\n"
            f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
        )
        self.writer.write(header.encode() + body if self._include_headers else body)

    @lsp_method(lsp.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(
        self, params: lsp.ExecuteCommandParams
    ) -> Generator[Any, Any, Any]:
        if params.command not in self.fm.commands:
            raise JsonRpcInvalidParams(
                f"invalid params: command: no command {params.command!r} "
                f"(there are {', '.join(sorted(self.fm.commands))})",
                data={"field": "command"},
            )
        return (yield from super().lsp_workspace__execute_command(params))

    @lsp_method(lsp.INITIALIZE)
    def lsp_initialize(self, params: lsp.InitializeParams) -> Generator[Any, Any, Any]:
        answer = yield from super().lsp_initialize(params)
        # The same workspace, but its documents apply edits through a line index.
        # Nothing is open yet: documents come after `initialized`.
        workspace = self.workspace
        self._workspace = LineIndexedWorkspace(
            workspace.root_uri,
            self._server._text_document_sync_kind,
            list(workspace.folders.values()),
            workspace.position_encoding,
        )
        return answer

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: lsp.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        # Editors may send a last change for a buffer they have just closed (VS Code
        # does for untitled ones). pygls would raise KeyError and show the user an error;
        # there is nothing to update, and the next didOpen brings the whole text.
        uri = params.text_document.uri
        if unquote(uri) not in self.workspace.text_documents:  # pygls keys them unquoted
            logger.debug("ignored a change to %s, which is not open", uri)
            return
        yield from super().lsp_text_document__did_change(params)
