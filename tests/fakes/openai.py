"""A loopback fake of OpenAI's Chat Completions API (and GET /v1/models).

It speaks the wire format of api.openai.com as recorded in 2025: `data: {json}`
events of `chat.completion.chunk` objects (with `usage: null` on every chunk
and an `obfuscation` pad when usage was asked for), a final `choices: []`
usage chunk, then `data: [DONE]`. The official `openai` SDK talks to it with
`OpenAI(base_url=fake.url, api_key=fake.api_key)`.

A Scenario's `input_tokens` is the normalized total, so it becomes
`prompt_tokens` as is (OpenAI's prompt_tokens already includes cached tokens)
and `cache_read_tokens` becomes `prompt_tokens_details.cached_tokens`.
"""

from __future__ import annotations

import json
import random
import string
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .http import FakeHTTPServer, RecordedRequest, Reply
from .scenario import Scenario

_FINISH_REASONS = {
    "endTurn": "stop",
    "stopSequence": "stop",
    "refusal": "stop",
    "maxTokens": "length",
    "toolUse": "tool_calls",
    "contentFilter": "content_filter",
}
_ARGUMENT_FRAGMENT = 5  # characters of tool-call arguments per streamed chunk
_KEYS_PAGE = "https://platform.openai.com/account/api-keys"
_MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header"
    " using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with"
    " blank username) if you're accessing the API from your browser and are prompted for a"
    f" username and password. You can obtain an API key from {_KEYS_PAGE}."
)
_EVENT_STREAM = "text/event-stream; charset=utf-8"
_UNPARSABLE = "We could not parse the JSON body of your request."
_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"


def _random_text(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.choices(alphabet, k=length))


