"""A loopback fake of a local OpenAI-compatible server (Ollama, llama.cpp, vLLM, LM Studio).

It serves `/v1/chat/completions`, `/v1/completions` (text completion with
`prompt` + `suffix`, the fill-in-the-middle these servers offer) and
`/v1/models`, and with `ollama=True` also Ollama's own `/api/tags` and `/api/show`
(the model's parameters, `num_ctx` among them when `ollama_num_ctx` is set, and
its metadata with `<arch>.context_length`); with `n_ctx` set, llama.cpp's
`/props` reports that window in `default_generation_settings.n_ctx`.
What makes it local rather than OpenAI:
- no usage chunk unless `sends_usage` (many servers send none, or only when
  asked with stream_options; `rejects_stream_options` answers such a request
  with a 400 as strict servers do);
- tool calls arrive whole, arguments in one delta, with ids only if
  `tool_call_ids`;
- `finish_reason=False` ends a stream with `[DONE]` and no finish_reason;
- thinking comes as `reasoning_field` deltas (vLLM: reasoning_content,
  Ollama: reasoning), or with `think_tags` inline as `<think>…</think>` at
  the start of the content, cut into small pieces so tags split across chunks;
- a key is required only when `api_key` is set.
The official `openai` SDK talks to it with `OpenAI(base_url=fake.url, api_key=...)`.
"""

from __future__ import annotations

import json
import random
import string
import time
from typing import Any
from urllib.parse import urlsplit

from .http import FakeHTTPServer, RecordedRequest, Reply
from .scenario import Scenario
from .text_completion import TextCompletion

_FINISH = {
    "endTurn": "stop",
    "stopSequence": "stop",
    "maxTokens": "length",
    "toolUse": "tool_calls",
    "contentFilter": "content_filter",
}


def _random(length: int) -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=length))


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _error(status: int, message: str, error_type: str = "api_error") -> Reply:
    body = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    return Reply.json(body, status=status)


