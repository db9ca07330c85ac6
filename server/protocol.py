"""pygls's LSP protocol, tolerant of document notifications that arrive out of order."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

logger = logging.getLogger("switchboard.server")


class SwitchboardProtocol(LanguageServerProtocol):
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
