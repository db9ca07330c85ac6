"""golem:llm's fields over the real server: image `detail`, tool-result timing and codes,
`usage.totalTokens`, the answer's provider id, timestamp and metadata, the `other` stop
reason, the `unknown` error code, and the provider's raw error body in error data, with
the API key (a canary) nowhere in what the editor or the disk receives."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.http import Reply
from tests.fakes.openai import FakeOpenAI
from tests.lsp_harness import open_session

MODEL = "openai/gpt-4o"
CANARY = "cnry-5e0b1d7a9c3f42e6b8d0a2c4e6f81357"
PNG = "iVBORw0KGgo="
HISTORY = [
    {"role": "user", "content": "Look at this and list the files."},
    {
        "role": "assistant",
        "content": [{"type": "toolUse", "id": "call_1", "name": "ls", "input": {"dir": "."}}],
    },
    {
        "role": "user",
        "content": [
            {
                "type": "toolResult",
                "toolUseId": "call_1",
                "content": "permission denied",
                "isError": True,
                "errorCode": "EACCES",
                "executionTimeMs": 4321,
            },
            {"type": "image", "mediaType": "image/png", "data": PNG, "detail": "low"},
        ],
    },
]


def sse(*chunks: dict[str, object]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


def novel_finish_stream() -> bytes:
    head = {"id": "chatcmpl-novel", "object": "chat.completion.chunk", "model": "gpt-4o"}
    return sse(
        {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}}]},
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "paused_by_policy"}]},
        {**head, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1}},
    )


async def test_result_fields_stop_other_and_a_redacted_unknown_error(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.accepted_tokens.append(CANARY)
    config = f'[providers.openai]\nbase_url = "{fake_openai.url}"\n'
    async with open_session(tmp_path, config, {"OPENAI_API_KEY": CANARY}) as session:
        result = await session.request(
            "switchboard/chat", {"model": MODEL, "messages": HISTORY, "partialResultToken": "r"}
        )
        sent = fake_openai.requests[-1].json()

        fake_openai.enqueue_replay(novel_finish_stream())
        other = await session.request(
            "switchboard/chat",
            {"model": MODEL, "messages": HISTORY[:1], "partialResultToken": "o"},
        )

        teapot = {
            "error": {"message": f"key {CANARY} may not brew", "type": "teapot", "code": None},
            "echo": {"api_key": CANARY, "attempt": 1},
        }
        fake_openai.enqueue(Reply.json(teapot, 418))
        with pytest.raises(JsonRpcException) as failed:
            await session.request(
                "switchboard/chat",
                {"model": MODEL, "messages": HISTORY[:1], "partialResultToken": "e"},
            )
        streamed = json.dumps([session.events(t) for t in ("r", "o", "e")])

    # The image goes at the detail asked; the tool result's time and code stay here.
    image = sent["messages"][-1]["content"][0]
    assert image["image_url"]["detail"] == "low"
    wire = json.dumps(sent)
    assert "EACCES" not in wire and "4321" not in wire

    usage = result["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 0
    assert result["providerId"].startswith("chatcmpl-") and result["id"].startswith("sb-")
    assert datetime.fromisoformat(result["timestamp"]).tzinfo is not None
    metadata = result["providerMetadata"]
    assert metadata["system_fingerprint"].startswith("fp_")
    assert metadata["service_tier"] == "default" and isinstance(metadata["created"], int)

    assert other["stopReason"] == "other" and other["providerId"] == "chatcmpl-novel"
    assert other["usage"]["totalTokens"] == 10

    error = failed.value
    assert error.data["code"] == "unknown" and error.data["status"] == 418
    raw = error.data["providerError"]
    assert raw["error"]["type"] == "teapot" and raw["error"]["code"] is None
    assert raw["echo"] == {"api_key": "[REDACTED]", "attempt": 1}
    assert raw["error"]["message"] == "key [REDACTED] may not brew"

    # The canary key is nowhere: not in the error, the stream, or any file the server wrote.
    assert CANARY not in json.dumps(error.data) + error.message + streamed
    for path in session.data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