class FakeLocal(FakeHTTPServer):
    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("llama3.2", "qwen3:8b"),
        ollama: bool = False,
        api_key: str | None = None,
        sends_usage: bool = False,
        rejects_stream_options: bool = False,
        tool_call_ids: bool = True,
        finish_reason: bool = True,
        reasoning_field: str | None = "reasoning_content",
        think_tags: bool = False,
        n_ctx: int | None = None,
        ollama_num_ctx: int | None = None,
        ollama_context_length: int = 131072,
    ) -> None:
        super().__init__(default=lambda request: self._chat_reply(Scenario(), request))
        self.models = list(models)
        self.ollama = ollama
        self.api_key = api_key
        self.sends_usage = sends_usage
        self.rejects_stream_options = rejects_stream_options
        self.tool_call_ids = tool_call_ids
        self.finish_reason = finish_reason
        self.reasoning_field = reasoning_field
        self.think_tags = think_tags
        self.n_ctx = n_ctx
        self.ollama_num_ctx = ollama_num_ctx
        self.ollama_context_length = ollama_context_length
        self.completion_scenarios: list[Scenario] = []

    def __enter__(self) -> FakeLocal:
        self.start()
        return self

    @property
    def root_url(self) -> str:
        return super().url

    @property
    def url(self) -> str:
        return self.root_url + "/v1"

    def enqueue_scenario(self, scenario: Scenario) -> None:
        self.enqueue(lambda request: self._chat_reply(scenario, request))

    def chats(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == "/v1/chat/completions"]

    def enqueue_completion(self, scenario: Scenario) -> None:
        """The answer to the next `/v1/completions` request (else a default Scenario)."""
        self.completion_scenarios.append(scenario)

    def completions(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == "/v1/completions"]

    # ---- routing ---------------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        wanted = f"Bearer {self.api_key}"
        if self.api_key is not None and request.headers.get("authorization") != wanted:
            return _error(401, "invalid api key", "invalid_request_error")
        path = urlsplit(request.path).path
        if request.method == "GET" and path == "/v1/models":
            data = [
                {"id": name, "object": "model", "created": 1730000000, "owned_by": "library"}
                for name in self.models
            ]
            return Reply.json({"object": "list", "data": data})
        if request.method == "GET" and path == "/api/tags" and self.ollama:
            return Reply.json({"models": [self._tag(name) for name in self.models]})
        if request.method == "POST" and path == "/api/show" and self.ollama:
            return self._show(request)
        if request.method == "GET" and path == "/props" and self.n_ctx is not None:
            return Reply.json(self._props())
        if request.method == "POST" and path == "/v1/chat/completions":
            return super()._next_reply(request)
        if request.method == "POST" and path == "/v1/completions":
            scenario = self.completion_scenarios.pop(0) if self.completion_scenarios else None
            return self._completion_reply(scenario or Scenario(), request)
        return Reply(
            status=404, headers={"content-type": "text/plain"}, chunks=[b"404 page not found"]
        )

    def _tag(self, name: str) -> dict[str, Any]:
        full = name if ":" in name else f"{name}:latest"
        return {
            "name": full,
            "model": full,
            "modified_at": "2026-10-02T09:14:11.123456789+02:00",
            "size": 2019393189,
            "digest": _random(64),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
        }

    def _show(self, request: RecordedRequest) -> Reply:
        """Ollama's `/api/show`, shaped as Ollama 0.12 answers for a llama model."""
        try:
            name = request.json().get("model")
        except (ValueError, AttributeError):
            return Reply.json({"error": "invalid request"}, status=400)
        known = {m if ":" in m else f"{m}:latest" for m in self.models}
        full = name if isinstance(name, str) and ":" in name else f"{name}:latest"
        if full not in known:
            return Reply.json({"error": f"model '{name}' not found"}, status=404)
        parameters = ['stop                           "<|start_header_id|>"']
        if self.ollama_num_ctx is not None:
            parameters.append(f"num_ctx                        {self.ollama_num_ctx}")
        return Reply.json(
            {
                "license": "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {full}\n',
                "parameters": "\n".join(parameters),
                "template": "{{ .Prompt }}",
                "details": self._tag(full)["details"],
                "model_info": {
                    "general.architecture": "llama",
                    "general.parameter_count": 3212749888,
                    "llama.attention.head_count": 24,
                    "llama.block_count": 28,
                    "llama.context_length": self.ollama_context_length,
                    "llama.embedding_length": 3072,
                    "tokenizer.ggml.model": "gpt2",
                },
                "capabilities": ["completion", "tools"],
                "modified_at": "2026-10-02T09:14:11.123456789+02:00",
            }
        )

    def _props(self) -> dict[str, Any]:
        """llama.cpp's `/props` (llama-server b5000 and later)."""
        return {
            "default_generation_settings": {
                "id": 0,
                "id_task": -1,
                "n_ctx": self.n_ctx,
                "speculative": False,
                "is_processing": False,
                "params": {"n_predict": -1, "temperature": 0.8, "top_k": 40, "top_p": 0.95},
            },
            "total_slots": 1,
            "model_path": f"/models/{self.models[0]}.gguf",
            "modalities": {"vision": False, "audio": False},
            "chat_template": "{{ messages }}",
            "build_info": "b5000-fake",
        }

    # ---- answers ---------------------------------------------------------------------

    def _chat_reply(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _error(400, "invalid JSON body", "invalid_request_error")
        model = body.get("model") if isinstance(body, dict) else None
        if not isinstance(model, str) or model.split(":")[0] not in {
            m.split(":")[0] for m in self.models
        }:
            return _error(404, f'model "{model}" not found, try pulling it first')
        if self.rejects_stream_options and "stream_options" in body:
            return _error(400, "unrecognized request argument supplied: stream_options")
        answer = _Answer(self, scenario, model)
        if not body.get("stream"):
            return Reply.json(answer.whole())
        asked = bool((body.get("stream_options") or {}).get("include_usage"))
        return Reply(
            headers={"content-type": "text/event-stream"},
            chunks=answer.stream(self.sends_usage and asked),
            delay_s=scenario.delay_s,
        )

    def _completion_reply(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _error(400, "invalid JSON body", "invalid_request_error")
        model = body.get("model") if isinstance(body, dict) else None
        if not isinstance(model, str) or model.split(":")[0] not in {
            m.split(":")[0] for m in self.models
        }:
            return _error(404, f'model "{model}" not found, try pulling it first')
        if not isinstance(body.get("prompt"), str):
            return _error(400, "prompt is required", "invalid_request_error")
        if self.rejects_stream_options and "stream_options" in body:
            return _error(400, "unrecognized request argument supplied: stream_options")
        answer = TextCompletion(scenario, model)
        if body.get("stream") and not self.sends_usage:
            body = {**body, "stream_options": None}
        return answer.reply(body)


class _Answer:
    def __init__(self, fake: FakeLocal, scenario: Scenario, model: str) -> None:
        self.fake = fake
        self.scenario = scenario
        self.model = scenario.model or model
        self.id = "chatcmpl-" + _random(8)
        self.created = int(time.time())

    def chunk(self, delta: dict[str, Any] | None, finish: str | None = None) -> dict[str, Any]:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_local",
            "choices": choices,
        }

    def usage(self) -> dict[str, int]:
        scenario = self.scenario
        return {
            "prompt_tokens": scenario.input_tokens,
            "completion_tokens": scenario.output_tokens,
            "total_tokens": scenario.input_tokens + scenario.output_tokens,
        }

    def content_pieces(self) -> tuple[list[str], list[str]]:
        """(thinking deltas, content deltas) as this server would send them."""
        scenario, fake = self.scenario, self.fake
        text = scenario.text_pieces()
        if not scenario.thinking:
            return [], text
        if fake.think_tags:
            inline = f"<think>\n{scenario.thinking}\n</think>\n\n"
            return [], [*_pieces(inline, 3), *text]
        if fake.reasoning_field is None:
            return [], text
        return _pieces(scenario.thinking, 5), text

    def tool_calls(self) -> list[dict[str, Any]]:
        calls = []
        for index, call in enumerate(self.scenario.tool_calls):
            wire: dict[str, Any] = {"index": index, "type": "function"}
            if self.fake.tool_call_ids:
                wire["id"] = call.id
            wire["function"] = {"name": call.name, "arguments": json.dumps(call.input)}
            calls.append(wire)
        return calls

    def stream(self, with_usage: bool) -> list[bytes]:
        thinking, content = self.content_pieces()
        events = [_event(self.chunk({"role": "assistant", "content": ""}))]
        field = self.fake.reasoning_field or "reasoning_content"
        events += [_event(self.chunk({"content": "", field: piece})) for piece in thinking]
        events += [_event(self.chunk({"content": piece})) for piece in content]
        calls = self.tool_calls()
        if calls:
            events.append(_event(self.chunk({"tool_calls": calls})))
        if self.fake.finish_reason:
            finish = _FINISH.get(self.scenario.stop, "stop")
            events.append(_event(self.chunk({}, finish)))
        if with_usage:
            events.append(_event({**self.chunk(None), "usage": self.usage()}))
        return [*events, b"data: [DONE]\n\n"]

    def whole(self) -> dict[str, Any]:
        thinking, content = self.content_pieces()
        message: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
        if thinking:
            message[self.fake.reasoning_field or "reasoning_content"] = "".join(thinking)
        calls = self.tool_calls()
        if calls:
            message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
        answer: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_local",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": _FINISH.get(self.scenario.stop, "stop"),
                }
            ],
        }
        if self.fake.sends_usage:
            answer["usage"] = self.usage()
        return answer
