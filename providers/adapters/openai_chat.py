"""OpenAI Chat Completions: the dialect that most providers speak.

xAI, OpenRouter, GitHub Copilot, Azure OpenAI and local servers (Ollama,
llama.cpp, vLLM, LM Studio) subclass this adapter; what differs between them
lives in small class attributes and methods (URL, auth headers, the
max-tokens field, extra body fields, reasoning-field names, the decoder).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    ImagePart,
    Message,
    NamedToolChoice,
    StartedEvent,
    StopEvent,
    StopReason,
    TextEvent,
    TextPart,
    ThinkingEvent,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode

from ..base import (
    AdapterDefaults,
    Credential,
    Framing,
    ListedModel,
    ModelTarget,
    ProviderSettings,
    join_url,
)
from ..errors import RETRYABLE, ProviderError, classify, http_error
from ..wire import json_codec
from ..wire.http import HttpRequest
from ..wire.json_values import count as _count
from ..wire.sse import SSEEvent
from ..wire.tool_calls import ToolCallAssembler

#: what a failed tool's result starts with, for APIs without an error flag (`error_marked`)
TOOL_ERROR_PREFIX = "Error: "
log = logging.getLogger(__name__)

JsonObject = dict[str, Any]

FINISH_REASONS: dict[str, StopReason] = {
    "stop": "endTurn",
    "length": "maxTokens",
    "tool_calls": "toolUse",
    "function_call": "toolUse",
    "content_filter": "contentFilter",
}
#: what a chunk says about the answer besides it, kept as `providerMetadata`
METADATA_FIELDS = ("created", "system_fingerprint", "service_tier", "provider")
_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
_ERROR_CODES = {
    "context_length_exceeded": ErrorCode.CONTEXT_LENGTH_EXCEEDED,
    "model_not_found": ErrorCode.UNKNOWN_MODEL,
}
_BILLING_SUGGESTION = (
    "the account has no quota left: check the plan and billing details of this API key"
)
_MAX_ERROR_TEXT = 300


class OpenAIChatDecoder:
    """One streamed (or whole) chat completion → normalized events. Only choice 0 counts."""

    def __init__(self, fallback_model: str, reasoning_fields: tuple[str, ...]) -> None:
        self._fallback_model = fallback_model
        self._reasoning_fields = reasoning_fields
        self._tools = ToolCallAssembler()
        self._open_call_ids: dict[Any, str] = {}
        self._started = False
        self._finish: StopReason | None = None
        self._refused = False
        self._saw_tool_call = False
        self._done = False
        self.provider_metadata: JsonObject = {}

    def feed(self, event: SSEEvent) -> list[ChatEvent]:
        if self._done:
            return []
        data = event.data.strip()
        if data.startswith("[DONE]"):
            # The stream is complete even if the server never sent a finish_reason.
            if self._finish is None:
                self._finish = "toolUse" if self._saw_tool_call else "endTurn"
            return self.close()
        try:
            chunk = json_codec.loads(data)
        except (ValueError, RecursionError):
            log.debug("skipping a data line that is not JSON (%d chars)", len(data))
            return []
        return self.feed_chunk(chunk) if isinstance(chunk, dict) else []

    def close(self) -> list[ChatEvent]:
        if self._done:
            return []
        self._done = True
        events = self._tools.finish_all()
        if self._finish is None:
            events.append(ErrorEvent(code=ErrorCode.NETWORK, message="the stream ended early"))
            events.append(StopEvent(reason="error"))
            return events
        refusal = self._refused and self._finish == "endTurn"
        events.append(StopEvent(reason="refusal" if refusal else self._finish))
        return events

    def feed_chunk(self, chunk: JsonObject) -> list[ChatEvent]:
        """One `chat.completion.chunk` (or a whole `chat.completion`) as parsed JSON."""
        if self._done:
            return []
        events = self._start(chunk)
        choice = _first_choice(chunk.get("choices"))
        if choice is not None:
            events += self._choice(choice)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.append(self.usage_event(usage))
        if chunk.get("error"):
            events += self._error(chunk["error"])
        return events

    def usage_event(self, usage: JsonObject) -> UsageEvent:
        return usage_event(usage)

    def _start(self, chunk: JsonObject) -> list[ChatEvent]:
        if self._started or ("id" not in chunk and "choices" not in chunk):
            return []
        self._started = True
        message_id, model = chunk.get("id"), chunk.get("model")
        self.provider_metadata.update(
            (key, chunk[key]) for key in METADATA_FIELDS if chunk.get(key) is not None
        )
        return [
            StartedEvent(
                id=message_id if isinstance(message_id, str) else "",
                model=model if isinstance(model, str) and model else self._fallback_model,
            )
        ]

    def _choice(self, choice: JsonObject) -> list[ChatEvent]:
        delta = choice.get("delta", choice.get("message"))
        events: list[ChatEvent] = []
        if isinstance(delta, dict):
            events += self._delta(delta)
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            self._finish = FINISH_REASONS.get(finish, "other")
            events += self._tools.finish_all()
            self._open_call_ids.clear()
        return events

    def _delta(self, delta: JsonObject) -> list[ChatEvent]:
        events: list[ChatEvent] = []
        reasoning = self._reasoning(delta)
        if reasoning:
            events.append(ThinkingEvent(text=reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            events += self.content_events(content)
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self._refused = True
            events.append(TextEvent(text=refusal))
        tool_calls = delta.get("tool_calls")
        if isinstance(tool_calls, list):
            for position, call in enumerate(tool_calls):
                if isinstance(call, dict):
                    events += self._tool_call(position, call)
        return events

    def content_events(self, text: str) -> list[ChatEvent]:
        """A content delta; a subclass may split out thinking that a model writes inline."""
        return [TextEvent(text=text)]

    def _reasoning(self, delta: JsonObject) -> str | None:
        # Some servers send the same text under two names: the first one present wins.
        for field in self._reasoning_fields:
            text = delta.get(field)
            if isinstance(text, str) and text:
                return text
        return None

    def _tool_call(self, position: int, call: JsonObject) -> list[ChatEvent]:
        index = call.get("index")
        key = index if isinstance(index, int) and not isinstance(index, bool) else position
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        call_id, name = call.get("id"), function.get("name")
        call_id = call_id if isinstance(call_id, str) and call_id else None
        name = name if isinstance(name, str) else ""
        events: list[ChatEvent] = []
        if key in self._tools and call_id is not None and call_id != self._open_call_ids[key]:
            events += self._tools.finish(key)  # a server that reuses one index for every call
        if key not in self._tools:
            self._saw_tool_call = True
            call_id = call_id or f"call_{key}"
            self._open_call_ids[key] = call_id
            events += self._tools.start(key, call_id, name)
        else:
            self._tools.rename(key, name)
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        if isinstance(arguments, str):
            events += self._tools.delta(key, arguments)
        return events

    def _error(self, error: Any) -> list[ChatEvent]:
        code, message = self.stream_error(error)
        self._done = True
        return [
            *self._tools.finish_all(),
            ErrorEvent(code=code, message=message),
            StopEvent(reason="error"),
        ]

    def stream_error(self, error: Any) -> tuple[ErrorCode, str]:
        return stream_error(error)


_NOT_CHAT_PREFIXES = (
    "text-embedding",
    "embedding",
    "tts",
    "whisper",
    "dall-e",
    "gpt-image",
    "omni-moderation",
    "text-moderation",
    "sora",
    "davinci",
    "babbage",
)


class OpenAIChatAdapter(AdapterDefaults):
    kind: ClassVar[str] = "openai"
    display_name: ClassVar[str] = "OpenAI"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    api_key_envs: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    framing: ClassVar[Framing] = "sse"

    chat_path: ClassVar[str] = "chat/completions"
    system_role: ClassVar[str] = "system"
    max_tokens_field: ClassVar[str] = "max_completion_tokens"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content", "reasoning")
    reasoning_model_prefixes: ClassVar[tuple[str, ...]] = ("o1", "o3", "o4", "gpt-5")
    decoder_class: ClassVar[type[OpenAIChatDecoder]] = OpenAIChatDecoder
    #: whether messages carry the participant's `name` (an API that refuses unknown
    #: fields sets False)
    message_names: ClassVar[bool] = True

    # ---- request ------------------------------------------------------------

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            **self.auth_headers(credential),
            **settings.headers,
        }
        return HttpRequest(
            "POST",
            self.chat_url(target, settings),
            headers=headers,
            json=self.build_body(params, target, settings),
        )

    def chat_url(self, target: ModelTarget, settings: ProviderSettings) -> str:
        return join_url(settings.base_url or self.default_base_url, self.chat_path)

    def auth_headers(self, credential: Credential | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential.secret}"} if credential else {}

    def build_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        reasoning = self.is_reasoning_model(target.model)
        body: JsonObject = {
            "model": target.model,
            "messages": self.messages(params),
            "stream": True,
        }
        stream_options = self.stream_options()
        if stream_options:
            body["stream_options"] = stream_options
        if params.tools:
            body["tools"] = [self.tool(spec) for spec in params.tools]
        if params.tool_choice is not None:
            body["tool_choice"] = self.tool_choice(params.tool_choice)
        if params.max_tokens is not None:
            body[self.max_tokens_field] = params.max_tokens
        if params.temperature is not None and not reasoning:
            body["temperature"] = params.temperature
        if params.stop_sequences:
            body["stop"] = params.stop_sequences
        if params.thinking is not None and reasoning:
            body["reasoning_effort"] = self.reasoning_effort(params.thinking.budget_tokens)
        body.update(self.extra_body(params, target, settings))
        body.update(params.provider_options or {})
        return body

    def stream_options(self) -> JsonObject | None:
        return {"include_usage": True}

    def extra_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        """Provider-specific fields, merged before providerOptions."""
        return {}

    def accepts_temperature(self, params: ChatParams, target: ModelTarget) -> bool:
        return not self.is_reasoning_model(target.model)

    def is_reasoning_model(self, model: str) -> bool:
        """o-series and gpt-5 reject a non-default temperature and take reasoning_effort."""
        name = model.lower().rsplit("/", 1)[-1]
        return name.startswith(self.reasoning_model_prefixes) and "-chat" not in name

    def reasoning_effort(self, budget_tokens: int) -> str:
        if budget_tokens < 4096:
            return "low"
        return "medium" if budget_tokens < 16384 else "high"

    def tool(self, spec: ToolSpec) -> JsonObject:
        function: JsonObject = {"name": spec.name}
        if spec.description:
            function["description"] = spec.description
        function["parameters"] = spec.input_schema
        return {"type": "function", "function": function}

    def tool_choice(self, choice: ToolChoice) -> Any:
        if isinstance(choice, NamedToolChoice):
            return {"type": "function", "function": {"name": choice.name}}
        return _TOOL_CHOICES[choice]

    def messages(self, params: ChatParams) -> list[JsonObject]:
        out: list[JsonObject] = []
        if params.system:
            out.append({"role": self.system_role, "content": params.system})
        for message in params.messages:
            out += self.message(message)
        return out

    def message(self, message: Message) -> list[JsonObject]:
        """One normalized message; tool results become `tool` messages of their own."""
        out = self.unnamed_message(message)
        if message.name and self.message_names:
            for wire in out:
                if wire["role"] != "tool":
                    wire["name"] = message.name
        return out

    def unnamed_message(self, message: Message) -> list[JsonObject]:
        if message.role == "system":
            return [{"role": self.system_role, "content": joined_text(message.parts())}]
        if message.role == "assistant":
            return [self.assistant_message(message)]
        if isinstance(message.content, str):
            return [{"role": "user", "content": message.content}]
        out: list[JsonObject] = []
        user_parts: list[JsonObject] = []
        for part in message.content:
            if isinstance(part, ToolResultPart):
                out += self.tool_result_messages(part)
            elif (wire := self.user_part(part)) is not None:
                user_parts.append(wire)
        if user_parts or not out:
            out.append({"role": "user", "content": user_parts or ""})
        return out

    def assistant_message(self, message: Message) -> JsonObject:
        parts = message.parts()
        calls = [part for part in parts if isinstance(part, ToolUsePart)]
        text = joined_text(parts)
        wire: JsonObject = {"role": "assistant", "content": text if text or not calls else None}
        if calls:
            wire["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.input_or_empty())},
                }
                for call in calls
            ]
        return wire

    def tool_result_messages(self, result: ToolResultPart) -> list[JsonObject]:
        """A tool message carries text only, so images follow it in a user message."""
        content = result.content
        parts = [TextPart(text=content)] if isinstance(content, str) else content
        text = error_marked(result, joined_text(parts))
        wire: list[JsonObject] = [
            {"role": "tool", "tool_call_id": result.tool_use_id, "content": text}
        ]
        images = [self.user_part(part) for part in parts if isinstance(part, ImagePart)]
        if images:
            wire.append({"role": "user", "content": images})
        return wire

    def user_part(self, part: Any) -> JsonObject | None:
        """A text or image part; other parts have no user-side form in this dialect."""
        if isinstance(part, ImagePart):
            url = part.url or f"data:{part.media_type};base64,{part.data}"
            image: JsonObject = {"url": url}
            if part.detail:
                image["detail"] = part.detail
            return {"type": "image_url", "image_url": image}
        if isinstance(part, TextPart):
            return {"type": "text", "text": part.text}
        return None

    # ---- answer -------------------------------------------------------------

    def decoder(self, target: ModelTarget) -> OpenAIChatDecoder:
        return self.decoder_class(target.model, self.reasoning_fields)

    def decode_completion(self, body: JsonObject) -> list[ChatEvent]:
        """A non-streaming `chat.completion` answer, as the same events a stream gives."""
        model = body.get("model") if isinstance(body, dict) else None
        decoder = self.decoder_class(model if isinstance(model, str) else "", self.reasoning_fields)
        if not isinstance(body, dict):
            return decoder.close()
        return decoder.feed_chunk(body) + decoder.close()

    def decode_body(self, body: Any, target: ModelTarget) -> list[ChatEvent]:
        return self.decode_completion(body if isinstance(body, dict) else {})

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None:
        headers = {**self.auth_headers(credential), **settings.headers}
        return HttpRequest(
            "GET", join_url(settings.base_url or self.default_base_url, "models"), headers=headers
        )

    def parse_models(self, body: Any) -> list[ListedModel]:
        data = body.get("data") if isinstance(body, dict) else None
        listed: list[ListedModel] = []
        for item in data if isinstance(data, list) else []:
            name = item.get("id") if isinstance(item, dict) else None
            if isinstance(name, str) and name and self.is_chat_model(name):
                listed.append(ListedModel(name=name))
        return listed

    def is_chat_model(self, name: str) -> bool:
        """OpenAI's list also holds embedding, audio and image models, which cannot chat."""
        return not name.startswith(_NOT_CHAT_PREFIXES)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        message, error_type, code = error_fields(_error_object(body))
        wording = " ".join(word for word in (error_type, code) if word) or None
        error = http_error(self.kind, status, headers, message, wording)
        wanted = _ERROR_CODES.get(code or "")
        if wanted is not None and error.code != wanted:
            return _recoded(error, wanted, None)
        if code == "insufficient_quota":
            return _recoded(error, error.code, _BILLING_SUGGESTION, retryable=False)
        return error


