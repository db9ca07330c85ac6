"""Code actions through standard LSP: offered on a selection, run as switchboard.rewrite,
answered with workspace/applyEdit. What Helix, Sublime, Zed and Emacs get with no plugin."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import Session, initialized_server, open_session

URI = "file:///work/calc.py"
SOURCE = "import math\n\ndef add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"
FUNCTION = lsp.Range(start=lsp.Position(line=2, character=0), end=lsp.Position(line=4, character=0))
CLIENT = lsp.ClientCapabilities(
    window=lsp.WindowClientCapabilities(work_done_progress=True),
    workspace=lsp.WorkspaceClientCapabilities(
        apply_edit=True,
        workspace_edit=lsp.WorkspaceEditClientCapabilities(document_changes=True),
    ),
)
EXPLAINED = "def add(a, b):\n    # The sum of a and b.\n    return a + b"


@pytest.fixture
async def editor(tmp_path: Path, fake_openai: FakeOpenAI) -> Any:
    config = (
        f'default_model = "openai/gpt-4o"\n[providers.openai]\nbase_url = "{fake_openai.url}"\n'
    )
    async with open_session(
        tmp_path, config, {"OPENAI_API_KEY": fake_openai.api_key}, capabilities=CLIENT
    ) as session:
        session.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(
                    uri=URI, language_id="python", version=1, text=SOURCE
                )
            )
        )
        edits: list[lsp.ApplyWorkspaceEditParams] = []
        answers: list[bool] = []

        @session.client.feature(lsp.WORKSPACE_APPLY_EDIT)
        def on_apply(ls: Any, params: lsp.ApplyWorkspaceEditParams) -> lsp.ApplyWorkspaceEditResult:
            edits.append(params)
            applied = answers.pop(0) if answers else True
            reason = None if applied else "the user said no"
            return lsp.ApplyWorkspaceEditResult(applied=applied, failure_reason=reason)

        yield session, edits, answers


async def actions(
    session: Session,
    selected: lsp.Range,
    diagnostics: list[lsp.Diagnostic] | None = None,
    only: list[str] | None = None,
    uri: str = URI,
) -> list[lsp.CodeAction]:
    result = await session.client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=selected,
            context=lsp.CodeActionContext(diagnostics=diagnostics or [], only=only),
        )
    )
    assert all(isinstance(entry, lsp.CodeAction) for entry in result or []), result
    return list(result or [])  # type: ignore[arg-type]


async def run(session: Session, action: lsp.CodeAction) -> dict[str, Any]:
    assert action.command is not None
    result: dict[str, Any] = await session.request(
        "workspace/executeCommand",
        lsp.ExecuteCommandParams(
            command=action.command.command, arguments=action.command.arguments
        ),
    )
    return result


async def until_the_answer_streams(session: Session) -> None:
    """Until the work-done progress reports output; only a hang guard, not a timing assertion."""
    for _ in range(1200):
        reports = [r for rs in session.client.progress_reports.values() for r in rs]
        if any(isinstance(r, lsp.WorkDoneProgressReport) for r in reports):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the answer never started streaming")


def prompt_of(fake: FakeOpenAI) -> tuple[str, str]:
    body = [r.json() for r in fake.requests if r.path.endswith("/chat/completions")][-1]
    system, user = body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    return system["content"], user["content"]


async def test_the_server_offers_code_actions_and_the_rewrite_command(tmp_path: Path) -> None:
    async with initialized_server(tmp_path, CLIENT) as (client, result):
        offered = result.capabilities.code_action_provider
        assert isinstance(offered, lsp.CodeActionOptions)
        assert set(offered.code_action_kinds or []) == {
            lsp.CodeActionKind.QuickFix,
            lsp.CodeActionKind.RefactorRewrite,
        }
        commands = result.capabilities.execute_command_provider
        assert commands is not None and "switchboard.rewrite" in commands.commands
        not_open = await client.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(uri=URI),
                range=FUNCTION,
                context=lsp.CodeActionContext(diagnostics=[]),
            )
        )
        assert list(not_open or []) == []


async def test_a_selection_gets_explain_and_simplify_and_a_problem_gets_fix(editor: Any) -> None:
    session, _, _ = editor
    offered = await actions(session, FUNCTION)
    assert [(a.title, a.kind) for a in offered] == [
        ("Switchboard: explain with comments", lsp.CodeActionKind.RefactorRewrite),
        ("Switchboard: simplify", lsp.CodeActionKind.RefactorRewrite),
    ]
    assert offered[0].command is not None and list(offered[0].command.arguments or []) == [
        {
            "uri": URI,
            "range": {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}},
            "version": 1,
            "action": "explain",
        }
    ]
    problem = lsp.Diagnostic(range=FUNCTION, message="'math' imported but unused\nmore detail")
    with_problem = await actions(session, FUNCTION, [problem, problem])
    assert with_problem[0].title == "Switchboard: fix: 'math' imported but unused (+1)"
    assert with_problem[0].kind == lsp.CodeActionKind.QuickFix
    quick_fixes = await actions(session, FUNCTION, [problem], only=[lsp.CodeActionKind.QuickFix])
    assert [a.kind for a in quick_fixes] == [lsp.CodeActionKind.QuickFix]
    refactors = await actions(session, FUNCTION, [problem], only=[lsp.CodeActionKind.Refactor])
    assert [a.kind for a in refactors] == [lsp.CodeActionKind.RefactorRewrite] * 2
    cursor = lsp.Range(start=FUNCTION.start, end=FUNCTION.start)
    assert await actions(session, cursor) == []


async def test_explain_replaces_the_selection_through_apply_edit(
    editor: Any, fake_openai: FakeOpenAI
) -> None:
    session, edits, _ = editor
    fake_openai.enqueue_scenario(
        Scenario(text=f"```python\n{EXPLAINED}\n```", input_tokens=300, output_tokens=20)
    )
    explain, _ = await actions(session, FUNCTION)
    outcome = await run(session, explain)

    assert outcome["applied"] is True and outcome["model"] == "openai/gpt-4o"
    assert outcome["cost"]["totalUsd"] > 0
    (sent,) = edits
    assert sent.label == "Switchboard: explain with comments"
    (change,) = sent.edit.document_changes or []
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.text_document.uri == URI and change.text_document.version == 1
    (text_edit,) = change.edits
    assert text_edit.range == FUNCTION
    assert text_edit.new_text == EXPLAINED + "\n"  # whole lines keep their last newline

    system, user = prompt_of(fake_openai)
    assert "one fenced code block" in system
    assert "File `calc.py` (python)" in user
    assert "```python\ndef add(a, b):\n    return a + b\n\n```" in user
    assert "import math\n\n<selection>def add(a, b):" in user
    assert "add comments that explain" in user
    usage = [p for m, p in session.notifications if m == "switchboard/usageChanged"]
    assert usage and usage[-1]["last"]["usage"]["inputTokens"] == 300


async def test_fix_sends_the_problems(editor: Any, fake_openai: FakeOpenAI) -> None:
    session, edits, _ = editor
    fake_openai.enqueue_scenario(Scenario(text="```\ndef add(a, b):\n    return a + b\n```"))
    problem = lsp.Diagnostic(range=FUNCTION, message="missing type hints")
    fix = (await actions(session, FUNCTION, [problem]))[0]
    assert (await run(session, fix))["applied"] is True
    _, user = prompt_of(fake_openai)
    assert user.endswith("Fix these problems the editor reports:\n- missing type hints")
    assert len(edits) == 1


async def test_an_instruction_rewrites_the_selection_as_inline_chat_asks(
    editor: Any, fake_openai: FakeOpenAI
) -> None:
    """Editors' inline chat: the user's words, the server's prompt and code extraction."""
    session, edits, _ = editor
    hinted = "def add(a: int, b: int) -> int:\n    return a + b"
    fake_openai.enqueue_scenario(Scenario(text=f"Here it is:\n```python\n{hinted}\n```\nDone."))
    offered = await actions(session, FUNCTION)
    assert all(
        "edit" not in (a.command.arguments or [{}])[0]["action"] for a in offered if a.command
    )
    arguments = {
        "uri": URI,
        "range": {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}},
        "version": 1,
        "action": "edit",
        "instruction": "add type hints",
    }
    outcome = await session.request(
        "workspace/executeCommand",
        lsp.ExecuteCommandParams(command="switchboard.rewrite", arguments=[arguments]),
    )
    assert outcome["applied"] is True
    (sent,) = edits
    assert sent.label == "Switchboard: edit"
    (change,) = sent.edit.document_changes or []
    assert isinstance(change, lsp.TextDocumentEdit)
    assert change.edits[0].new_text == hinted + "\n"
    system, user = prompt_of(fake_openai)
    assert "one fenced code block" in system
    assert user.endswith("Change it as asked: add type hints")


