"""A loopback fake of Anthropic's Messages API, speaking its wire format.

It answers POST /v1/messages (SSE when the body asks `stream: true`, else a
Message JSON), POST /v1/messages/count_tokens and GET /v1/models, checks
the API key (`x-api-key`, or `Authorization: Bearer` as newer official SDKs
send it) and `anthropic-version` like the real API, and renders a
Scenario the way the live API streams: message_start, a ping after the first
block start, one block per thinking / text / tool call, message_delta,
message_stop. Scenario.input_tokens is the normalized total, so the wire
`input_tokens` is that minus the cache reads and writes.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
from base64 import b64encode
from pathlib import Path
from typing import Any

from .http import FakeHTTPServer, RecordedRequest, Reply
from .scenario import Scenario

SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
MAX_CACHE_ANCHORS = 4
WIRE_STOP = {
    "endTurn": "end_turn",
    "maxTokens": "max_tokens",
    "toolUse": "tool_use",
    "stopSequence": "stop_sequence",
    "refusal": "refusal",
    "contentFilter": "refusal",
}
DEFAULT_MODELS = [
    {"id": "claude-opus-4-6", "display_name": "Claude Opus 4.6"},
    {"id": "claude-sonnet-4-6", "display_name": "Claude Sonnet 4.6"},
    {"id": "claude-haiku-4-5-20251001", "display_name": "Claude Haiku 4.5"},
]


class _ErrorReply(Reply):
    """A queued error answers whichever endpoint is called next, not only /v1/messages."""


class FakeAnthropic(FakeHTTPServer):
    api_key = "sk-ant-test-" + "L00pb4ckF4keK3yN0tR34l00"

    def __init__(self, models: list[dict[str, str]] | None = None) -> None:
        super().__init__(default=self._default_answer)
        self.models = models if models is not None else list(DEFAULT_MODELS)
        self._serial = itertools.count(1)

    # ---- scripting -------------------------------------------------------------

    def enqueue_scenario(self, scenario: Scenario) -> None:
        self.enqueue(lambda request: self._render(scenario, request))

    def enqueue_replay(
        self,
        source: str | Path | bytes,
        chunk_size: int | None = None,
        delay_s: float = 0.0,
        status: int = 200,
    ) -> None:
        """Serve a recorded body verbatim; a gzip body goes out with Content-Encoding: gzip."""
        raw = bytes(source) if isinstance(source, bytes) else Path(source).read_bytes()
        gzipped = raw[:2] == b"\x1f\x8b"
        plain = gzip.decompress(raw) if gzipped else raw
        is_json = plain.lstrip()[:1] == b"{"
        headers = {"content-type": "application/json" if is_json else SSE_CONTENT_TYPE}
        if gzipped:
            headers["content-encoding"] = "gzip"
        headers["request-id"] = self._request_id()
        size = chunk_size or len(raw) or 1
        chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
        self.enqueue(Reply(status=status, headers=headers, chunks=chunks, delay_s=delay_s))

    def enqueue_error(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self.enqueue(self._error(status, error_type, message, headers))

    # ---- routing -----------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        key = _presented_key(request.headers)
        if key is None:
            return self._error(401, "authentication_error", "x-api-key header is required")
        if key != self.api_key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if "anthropic-version" not in request.headers:
            return self._error(
                400, "invalid_request_error", "anthropic-version: header is required"
            )
        route = (request.method, request.path.partition("?")[0])
        if route == ("POST", "/v1/messages"):
            return super()._next_reply(request)
        if route == ("POST", "/v1/messages/count_tokens"):
            return self._queued_error() or self._count_tokens(request)
        if route == ("GET", "/v1/models"):
            return self._queued_error() or self._list_models()
        return self._error(404, "not_found_error", "Not Found")

    def _queued_error(self) -> Reply | None:
        with self.replies.mutex:
            if self.replies.queue and isinstance(self.replies.queue[0], _ErrorReply):
                reply: Reply = self.replies.queue.popleft()
                return reply
        return None

    def _default_answer(self, request: RecordedRequest) -> Reply:
        return self._render(Scenario(), request)

    # ---- answers -----------------------------------------------------------------

    def _render(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        body = _json_object(request.body)
        problem = _missing_field(body, ("model", "max_tokens", "messages")) or _too_many_anchors(
            body
        )
        if problem:
            return self._error(400, "invalid_request_error", problem)
        model = scenario.model or str(body["model"])
        message_id = f"msg_01Fake{next(self._serial):018d}"
        stop_sequences = body.get("stop_sequences") or [None]
        if not body.get("stream"):
            if scenario.stop == "error":
                return self._error(529, "overloaded_error", "Overloaded")
            message = _message(scenario, model, message_id, stop_sequences[0])
            return Reply.json(message, headers={"request-id": self._request_id()})
        events = _stream_events(scenario, model, message_id, stop_sequences[0])
        return Reply(
            headers={
                "content-type": SSE_CONTENT_TYPE,
                "cache-control": "no-cache",
                "request-id": self._request_id(),
            },
            chunks=[_sse(event) for event in events],
            delay_s=scenario.delay_s,
        )

    def _count_tokens(self, request: RecordedRequest) -> Reply:
        body = _json_object(request.body)
        problem = _missing_field(body, ("model", "messages"))
        if problem:
            return self._error(400, "invalid_request_error", problem)
        counted = json.dumps(
            [body.get("system"), body.get("messages"), body.get("tools")], sort_keys=True
        )
        return Reply.json({"input_tokens": max(1, len(counted) // 4)})

    def _list_models(self) -> Reply:
        data = [
            {
                "type": "model",
                "id": model["id"],
                "display_name": model["display_name"],
                "created_at": "2025-09-29T00:00:00Z",
                "lifecycle": "active",
                "max_input_tokens": 200000,
                "max_tokens": 64000,
            }
            for model in self.models
        ]
        first = data[0]["id"] if data else None
        last = data[-1]["id"] if data else None
        return Reply.json({"data": data, "has_more": False, "first_id": first, "last_id": last})

    def _error(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> Reply:
        request_id = self._request_id()
        body = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": request_id,
        }
        return _ErrorReply.json(body, status, {"request-id": request_id, **(headers or {})})

    def _request_id(self) -> str:
        return f"req_011CFake{next(self._serial):016d}"


# ---- rendering -------------------------------------------------------------------


def _blocks(scenario: Scenario) -> list[dict[str, Any]]:
    """The answer's content blocks, as a non-streaming Message carries them."""
    blocks: list[dict[str, Any]] = []
    if scenario.thinking is not None:
        blocks.append(
            {
                "type": "thinking",
                "thinking": scenario.thinking,
                "signature": _signature(scenario.thinking),
            }
        )
    if scenario.text:
        blocks.append({"type": "text", "text": scenario.text})
    for call in scenario.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.input})
    return blocks


