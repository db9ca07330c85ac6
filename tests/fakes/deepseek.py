"""A loopback fake of DeepSeek: chat, the beta fill-in-the-middle, and the model list.

- `POST /chat/completions` (also under `/v1`) speaks OpenAI's chunks with
  DeepSeek's habits: `logprobs: null` in every choice, thinking as
  `reasoning_content` deltas (with `content: null`) when the request turns
  thinking on (`thinking: {"type": "enabled"}`; it is on unless disabled, as
  for DeepSeek's V4 models), and usage with `prompt_cache_hit_tokens` /
  `prompt_cache_miss_tokens` beside `prompt_tokens_details.cached_tokens`,
  in a last `choices: []` chunk when `stream_options.include_usage` asks.
- `POST /beta/completions` is FIM: `prompt` + `suffix` in, OpenAI's legacy
  `text_completion` out; more than 4096 `max_tokens` is refused with 400.
- A wrong key gets 401 with DeepSeek's `authentication_error` body.
The official `openai` SDK talks to it with `OpenAI(base_url=fake.url,
api_key=fake.api_key)` for chat and `base_url=fake.url + "/beta"` for FIM.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from .http import FakeHTTPServer, RecordedRequest, Reply
from .scenario import Scenario
from .text_completion import TextCompletion

FIM_MAX_TOKENS = 4096
_FINISH = {
    "endTurn": "stop",
    "stopSequence": "stop",
    "maxTokens": "length",
    "toolUse": "tool_calls",
    "contentFilter": "content_filter",
}


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _error(status: int, message: str, error_type: str = "invalid_request_error") -> Reply:
    body = {"error": {"message": message, "type": error_type, "param": None, "code": error_type}}
    return Reply.json(body, status=status)


def cache_usage(scenario: Scenario) -> dict[str, Any]:
    hit = scenario.cache_read_tokens
    return {
        "prompt_cache_hit_tokens": hit,
        "prompt_cache_miss_tokens": scenario.input_tokens - hit,
    }


class FakeDeepSeek(FakeHTTPServer):
    api_key = "sk-" + "fakedeepseek0123456789abcdef"

    def __init__(self) -> None:
        super().__init__()
        self.models = ["deepseek-v4-flash", "deepseek-v4-pro"]
        self.scenarios: list[Scenario] = []

    def __enter__(self) -> FakeDeepSeek:
        self.start()
        return self

    def enqueue_scenario(self, scenario: Scenario) -> None:
        """The answer to the next chat or FIM request (else a default Scenario)."""
        self.scenarios.append(scenario)

    def chats(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path.endswith("/chat/completions")]

    def fims(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == "/beta/completions"]

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            message = "Authentication Fails, Your api key is invalid"
            return _error(401, message, "authentication_error")
        path = urlsplit(request.path).path
        if request.method == "GET" and path in ("/models", "/v1/models"):
            data = [{"id": m, "object": "model", "owned_by": "deepseek"} for m in self.models]
            return Reply.json({"object": "list", "data": data})
        if request.method != "POST" or path not in (
            "/chat/completions",
            "/v1/chat/completions",
            "/beta/completions",
        ):
            return Reply(status=404, headers={"content-type": "text/plain"}, chunks=[b""])
        try:
            body = request.json()
        except ValueError:
            return _error(400, "Failed to deserialize the JSON body into the target type")
        if not isinstance(body, dict) or body.get("model") not in self.models:
            return _error(400, "Model Not Exist")
        scenario = self.scenarios.pop(0) if self.scenarios else Scenario()
        if path == "/beta/completions":
            return self._fim(scenario, body)
        return self._chat(scenario, body)

    def _fim(self, scenario: Scenario, body: dict[str, Any]) -> Reply:
        if not isinstance(body.get("prompt"), str):
            return _error(400, "prompt is required")
        if int(body.get("max_tokens") or 0) > FIM_MAX_TOKENS:
            return _error(400, f"max_tokens must be at most {FIM_MAX_TOKENS} for FIM completion")
        answer = TextCompletion(scenario, body["model"], usage_extra=cache_usage(scenario))
        return answer.reply(body)

    def _chat(self, scenario: Scenario, body: dict[str, Any]) -> Reply:
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "messages is required")
        thinking = (body.get("thinking") or {}).get("type", "enabled") == "enabled"
        answer = _Answer(scenario, body["model"], thinking)
        if not body.get("stream"):
            return Reply.json(answer.whole())
        asked = bool((body.get("stream_options") or {}).get("include_usage"))
        return Reply(
            headers={"content-type": "text/event-stream; charset=utf-8"},
            chunks=answer.stream(asked),
            delay_s=scenario.delay_s,
        )


class _Answer:
    def __init__(self, scenario: Scenario, model: str, thinking: bool) -> None:
        self.scenario = scenario
        self.model = scenario.model or model
        self.thinking = scenario.thinking if thinking else None
        self.id = str(uuid.uuid4())
        self.created = int(time.time())

    def usage(self) -> dict[str, Any]:
        scenario = self.scenario
        return {
            "prompt_tokens": scenario.input_tokens,
            "completion_tokens": scenario.output_tokens,
            "total_tokens": scenario.input_tokens + scenario.output_tokens,
            "prompt_tokens_details": {"cached_tokens": scenario.cache_read_tokens},
            **cache_usage(scenario),
        }

    def chunk(self, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        choices = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        )
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake_v4",
            "choices": choices,
        }

    def stream(self, with_usage: bool) -> list[bytes]:
        events = [_event(self.chunk({"role": "assistant", "content": ""}))]
        if self.thinking:
            events.append(_event(self.chunk({"content": None, "reasoning_content": self.thinking})))
        events += [_event(self.chunk({"content": p})) for p in self.scenario.text_pieces()]
        events.append(_event(self.chunk({"content": ""}, _FINISH.get(self.scenario.stop, "stop"))))
        if with_usage:
            events.append(_event({**self.chunk(None), "usage": self.usage()}))
        return [*events, b"data: [DONE]\n\n"]

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.scenario.text}
        if self.thinking:
            message["reasoning_content"] = self.thinking
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _FINISH.get(self.scenario.stop, "stop"),
                }
            ],
            "usage": self.usage(),
            "system_fingerprint": "fp_fake_v4",
        }