async def test_an_edit_while_the_model_answers_is_never_overwritten(
    editor: Any, fake_openai: FakeOpenAI
) -> None:
    session, edits, _ = editor
    fake_openai.enqueue_scenario(Scenario(text=f"```\n{EXPLAINED}\n```", pieces=20, delay_s=0.1))
    explain, _ = await actions(session, FUNCTION)
    running = asyncio.ensure_future(run(session, explain))
    await until_the_answer_streams(session)
    session.client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text="x = 1\n")],
        )
    )
    outcome = await running
    assert outcome == {
        "applied": False,
        "reason": "the document changed while the model was answering",
        "model": "openai/gpt-4o",
        "cost": outcome["cost"],
    }
    assert edits == []
    assert any("not applied" in m.message for m in session.client.messages)

    # An action offered for version 1 no longer runs at all.
    stale = await run(session, explain)
    assert stale == {
        "applied": False,
        "reason": "the document changed since the action was offered",
    }


async def test_an_edit_the_editor_refuses_is_reported(editor: Any, fake_openai: FakeOpenAI) -> None:
    session, edits, answers = editor
    answers.append(False)
    fake_openai.enqueue_scenario(Scenario(text=f"```\n{EXPLAINED}\n```"))
    _, simplify = await actions(session, FUNCTION)
    outcome = await run(session, simplify)
    assert outcome["applied"] is False and outcome["reason"] == "the user said no"
    assert len(edits) == 1


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ([], "arguments"),
        (["calc.py"], "arguments"),
        (
            [{"uri": URI, "range": {"start": {"line": 0, "character": 0}}, "action": "explain"}],
            "range.end",
        ),
        (
            [
                {
                    "uri": URI,
                    "range": {
                        "start": {"line": 0, "character": 0},
                        "end": {"line": 1, "character": 0},
                    },
                    "action": "dance",
                }
            ],
            "action",
        ),
        (
            [
                {
                    "uri": "file:///work/elsewhere.py",
                    "range": {
                        "start": {"line": 0, "character": 0},
                        "end": {"line": 1, "character": 0},
                    },
                    "action": "explain",
                }
            ],
            "uri",
        ),
        (
            [
                {
                    "uri": URI,
                    "range": {
                        "start": {"line": 0, "character": 0},
                        "end": {"line": 1, "character": 0},
                    },
                    "action": "edit",
                }
            ],
            "instruction",
        ),
    ],
)
async def test_bad_arguments_name_the_field(editor: Any, arguments: list[Any], field: str) -> None:
    session, _, _ = editor
    with pytest.raises(JsonRpcException) as caught:
        await session.request(
            "workspace/executeCommand",
            lsp.ExecuteCommandParams(command="switchboard.rewrite", arguments=arguments),
        )
    assert caught.value.code == -32602
    assert caught.value.data["field"].startswith(field.split(".")[0])
    assert field in str(caught.value)
