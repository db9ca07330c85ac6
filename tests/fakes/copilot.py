"""A loopback fake of GitHub Copilot: the token exchange, /chat/completions and /models.

- `GET /copilot_internal/v2/token` takes `Authorization: token <GitHub token>`
  and answers the envelope Copilot Chat for VS Code reads (copilotToken.ts):
  `{token, expires_at, refresh_in, endpoints: {api, ...}, sku, ...}`, where
  `endpoints.api` is this fake. Every exchange issues a new token, valid for
  `lifetime_s` (then refused with 401, as after a real expiry).
- `POST /chat/completions` wants `Authorization: Bearer <Copilot token>` (a
  GitHub token there, or a token made stale by `expire_tokens()`, gets a
  401) and the integration headers (else a 400, as CAPI answers). Streams
  use CAPI's shape, as in copilot/chat-stream-capi-gpt4o-mini.sse: keys in
  alphabetical order, a `prompt_filter_results` preamble without id or
  model, per-choice `content_filter_results`, and a usage chunk with
  `choices: []` before `[DONE]`.
- `split_choices=True` answers the way Copilot serves some other vendors'
  models (reported for Claude): text in choice 0, tool calls in choice 1,
  each tool call's arguments whole in one fragment.
- `GET /models` lists models with capabilities, limits, billing and policy.
- `POST /v1/engines/<model>/completions` serves inline completions (prompt +
  suffix) in the shape of copilot/completions-stream-inline.sse: bare chunks
  with only `choices`, an opening chunk without text, the finish reason in a
  last chunk without text, no usage.

The official `openai` SDK talks to it with `OpenAI(base_url=fake.url,
api_key=<Copilot token>, default_headers=<editor headers>)`.
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

REQUIRED_HEADERS = ("editor-version", "copilot-integration-id")
_FILTERED = {"filtered": False, "severity": "safe"}
_FILTER_RESULTS = {name: _FILTERED for name in ("hate", "self_harm", "sexual", "violence")}
_FINISH = {
    "endTurn": "stop",
    "stopSequence": "stop",
    "maxTokens": "length",
    "toolUse": "tool_calls",
    "contentFilter": "content_filter",
}
_ARGUMENT_FRAGMENT = 6


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.choices(alphabet, k=length))


def default_models() -> list[dict[str, Any]]:
    return [
        model_entry("gpt-5-mini", "GPT-5 mini", "OpenAI", 264000, 128000, 64000, 0.0, False),
        model_entry("gpt-4.1", "GPT-4.1", "OpenAI", 128000, 128000, 16384, 0.0, False),
        model_entry(
            "claude-sonnet-4.5", "Claude Sonnet 4.5", "Anthropic", 200000, 128000, 16000, 1.0, True
        ),
        {
            "id": "text-embedding-3-small",
            "name": "Embedding V3 small",
            "object": "model",
            "vendor": "Azure OpenAI",
            "version": "text-embedding-3-small",
            "preview": False,
            "model_picker_enabled": False,
            "capabilities": {
                "family": "text-embedding-3-small",
                "object": "model_capabilities",
                "type": "embeddings",
                "tokenizer": "cl100k_base",
                "limits": {"max_inputs": 512},
                "supports": {"dimensions": True},
            },
        },
    ]


def model_entry(
    model_id: str,
    name: str,
    vendor: str,
    context: int,
    prompt: int,
    output: int,
    multiplier: float,
    premium: bool,
) -> dict[str, Any]:
    return {
        "billing": {"is_premium": premium, "multiplier": multiplier},
        "capabilities": {
            "family": model_id,
            "limits": {
                "max_context_window_tokens": context,
                "max_output_tokens": output,
                "max_prompt_tokens": prompt,
                "vision": {"max_prompt_image_size": 3145728, "max_prompt_images": 1},
            },
            "object": "model_capabilities",
            "supports": {
                "parallel_tool_calls": True,
                "streaming": True,
                "structured_outputs": True,
                "tool_calls": True,
                "vision": True,
            },
            "tokenizer": "o200k_base",
            "type": "chat",
        },
        "id": model_id,
        "is_chat_default": model_id == "gpt-5-mini",
        "is_chat_fallback": model_id == "gpt-4.1",
        "model_picker_enabled": True,
        "name": name,
        "object": "model",
        "policy": {"state": "enabled", "terms": f"Enable access to {name}."},
        "preview": False,
        "supported_endpoints": ["/chat/completions", "/responses"],
        "vendor": vendor,
        "version": model_id,
    }


def _usage(scenario: Scenario) -> dict[str, Any]:
    return {
        "completion_tokens": scenario.output_tokens,
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
        "prompt_tokens": scenario.input_tokens,
        "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": scenario.cache_read_tokens},
        "total_tokens": scenario.input_tokens + scenario.output_tokens,
    }


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, sort_keys=True, separators=(",", ":")).encode() + b"\n\n"


class _Answer:
    """One scenario in CAPI's wire shape."""

    def __init__(self, scenario: Scenario, model: str, split_choices: bool) -> None:
        self.scenario = scenario
        self.model = scenario.model or model
        self.split = split_choices
        self.id = "chatcmpl-" + _random(29)
        self.created = int(time.time())
        self.fingerprint = "fp_" + _random(10, "0123456789abcdef")

    def chunk(self, choices: list[Any], usage: Any = None) -> dict[str, Any]:
        return {
            "choices": choices,
            "created": self.created,
            "id": self.id,
            "model": self.model,
            "object": "chat.completion.chunk",
            "system_fingerprint": self.fingerprint,
            "usage": usage,
        }

    def choice(self, delta: dict[str, Any], index: int = 0, finish: str | None = None) -> Any:
        filters = _FILTER_RESULTS if delta.get("content") else {}
        return {
            "content_filter_results": filters,
            "delta": delta,
            "finish_reason": finish,
            "index": index,
            "logprobs": None,
        }

    def stream(self) -> list[bytes]:
        preamble = {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": [
                {"content_filter_results": _FILTER_RESULTS, "prompt_index": 0}
            ],
        }
        events = [_event(preamble)]
        first = {"content": "", "refusal": None, "role": "assistant"}
        events.append(_event(self.chunk([self.choice(first)])))
        scenario = self.scenario
        if scenario.thinking:
            events += [_event(self.chunk([self.choice({"reasoning_text": scenario.thinking})]))]
        for piece in scenario.text_pieces():
            events.append(_event(self.chunk([self.choice({"content": piece})])))
        events += [_event(self.chunk([c])) for c in self.tool_choices()]
        finish = _FINISH.get(scenario.stop, "stop")
        finishing = [self.choice({}, finish=finish)]
        if self.split and scenario.tool_calls:
            finishing.append(self.choice({}, index=1, finish=finish))
        events.append(_event(self.chunk(finishing)))
        events.append(_event(self.chunk([], _usage(scenario))))
        return [*events, b"data: [DONE]\n\n"]

    def tool_choices(self) -> list[Any]:
        choices: list[Any] = []
        for position, call in enumerate(self.scenario.tool_calls):
            arguments = json.dumps(call.input)
            head = {"id": call.id, "type": "function", "function": {"name": call.name}}
            if self.split:
                # Whole arguments in one fragment, index 0 for every call, in choice 1.
                whole = {
                    **head,
                    "index": 0,
                    "function": {"name": call.name, "arguments": arguments},
                }
                choices.append(self.choice({"tool_calls": [whole]}, index=1))
                continue
            first = {**head, "index": position, "function": {"name": call.name, "arguments": ""}}
            choices.append(self.choice({"tool_calls": [first]}))
            for start in range(0, len(arguments), _ARGUMENT_FRAGMENT):
                fragment = {
                    "index": position,
                    "function": {"arguments": arguments[start : start + _ARGUMENT_FRAGMENT]},
                }
                choices.append(self.choice({"tool_calls": [fragment]}))
        return choices

    def whole(self) -> dict[str, Any]:
        scenario = self.scenario
        calls = [
            {
                "function": {"arguments": json.dumps(call.input), "name": call.name},
                "id": call.id,
                "type": "function",
            }
            for call in scenario.tool_calls
        ]
        finish = _FINISH.get(scenario.stop, "stop")
        message: dict[str, Any] = {"content": scenario.text or None, "role": "assistant"}
        choices = [{"finish_reason": finish, "index": 0, "message": message}]
        if calls and self.split:
            tools_message = {"content": None, "role": "assistant", "tool_calls": calls}
            choices.append({"finish_reason": finish, "index": 1, "message": tools_message})
        elif calls:
            message["tool_calls"] = calls
        return {
            "choices": choices,
            "created": self.created,
            "id": self.id,
            "model": self.model,
            "object": "chat.completion",
            "system_fingerprint": self.fingerprint,
            "usage": _usage(scenario),
        }


