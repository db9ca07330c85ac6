"""A loopback fake of Azure OpenAI's Chat Completions, in both URL styles.

Classic: POST /openai/deployments/{deployment}/chat/completions?api-version=...
(404 without an api-version); v1: POST /openai/v1/chat/completions with the
deployment as the body's model. The key comes in an `api-key` header (the
v1 endpoint also takes it as a bearer token), or an Entra ID bearer token.
Streams look like Azure's as recorded in 2025: a first chunk with only
prompt_filter_results (empty id and model), content_filter_results on every
choice, `obfuscation` padding, usage after the finish when asked for, then
[DONE]. A Scenario(stop="contentFilter") ends with finish_reason
content_filter and the filtered category marked. GET /openai/v1/models (and
/openai/models?api-version=...) list the resource's models.

The official SDK talks to it with `AzureOpenAI(azure_endpoint=fake.url,
api_version=..., api_key=fake.api_key)` or `OpenAI(base_url=fake.url +
"/openai/v1", api_key=fake.api_key)`.
"""

from __future__ import annotations

import json
import random
import string
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .http import RecordedRequest, Reply
from .openai import FakeOpenAI
from .openrouter import FINISH_REASONS, tool_call_wire
from .scenario import Scenario

CATEGORIES = ("hate", "self_harm", "sexual", "violence")
_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide"
    " a valid key for an active subscription and use a correct regional API endpoint for your"
    " resource."
)
_NO_DEPLOYMENT = (
    "The API deployment for this resource does not exist. If you created the deployment within"
    " the last 5 minutes, please wait a moment and try again."
)
_PROMPT_FILTERED = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management"
    " policy. Please modify your prompt and retry. To learn more about our content filtering"
    " policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.choices(alphabet, k=length))


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _error(http_status: int, code: str, message: str, **extra: Any) -> Reply:
    body = {"error": {"code": code, "message": message, **extra}}
    return Reply(
        status=http_status,
        headers={"content-type": "application/json", "apim-request-id": _random(36)},
        chunks=[json.dumps(body).encode()],
        chunked=False,
    )


