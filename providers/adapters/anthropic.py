"""Anthropic Messages API: POST /v1/messages, its SSE stream, its error bodies."""

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
    RedactedThinkingEvent,
    RedactedThinkingPart,
    StartedEvent,
    StopEvent,
    StopReason,
    TextEvent,
    TextPart,
    ThinkingEvent,
    ThinkingPart,
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
    inline_image,
)
from ..catalog.cache_anchors import anchor_limit, caches_tools, keep_last
from ..errors import ProviderError, classify, http_error, json_body
from ..wire import json_codec
from ..wire.http import HttpRequest
from ..wire.json_values import is_int as _is_int
from ..wire.json_values import mapping as _mapping
from ..wire.json_values import positive_int as _positive
from ..wire.json_values import text as _text
from ..wire.sse import SSEEvent
from ..wire.tool_calls import ToolCallAssembler

log = logging.getLogger(__name__)

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
EPHEMERAL = {"type": "ephemeral"}
# count_tokens rejects the sampling fields that /v1/messages accepts.
NOT_COUNTED = ("stream", "max_tokens", "temperature", "stop_sequences", "top_k", "top_p")
MAX_ERROR_TEXT = 500

STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "endTurn",
    "max_tokens": "maxTokens",
    "tool_use": "toolUse",
    "stop_sequence": "stopSequence",
    "refusal": "refusal",
    "pause_turn": "endTurn",
    "model_context_window_exceeded": "maxTokens",
}
#: what message_delta says about the answer besides it, kept as `providerMetadata`
METADATA_FIELDS = ("stop_reason", "stop_sequence", "container")
USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)
# usage.cache_creation splits the writes by lifetime.
ONE_HOUR_WRITES = "ephemeral_1h_input_tokens"


class AnthropicAdapter(AdapterDefaults):
    kind: ClassVar[str] = "anthropic"
    display_name: ClassVar[str] = "Anthropic"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    api_key_envs: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    framing: ClassVar[Framing] = "sse"

    def temperature_range(self, target: ModelTarget) -> tuple[float, float]:
        return (0.0, 1.0)

    def accepts_temperature(self, params: ChatParams, target: ModelTarget) -> bool:
        # Extended thinking rejects any change to temperature.
        return not _budget(params)

    def accepts_prefill(self, params: ChatParams, target: ModelTarget) -> bool:
        # With extended thinking on, the last assistant turn must start with a thinking block.
        return not _budget(params)

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        return HttpRequest(
            "POST",
            self._url(settings, "messages"),
            headers=_headers(settings, credential),
            json=request_body(params, target),
        )

    def count_tokens_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        body = request_body(params, target)
        for key in NOT_COUNTED:
            body.pop(key, None)
        return HttpRequest(
            "POST",
            self._url(settings, "messages/count_tokens"),
            headers=_headers(settings, credential),
            json=body,
        )

    def parse_count_tokens(self, body: Any) -> int:
        if isinstance(body, bytes | str):
            body = json_body(body.encode() if isinstance(body, str) else body)
        count = body.get("input_tokens") if isinstance(body, dict) else None
        if isinstance(count, int) and not isinstance(count, bool):
            return count
        raise ProviderError(
            ErrorCode.PROVIDER_UNAVAILABLE,
            "anthropic: count_tokens answered without input_tokens",
            provider=self.kind,
        )

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None:
        return HttpRequest(
            "GET",
            self._url(settings, "models"),
            headers=_headers(settings, credential),
            params={"limit": "1000"},
        )

    def parse_models(self, body: Any) -> list[ListedModel]:
        listed: list[ListedModel] = []
        for item in _mapping(body).get("data") or []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            listed.append(
                ListedModel(
                    name=item["id"],
                    display_name=item.get("display_name") or None,
                    context_window=_positive(item.get("max_input_tokens")),
                    max_output_tokens=_positive(item.get("max_tokens")),
                )
            )
        return listed

    def decoder(self, target: ModelTarget) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(target.model)

    def decode_message(self, body: dict[str, Any]) -> list[ChatEvent]:
        """The events of a non-streaming Message, in the order the stream would give them."""
        decoder = AnthropicStreamDecoder(_text(body.get("model")))
        if body.get("type") == "error":
            return decoder.feed_data(body)
        events = decoder.feed_data({"type": "message_start", "message": body})
        content = body.get("content")
        for index, block in enumerate(content if isinstance(content, list) else []):
            start = {"type": "content_block_start", "index": index, "content_block": block}
            events += decoder.feed_data(start)
            events += decoder.feed_data({"type": "content_block_stop", "index": index})
        delta = {"stop_reason": body.get("stop_reason")}
        events += decoder.feed_data({"type": "message_delta", "delta": delta, "usage": {}})
        return events + decoder.feed_data({"type": "message_stop"})

    def decode_body(self, body: Any, target: ModelTarget) -> list[ChatEvent]:
        return self.decode_message(body if isinstance(body, dict) else {})

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        parsed = json_body(body)
        error = _mapping(parsed.get("error")) if isinstance(parsed, dict) else {}
        message = _text(error.get("message"))
        if not message:
            message = body.decode("utf-8", errors="replace").strip()[:MAX_ERROR_TEXT]
        request_id = _text(parsed.get("request_id")) if isinstance(parsed, dict) else ""
        if request_id:
            message = f"{message} (request {request_id})"
        return http_error(self.kind, status, headers, message, _text(error.get("type")) or None)

    def _url(self, settings: ProviderSettings, endpoint: str) -> str:
        base = (settings.base_url or self.default_base_url).rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        return f"{base}/{endpoint}"


