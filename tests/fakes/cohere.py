"""A loopback fake of Cohere's Chat API v2 (`POST /v2/chat`), for the example provider plugin.

Streams as api.cohere.com does: `event: <type>` / `data: {"type": <type>, ...}` pairs,
message-start, then content-start/-delta/-end for the text, tool-plan-delta,
tool-call-start/-delta/-end per call (arguments in fragments), and message-end with
the finish reason and usage (`billed_units` and `tokens`). Without `stream` it answers
the whole message as JSON.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from .http import FakeHTTPServer, RecordedRequest, Reply
from .scenario import Scenario

_FINISH = {
    "endTurn": "COMPLETE",
    "stopSequence": "STOP_SEQUENCE",
    "maxTokens": "MAX_TOKENS",
    "toolUse": "TOOL_CALL",
}
_ARGUMENT_FRAGMENT = 6
MODELS = ("command-a-03-2025", "command-a-vision-07-2025", "command-r-08-2024")


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    data = json.dumps({"type": kind, **payload}, separators=(",", ":"))
    return f"event: {kind}\ndata: {data}\n\n".encode()


class FakeCohere(FakeHTTPServer):
    api_key = "swb-fake-cohere-" + "0123456789abcdef"

    def __init__(self) -> None:
        super().__init__()
        self.scenarios: list[Scenario] = []

    def __enter__(self) -> FakeCohere:
        self.start()
        return self

    def enqueue_scenario(self, scenario: Scenario) -> None:
        self.scenarios.append(scenario)

    def chats(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == "/v2/chat"]

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply.json({"message": "invalid api token"}, 401)
        if request.method != "POST" or urlsplit(request.path).path != "/v2/chat":
            return Reply.json({"message": "Not Found"}, 404)
        try:
            body = request.json()
        except ValueError:
            return Reply.json({"message": "invalid request: body is not JSON"}, 400)
        model = body.get("model")
        if model not in MODELS:
            return Reply.json({"message": f"model '{model}' not found"}, 404)
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return Reply.json({"message": "invalid request: messages must not be empty"}, 400)
        scenario = self.scenarios.pop(0) if self.scenarios else Scenario()
        if not body.get("stream"):
            return Reply.json(_whole(scenario))
        return Reply(
            headers={"content-type": "text/event-stream"},
            chunks=_stream(scenario),
            delay_s=scenario.delay_s,
        )


def _usage(scenario: Scenario) -> dict[str, Any]:
    counts = {"input_tokens": scenario.input_tokens, "output_tokens": scenario.output_tokens}
    return {"billed_units": counts, "tokens": {**counts, "input_tokens": scenario.input_tokens + 3}}


def _stream(scenario: Scenario) -> list[bytes]:
    chunks = [
        _event(
            "message-start",
            {
                "id": str(uuid.uuid4()),
                "delta": {
                    "message": {
                        "role": "assistant",
                        "content": [],
                        "tool_plan": "",
                        "tool_calls": [],
                    }
                },
            },
        )
    ]
    if scenario.thinking:
        chunks.append(
            _event("tool-plan-delta", {"delta": {"message": {"tool_plan": scenario.thinking}}})
        )
    if scenario.text:
        chunks.append(
            _event(
                "content-start",
                {"index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
            )
        )
        for piece in scenario.text_pieces():
            chunks.append(
                _event(
                    "content-delta",
                    {"index": 0, "delta": {"message": {"content": {"text": piece}}}},
                )
            )
        chunks.append(_event("content-end", {"index": 0}))
    for index, call in enumerate(scenario.tool_calls):
        arguments = json.dumps(call.input)
        start = {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(
            _event("tool-call-start", {"index": index, "delta": {"message": {"tool_calls": start}}})
        )
        for at in range(0, len(arguments), _ARGUMENT_FRAGMENT):
            fragment = {"function": {"arguments": arguments[at : at + _ARGUMENT_FRAGMENT]}}
            chunks.append(
                _event(
                    "tool-call-delta",
                    {"index": index, "delta": {"message": {"tool_calls": fragment}}},
                )
            )
        chunks.append(_event("tool-call-end", {"index": index}))
    finish = _FINISH.get(scenario.stop, "COMPLETE")
    chunks.append(
        _event("message-end", {"delta": {"finish_reason": finish, "usage": _usage(scenario)}})
    )
    return chunks


def _whole(scenario: Scenario) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if scenario.text:
        message["content"] = [{"type": "text", "text": scenario.text}]
    if scenario.tool_calls:
        message["tool_plan"] = scenario.thinking or ""
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.input)},
            }
            for call in scenario.tool_calls
        ]
    return {
        "id": str(uuid.uuid4()),
        "finish_reason": _FINISH.get(scenario.stop, "COMPLETE"),
        "message": message,
        "usage": _usage(scenario),
    }