def _usage(scenario: Scenario, output_tokens: int) -> dict[str, Any]:
    read, written = scenario.cache_read_tokens, scenario.cache_write_tokens
    return {
        "input_tokens": max(0, scenario.input_tokens - read - written),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _message(
    scenario: Scenario, model: str, message_id: str, stop_sequence: str | None
) -> dict[str, Any]:
    stop = WIRE_STOP.get(scenario.stop, "end_turn")
    return {
        "model": model,
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": _blocks(scenario),
        "stop_reason": stop,
        "stop_sequence": stop_sequence if stop == "stop_sequence" else None,
        "stop_details": None,
        "usage": _usage(scenario, scenario.output_tokens),
    }


def _stream_events(
    scenario: Scenario, model: str, message_id: str, stop_sequence: str | None
) -> list[dict[str, Any]]:
    """The stream's event objects; each one's `type` is also its SSE event name."""
    start = {
        **_message(scenario, model, message_id, None),
        "content": [],
        "stop_reason": None,
        "usage": _usage(scenario, min(1, scenario.output_tokens)),
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(_blocks(scenario)):
        events.extend(_block_events(index, block, scenario.pieces))
    events.insert(min(2, len(events)), {"type": "ping"})
    if scenario.stop == "error":
        error = {"type": "overloaded_error", "message": "Overloaded"}
        return [*events, {"type": "error", "error": error}]
    final = _message(scenario, model, message_id, stop_sequence)
    usage = {key: final["usage"][key] for key in _DELTA_USAGE_KEYS}
    delta = {key: final[key] for key in ("stop_reason", "stop_sequence", "stop_details")}
    events.append({"type": "message_delta", "delta": delta, "usage": usage})
    events.append({"type": "message_stop"})
    return events


_DELTA_USAGE_KEYS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
)


def _block_events(index: int, block: dict[str, Any], pieces: int) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _split(block["text"], pieces)]
    elif kind == "thinking":
        opening = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": piece}
            for piece in _split(block["thinking"], pieces)
        ]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        arguments = json.dumps(block["input"], ensure_ascii=False)
        deltas = [
            {"type": "input_json_delta", "partial_json": piece}
            for piece in ["", *_split(arguments, pieces)]
        ]
    return [
        {"type": "content_block_start", "index": index, "content_block": opening},
        *({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def _split(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = -(-len(text) // max(1, min(pieces, len(text))))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _signature(thinking: str) -> str:
    return b64encode(b"fake-signature:" + hashlib.sha256(thinking.encode()).digest()).decode()


def _sse(payload: dict[str, Any]) -> bytes:
    name = payload["type"]
    if name == "ping":
        data = '{"type": "ping"}'  # the live API spaces this one event's JSON
    else:
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {data}\n\n".encode()


def _presented_key(headers: dict[str, str]) -> str | None:
    """The API key from `x-api-key`, or from `Authorization: Bearer` (newer official SDKs)."""
    if "x-api-key" in headers:
        return headers["x-api-key"]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _too_many_anchors(body: dict[str, Any]) -> str | None:
    """The API's own limit: four blocks with cache_control in one request."""
    blocks: list[Any] = [body, *(body.get("tools") or [])]
    if isinstance(body.get("system"), list):
        blocks += body["system"]
    for message in body.get("messages") or []:
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            blocks += message["content"]
    found = sum(1 for block in blocks if isinstance(block, dict) and "cache_control" in block)
    if found > MAX_CACHE_ANCHORS:
        return (
            f"A maximum of {MAX_CACHE_ANCHORS} blocks with cache_control may be provided."
            f" Found {found}."
        )
    return None


def _missing_field(body: dict[str, Any], required: tuple[str, ...]) -> str | None:
    for name in required:
        if name not in body:
            return f"{name}: Field required"
    return None
