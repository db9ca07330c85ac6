"""Loopback fakes of two OpenAI-compatible APIs with their own extras: OpenRouter and xAI.

FakeOpenRouter speaks openrouter.ai/api/v1 as recorded in 2025: `: OPENROUTER
PROCESSING` comment lines before and between events, a `provider` field and
`native_finish_reason` on every chunk, thinking as `reasoning` plus
`reasoning_details` (text fragments, then the signature), usage with `cost`
(USD) in a last chunk, and errors after the start as an `error` object with
a numeric code inside the 200 stream. GET /api/v1/models answers OpenRouter's
model list. The official `openai` SDK talks to it with
`OpenAI(base_url=fake.url, api_key=fake.api_key)`.

FakeXAI speaks api.x.ai/v1: thinking as `reasoning_content`, a tool call
whole in one chunk, usage whose completion_tokens leaves reasoning out and
whose `cost_in_usd_ticks` is the exact price (1 USD = 10^10 ticks), and
xAI's flat error body.
"""

from __future__ import annotations

import json
import random
import string
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from .http import RecordedRequest, Reply
from .oauth import OpenRouterKeyGrants
from .openai import FakeOpenAI
from .scenario import Scenario

FINISH_REASONS = {
    "endTurn": "stop",
    "stopSequence": "stop",
    "refusal": "stop",
    "maxTokens": "length",
    "toolUse": "tool_calls",
    "contentFilter": "content_filter",
}
PROCESSING = b": OPENROUTER PROCESSING\n\n"
_EVENT_STREAM = "text/event-stream"
_FRAGMENT = 6  # characters of tool-call arguments per streamed chunk


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.choices(alphabet, k=length))


