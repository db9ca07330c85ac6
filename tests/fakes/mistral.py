"""A loopback fake of Mistral AI: chat, Codestral fill-in-the-middle, and the model list.

- `POST /v1/chat/completions` and `POST /v1/fim/completions` answer in the
  same chat shape, as Mistral's FIM does (mistral-fim/ in the shared
  corpus): streamed `chat.completion.chunk` deltas (`{"role": "assistant",
  "content": ""}` first), the finish reason and `usage` on the last chunk
  without being asked, then `data: [DONE]`; whole answers are a
  `chat.completion` with `usage` and `created` before `choices` and
  `message: {content, tool_calls: null, prefix: false, role}`.
- FIM wants `prompt` (and takes `suffix`); a model without FIM is refused
  with 400, as Mistral refuses FIM for non-Codestral models.
- Ids are 32 hex digits without a prefix; a wrong key gets 401
  `{"message": "Unauthorized", "request_id": ...}`.
The official `mistralai` SDK talks to it with
`Mistral(api_key=fake.api_key, server_url=fake.url)`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from .http import FakeHTTPServer, RecordedRequest, Reply
from .scenario import Scenario

FIM_MODELS = ("codestral-2508", "codestral-latest")
_FINISH = {
    "endTurn": "stop",
    "stopSequence": "stop",
    "maxTokens": "length",
    "toolUse": "tool_calls",
    "contentFilter": "stop",
}


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _error(status: int, message: str, error_type: str = "invalid_request_error") -> Reply:
    body = {"object": "error", "message": message, "type": error_type, "param": None, "code": None}
    return Reply.json(body, status=status)


class FakeMistral(FakeHTTPServer):
    api_key = "swb-fake-mistral-" + "0123456789abcdef"

    def __init__(self) -> None:
        super().__init__()
        self.models = ["codestral-2508", "mistral-large-2512", "mistral-small-2506"]
        self.scenarios: list[Scenario] = []

    def __enter__(self) -> FakeMistral:
        self.start()
        return self

    def enqueue_scenario(self, scenario: Scenario) -> None:
        """The answer to the next chat or FIM request (else a default Scenario)."""
        self.scenarios.append(scenario)

    def chats(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == "/v1/chat/completions"]

    def fims(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == "/v1/fim/completions"]

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply.json({"message": "Unauthorized", "request_id": uuid.uuid4().hex}, 401)
        path = urlsplit(request.path).path
        if request.method == "GET" and path == "/v1/models":
            return Reply.json({"object": "list", "data": [self._model(m) for m in self.models]})
        if request.method == "POST" and path in ("/v1/chat/completions", "/v1/fim/completions"):
            return self._answer(request, fim=path.endswith("/fim/completions"))
        return Reply.json({"detail": "Not Found"}, status=404)

    def _model(self, name: str) -> dict[str, Any]:
        return {
            "id": name,
            "object": "model",
            "created": 1764000000,
            "owned_by": "mistralai",
            "capabilities": {
                "completion_chat": True,
                "completion_fim": name in FIM_MODELS,
                "function_calling": True,
                "fine_tuning": False,
                "vision": "codestral" not in name,
            },
            "name": name,
            "description": f"{name} (fake)",
            "max_context_length": 256000 if "codestral" in name else 131072,
            "aliases": [],
            "deprecation": None,
            "default_model_temperature": 0.3,
            "type": "base",
        }

    def _answer(self, request: RecordedRequest, *, fim: bool) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _error(400, "Invalid JSON body")
        model = body.get("model") if isinstance(body, dict) else None
        if not isinstance(model, str) or model not in {*self.models, *FIM_MODELS}:
            return _error(400, f"Invalid model: {model}", "invalid_model")
        if fim and model not in FIM_MODELS:
            return _error(400, f"Model {model} does not support FIM completions")
        if fim and not isinstance(body.get("prompt"), str):
            return _error(422, "prompt: Field required")
        if not fim and not isinstance(body.get("messages"), list):
            return _error(422, "messages: Field required")
        scenario = self.scenarios.pop(0) if self.scenarios else Scenario()
        answer = _Answer(scenario, model)
        if not body.get("stream"):
            return Reply.json(answer.whole())
        return Reply(
            headers={"content-type": "text/event-stream; charset=utf-8"},
            chunks=answer.stream(),
            delay_s=scenario.delay_s,
        )


class _Answer:
    def __init__(self, scenario: Scenario, model: str) -> None:
        self.scenario = scenario
        self.model = scenario.model or model
        self.id = uuid.uuid4().hex
        self.created = int(time.time())

    def usage(self) -> dict[str, int]:
        scenario = self.scenario
        return {
            "prompt_tokens": scenario.input_tokens,
            "total_tokens": scenario.input_tokens + scenario.output_tokens,
            "completion_tokens": scenario.output_tokens,
        }

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def tool_calls(self) -> list[dict[str, Any]]:
        return [
            {
                "id": call.id,
                "function": {"name": call.name, "arguments": json.dumps(call.input)},
                "index": index,
            }
            for index, call in enumerate(self.scenario.tool_calls)
        ]

    def stream(self) -> list[bytes]:
        events = [_event(self.chunk({"role": "assistant", "content": ""}))]
        events += [_event(self.chunk({"content": p})) for p in self.scenario.text_pieces()]
        if self.scenario.tool_calls:
            events.append(_event(self.chunk({"tool_calls": self.tool_calls()})))
        last = self.chunk({"content": ""}, _FINISH.get(self.scenario.stop, "stop"))
        events.append(_event({**last, "usage": self.usage()}))
        return [*events, b"data: [DONE]\n\n"]

    def whole(self) -> dict[str, Any]:
        calls = self.tool_calls() or None
        return {
            "id": self.id,
            "object": "chat.completion",
            "model": self.model,
            "usage": self.usage(),
            "created": self.created,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "content": self.scenario.text,
                        "tool_calls": calls,
                        "prefix": False,
                        "role": "assistant",
                    },
                    "finish_reason": _FINISH.get(self.scenario.stop, "stop"),
                }
            ],
        }
