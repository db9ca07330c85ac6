"""Code actions for every editor: explain, simplify or fix the selection through the model.

The same command, with action `edit` and the user's instruction, serves editors' inline chat.

`textDocument/codeAction` offers them on a non-empty selection of an open
document (fix only where the editor reports problems); each is a
`switchboard.rewrite` command. Running it asks the default model through the
same path as `switchboard/chat` (progress, usage, journal), then sends the
replacement with `workspace/applyEdit`, pinned to the version the selection
came from, so an edit made meanwhile is never overwritten.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lsprotocol import types as lsp
from switchboard.protocol.edits import RewriteAction, RewriteArguments
from switchboard.protocol.tokens import TextPosition, TextRange
from switchboard.protocol.validation import InvalidParams, parse_params

from .rewrite_prompts import (
    ACTIONS,
    REWRITE_SYSTEM,
    Selection,
    extract_code,
    fit_replacement,
    rewrite_messages,
)

if TYPE_CHECKING:
    from .app import SwitchboardServer

REWRITE_COMMAND = "switchboard.rewrite"
MAX_PROBLEMS = 10


def code_actions(ls: SwitchboardServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    selected = params.range
    if selected.start == selected.end:
        return []
    document = ls.workspace.text_documents.get(unquote(params.text_document.uri))
    if document is None:
        return []
    wanted = params.context.only

    def action(
        name: RewriteAction, kind: str, problems: list[str] | None = None
    ) -> lsp.CodeAction | None:
        if wanted and not any(kind == only or kind.startswith(f"{only}.") for only in wanted):
            return None
        title, _ = ACTIONS[name]
        if problems:
            title += f": {_short(problems[0])}" + (
                f" (+{len(problems) - 1})" if len(problems) > 1 else ""
            )
        arguments = RewriteArguments(
            uri=params.text_document.uri,
            range=_text_range(selected),
            version=document.version,
            action=name,
            problems=problems or None,
        )
        return lsp.CodeAction(
            title=title,
            kind=kind,
            command=lsp.Command(
                title=title, command=REWRITE_COMMAND, arguments=[arguments.to_wire()]
            ),
        )

    problems = [d.message for d in params.context.diagnostics][:MAX_PROBLEMS]
    offered = [
        action("fix", lsp.CodeActionKind.QuickFix, problems) if problems else None,
        action("explain", lsp.CodeActionKind.RefactorRewrite),
        action("simplify", lsp.CodeActionKind.RefactorRewrite),
    ]
    return [entry for entry in offered if entry is not None]


def _text_range(span: lsp.Range) -> TextRange:
    return TextRange(
        start=TextPosition(line=span.start.line, character=span.start.character),
        end=TextPosition(line=span.end.line, character=span.end.character),
    )


def _lsp_range(span: TextRange) -> lsp.Range:
    return lsp.Range(
        start=lsp.Position(line=span.start.line, character=span.start.character),
        end=lsp.Position(line=span.end.line, character=span.end.character),
    )


def _short(text: str, limit: int = 60) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def rewrite_command(ls: SwitchboardServer, arguments: list[Any] | None) -> dict[str, Any]:
    from .handlers import chat

    request = _parse(arguments)
    uri, version, name = request.uri, request.version, request.action
    selected = _lsp_range(request.range)
    document = ls.workspace.text_documents.get(unquote(uri))
    if document is None:
        raise InvalidParams(f"invalid params: arguments[0].uri: {uri} is not open", "uri")
    if version is not None and document.version != version:
        return _not_applied(ls, "the document changed since the action was offered")
    version = document.version
    start = document.offset_at_position(selected.start)
    end = document.offset_at_position(selected.end)
    original = document.source[start:end]
    selection = Selection(
        file_name=_file_name(uri),
        language_id=document.language_id or "text",
        before=document.source[:start],
        selected=original,
        after=document.source[end:],
    )
    messages = rewrite_messages(selection, name, request.problems, request.instruction)
    result = await chat(ls, {"messages": messages, "system": REWRITE_SYSTEM})
    answer = "".join(part.get("text", "") for part in result["content"] if part["type"] == "text")
    replacement = extract_code(answer)
    if not replacement.strip():
        return _not_applied(ls, "the model proposed no code", result)
    current = ls.workspace.text_documents.get(unquote(uri))
    if current is None or current.version != version:
        return _not_applied(ls, "the document changed while the model was answering", result)
    title, _ = ACTIONS[name]
    edit = _edit(ls, uri, version, selected, fit_replacement(original, replacement))
    applied = await ls.workspace_apply_edit_async(
        lsp.ApplyWorkspaceEditParams(edit=edit, label=title)
    )
    if not applied.applied:
        return _not_applied(ls, applied.failure_reason or "the editor did not apply it", result)
    return {"applied": True, "model": result["model"], "cost": result.get("cost")}


def _edit(
    ls: SwitchboardServer, uri: str, version: int | None, selected: lsp.Range, new_text: str
) -> lsp.WorkspaceEdit:
    text_edit = lsp.TextEdit(range=selected, new_text=new_text)
    workspace = getattr(ls.client_capabilities, "workspace", None)
    edit_capabilities = getattr(workspace, "workspace_edit", None)
    if getattr(edit_capabilities, "document_changes", False):
        # Versioned: the editor refuses it if the document moved on after our check.
        identifier = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return lsp.WorkspaceEdit(
            document_changes=[lsp.TextDocumentEdit(text_document=identifier, edits=[text_edit])]
        )
    return lsp.WorkspaceEdit(changes={uri: [text_edit]})


def _not_applied(
    ls: SwitchboardServer, reason: str, result: dict[str, Any] | None = None
) -> dict[str, Any]:
    ls.window_show_message(
        lsp.ShowMessageParams(
            type=lsp.MessageType.Warning, message=f"Switchboard: not applied: {reason}"
        )
    )
    outcome: dict[str, Any] = {"applied": False, "reason": reason}
    if result is not None:
        outcome |= {"model": result["model"], "cost": result.get("cost")}
    return outcome


def _file_name(uri: str) -> str:
    path = unquote(urlsplit(uri).path)
    return posixpath.basename(path) or uri


def _parse(arguments: list[Any] | None) -> RewriteArguments:
    first = (arguments or [None])[0]
    if not isinstance(first, dict):
        raise InvalidParams(
            "invalid params: arguments[0]: {uri, range, action} of the code to rewrite",
            "arguments",
        )
    return parse_params(RewriteArguments, first)