def _first_choice(choices: Any) -> JsonObject | None:
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return choice
    return None


def error_marked(result: ToolResultPart, text: str) -> str:
    """A failed tool's output as the model must read it: these APIs have no error flag
    on a tool result, so `isError` becomes a leading "Error: " (once)."""
    if not result.is_error or text.lower().startswith(TOOL_ERROR_PREFIX.lower().strip()):
        return text
    return TOOL_ERROR_PREFIX + text


def joined_text(parts: list[Any]) -> str:
    return "".join(part.text for part in parts if isinstance(part, TextPart))


def _error_object(body: bytes) -> Any:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    if isinstance(payload, dict):
        return payload.get("error", payload)
    return " ".join(body[:_MAX_ERROR_TEXT].decode("utf-8", errors="replace").split())


def usage_event(usage: JsonObject) -> UsageEvent:
    """An OpenAI-style `usage` object (chat or text completions) as a UsageEvent."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached is None:
        cached = usage.get("prompt_cache_hit_tokens")  # DeepSeek's name for it
    return UsageEvent(
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
        cache_read_input_tokens=_count(cached) if cached is not None else None,
    )


def stream_error(error: Any) -> tuple[ErrorCode, str]:
    """The normalized code and message of an `error` object inside a 200 stream."""
    message, error_type, _ = error_fields(error)
    message = message or "the provider reported an error in the stream"
    return classify(None, message, error_type), message


def error_fields(error: Any) -> tuple[str, str | None, str | None]:
    """(message, type, code) of an OpenAI error object, or of a bare error string."""
    if isinstance(error, str):
        return error, None, None
    if not isinstance(error, dict):
        return "", None, None
    message, error_type, code = error.get("message"), error.get("type"), error.get("code")
    return (
        message if isinstance(message, str) else "",
        error_type if isinstance(error_type, str) else None,
        code if isinstance(code, str) else None,
    )


def _recoded(
    error: ProviderError, code: ErrorCode, suggestion: str | None, retryable: bool | None = None
) -> ProviderError:
    return ProviderError(
        code,
        error.message,
        provider=error.provider,
        status=error.status,
        retry_after_ms=error.retry_after_ms if code in RETRYABLE else None,
        suggestion=suggestion or error.suggestion,
        retryable=retryable,
    )
