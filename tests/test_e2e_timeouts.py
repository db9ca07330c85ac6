"""Stalls surface within the provider's configured limits, over the real server.

A stall before the headers once took 903 s to report (a 300 s read timeout, three
attempts), a stall mid-stream 301 s, and a drip of bytes never timed out. With small
per-provider limits in the config, each case must end in a `timeout` error that names
the limit that fired and its value; the assertions are on which limit, not on time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.http import Reply
from tests.lsp_harness import Session, open_session

USER = [{"role": "user", "content": "hi"}]
MODEL = "anthropic/claude-sonnet-4-5"


def anthropic_stream(text_pieces: list[str]) -> bytes:
    message = {
        "id": "msg_01Slow",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 9, "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, object]]] = [
        ("message_start", {"type": "message_start", "message": message}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        ),
    ]
    for piece in text_pieces:
        delta = {"type": "text_delta", "text": piece}
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


CONFIG = """
[providers.anthropic]
base_url = "{url}"
headers_timeout = 0.5
stall_timeout = 0.5
total_timeout = 2
"""


async def failed_chat(session: Session, token: str) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as failed:
        await session.request(
            "switchboard/chat", {"model": MODEL, "messages": USER, "partialResultToken": token}
        )
    assert failed.value.data["code"] == "timeout", failed.value.data
    return failed.value


def messages_calls(fake: FakeAnthropic) -> int:
    return sum(1 for r in fake.requests if r.path.partition("?")[0] == "/v1/messages")


async def test_each_stall_fires_its_own_limit(
    tmp_path: Path, fake_anthropic: FakeAnthropic
) -> None:
    keys = {"ANTHROPIC_API_KEY": fake_anthropic.api_key}
    async with open_session(tmp_path, CONFIG.format(url=fake_anthropic.url), keys) as session:
        # Before the headers: the headers limit, retried once (a third attempt would get
        # the fake's default answer, and the chat would not fail).
        fake_anthropic.enqueue(Reply(hang_s=5.0), Reply(hang_s=5.0))
        error = await failed_chat(session, "headers")
        assert "headers_timeout = 0.5" in error.message
        retries = [e for e in session.events("headers") if e["type"] == "retry"]
        assert len(retries) == 1 and "headers_timeout" in retries[0]["reason"]
        assert messages_calls(fake_anthropic) == 2

        # Mid-stream: the stall limit, after the first words reached the editor.
        body = anthropic_stream(["Hello", " there", "!"])
        first = body.index(b"event: content_block_delta", body.index(b"Hello"))
        fake_anthropic.enqueue_replay(body, chunk_size=first, delay_s=5.0)
        error = await failed_chat(session, "stall")
        assert "stall_timeout = 0.5" in error.message
        assert session.texts("stall") == "Hello"
        assert [e for e in session.events("stall") if e["type"] == "retry"] == []
        assert messages_calls(fake_anthropic) == 3

        # A drip: a byte every 20 ms never trips the stall limit; the total limit ends it.
        drip = anthropic_stream(["word "] * 40)
        fake_anthropic.enqueue_replay(drip, chunk_size=1, delay_s=0.02)
        error = await failed_chat(session, "drip")
        assert "total_timeout = 2" in error.message
        assert [e for e in session.events("drip") if e["type"] == "retry"] == []
        assert messages_calls(fake_anthropic) == 4

        # And the next chat goes through as usual.
        fake_anthropic.enqueue_replay(anthropic_stream(["fine"]))
        result = await session.request("switchboard/chat", {"model": MODEL, "messages": USER})
        assert result["content"][0]["text"] == "fine"
