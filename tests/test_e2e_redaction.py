"""No key leaves through a provider's in-stream error, whichever provider sent it.

Each provider fake answers a chat with a 200 stream that starts an answer and then
reports an error, in its own wire format, whose message quotes the credential the
request carried (a canary: the key, the token, the AWS secret). Over the real server,
the key must be masked in the `$/progress` error event, in the final JSON-RPC error, in
window/logMessage, on stderr, in the log file and in the journal; the masks themselves
must be there, so the test fails if the error never got through at all.

The keys are canaries of no well-known shape: they are masked because the server
registered them, not because they look like keys.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.every_provider import Fakes, config_for, running_fakes, server_env_for
from tests.fakes.bedrock import DEFAULT_KEY
from tests.fakes.http import RecordedRequest, Reply
from tests.fakes.openai_responses import Failure
from tests.fakes.scenario import Scenario
from tests.lsp_harness import Session, open_session
from tests.test_cli_accounts import run_cli

MASK = "[REDACTED]"
USER = [{"role": "user", "content": "hi"}]
PARTIAL = "Partial answer "


def canary(name: str) -> str:
    return f"Canary{name.title()}{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    with running_fakes(ollama_key=canary("ollama")) as found:
        for name in ("anthropic", "openai_chat", "openai", "gemini", "azure", "xai", "openrouter"):
            getattr(found, name).api_key = canary(name)
        yield found


# ---- in-stream errors, in each wire format ------------------------------------------------


def presented(request: RecordedRequest) -> str:
    """The credential the request carried."""
    for header in ("x-api-key", "api-key", "x-goog-api-key"):
        if header in request.headers:
            return request.headers[header]
    authorization = request.headers.get("authorization", "")
    assert authorization.lower().startswith("bearer "), request.headers
    return authorization[len("bearer ") :]


def leak(secret: str) -> str:
    return f"upstream failed for the key {secret} (was it revoked?)"


def sse(*events: tuple[str | None, dict[str, Any]]) -> Reply:
    body = b""
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        body += f"{head}data: {json.dumps(data)}\n\n".encode()
    return Reply.sse(body)


def anthropic_error(request: RecordedRequest) -> Reply:
    message = {
        "id": "msg_01Leak",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    return sse(
        ("message_start", {"type": "message_start", "message": message}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": PARTIAL},
            },
        ),
        (
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": leak(presented(request))},
            },
        ),
    )


def openai_chat_error(request: RecordedRequest) -> Reply:
    chunk = {
        "id": "chatcmpl-leak",
        "object": "chat.completion.chunk",
        "created": 1730000000,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": PARTIAL}, "finish_reason": None}
        ],
    }
    error = {"error": {"message": leak(presented(request)), "type": "server_error", "code": None}}
    return sse((None, chunk), (None, error))


def gemini_error(request: RecordedRequest) -> Reply:
    chunk = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": PARTIAL}]}, "index": 0}],
        "modelVersion": "gemini-2.5-flash",
    }
    error = {"error": {"code": 500, "message": leak(presented(request)), "status": "INTERNAL"}}
    return sse((None, chunk), (None, error))


#: Queues a provider's in-stream error; gives back how to read the secret it quoted.
Enqueue = Callable[[Any], Callable[[], str]]


def by_responder(make: Callable[[RecordedRequest], Reply]) -> Enqueue:
    """The error quotes whatever credential the chat request carried."""

    def enqueue(fake: Any) -> Callable[[], str]:
        seen: list[str] = []

        def answer(request: RecordedRequest) -> Reply:
            seen.append(presented(request))
            return make(request)

        fake.enqueue(answer)
        return lambda: seen[0]

    return enqueue


def responses_failure(fake: Any) -> Callable[[], str]:
    fake.enqueue_failure(Failure(message=leak(fake.api_key)), Scenario(text=PARTIAL))
    return lambda: str(fake.api_key)


def bedrock_exception(fake: Any) -> Callable[[], str]:
    # SigV4 never sends the secret; the server holds it, and an error could still quote it.
    fake.enqueue_stream_exception(
        "internalServerException", leak(DEFAULT_KEY.secret_key), Scenario(text=PARTIAL)
    )
    return lambda: DEFAULT_KEY.secret_key


# model id → (the fake's name, how its in-stream error is queued)
TARGETS: dict[str, tuple[str, Enqueue]] = {
    "anthropic/claude-sonnet-4-5": ("anthropic", by_responder(anthropic_error)),
    "openai-chat/gpt-4o": ("openai_chat", by_responder(openai_chat_error)),
    "openai/gpt-6.2-sol": ("openai", responses_failure),
    "gemini/gemini-2.5-flash": ("gemini", by_responder(gemini_error)),
    "vertex/gemini-2.5-pro": ("gemini", by_responder(gemini_error)),
    "vertex/claude-sonnet-4-5@20250929": ("gemini", by_responder(anthropic_error)),
    "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0": ("bedrock", bedrock_exception),
    "azure/gpt-4o": ("azure", by_responder(openai_chat_error)),
    "xai/grok-4": ("xai", by_responder(openai_chat_error)),
    "openrouter/anthropic/claude-sonnet-4.5": ("openrouter", by_responder(openai_chat_error)),
    "copilot/gpt-5-mini": ("copilot", by_responder(openai_chat_error)),
    "ollama/llama3.2": ("ollama", by_responder(openai_chat_error)),
}


def everything_shown(session: Session) -> str:
    shown = [json.dumps(session.partials, default=str)]
    shown += [m.message for m in session.client.messages]
    shown += [m.message for m in session.client.log_messages]
    return "\n".join(shown)


@pytest.mark.parametrize("model", list(TARGETS))
async def test_an_in_stream_error_never_carries_the_key(
    tmp_path: Path, fakes: Fakes, model: str, capfd: pytest.CaptureFixture[str]
) -> None:
    name, enqueue = TARGETS[model]
    key_file, env = server_env_for(tmp_path, fakes)
    config = config_for(fakes, key_file)
    async with open_session(tmp_path, config, env) as session:
        quoted = enqueue(getattr(fakes, name))
        with pytest.raises(JsonRpcException) as failed:
            await session.request(
                "switchboard/chat", {"model": model, "messages": USER, "partialResultToken": 1}
            )
        secret = quoted()
        assert len(secret) >= 16

        events = session.events(1)
        errors = [e for e in events if e["type"] == "error"]
        assert len(errors) == 1, events
        assert MASK in errors[0]["message"] and secret not in errors[0]["message"]
        assert session.texts(1) == PARTIAL

        error = failed.value
        assert MASK in error.message and secret not in error.message
        assert secret not in json.dumps(error.data)
        assert secret not in everything_shown(session)

    captured = capfd.readouterr()
    assert secret not in captured.out + captured.err
    files = [path for path in session.data_dir.rglob("*") if path.is_file()]
    logs = [path for path in files if path.name.startswith("switchboard.log")]
    assert logs, "no log file was written"
    assert any(MASK.encode() in path.read_bytes() for path in logs), "the failure was not logged"
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


# ---- passwords inside URLs ------------------------------------------------------------------


async def test_a_password_in_a_base_url_is_masked_in_providers_and_doctor(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    password = canary("password")
    config = (
        f'[providers.openai]\nbase_url = "https://proxy-user:{password}@proxy.example/v1"\n'
        f'[providers.ollama]\nbase_url = "http://me:{password}@127.0.0.1:9/v1"\n'
    )
    async with open_session(tmp_path, config) as session:
        listed = await session.request("switchboard/providers", {})
        urls = {p["id"]: p["baseUrl"] for p in listed["providers"]}
        assert urls["openai"] == f"https://proxy-user:{MASK}@proxy.example/v1"
        assert urls["ollama"] == f"http://me:{MASK}@127.0.0.1:9/v1"
        assert password not in json.dumps(listed) + everything_shown(session)

    (tmp_path / "cli").mkdir()
    code, out, err = await run_cli(tmp_path / "cli", config, "doctor")
    assert f"https://proxy-user:{MASK}@proxy.example/v1" in out, (code, out, err)
    assert password not in out + err
    captured = capfd.readouterr()
    assert password not in captured.out + captured.err
    for path in session.data_dir.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
