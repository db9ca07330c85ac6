"""A loopback fake of OpenAI's Responses API (POST /v1/responses, and GET /v1/models).

It streams the typed events api.openai.com sends (as recorded in 2025-2026:
`event: <type>` + `data: {json}` with `sequence_number`, `obfuscation` pads on
text deltas), or answers with the whole response object when `stream` is not
set. A Scenario becomes, in output order: a reasoning item (summary parts
only when the request asks for a summary; `encrypted_content` only when it
includes `reasoning.encrypted_content`), a message item, function_call items,
then `response.completed`, `response.incomplete` (maxTokens, contentFilter)
or an `error` event + `response.failed` (stop "error").

It checks what the real API rejects and Switchboard must avoid: temperature on
a reasoning model, a function_call_output without its function_call, a
reasoning item whose encrypted content it never issued, a bare reasoning id
while `store` is false. The official `openai` SDK talks to it with
`OpenAI(base_url=fake.url, api_key=fake.api_key)`.
"""

from __future__ import annotations

import json
import random
import secrets
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .http import FakeHTTPServer, RecordedRequest, Reply
from .openai import FakeOpenAI, error_reply
from .scenario import Scenario

_ARGUMENT_FRAGMENT = 6  # characters of function-call arguments per delta event
_EVENT_STREAM = "text/event-stream; charset=utf-8"
_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "gpt-6")
_INCOMPLETE = {"maxTokens": "max_output_tokens", "contentFilter": "content_filter"}


def _random_text(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.choices(alphabet, k=length))


def _hex_id(prefix: str) -> str:
    return prefix + "_" + secrets.token_hex(25)