def _pieces(text: str, n: int) -> list[str]:
    if not text:
        return []
    size = -(-len(text) // max(1, min(n, len(text))))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _json_reply(body: Any, status: int = 200) -> Reply:
    return Reply(
        status=status,
        headers={"content-type": "application/json"},
        chunks=[json.dumps(body).encode()],
        chunked=False,
    )


def tool_call_wire(index: int, call: Any) -> dict[str, Any]:
    arguments = json.dumps(call.input)
    function = {"name": call.name, "arguments": arguments}
    return {"index": index, "id": call.id, "type": "function", "function": function}


# ---- OpenRouter -----------------------------------------------------------------


class FakeOpenRouter(FakeOpenAI):
    api_key = "sk-or-v1-" + "5b0a7d" * 10 + "0f1e"
    upstream = "Anthropic"
    signature = "EqQBCkgIBRABGAIiQFakeSignatureFromTheLoopbackFake=="
    detail_format = "anthropic-claude-v1"
    #: USD per prompt and per completion token, for usage.cost.
    prices = (0.000003, 0.000015)
    #: error.code and error.message of a Scenario(stop="error").
    stream_error = (502, "Upstream error from Anthropic: overloaded")
    models = ("anthropic/claude-sonnet-4.5", "openai/gpt-4o-mini")

    @property
    def url(self) -> str:
        return self.root_url + "/api/v1"

    def cost_of(self, scenario: Scenario) -> float:
        prompt, completion = self.prices
        return round(scenario.input_tokens * prompt + scenario.output_tokens * completion, 10)

    @property
    def key_flow(self) -> OpenRouterKeyGrants:
        """The PKCE key flow on this server; the keys it issues are accepted like api_key."""
        flow = getattr(self, "_key_flow", None)
        if flow is None:
            flow = self._key_flow = OpenRouterKeyGrants()
        return flow

    def _next_reply(self, request: RecordedRequest) -> Reply:
        path = urlsplit(request.path).path
        signing_in = self.key_flow.reply(request)
        if signing_in is not None:
            return signing_in
        if request.method == "GET" and path == "/api/v1/models":
            return _json_reply({"data": [self._model(name) for name in self.models]})
        denied = self._check_key(request)
        if denied is not None:
            return denied
        if request.method == "POST" and path == "/api/v1/chat/completions":
            return super(FakeOpenAI, self)._next_reply(request)
        return _json_reply({"error": {"message": "Not Found", "code": 404}}, 404)

    def _check_key(self, request: RecordedRequest) -> Reply | None:
        authorization = request.headers.get("authorization", "")
        given = authorization.removeprefix("Bearer ")
        if given == self.api_key or given in self.key_flow.keys:
            return None
        message = "No cookie auth credentials found" if not authorization else "User not found."
        return _json_reply({"error": {"message": message, "code": 401}}, 401)

    def _scenario_reply(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _json_reply({"error": {"message": "Invalid JSON", "code": 400}}, 400)
        model = scenario.model or str(body.get("model") or "")
        if not model:
            return _json_reply({"error": {"message": "No models provided", "code": 400}}, 400)
        head = {
            "id": f"gen-{int(time.time())}-{_random(20)}",
            "provider": self.upstream,
            "model": model,
            "created": int(time.time()),
        }
        if not body.get("stream"):
            if scenario.stop == "error":
                code, message = self.stream_error
                return _json_reply({"error": {"message": message, "code": code}}, code)
            return _json_reply(self._whole(scenario, head))
        return Reply(
            headers={"content-type": _EVENT_STREAM, "x-generation-id": head["id"]},
            chunks=self._stream(scenario, head),
            delay_s=scenario.delay_s,
        )

    def _usage(self, scenario: Scenario) -> dict[str, Any]:
        cost = self.cost_of(scenario)
        reasoning = len(scenario.thinking or "") // 4
        return {
            "prompt_tokens": scenario.input_tokens,
            "completion_tokens": scenario.output_tokens,
            "total_tokens": scenario.input_tokens + scenario.output_tokens,
            "cost": cost,
            "is_byok": False,
            "prompt_tokens_details": {
                "cached_tokens": scenario.cache_read_tokens,
                "audio_tokens": 0,
            },
            "cost_details": {
                "upstream_inference_cost": None,
                "upstream_inference_prompt_cost": round(scenario.input_tokens * self.prices[0], 10),
                "upstream_inference_completions_cost": round(
                    scenario.output_tokens * self.prices[1], 10
                ),
            },
            "completion_tokens_details": {"reasoning_tokens": reasoning, "image_tokens": 0},
        }

    def _details(self, scenario: Scenario) -> list[dict[str, Any]]:
        return [
            {
                "type": "reasoning.text",
                "text": scenario.thinking,
                "signature": self.signature,
                "format": self.detail_format,
                "index": 0,
            }
        ]

    def _stream(self, scenario: Scenario, head: dict[str, Any]) -> list[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            choice = {
                "index": 0,
                "delta": {"role": "assistant", "content": "", **delta},
                "finish_reason": finish,
                "native_finish_reason": finish,
                "logprobs": None,
            }
            return _event({**head, "object": "chat.completion.chunk", "choices": [choice], **extra})

        out = [PROCESSING, PROCESSING]
        for piece in _pieces(scenario.thinking or "", scenario.pieces):
            detail = {"type": "reasoning.text", "text": piece, "format": self.detail_format}
            out.append(chunk({"reasoning": piece, "reasoning_details": [{**detail, "index": 0}]}))
        if scenario.thinking:
            signed = {"type": "reasoning.text", "signature": self.signature, "index": 0}
            out += [PROCESSING, chunk({"reasoning": None, "reasoning_details": [signed]})]
        out += [chunk({"content": piece}) for piece in scenario.text_pieces()]
        for index, call in enumerate(scenario.tool_calls):
            wire = tool_call_wire(index, call)
            arguments = wire["function"]["arguments"]
            first = {**wire, "function": {"name": call.name, "arguments": ""}}
            out.append(chunk({"tool_calls": [first]}))
            for start in range(0, len(arguments), _FRAGMENT):
                fragment = {"index": index, "function": {"arguments": arguments[start : start + 6]}}
                out.append(chunk({"tool_calls": [fragment]}))
        usage = self._usage(scenario)
        if scenario.stop == "error":
            code, message = self.stream_error
            error = {"code": code, "message": message}
            return [*out, chunk({}, "error", error=error, usage=usage), b"data: [DONE]\n\n"]
        out += [PROCESSING, chunk({}, FINISH_REASONS[scenario.stop]), chunk({}, usage=usage)]
        return [*out, b"data: [DONE]\n\n"]

    def _whole(self, scenario: Scenario, head: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": scenario.text,
            "refusal": None,
            "reasoning": scenario.thinking,
        }
        if scenario.thinking:
            message["reasoning_details"] = self._details(scenario)
        if scenario.tool_calls:
            message["tool_calls"] = [
                tool_call_wire(i, c) for i, c in enumerate(scenario.tool_calls)
            ]
        finish = FINISH_REASONS[scenario.stop]
        choice = {
            "index": 0,
            "logprobs": None,
            "finish_reason": finish,
            "native_finish_reason": finish,
            "message": message,
        }
        return {
            **head,
            "object": "chat.completion",
            "choices": [choice],
            "usage": self._usage(scenario),
        }

    def _model(self, name: str) -> dict[str, Any]:
        reasoning = name.startswith("anthropic/")
        return {
            "id": name,
            "canonical_slug": name,
            "name": name.replace("/", ": "),
            "created": 1759161676,
            "description": "A model served by the loopback fake.",
            "context_length": 1000000 if reasoning else 128000,
            "architecture": {
                "modality": "text+image->text",
                "input_modalities": ["text", "image"],
                "output_modalities": ["text"],
                "tokenizer": "Claude" if reasoning else "GPT",
                "instruct_type": None,
            },
            "pricing": {
                "prompt": "0.000003" if reasoning else "0.00000015",
                "completion": "0.000015" if reasoning else "0.0000006",
                "request": "0",
                "image": "0",
                "web_search": "0.01",
                "internal_reasoning": "0",
                "input_cache_read": "0.0000003" if reasoning else "0.000000075",
                "input_cache_write": "0.00000375" if reasoning else "0",
            },
            "top_provider": {
                "context_length": 1000000 if reasoning else 128000,
                "max_completion_tokens": 64000 if reasoning else 16384,
                "is_moderated": not reasoning,
            },
            "per_request_limits": None,
            "supported_parameters": [
                "max_tokens",
                "temperature",
                "tools",
                "tool_choice",
                *(["reasoning", "include_reasoning"] if reasoning else []),
            ],
            "default_parameters": {},
        }


# ---- xAI --------------------------------------------------------------------------


class FakeXAI(FakeOpenAI):
    api_key = "xai-" + "Swb0ardFakeXai" * 5 + "0123456789"
    reasoning_field = "reasoning_content"
    models = ("grok-4.5", "grok-3-mini", "grok-2-image-1212")
    #: USD per prompt, per cached prompt and per completion (and reasoning) token.
    prices = (0.000002, 0.0000005, 0.000006)

    def ticks_of(self, scenario: Scenario) -> int:
        prompt, cached, completion = self.prices
        uncached = scenario.input_tokens - scenario.cache_read_tokens
        usd = (
            uncached * prompt
            + scenario.cache_read_tokens * cached
            + (scenario.output_tokens + self.reasoning_tokens(scenario)) * completion
        )
        return round(usd * 10_000_000_000)

    @staticmethod
    def reasoning_tokens(scenario: Scenario) -> int:
        return len(scenario.thinking or "") // 4

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            sent = request.headers.get("authorization", "").removeprefix("Bearer ")
            masked = sent[:2] + "***" + sent[-2:] if sent else ""
            body = {
                "code": "Client specified an invalid argument",
                "error": f"Incorrect API key provided: {masked}. You can obtain an API key from"
                " https://console.x.ai.",
            }
            return _json_reply(body, 401)
        return super()._next_reply(request)

    def _scenario_reply(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        body = request.json()
        model = scenario.model or str(body.get("model"))
        head = {
            "id": str(uuid.uuid4()),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        fingerprint = {"system_fingerprint": "fp_" + _random(10, "0123456789abcdef")}
        if not body.get("stream"):
            return _json_reply(self._whole(scenario, head, fingerprint))

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice: dict[str, Any] = {"index": 0, "delta": delta}
            if finish:
                choice["finish_reason"] = finish
            return _event({**head, "choices": [choice], **fingerprint})

        out: list[bytes] = []
        role: dict[str, Any] = {"role": "assistant"}
        for piece in _pieces(scenario.thinking or "", scenario.pieces):
            out.append(chunk({"reasoning_content": piece, **role}))
            role = {}
        for piece in scenario.text_pieces():
            out.append(chunk({"content": piece, **role}))
            role = {}
        for index, call in enumerate(scenario.tool_calls):
            wire = tool_call_wire(index, call)
            wire = {
                "id": wire["id"],
                "function": wire["function"],
                "index": index,
                "type": "function",
            }
            out.append(chunk({"tool_calls": [wire], **role}))
            role = {}
        out.append(chunk({}, FINISH_REASONS[scenario.stop]))
        usage = {**head, "choices": [], "usage": self._usage(scenario), **fingerprint}
        return Reply(
            headers={"content-type": _EVENT_STREAM},
            chunks=[*out, _event(usage), b"data: [DONE]\n\n"],
            delay_s=scenario.delay_s,
        )

    def _usage(self, scenario: Scenario) -> dict[str, Any]:
        reasoning = self.reasoning_tokens(scenario)
        return {
            "prompt_tokens": scenario.input_tokens,
            "completion_tokens": scenario.output_tokens,
            "total_tokens": scenario.input_tokens + scenario.output_tokens + reasoning,
            "prompt_tokens_details": {
                "text_tokens": scenario.input_tokens,
                "audio_tokens": 0,
                "image_tokens": 0,
                "cached_tokens": scenario.cache_read_tokens,
            },
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "num_sources_used": 0,
            "cost_in_usd_ticks": self.ticks_of(scenario),
        }

    def _whole(
        self, scenario: Scenario, head: dict[str, Any], fingerprint: dict[str, Any]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": scenario.text, "refusal": None}
        if scenario.thinking:
            message["reasoning_content"] = scenario.thinking
        if scenario.tool_calls:
            message["tool_calls"] = [
                {k: v for k, v in tool_call_wire(i, c).items() if k != "index"}
                for i, c in enumerate(scenario.tool_calls)
            ]
        choice = {"index": 0, "message": message, "finish_reason": FINISH_REASONS[scenario.stop]}
        return {
            **head,
            "object": "chat.completion",
            "choices": [choice],
            "usage": self._usage(scenario),
            **fingerprint,
        }