def _headers(settings: ProviderSettings, credential: Credential | None) -> dict[str, str]:
    headers = {"anthropic-version": API_VERSION, "content-type": "application/json"}
    if credential is not None:
        headers["x-api-key"] = credential.secret
    headers.update(settings.headers)
    return headers


# ---- request body ------------------------------------------------------------


def request_body(params: ChatParams, target: ModelTarget) -> dict[str, Any]:
    body: dict[str, Any] = {"model": target.model, "max_tokens": _max_tokens(params, target)}
    system = _system(params.system, params.messages)
    if system:
        body["system"] = system
    body["messages"] = _messages(params.messages)
    if params.tools:
        body["tools"] = [_tool(tool) for tool in params.tools]
        if caches_tools(params, target.info):
            body["tools"][-1]["cache_control"] = dict(EPHEMERAL)
    if params.tool_choice is not None:
        body["tool_choice"] = _tool_choice(params.tool_choice)
    if _budget(params):
        body["thinking"] = {"type": "enabled", "budget_tokens": _budget(params)}
    if params.stop_sequences:
        body["stop_sequences"] = list(params.stop_sequences)
    if params.temperature is not None:
        body["temperature"] = params.temperature
    body["stream"] = True
    body.update(params.provider_options or {})
    # A top-level cache_control (automatic caching) takes one of the model's anchors.
    keep_last(_anchors(body), anchor_limit(target.info, reserved=int("cache_control" in body)))
    return body


def _anchors(body: dict[str, Any]) -> list[Any]:
    """A remover for each block's cache_control, in prompt order: tools, system, messages."""
    blocks: list[Any] = list(body.get("tools") or [])
    if isinstance(body.get("system"), list):
        blocks += body["system"]
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            blocks += content
    return [
        _remover(block) for block in blocks if isinstance(block, dict) and "cache_control" in block
    ]


def _remover(block: dict[str, Any]) -> Any:
    return lambda: block.pop("cache_control", None)


def _budget(params: ChatParams) -> int:
    """The thinking budget; 0 (or no thinking config) means thinking is off."""
    return params.thinking.budget_tokens if params.thinking else 0


def _max_tokens(params: ChatParams, target: ModelTarget) -> int:
    limit = target.info.max_output_tokens
    wanted = params.max_tokens or limit or DEFAULT_MAX_TOKENS
    budget = _budget(params)
    if budget and wanted <= budget:
        # Anthropic counts thinking inside max_tokens: keep `wanted` for the answer itself.
        wanted = budget + wanted
        if limit:
            wanted = min(wanted, limit)
    return wanted


def _tool(spec: ToolSpec) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": spec.name}
    if spec.description:
        tool["description"] = spec.description
    tool["input_schema"] = spec.input_schema
    return tool


def _tool_choice(choice: ToolChoice) -> dict[str, Any]:
    if isinstance(choice, str):
        return {"type": choice}
    return {"type": "tool", "name": choice.name}