def filter_results(filtered: tuple[str, str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {c: {"filtered": False, "severity": "safe"} for c in CATEGORIES}
    if filtered is not None:
        results[filtered[0]] = {"filtered": True, "severity": filtered[1]}
    return results


class FakeAzure(FakeOpenAI):
    api_key = "5b0a7dfa4e1c4a0e9d3fakeazurekey0"
    entra_token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-entra-access-token.sig"
    #: deployment name -> the model it serves
    deployments = {"gpt-4o": "gpt-4o-2024-11-20", "chat-prod": "gpt-4.1-2025-04-14"}
    #: the category (and severity) a Scenario(stop="contentFilter") marks as filtered
    filtered = ("violence", "high")

    @property
    def url(self) -> str:
        return self.root_url

    def enqueue_prompt_filtered(self, category: str = "jailbreak") -> None:
        results: dict[str, Any] = filter_results()
        results[category] = {"filtered": True, "detected": True}
        self.enqueue(
            _error(
                400,
                "content_filter",
                _PROMPT_FILTERED,
                param="prompt",
                type=None,
                status=400,
                innererror={
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": results,
                },
            )
        )

    def _next_reply(self, request: RecordedRequest) -> Reply:
        denied = self._check_key(request)
        if denied is not None:
            return denied
        parts = urlsplit(request.path)
        path, query = parts.path, parse_qs(parts.query)
        segments = path.strip("/").split("/")
        if request.method == "GET" and (
            path == "/openai/v1/models" or (path == "/openai/models" and "api-version" in query)
        ):
            return self._models_reply()
        if request.method == "POST" and path == "/openai/v1/chat/completions":
            return self._chat(request, None)
        classic = segments[:2] == ["openai", "deployments"] and segments[3:] == [
            "chat",
            "completions",
        ]
        if request.method == "POST" and classic and "api-version" in query:
            return self._chat(request, unquote(segments[2]))
        return _error(404, "404", "Resource not found")

    def _check_key(self, request: RecordedRequest) -> Reply | None:
        key = request.headers.get("api-key")
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if key == self.api_key or bearer in (self.api_key, self.entra_token):
            return None
        return _error(401, "401", _DENIED)

    def _chat(self, request: RecordedRequest, deployment: str | None) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return _error(400, "invalid_request_error", "We could not parse the JSON body.")
        name = deployment if deployment is not None else body.get("model")
        if name not in self.deployments:
            return _error(404, "DeploymentNotFound", _NO_DEPLOYMENT)
        return super(FakeOpenAI, self)._next_reply(request)

    def _scenario_reply(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        body = request.json()
        parts = urlsplit(request.path).path.strip("/").split("/")
        deployment = parts[2] if parts[1] == "deployments" else str(body.get("model"))
        head = {
            "id": "chatcmpl-" + _random(29),
            "created": int(time.time()),
            "model": scenario.model or self.deployments.get(deployment, deployment),
            "system_fingerprint": "fp_" + _random(10, "0123456789abcdef"),
        }
        prompt_filters = [{"prompt_index": 0, "content_filter_results": filter_results()}]
        if not body.get("stream"):
            return self._json_reply(self._whole(scenario, head, prompt_filters))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return Reply(
            headers={"content-type": "text/event-stream; charset=utf-8"},
            chunks=self._stream(scenario, head, prompt_filters, include_usage),
            delay_s=scenario.delay_s,
        )

    def _finish_filters(self, scenario: Scenario) -> dict[str, Any]:
        return filter_results(self.filtered if scenario.stop == "contentFilter" else None)

    def _stream(
        self,
        scenario: Scenario,
        head: dict[str, Any],
        prompt_filters: list[Any],
        include_usage: bool,
    ) -> list[bytes]:
        def chunk(
            delta: dict[str, Any], filters: dict[str, Any], finish: str | None = None
        ) -> bytes:
            choice = {
                "content_filter_results": filters,
                "delta": delta,
                "finish_reason": finish,
                "index": 0,
                "logprobs": None,
            }
            return _event(
                {
                    "choices": [choice],
                    **head,
                    "obfuscation": _random(random.randint(2, 14)),
                    "object": "chat.completion.chunk",
                    "usage": None,
                }
            )

        opening = {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
        out = [_event({**opening, "prompt_filter_results": prompt_filters})]
        out.append(chunk({"content": "", "refusal": None, "role": "assistant"}, {}))
        out += [chunk({"content": piece}, filter_results()) for piece in scenario.text_pieces()]
        for index, call in enumerate(scenario.tool_calls):
            out.append(chunk({"tool_calls": [tool_call_wire(index, call)]}, {}))
        finish = FINISH_REASONS.get(scenario.stop, "stop")
        out.append(chunk({}, self._finish_filters(scenario), finish))
        if include_usage:
            usage = {
                "completion_tokens": scenario.output_tokens,
                "prompt_tokens": scenario.input_tokens,
                "prompt_tokens_details": {"cached_tokens": scenario.cache_read_tokens},
                "total_tokens": scenario.input_tokens + scenario.output_tokens,
            }
            final = {**head, "choices": [], "object": "chat.completion.chunk", "usage": usage}
            out.append(_event(final))
        return [*out, b"data: [DONE]\n\n"]

    def _whole(
        self, scenario: Scenario, head: dict[str, Any], prompt_filters: list[Any]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "content": scenario.text or None,
            "refusal": None,
            "role": "assistant",
        }
        if scenario.tool_calls:
            message["tool_calls"] = [
                {k: v for k, v in tool_call_wire(i, c).items() if k != "index"}
                for i, c in enumerate(scenario.tool_calls)
            ]
        choice = {
            "content_filter_results": self._finish_filters(scenario),
            "finish_reason": FINISH_REASONS.get(scenario.stop, "stop"),
            "index": 0,
            "logprobs": None,
            "message": message,
        }
        usage = {
            "completion_tokens": scenario.output_tokens,
            "prompt_tokens": scenario.input_tokens,
            "prompt_tokens_details": {"cached_tokens": scenario.cache_read_tokens},
            "total_tokens": scenario.input_tokens + scenario.output_tokens,
        }
        return {
            **head,
            "choices": [choice],
            "object": "chat.completion",
            "prompt_filter_results": prompt_filters,
            "usage": usage,
        }

    def _models_reply(self) -> Reply:
        def entry(name: str, chat: bool) -> dict[str, Any]:
            return {
                "id": name,
                "object": "model",
                "created_at": 1732060800,
                "status": "succeeded",
                "lifecycle_status": "generally-available",
                "capabilities": {
                    "chat_completion": chat,
                    "completion": False,
                    "embeddings": not chat,
                    "fine_tune": False,
                    "inference": True,
                },
            }

        data = [entry(model, True) for model in self.deployments.values()]
        data.append(entry("text-embedding-3-small", False))
        return self._json_reply({"data": data, "object": "list"})