def _split(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = -(-len(text) // max(1, min(pieces, len(text))))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _request_id() -> str:
    return "req_" + _random_text(32, "0123456789abcdef")


def _masked(key: str) -> str:
    return key[:8] + "*" * (len(key) - 12) + key[-4:] if len(key) > 12 else "*" * len(key)


def error_object(message: str, error_type: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def error_reply(
    status: int,
    message: str,
    error_type: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    return Reply(
        status=status,
        headers={
            "content-type": "application/json; charset=utf-8",
            "x-request-id": _request_id(),
            **(headers or {}),
        },
        chunks=[json.dumps(error_object(message, error_type, code), indent=4).encode() + b"\n"],
        chunked=False,
    )


def _tool_delta(index: int, call_id: str | None, function: dict[str, str]) -> dict[str, Any]:
    """The first fragment of a call carries its id, type and name; later ones only arguments."""
    call: dict[str, Any] = {"index": index}
    if call_id is not None:
        call |= {"id": call_id, "type": "function"}
    return {"tool_calls": [{**call, "function": function}]}


def usage_object(scenario: Scenario) -> dict[str, Any]:
    return {
        "prompt_tokens": scenario.input_tokens,
        "completion_tokens": scenario.output_tokens,
        "total_tokens": scenario.input_tokens + scenario.output_tokens,
        "prompt_tokens_details": {"cached_tokens": scenario.cache_read_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class _Completion:
    """The fields every chunk (or the whole completion) of one answer shares."""

    def __init__(self, scenario: Scenario, model: str, reasoning_field: str | None) -> None:
        self.scenario = scenario
        self.model = scenario.model or model
        self.reasoning_field = reasoning_field
        self.id = "chatcmpl-" + _random_text(29)
        self.created = int(time.time())
        self.fingerprint = "fp_" + _random_text(10, "0123456789abcdef")
        self.refusing = scenario.stop == "refusal"

    def head(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": self.fingerprint,
        }

    def stream(self, include_usage: bool, obfuscate: bool) -> list[bytes]:
        def event(choices: list[Any], usage: dict[str, Any] | None = None) -> bytes:
            chunk = {**self.head("chat.completion.chunk"), "choices": choices}
            if include_usage:
                chunk["usage"] = usage
            if obfuscate:
                chunk["obfuscation"] = _random_text(random.randint(2, 14))
            return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

        def choice(delta: dict[str, Any], finish: str | None = None) -> list[Any]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        events = [event(choice(self.first_delta()))]
        events += [event(choice(delta)) for delta in self.deltas()]
        if self.scenario.stop == "error":
            error = error_object(_SERVER_ERROR, "server_error", None)
            return [*events, b"data: " + json.dumps(error).encode() + b"\n\n"]
        events.append(event(choice({}, _FINISH_REASONS[self.scenario.stop])))
        if include_usage:
            events.append(event([], usage_object(self.scenario)))
        return [*events, b"data: [DONE]\n\n"]

    def first_delta(self) -> dict[str, Any]:
        has_text = bool(self.scenario.text) and not self.refusing
        return {
            "role": "assistant",
            "content": "" if has_text else None,
            "refusal": "" if self.refusing else None,
        }

    def deltas(self) -> list[dict[str, Any]]:
        scenario = self.scenario
        deltas: list[dict[str, Any]] = []
        if self.reasoning_field and scenario.thinking:
            thinking = _split(scenario.thinking, scenario.pieces)
            deltas += [{self.reasoning_field: piece} for piece in thinking]
        text_field = "refusal" if self.refusing else "content"
        deltas += [{text_field: piece} for piece in scenario.text_pieces()]
        for index, call in enumerate(scenario.tool_calls):
            deltas.append(_tool_delta(index, call.id, {"name": call.name, "arguments": ""}))
            arguments = json.dumps(call.input)
            for start in range(0, len(arguments), _ARGUMENT_FRAGMENT):
                fragment = arguments[start : start + _ARGUMENT_FRAGMENT]
                deltas.append(_tool_delta(index, None, {"arguments": fragment}))
        return deltas

    def whole(self) -> dict[str, Any]:
        scenario = self.scenario
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if self.refusing else scenario.text or None,
            "refusal": scenario.text if self.refusing else None,
            "annotations": [],
        }
        if self.reasoning_field and scenario.thinking:
            message[self.reasoning_field] = scenario.thinking
        if scenario.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.input)},
                }
                for call in scenario.tool_calls
            ]
        finish = _FINISH_REASONS[scenario.stop]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return {
            **self.head("chat.completion"),
            "choices": [choice],
            "usage": usage_object(scenario),
        }


class FakeOpenAI(FakeHTTPServer):
    api_key = "sk-test-" + "Swb0ardFakeOpenAI" + "0123456789abcde"
    #: OpenAI's own API streams no reasoning text; OpenAI-compatible fakes set a field name.
    reasoning_field: str | None = None
    models = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "o3-mini")

    def __init__(self) -> None:
        super().__init__(default=lambda request: self._scenario_reply(Scenario(), request))
        #: Bearer tokens accepted besides api_key (a test can share an auth server's list).
        self.accepted_tokens: list[str] = []

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    @property
    def root_url(self) -> str:
        return super().url

    @property
    def url(self) -> str:
        return self.root_url + "/v1"

    def enqueue_scenario(self, scenario: Scenario) -> None:
        self.enqueue(lambda request: self._scenario_reply(scenario, request))

    def enqueue_replay(
        self, source: str | Path | bytes, chunk_size: int | None = None, delay_s: float = 0.0
    ) -> None:
        body = source if isinstance(source, bytes) else Path(source).read_bytes()
        self.enqueue(Reply.sse(body, chunk_size=chunk_size, delay_s=delay_s))

    def enqueue_error(
        self,
        status: int,
        message: str,
        type: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.enqueue(error_reply(status, message, type, code, headers))

    def enqueue_chunks(self, n: int, delay_s: float = 0.0) -> None:
        """A stream of `n` small text deltas ("tok " each)."""
        self.enqueue_scenario(Scenario(text="tok " * n, pieces=n, delay_s=delay_s))

    def _next_reply(self, request: RecordedRequest) -> Reply:
        denied = self._check_key(request)
        if denied is not None:
            return denied
        path = urlsplit(request.path).path
        if request.method == "GET" and path == "/v1/models":
            return self._models_reply()
        if request.method == "POST" and path == "/v1/chat/completions":
            return super()._next_reply(request)
        return error_reply(404, f"Invalid URL ({request.method} {path})", "invalid_request_error")

    def _check_key(self, request: RecordedRequest) -> Reply | None:
        authorization = request.headers.get("authorization", "")
        if not authorization:
            return error_reply(401, _MISSING_KEY, "invalid_request_error")
        key = authorization.removeprefix("Bearer ").strip()
        if key == self.api_key or key in self.accepted_tokens:
            return None
        message = f"Incorrect API key provided: {_masked(key)}."
        message += f" You can find your API key at {_KEYS_PAGE}."
        return error_reply(401, message, "invalid_request_error", "invalid_api_key")

    def _models_reply(self) -> Reply:
        data = [
            {"id": model, "object": "model", "created": 1715367049, "owned_by": "system"}
            for model in self.models
        ]
        return self._json_reply({"object": "list", "data": data})

    def _scenario_reply(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return error_reply(400, _UNPARSABLE, "invalid_request_error")
        if not isinstance(body, dict) or not body.get("model"):
            return error_reply(400, "you must provide a model parameter", "invalid_request_error")
        completion = _Completion(scenario, str(body["model"]), self.reasoning_field)
        if not body.get("stream"):
            if scenario.stop == "error":
                return error_reply(500, _SERVER_ERROR, "server_error")
            return self._json_reply(completion.whole())
        options = body.get("stream_options") or {}
        include_usage = bool(options.get("include_usage"))
        obfuscate = bool(options.get("include_obfuscation", True))
        return Reply(
            headers={
                "content-type": _EVENT_STREAM,
                "x-request-id": _request_id(),
            },
            chunks=completion.stream(include_usage, obfuscate),
            delay_s=scenario.delay_s,
        )

    @staticmethod
    def _json_reply(body: dict[str, Any]) -> Reply:
        return Reply(
            headers={
                "content-type": "application/json",
                "x-request-id": _request_id(),
                "openai-version": "2020-10-01",
            },
            chunks=[json.dumps(body, indent=2).encode()],
            chunked=False,
        )