def _split(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = -(-len(text) // max(1, min(pieces, len(text))))
    return [text[i : i + size] for i in range(0, len(text), size)]


def is_reasoning_model(model: str) -> bool:
    name = model.lower().rsplit("/", 1)[-1]
    return name.startswith(_REASONING_PREFIXES) and "-chat" not in name


def reasoning_tokens(scenario: Scenario) -> int:
    """The part of a scenario's output tokens the fake reports as reasoning."""
    if not scenario.thinking:
        return 0
    return min(scenario.output_tokens, max(1, len(scenario.thinking) // 4))


def usage_object(scenario: Scenario) -> dict[str, Any]:
    """A Scenario's `input_tokens` is the normalized total, as Responses' input_tokens is."""
    return {
        "input_tokens": scenario.input_tokens,
        "input_tokens_details": {
            "cached_tokens": scenario.cache_read_tokens,
            "cache_write_tokens": scenario.cache_write_tokens,
        },
        "output_tokens": scenario.output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens(scenario)},
        "total_tokens": scenario.input_tokens + scenario.output_tokens,
    }


def sse_from_payloads(lines: list[str]) -> bytes:
    """A `.chunks.jsonl` corpus file (one data payload a line) framed as OpenAI frames it."""
    out = []
    for line in lines:
        if line.strip():
            kind = json.loads(line).get("type", "message")
            out.append(f"event: {kind}\ndata: {line.strip()}\n\n".encode())
    return b"".join(out)


@dataclass
class Failure:
    """A stream that fails after it started: an `error` event, then `response.failed`."""

    code: str = "server_error"
    message: str = _SERVER_ERROR
    error_type: str | None = None


@dataclass
class _Answer:
    """One rendered answer: the response object and the events that build it."""

    scenario: Scenario
    request: dict[str, Any]
    issued: set[str]
    failure: Failure | None = None
    sequence: int = 0
    events: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.id = _hex_id("resp")
        self.model = self.scenario.model or str(self.request["model"])
        self.created = int(time.time())
        self.output: list[dict[str, Any]] = []

    # ---- the response object ----

    def response(self, status: str, *, final: bool = False) -> dict[str, Any]:
        request = self.request
        asked = request.get("reasoning")
        reasoning: dict[str, Any] = asked if isinstance(asked, dict) else {}
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "background": False,
            "completed_at": int(time.time()) if final and status == "completed" else None,
            "error": None,
            "incomplete_details": None,
            "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": self.model,
            "output": list(self.output) if final else [],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "prompt_cache_key": None,
            "reasoning": {
                "effort": reasoning.get("effort") if is_reasoning_model(self.model) else None,
                "summary": reasoning.get("summary"),
            },
            "safety_identifier": None,
            "service_tier": "default",
            "store": request.get("store", True),
            "temperature": request.get("temperature", 1.0),
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": request.get("tool_choice", "auto"),
            "tools": [_echo_tool(tool) for tool in request.get("tools") or []],
            "top_logprobs": 0,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": None,
            "user": None,
            "metadata": {},
        }
        if final and status in ("completed", "incomplete"):
            body["usage"] = usage_object(self.scenario)
        if status == "incomplete":
            body["incomplete_details"] = {"reason": _INCOMPLETE[self.scenario.stop]}
        if status == "failed" and self.failure is not None:
            body["error"] = {"code": self.failure.code, "message": self.failure.message}
        return body

    def whole(self) -> dict[str, Any]:
        self.render_items()
        return self.response(self.final_status(), final=True)

    def final_status(self) -> str:
        if self.failure is not None:
            return "failed"
        return "incomplete" if self.scenario.stop in _INCOMPLETE else "completed"

    # ---- the stream ----

    def emit(self, kind: str, **fields: Any) -> None:
        event = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        self.events.append(f"event: {kind}\ndata: {data}\n\n".encode())

    def stream(self) -> list[bytes]:
        self.emit("response.created", response=self.response("in_progress"))
        self.emit("response.in_progress", response=self.response("in_progress"))
        self.render_items(streaming=True)
        status = self.final_status()
        if self.failure is not None:
            error = {
                "type": self.failure.error_type or self.failure.code,
                "code": self.failure.code,
                "message": self.failure.message,
                "param": None,
            }
            self.emit("error", error=error)
        self.emit(f"response.{status}", response=self.response(status, final=True))
        return self.events

    def render_items(self, streaming: bool = False) -> None:
        scenario = self.scenario
        if scenario.thinking is not None:
            self.reasoning_item(streaming)
        if scenario.text:
            self.message_item(streaming)
        for call in scenario.tool_calls:
            self.call_item(call.id, call.name, json.dumps(call.input), streaming)

    def reasoning_item(self, streaming: bool) -> None:
        index, item_id = len(self.output), _hex_id("rs")
        summary_asked = isinstance(self.request.get("reasoning"), dict) and bool(
            self.request["reasoning"].get("summary")
        )
        encrypted = None
        if "reasoning.encrypted_content" in (self.request.get("include") or []):
            encrypted = "gAAAAAB" + secrets.token_urlsafe(240)
            self.issued.add(encrypted)
        item: dict[str, Any] = {
            "id": item_id,
            "type": "reasoning",
            "summary": [],
            "encrypted_content": encrypted,
        }
        summary = [self.scenario.thinking or ""] if summary_asked else []
        if streaming:
            self.emit("response.output_item.added", item=dict(item, summary=[]), output_index=index)
            for number, text in enumerate(summary):
                where = {"item_id": item_id, "output_index": index, "summary_index": number}
                part = {"type": "summary_text", "text": ""}
                self.emit("response.reasoning_summary_part.added", **where, part=part)
                for piece in _split(text, self.scenario.pieces):
                    obfuscation = _random_text(random.randint(2, 14))
                    self.emit(
                        "response.reasoning_summary_text.delta",
                        **where,
                        delta=piece,
                        obfuscation=obfuscation,
                    )
                self.emit("response.reasoning_summary_text.done", **where, text=text)
                part = {"type": "summary_text", "text": text}
                self.emit("response.reasoning_summary_part.done", **where, part=part)
        item["summary"] = [{"type": "summary_text", "text": text} for text in summary]
        self.output.append(item)
        if streaming:
            self.emit("response.output_item.done", item=item, output_index=index)

    def message_item(self, streaming: bool) -> None:
        index, item_id = len(self.output), _hex_id("msg")
        refusing = self.scenario.stop == "refusal"
        text = self.scenario.text
        done_status = "incomplete" if self.scenario.stop in _INCOMPLETE else "completed"
        if refusing:
            part: dict[str, Any] = {"type": "refusal", "refusal": text}
        else:
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
        item = {
            "id": item_id,
            "type": "message",
            "status": done_status,
            "content": [part],
            "role": "assistant",
        }
        self.output.append(item)
        if not streaming:
            return
        added = dict(item, status="in_progress", content=[])
        self.emit("response.output_item.added", item=added, output_index=index)
        where = {"content_index": 0, "item_id": item_id, "output_index": index}
        empty = dict(part, **{"refusal" if refusing else "text": ""})
        self.emit("response.content_part.added", **where, part=empty)
        kind = "response.refusal" if refusing else "response.output_text"
        for piece in self.scenario.text_pieces():
            extra = {} if refusing else {"logprobs": [], "obfuscation": _random_text(12)}
            self.emit(f"{kind}.delta", **where, delta=piece, **extra)
        if refusing:
            self.emit(f"{kind}.done", **where, refusal=text)
        else:
            self.emit(f"{kind}.done", **where, text=text, logprobs=[])
        self.emit("response.content_part.done", **where, part=part)
        self.emit("response.output_item.done", item=item, output_index=index)

    def call_item(self, call_id: str, name: str, arguments: str, streaming: bool) -> None:
        index, item_id = len(self.output), _hex_id("fc")
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "completed",
            "arguments": arguments,
            "call_id": call_id,
            "name": name,
        }
        self.output.append(item)
        if not streaming:
            return
        added = dict(item, status="in_progress", arguments="")
        self.emit("response.output_item.added", item=added, output_index=index)
        where = {"item_id": item_id, "output_index": index}
        for start in range(0, len(arguments), _ARGUMENT_FRAGMENT):
            fragment = arguments[start : start + _ARGUMENT_FRAGMENT]
            self.emit("response.function_call_arguments.delta", **where, delta=fragment)
        self.emit("response.function_call_arguments.done", **where, arguments=arguments)
        self.emit("response.output_item.done", item=item, output_index=index)


def _echo_tool(tool: Any) -> Any:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return tool
    return {
        "type": "function",
        "description": tool.get("description"),
        "name": tool.get("name"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", True),
    }


class FakeOpenAIResponses(FakeOpenAI):
    def __init__(self) -> None:
        super().__init__()
        #: every encrypted_content this fake handed out; only these come back verified
        self.issued: set[str] = set()

    def __enter__(self) -> FakeOpenAIResponses:
        self.start()
        return self

    def enqueue_failure(self, failure: Failure, scenario: Scenario | None = None) -> None:
        """A 200 stream that ends in `error` + `response.failed` (non-stream: HTTP 500)."""
        chosen = scenario or Scenario(text="", stop="error")
        self.enqueue(lambda request: self._scenario_reply(chosen, request, failure))

    def enqueue_payloads(self, path: str | Path) -> None:
        """Replay a `.chunks.jsonl` corpus file as an SSE body."""
        self.enqueue(Reply.sse(sse_from_payloads(Path(path).read_text().splitlines())))

    def responses_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == "/v1/responses"]

    def _next_reply(self, request: RecordedRequest) -> Reply:
        denied = self._check_key(request)
        if denied is not None:
            return denied
        path = urlsplit(request.path).path
        if request.method == "GET" and path == "/v1/models":
            return self._models_reply()
        if request.method == "POST" and path == "/v1/responses":
            return FakeHTTPServer._next_reply(self, request)
        return error_reply(404, f"Invalid URL ({request.method} {path})", "invalid_request_error")

    def _scenario_reply(
        self, scenario: Scenario, request: RecordedRequest, failure: Failure | None = None
    ) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return error_reply(
                400, "We could not parse the JSON body of your request.", "invalid_request_error"
            )
        if not isinstance(body, dict):
            return error_reply(400, "Invalid body: expected an object.", "invalid_request_error")
        rejected = self._rejected(body)
        if rejected is not None:
            return rejected
        if failure is None and scenario.stop == "error":
            failure = Failure()
        answer = _Answer(scenario, body, self.issued, failure)
        if not body.get("stream"):
            if failure is not None:
                return error_reply(500, failure.message, "server_error")
            return self._json_reply(answer.whole())
        return Reply(
            headers={"content-type": _EVENT_STREAM, "x-request-id": "req_" + secrets.token_hex(16)},
            chunks=answer.stream(),
            delay_s=scenario.delay_s,
        )

    def _rejected(self, body: dict[str, Any]) -> Reply | None:
        """The 400s (and 404s) the real API gives for these request bodies."""
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _invalid(
                "Missing required parameter: 'model'.", "model", "missing_required_parameter"
            )
        if body.get("temperature") is not None and is_reasoning_model(model):
            return _invalid(
                "Unsupported parameter: 'temperature' is not supported with this model.",
                "temperature",
                "unsupported_parameter",
            )
        for number, tool in enumerate(body.get("tools") or []):
            if not isinstance(tool, dict) or not tool.get("name"):
                where = f"tools[{number}].name"
                return _invalid(
                    f"Missing required parameter: '{where}'.", where, "missing_required_parameter"
                )
        items = body.get("input")
        return (
            self._rejected_input(items, body.get("store", True))
            if isinstance(items, list)
            else None
        )

    def _rejected_input(self, items: list[Any], store: Any) -> Reply | None:
        calls: set[str] = set()
        for item in items:
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind == "function_call":
                calls.add(str(item.get("call_id")))
            elif kind == "function_call_output" and str(item.get("call_id")) not in calls:
                call_id = item.get("call_id")
                message = f"No tool call found for function call output with call_id {call_id}."
                return _invalid(message, "input", None)
            elif kind == "reasoning":
                encrypted = item.get("encrypted_content")
                if encrypted is None and store is False:
                    message = (
                        f"Item with id '{item.get('id')}' not found. Items are not persisted when"
                        " `store` is set to false. Try again with `store` set to true, or remove"
                        " this item from your input."
                    )
                    return error_reply(404, message, "invalid_request_error", None)
                if encrypted is not None and encrypted not in self.issued:
                    message = (
                        "The encrypted content could not be verified. Reason: Encrypted content"
                        " could not be decrypted or parsed."
                    )
                    return _invalid(message, None, "invalid_encrypted_content")
        return None


def _invalid(message: str, param: str | None, code: str | None) -> Reply:
    reply = error_reply(400, message, "invalid_request_error", code)
    payload = json.loads(reply.chunks[0])
    payload["error"]["param"] = param
    reply.chunks = [json.dumps(payload, indent=2).encode() + b"\n"]
    return reply