def _system(system: str | None, messages: list[Message]) -> str | list[dict[str, Any]] | None:
    pieces: list[tuple[str, bool]] = [(system, False)] if system else []
    for message in messages:
        if message.role == "system":
            text = "\n\n".join(
                p.text for p in message.parts() if isinstance(p, TextPart) and p.text
            )
            if text:
                pieces.append((text, bool(message.cache)))
    if not pieces:
        return None
    if not any(cached for _, cached in pieces):
        return "\n\n".join(text for text, _ in pieces)
    return [
        {"type": "text", "text": text, "cache_control": dict(EPHEMERAL)}
        if cached
        else {"type": "text", "text": text}
        for text, cached in pieces
    ]


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = [block for part in message.parts() if (block := _block(part)) is not None]
        if not blocks:
            continue
        if message.cache:
            blocks[-1]["cache_control"] = dict(EPHEMERAL)
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    for merged in wire:
        if merged["role"] == "user":
            # The API wants a user turn's tool_result blocks before any other block.
            merged["content"].sort(key=lambda block: block["type"] != "tool_result")
    return wire


def _block(part: Any) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        return _image(part)
    if isinstance(part, ToolUsePart):
        use = {"type": "tool_use", "id": part.id, "name": part.name}
        return {**use, "input": part.input_or_empty()}
    if isinstance(part, ToolResultPart):
        return _tool_result(part)
    if isinstance(part, ThinkingPart):
        # Anthropic rejects thinking it did not sign (e.g. from another provider): leave it out.
        if not part.signature:
            return None
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    if isinstance(part, RedactedThinkingPart):
        return {"type": "redacted_thinking", "data": part.data}
    return None


def _image(part: ImagePart) -> dict[str, Any]:
    inline = inline_image(part.media_type, part.data, part.url)
    if inline is not None:
        media_type, data = inline
        source = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "image", "source": source}
    return {"type": "image", "source": {"type": "url", "url": part.url or ""}}


def _tool_result(part: ToolResultPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.tool_use_id}
    if isinstance(part.content, str):
        if part.content:
            block["content"] = part.content
    else:
        inner = [b for p in part.content if (b := _block(p)) is not None]
        if inner:
            block["content"] = inner
    if part.is_error is not None:
        block["is_error"] = part.is_error
    return block


# ---- stream decoding ---------------------------------------------------------