class FakeCopilot(FakeHTTPServer):
    github_token = "gho_" + "SwbFakeCopilotGithubToken0123456"

    def __init__(
        self, *, split_choices: bool = False, refresh_in: int = 1500, lifetime_s: int = 1800
    ) -> None:
        super().__init__(default=lambda request: self._chat_reply(Scenario(), request))
        self.split_choices = split_choices
        self.refresh_in = refresh_in
        self.lifetime_s = lifetime_s
        #: GitHub tokens the exchange accepts; a test can share FakeGitHub.issued_tokens.
        self.github_tokens: list[str] = [self.github_token]
        self.models = default_models()
        self.issued: list[str] = []
        self._valid: dict[str, float] = {}  # token -> expires_at
        self.no_copilot = False
        self.completion_models = {"gpt-41-copilot"}
        self.completion_scenarios: list[Scenario] = []

    def __enter__(self) -> FakeCopilot:
        self.start()
        return self

    # ---- test controls -----------------------------------------------------------

    def enqueue_scenario(self, scenario: Scenario) -> None:
        self.enqueue(lambda request: self._chat_reply(scenario, request))

    def expire_tokens(self) -> None:
        """Every Copilot token issued so far is now refused (401), as after its expiry."""
        self._valid.clear()

    def exchanges(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path.endswith("/v2/token")]

    def chats(self) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == "/chat/completions"]

    def enqueue_completion(self, scenario: Scenario) -> None:
        """The answer to the next inline-completion request (else a default Scenario)."""
        self.completion_scenarios.append(scenario)

    def completions(self) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if urlsplit(r.path).path.endswith("/completions")
            and urlsplit(r.path).path.startswith("/v1/engines/")
        ]

    # ---- routing ---------------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        path = urlsplit(request.path).path
        if request.method == "GET" and path == "/copilot_internal/v2/token":
            return self._token_reply(request)
        denied = self._check_token(request) or self._check_headers(request)
        if denied is not None:
            return denied
        if request.method == "GET" and path == "/models":
            return Reply.json({"data": self.models, "object": "list"})
        if request.method == "POST" and path == "/chat/completions":
            return super()._next_reply(request)
        engine = path.removeprefix("/v1/engines/").removesuffix("/completions")
        if request.method == "POST" and path == f"/v1/engines/{engine}/completions":
            return self._completion_reply(engine, request)
        return Reply(
            status=404, headers={"content-type": "text/plain"}, chunks=[b"404 page not found\n"]
        )

    def _token_reply(self, request: RecordedRequest) -> Reply:
        given = request.headers.get("authorization", "").removeprefix("token ")
        if given not in self.github_tokens:
            body = {
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401",
            }
            return Reply.json(body, status=401)
        if self.no_copilot:
            return Reply.json(
                {
                    "can_signup_for_limited": False,
                    "error_details": {
                        "message": "You do not have access to GitHub Copilot.",
                        "notification_id": "no_copilot_access",
                        "title": "No Copilot access",
                        "url": "https://github.com/features/copilot",
                    },
                    "message": "You do not have access to GitHub Copilot.",
                },
                status=403,
            )
        now = int(time.time())
        expires_at = now + self.lifetime_s
        token = (
            f"tid={_random(32, '0123456789abcdef')};exp={expires_at};sku=monthly_subscriber;"
            f"proxy-ep=proxy.individual.githubcopilot.com;st=dotcom;chat=1;8kp=1:"
            + _random(64, "0123456789abcdef")
        )
        self.issued.append(token)
        self._valid[token] = expires_at
        return Reply.json(
            {
                "chat_enabled": True,
                "endpoints": {
                    "api": self.url,
                    "origin-tracker": "https://origin-tracker.individual.githubcopilot.com",
                    "proxy": "https://proxy.individual.githubcopilot.com",
                    "telemetry": "https://telemetry.individual.githubcopilot.com",
                },
                "expires_at": expires_at,
                "individual": True,
                "limited_user_quotas": None,
                "refresh_in": self.refresh_in,
                "sku": "monthly_subscriber",
                "token": token,
                "tracking_id": _random(32, "0123456789abcdef"),
            }
        )

    def _check_token(self, request: RecordedRequest) -> Reply | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token in self._valid and time.time() < self._valid[token]:
            return None
        message = "unauthorized: token expired" if token in self.issued else "unauthorized"
        return Reply(
            status=401, headers={"content-type": "text/plain"}, chunks=[message.encode() + b"\n"]
        )

    def _check_headers(self, request: RecordedRequest) -> Reply | None:
        for name in REQUIRED_HEADERS:
            if not request.headers.get(name):
                title = "-".join(part.capitalize() for part in name.split("-"))
                message = f"bad request: missing {title} header for IDE auth"
                return Reply(
                    status=400,
                    headers={"content-type": "text/plain"},
                    chunks=[message.encode() + b"\n"],
                )
        return None

    def _chat_reply(self, scenario: Scenario, request: RecordedRequest) -> Reply:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("model"):
            error = {"error": {"message": "model is required", "code": "invalid_request_body"}}
            return Reply.json(error, status=400)
        known = {model["id"] for model in self.models}
        if body["model"] not in known:
            error = {
                "error": {
                    "message": "The requested model is not supported.",
                    "code": "model_not_supported",
                    "param": "model",
                    "type": "invalid_request_error",
                }
            }
            return Reply.json(error, status=400)
        answer = _Answer(scenario, str(body["model"]), self.split_choices)
        if not body.get("stream"):
            return Reply.json(answer.whole())
        return Reply(
            headers={"content-type": "text/event-stream", "x-request-id": _random(20)},
            chunks=answer.stream(),
            delay_s=scenario.delay_s,
        )

    def _completion_reply(self, engine: str, request: RecordedRequest) -> Reply:
        if engine not in self.completion_models:
            return Reply(
                status=404, headers={"content-type": "text/plain"}, chunks=[b"Not Found\n"]
            )
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            return Reply.json({"error": {"message": "prompt is required"}}, status=400)
        scenario = self.completion_scenarios.pop(0) if self.completion_scenarios else Scenario()
        return TextCompletion(scenario, engine, copilot=True).reply(body)
