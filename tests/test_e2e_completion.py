"""Completions as you type, through the real server over stdio, against loopback fakes.

`textDocument/inlineCompletion` and `textDocument/completion` give the same
suggestion: FIM on each FIM API (the request body carries the text before
and after the cursor), the chat fallback elsewhere. A newer request for the
document closes the older one's upstream; typing through a suggestion is
answered without the provider; the `[completion]` table and
didChangeConfiguration decide the model, the mode, the debounce and the
languages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.copilot import FakeCopilot
from tests.fakes.deepseek import FakeDeepSeek
from tests.fakes.http import FakeHTTPServer, RecordedRequest
from tests.fakes.local import FakeLocal
from tests.fakes.mistral import FakeMistral
from tests.fakes.scenario import Scenario
from tests.lsp_harness import Session, initialized_server, open_session

URI = "file:///work/calc.py"
BEFORE = "def add(a, b):\n    "
AFTER = "\n\nprint(add(1, 2))\n"
TEXT = BEFORE + AFTER
CURSOR = lsp.Position(line=1, character=4)
SLOW = "return a + b\n\nprint('more')\n" + "# padding\n" * 6


def completion_table(**values: Any) -> str:
    settings = {"debounce_ms": 0, **values}
    lines = ["[completion]"]
    for key, value in settings.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, str) and not value.startswith("{"):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def open_document(
    session: Session, text: str = TEXT, uri: str = URI, language: str = "python"
) -> None:
    session.client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
        )
    )


def insert(session: Session, at: lsp.Position, text: str, version: int, uri: str = URI) -> None:
    session.client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                lsp.TextDocumentContentChangePartial(range=lsp.Range(start=at, end=at), text=text)
            ],
        )
    )


def send_inline(
    session: Session,
    position: lsp.Position = CURSOR,
    uri: str = URI,
    trigger: lsp.InlineCompletionTriggerKind = lsp.InlineCompletionTriggerKind.Automatic,
) -> asyncio.Future[Any]:
    """The request, sent now; its answer when awaited."""
    params = lsp.InlineCompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        position=position,
        context=lsp.InlineCompletionContext(trigger_kind=trigger),
    )
    sent = session.client.protocol.send_request(lsp.TEXT_DOCUMENT_INLINE_COMPLETION, params)
    return asyncio.wrap_future(sent)


async def inline(
    session: Session,
    position: lsp.Position = CURSOR,
    uri: str = URI,
    trigger: lsp.InlineCompletionTriggerKind = lsp.InlineCompletionTriggerKind.Automatic,
) -> lsp.InlineCompletionList:
    answer = await send_inline(session, position, uri, trigger)
    assert isinstance(answer, lsp.InlineCompletionList)
    return answer


def texts(answer: lsp.InlineCompletionList) -> list[str]:
    return [str(item.insert_text) for item in answer.items]


def sent_around_cursor(request: RecordedRequest) -> tuple[str, str]:
    body = request.json()
    return body["prompt"], body["suffix"]


@pytest.fixture(scope="module")
def mistral_server() -> Iterator[FakeMistral]:
    with FakeMistral() as running:
        yield running


@pytest.fixture
def mistral(mistral_server: FakeMistral) -> FakeMistral:
    for recorded in (
        mistral_server.requests,
        mistral_server.disconnects,
        mistral_server.streams_started,
        mistral_server.scenarios,
    ):
        recorded.clear()
    return mistral_server


def mistral_config(mistral: FakeMistral, **completion: Any) -> str:
    return f'[providers.mistral]\nbase_url = "{mistral.url}/v1"\n\n' + completion_table(
        **{"model": "mistral/codestral-2508", **completion}
    )


@pytest.fixture
async def session(tmp_path: Path, mistral: FakeMistral) -> AsyncIterator[Session]:
    env = {"MISTRAL_API_KEY": mistral.api_key}
    async with open_session(tmp_path, mistral_config(mistral), env) as opened:
        open_document(opened)
        yield opened


# ---- capabilities ----------------------------------------------------------------------


async def test_the_server_advertises_inline_and_plain_completion(tmp_path: Path) -> None:
    async with initialized_server(tmp_path) as (_, result):
        capabilities = result.capabilities
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None


# ---- fill-in-the-middle on each FIM API ---------------------------------------------------


async def test_codestral_fills_in_at_the_cursor(session: Session, mistral: FakeMistral) -> None:
    mistral.enqueue_scenario(Scenario(text="return a + b", input_tokens=30, output_tokens=5))
    answer = await inline(session)
    usage = await session.request("switchboard/usage", {})
    history = await session.request("switchboard/history", {})
    assert texts(answer) == ["return a + b"]
    assert answer.items[0].range == lsp.Range(start=CURSOR, end=CURSOR)
    assert usage["session"]["inputTokens"] == 30  # into the session's ledger
    assert [name for name, _ in session.notifications] == ["switchboard/usageChanged"]
    assert history["calls"] == []  # but not into the journal
    (sent,) = mistral.fims()
    assert sent_around_cursor(sent) == (BEFORE, AFTER)
    assert sent.json()["max_tokens"] == 128


async def fim_session(
    tmp_path: Path, config: str, env: dict[str, str], fake: FakeHTTPServer
) -> tuple[list[str], RecordedRequest]:
    async with open_session(tmp_path, config, env) as opened:
        open_document(opened)
        answer = await inline(opened)
    fims = [r for r in fake.requests if r.method == "POST" and "chat" not in r.path]
    assert len(fims) == 1, [r.path for r in fake.requests]
    return texts(answer), fims[0]


async def test_deepseek_fills_in_through_its_beta_endpoint(tmp_path: Path) -> None:
    with FakeDeepSeek() as fake:
        fake.enqueue_scenario(Scenario(text="return a + b"))
        config = f'[providers.deepseek]\nbase_url = "{fake.url}"\n\n' + completion_table(
            model="deepseek/deepseek-v4-flash"
        )
        found, sent = await fim_session(tmp_path, config, {"DEEPSEEK_API_KEY": fake.api_key}, fake)
    assert found == ["return a + b"]
    assert sent_around_cursor(sent) == (BEFORE, AFTER)


async def test_a_local_server_fills_in_through_v1_completions(tmp_path: Path) -> None:
    with FakeLocal(models=("qwen2.5-coder:7b",), ollama=True) as fake:
        fake.enqueue_completion(Scenario(text="return a + b", pieces=3))
        config = f'[providers.ollama]\nbase_url = "{fake.url}"\n\n' + completion_table(
            model="ollama/qwen2.5-coder:7b"
        )
        found, sent = await fim_session(tmp_path, config, {}, fake)
    assert found == ["return a + b"]
    assert sent.path.endswith("/v1/completions")
    assert sent_around_cursor(sent) == (BEFORE, AFTER)


async def test_copilot_fills_in_with_the_subscription(tmp_path: Path) -> None:
    with FakeCopilot() as fake:
        fake.enqueue_completion(Scenario(text="return a + b", pieces=4))
        config = "\n".join(
            [
                "[providers.copilot]",
                f'base_url = "{fake.url}"',
                f'github_api_url = "{fake.url}"',
                "",
                completion_table(model="copilot/gpt-41-copilot"),
            ]
        )
        async with open_session(tmp_path, config, {"GITHUB_COPILOT_TOKEN": fake.github_token}) as s:
            open_document(s)
            answer = await inline(s)
        (sent,) = fake.completions()
    assert texts(answer) == ["return a + b"]
    assert sent_around_cursor(sent) == (BEFORE, AFTER)


# ---- the chat fallback -----------------------------------------------------------------


async def test_a_chat_model_answers_without_fences_or_the_suffix(tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        answer_text = "```python\n    return a + b\n\nprint(add(1, 2))\n```\n"
        fake.enqueue_scenario(Scenario(text=answer_text, pieces=5))
        config = f'[providers.anthropic]\nbase_url = "{fake.url}"\n\n' + completion_table(
            model="anthropic/claude-haiku-5-5", mode="block"
        )
        async with open_session(tmp_path, config, {"ANTHROPIC_API_KEY": fake.api_key}) as s:
            open_document(s)
            answer = await inline(s)
            usage = await s.request("switchboard/usage", {})
        prompt = str(fake.requests[-1].json()["messages"][0]["content"])
    assert texts(answer) == ["return a + b"]
    assert "def add(a, b):" in prompt and "print(add(1, 2))" in prompt
    assert usage["session"]["requests"] == 1  # completions go into the session ledger


# ---- fast and cheap --------------------------------------------------------------------


async def test_a_newer_request_supersedes_the_one_in_flight_and_closes_its_upstream(
    session: Session, mistral: FakeMistral
) -> None:
    mistral.enqueue_scenario(Scenario(text=SLOW, pieces=12, delay_s=0.25))
    mistral.enqueue_scenario(Scenario(text="return b + a"))
    first = send_inline(session)
    while not mistral.streams_started:
        await asyncio.sleep(0.01)
    insert(session, CURSOR, "r", version=2)  # no $/cancelRequest: only the newer request
    newer = await inline(session, lsp.Position(line=1, character=5))
    assert texts(await first) == []
    assert texts(newer) == ["return b + a"]
    assert mistral.wait_for_disconnect(timeout_s=5) is not None
    assert len(mistral.fims()) == 2


async def test_a_cancelled_request_closes_its_upstream(
    session: Session, mistral: FakeMistral
) -> None:
    mistral.enqueue_scenario(Scenario(text=SLOW, pieces=12, delay_s=0.25))
    params = lsp.InlineCompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri=URI),
        position=CURSOR,
        context=lsp.InlineCompletionContext(trigger_kind=lsp.InlineCompletionTriggerKind.Invoked),
    )
    protocol = session.client.protocol
    answer = asyncio.wrap_future(
        protocol.send_request(lsp.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="cancel-me")
    )
    while not mistral.streams_started:
        await asyncio.sleep(0.01)
    protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcException) as raised:
        await answer
    assert raised.value.code == lsp.LSPErrorCodes.RequestCancelled
    assert mistral.wait_for_disconnect(timeout_s=5) is not None


async def test_typing_through_a_suggestion_is_served_without_the_provider(
    session: Session, mistral: FakeMistral
) -> None:
    mistral.enqueue_scenario(Scenario(text="return a + b"))
    assert texts(await inline(session)) == ["return a + b"]
    insert(session, CURSOR, "ret", version=2)
    typed_through = await inline(session, lsp.Position(line=1, character=7))
    assert texts(typed_through) == ["urn a + b"]
    assert len(mistral.fims()) == 1
    insert(session, lsp.Position(line=1, character=7), "x", version=3)  # now off the suggestion
    mistral.enqueue_scenario(Scenario(text="ure"))
    assert texts(await inline(session, lsp.Position(line=1, character=8))) == ["ure"]
    assert len(mistral.fims()) == 2


async def test_completion_items_carry_the_suggestion_as_a_plain_text_edit(
    session: Session, mistral: FakeMistral
) -> None:
    insert(session, CURSOR, "ret", version=2)
    mistral.enqueue_scenario(Scenario(text="urn a + b"))
    position = lsp.Position(line=1, character=7)
    answer = await session.client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=URI), position=position)
    )
    assert isinstance(answer, lsp.CompletionList) and answer.is_incomplete
    (item,) = answer.items
    assert item.label == "return a + b"
    assert item.filter_text == "return a + b"
    assert item.insert_text_format == lsp.InsertTextFormat.PlainText
    assert isinstance(item.text_edit, lsp.TextEdit)
    assert item.text_edit.new_text == "return a + b"
    assert item.text_edit.range == lsp.Range(start=CURSOR, end=position)
    # The inline request at the same place is the same suggestion, from the cache.
    assert texts(await inline(session, position)) == ["urn a + b"]
    assert len(mistral.fims()) == 1


async def test_line_mode_answers_the_first_line_and_closes_the_stream(
    session: Session, mistral: FakeMistral
) -> None:
    mistral.enqueue_scenario(Scenario(text=SLOW, pieces=12, delay_s=0.25))
    assert texts(await inline(session)) == ["return a + b"]
    assert mistral.wait_for_disconnect(timeout_s=5) is not None


async def test_the_debounce_drops_a_request_superseded_while_it_waits(
    tmp_path: Path, mistral: FakeMistral
) -> None:
    env = {"MISTRAL_API_KEY": mistral.api_key}
    async with open_session(tmp_path, mistral_config(mistral, debounce_ms=1500), env) as s:
        open_document(s)
        mistral.enqueue_scenario(Scenario(text="return a + b"))
        first = send_inline(s)
        insert(s, CURSOR, "r", version=2)
        newer = await inline(s, lsp.Position(line=1, character=5))
        assert texts(await first) == []
    assert texts(newer) == ["return a + b"]
    assert len(mistral.fims()) == 1


# ---- configuration ---------------------------------------------------------------------


async def test_did_change_configuration_turns_completion_on_and_to_block_mode(
    tmp_path: Path, mistral: FakeMistral
) -> None:
    env = {"MISTRAL_API_KEY": mistral.api_key}
    async with open_session(tmp_path, mistral_config(mistral, enabled=False), env) as s:
        open_document(s)
        assert texts(await inline(s)) == []
        assert mistral.requests == []
        settings = {"completion": {"enabled": True, "mode": "block", "maxTokens": 40}}
        s.client.workspace_did_change_configuration(
            lsp.DidChangeConfigurationParams(settings={"switchboard": settings})
        )
        mistral.enqueue_scenario(Scenario(text="total = a + b\n    return total\n\ndef other():"))
        answer = await inline(s)
    assert texts(answer) == ["total = a + b\n    return total"]
    (sent,) = mistral.fims()
    assert sent.json()["max_tokens"] == 40
    assert sent.json()["stop"] == ["\n\n\n"]


async def test_excluded_languages_get_no_completion(tmp_path: Path, mistral: FakeMistral) -> None:
    config = mistral_config(mistral, languages='{ exclude = ["markdown"] }')
    async with open_session(tmp_path, config, {"MISTRAL_API_KEY": mistral.api_key}) as s:
        open_document(s, "# Notes\n", "file:///work/notes.md", "markdown")
        notes = await inline(s, lsp.Position(line=1, character=0), "file:///work/notes.md")
        assert mistral.requests == []
        open_document(s)
        mistral.enqueue_scenario(Scenario(text="return a + b"))
        code = await inline(s)
    assert (texts(notes), texts(code)) == ([], ["return a + b"])


async def test_an_explicit_request_is_answered_with_completion_off_and_without_waiting(
    tmp_path: Path, mistral: FakeMistral
) -> None:
    config = mistral_config(mistral, enabled=False, debounce_ms=60_000)
    async with open_session(tmp_path, config, {"MISTRAL_API_KEY": mistral.api_key}) as s:
        open_document(s)
        assert texts(await inline(s)) == []  # as you type: off
        mistral.enqueue_scenario(Scenario(text="return a + b"))
        # A minute's debounce would outlast the test's timeout: an explicit ask skips it.
        asked = await inline(s, trigger=lsp.InlineCompletionTriggerKind.Invoked)
    assert texts(asked) == ["return a + b"]
    assert len(mistral.fims()) == 1


async def test_the_prompt_names_a_file_outside_the_workspace_by_its_name_alone(
    tmp_path: Path,
) -> None:
    elsewhere = "file:///home/someone/private/notes/calc.py"
    with FakeAnthropic() as fake:
        fake.enqueue_scenario(Scenario(text="return a + b"))
        config = f'[providers.anthropic]\nbase_url = "{fake.url}"\n\n' + completion_table(
            model="anthropic/claude-haiku-5-5"
        )
        async with open_session(tmp_path, config, {"ANTHROPIC_API_KEY": fake.api_key}) as s:
            open_document(s, uri=elsewhere)
            await inline(s, uri=elsewhere)
        sent = fake.requests[-1]
    assert "/home/someone" not in sent.body.decode()
    assert "calc.py" in str(sent.json()["messages"][0]["content"]) + str(sent.json()["system"])


# ---- errors ----------------------------------------------------------------------------


async def test_bad_positions_and_documents_are_invalid_params_naming_the_field(
    session: Session,
) -> None:
    with pytest.raises(JsonRpcException) as raised:
        await inline(session, lsp.Position(line=40, character=0))
    assert raised.value.code == -32602
    assert "position" in str(raised.value)
    with pytest.raises(JsonRpcException) as raised:
        await inline(session, uri="file:///work/never-opened.py")
    assert raised.value.code == -32602
    assert "textDocument.uri" in str(raised.value)


async def test_without_credentials_the_answer_is_empty_and_logged_once(
    tmp_path: Path, mistral: FakeMistral
) -> None:
    async with open_session(tmp_path, mistral_config(mistral), {}) as s:
        open_document(s)
        assert texts(await inline(s)) == []
        insert(s, CURSOR, "r", version=2)
        assert texts(await inline(s, lsp.Position(line=1, character=5))) == []
        await s.request("switchboard/usage", {})  # the log lines before it have arrived
        logged = [m.message for m in s.client.log_messages if "completion failed" in m.message]
        shown = list(s.client.messages)
    assert len(logged) == 1 and "MISTRAL_API_KEY" in logged[0]
    assert not [m for m in shown if "completion" in m.message.lower()]
    assert mistral.requests == []