class AnthropicStreamDecoder:
    """One answer's SSE events (message_start ... message_stop) as normalized events."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        self._tools = ToolCallAssembler()
        # Open client tool calls by block index, with the input their start block carried.
        self._tool_inputs: dict[Any, dict[str, Any]] = {}
        self._usage: dict[str, int] = {}
        self._usage_sent: dict[str, int] | None = None
        self._stop_reason: StopReason | None = None
        self._done = False
        self.provider_metadata: dict[str, Any] = {}

    def feed(self, event: SSEEvent) -> list[ChatEvent]:
        try:
            data = json_codec.loads(event.data)
        except (ValueError, RecursionError):
            log.debug("anthropic: skipped a data line that is not JSON: %.200s", event.data)
            return []
        if not isinstance(data, dict):
            return []
        if not isinstance(data.get("type"), str):
            data = {**data, "type": event.event}
        return self.feed_data(data)

    def feed_data(self, data: dict[str, Any]) -> list[ChatEvent]:
        """One decoded event object (its `type` says which)."""
        if self._done:
            return []
        kind = data.get("type")
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        return handler(self, data) if handler else []

    def close(self) -> list[ChatEvent]:
        if self._done:
            return []
        if self._stop_reason is not None:
            return self._stop(self._stop_reason)
        return self._fail(ErrorCode.NETWORK, "the stream ended early")

    def _message_start(self, data: dict[str, Any]) -> list[ChatEvent]:
        message = _mapping(data.get("message"))
        self._update_usage(_mapping(message.get("usage")))
        if self._started:
            return []
        self._started = True
        model = _text(message.get("model")) or self._model
        return [StartedEvent(id=_text(message.get("id")), model=model)]

    def _block_start(self, data: dict[str, Any]) -> list[ChatEvent]:
        index = _index(data)
        block = _mapping(data.get("content_block"))
        kind = block.get("type")
        if kind == "text":
            return _text_events(_text(block.get("text")))
        if kind == "thinking":
            return _thinking_events(_text(block.get("thinking")), _text(block.get("signature")))
        if kind == "redacted_thinking":
            return [RedactedThinkingEvent(data=_text(block.get("data")))]
        if kind == "tool_use":
            self._tool_inputs[index] = _mapping(block.get("input"))
            return self._tools.start(index, _text(block.get("id")), _text(block.get("name")))
        # server_tool_use, *_tool_result, compaction: the provider's own work, not the client's.
        return []

    def _block_delta(self, data: dict[str, Any]) -> list[ChatEvent]:
        index = _index(data)
        delta = _mapping(data.get("delta"))
        kind = delta.get("type")
        if kind == "text_delta":
            return _text_events(_text(delta.get("text")))
        if kind == "thinking_delta":
            return _thinking_events(_text(delta.get("thinking")), "")
        if kind == "signature_delta":
            return _thinking_events("", _text(delta.get("signature")))
        if kind == "input_json_delta" and index in self._tool_inputs:
            fragment = _text(delta.get("partial_json"))
            if fragment:
                self._tool_inputs[index] = {}
            return self._tools.delta(index, fragment)
        return []

    def _block_stop(self, data: dict[str, Any]) -> list[ChatEvent]:
        return self._finish_tool(_index(data))

    def _message_delta(self, data: dict[str, Any]) -> list[ChatEvent]:
        self._update_usage(_mapping(data.get("usage")))
        delta = _mapping(data.get("delta"))
        reason = delta.get("stop_reason")
        if isinstance(reason, str):
            self._stop_reason = STOP_REASONS.get(reason, "other")
        self.provider_metadata.update(
            (key, value) for key in METADATA_FIELDS if (value := delta.get(key)) is not None
        )
        tier = _mapping(data.get("usage")).get("service_tier")
        if tier is not None:
            self.provider_metadata["service_tier"] = tier
        return self._finish_tools() + self._usage_event()

    def _message_stop(self, data: dict[str, Any]) -> list[ChatEvent]:
        return self._stop(self._stop_reason or "endTurn")

    def _error(self, data: dict[str, Any]) -> list[ChatEvent]:
        error = _mapping(data.get("error"))
        message = _text(error.get("message")) or "the provider reported an error mid-stream"
        return self._fail(classify(None, message, _text(error.get("type")) or None), message)

    def _stop(self, reason: StopReason) -> list[ChatEvent]:
        events = self._finish_tools() + self._usage_event()
        self._done = True
        return [*events, StopEvent(reason=reason)]

    def _fail(self, code: ErrorCode, message: str) -> list[ChatEvent]:
        events = self._finish_tools() + self._usage_event()
        self._done = True
        return [*events, ErrorEvent(code=code, message=message), StopEvent(reason="error")]

    def _finish_tool(self, index: Any) -> list[ChatEvent]:
        if index not in self._tool_inputs:
            return []
        initial = self._tool_inputs.pop(index)
        # A start block that already carried the whole input gets no deltas.
        events = self._tools.delta(index, json.dumps(initial)) if initial else []
        return events + self._tools.finish(index)

    def _finish_tools(self) -> list[ChatEvent]:
        return [event for index in list(self._tool_inputs) for event in self._finish_tool(index)]

    def _update_usage(self, usage: Mapping[str, Any]) -> None:
        for name in USAGE_FIELDS:
            if _is_int(usage.get(name)):
                self._usage[name] = usage[name]
        split = _mapping(usage.get("cache_creation"))
        if _is_int(split.get(ONE_HOUR_WRITES)):
            self._usage[ONE_HOUR_WRITES] = split[ONE_HOUR_WRITES]

    def _usage_event(self) -> list[ChatEvent]:
        if not self._usage or self._usage == self._usage_sent:
            return []
        self._usage_sent = dict(self._usage)
        read = self._usage.get("cache_read_input_tokens")
        written = self._usage.get("cache_creation_input_tokens")
        return [
            UsageEvent(
                input_tokens=self._usage.get("input_tokens", 0) + (read or 0) + (written or 0),
                output_tokens=self._usage.get("output_tokens", 0),
                cache_read_input_tokens=read,
                cache_creation_input_tokens=written,
                cache_creation_one_hour_input_tokens=self._usage.get(ONE_HOUR_WRITES) or None,
            )
        ]

    _handlers: ClassVar[dict[Any, Any]] = {
        "message_start": _message_start,
        "content_block_start": _block_start,
        "content_block_delta": _block_delta,
        "content_block_stop": _block_stop,
        "message_delta": _message_delta,
        "message_stop": _message_stop,
        "error": _error,
    }


def _text_events(text: str) -> list[ChatEvent]:
    return [TextEvent(text=text)] if text else []


def _thinking_events(text: str, signature: str) -> list[ChatEvent]:
    events: list[ChatEvent] = [ThinkingEvent(text=text)] if text else []
    if signature:
        events.append(ThinkingEvent(text="", signature=signature))
    return events


def _index(data: dict[str, Any]) -> int | None:
    index = data.get("index")
    return index if _is_int(index) else None
