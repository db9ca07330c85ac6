"""Every recorded Anthropic and OpenAI stream, relayed by the real server a few bytes at a time.

The decoders are checked against the official SDKs on these same bodies
(tests/test_*_adapter.py). Here the whole path is: fake HTTP server → httpx →
SSE framing → adapter → engine → $/progress → LSP client, with the body
arriving in 5-byte pieces, and the answer must equal the one decoded from
the whole body in one go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException
from switchboard.protocol.chat import ErrorEvent
from switchboard.providers.adapters import adapter_for
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine
from switchboard.providers.wire.accumulator import ChatAccumulator
from switchboard.providers.wire.sse import SSEDecoder

from tests.corpus import body_bytes, wire_files
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.lsp_harness import Session

CASES = [
    *[
        ("anthropic", "anthropic/claude-sonnet-4-5", p)
        for p in wire_files("anthropic", (".sse", ".bin"))
    ],
    *[("openai", "openai/gpt-4o", p) for p in wire_files("openai-chat", (".sse",))],
    *[("openai", "openai/gpt-4o", p) for p in wire_files("openai-compat", (".sse",))],
]


def decoded_whole(kind: str, model: str, path: Path) -> tuple[dict[str, Any], ErrorEvent | None]:
    engine = ChatEngine(Config())
    target = engine.resolve(model)
    decoder = adapter_for(kind).decoder(target)
    framer = SSEDecoder()
    accumulator = ChatAccumulator("expected", model)
    events = []
    for wire_event in [*framer.feed(body_bytes(path)), *framer.close()]:
        events += decoder.feed(wire_event)
    events += decoder.close()
    for event in events:
        accumulator.add(event)
    return accumulator.result(None).to_wire(), accumulator.error


def answer_shape(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": result["content"],
        "stopReason": result["stopReason"],
        "usage": result["usage"],
    }


@pytest.mark.skipif(not CASES, reason="wire corpus not found in ../shared/corpus/wire")
@pytest.mark.parametrize(
    ("kind", "model", "path"), CASES, ids=[f"{c[0]}:{c[2].name}" for c in CASES]
)
async def test_recorded_stream_through_the_server(
    session: Session,
    fake_anthropic: FakeAnthropic,
    fake_openai: FakeOpenAI,
    kind: str,
    model: str,
    path: Path,
) -> None:
    expected, expected_error = decoded_whole(kind, model, path)
    fake = fake_anthropic if kind == "anthropic" else fake_openai
    fake.enqueue_replay(path, chunk_size=5)
    params = {
        "model": model,
        "messages": [{"role": "user", "content": "replay"}],
        "partialResultToken": "t",
    }
    if expected_error is not None:
        with pytest.raises(JsonRpcException) as failure:
            await session.request("switchboard/chat", params)
        assert failure.value.data["code"] == expected_error.code
        return
    result = await session.request("switchboard/chat", params)
    if expected["usage"] == {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}:
        # The body carries no usage: the server counts locally and says so.
        assert result["usage"]["estimated"] is True and result["usage"]["outputTokens"] > 0
        assert result["warnings"] and "counted locally" in result["warnings"][0]
        expected["usage"] = result["usage"]
    assert answer_shape(result) == answer_shape(expected)
    final_text = "".join(p["text"] for p in result["content"] if p["type"] == "text")
    assert session.texts("t") == final_text
    # A call whose input did not parse streams as toolUseJsonParseError and stays in the
    # content with input null.
    streamed_tools = [
        (e["name"], e.get("input"))
        for e in session.events("t")
        if e["type"] in ("toolUse", "toolUseJsonParseError")
    ]
    assert streamed_tools == [
        (p["name"], p["input"]) for p in result["content"] if p["type"] == "toolUse"
    ]
