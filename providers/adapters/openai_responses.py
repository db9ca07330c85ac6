"""OpenAI Responses API: POST {base}/responses, its typed SSE events, its response object.

Used for the OpenAI models whose catalog entry says `"api": "responses"`. Auth,
URL joining and error bodies are the Chat Completions adapter's; the body and
the stream differ. Switchboard keeps no server-side state (`store: false`), so
a reasoning model's encrypted reasoning travels with the conversation: each
finished reasoning item becomes a ThinkingEvent whose signature is the item
as JSON, and the next request sends that item back in `input`.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    ImagePart,
    Message,
    NamedToolChoice,
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

from ..base import ModelTarget, ProviderSettings
from ..errors import classify
from ..wire import json_codec
from ..wire.json_values import count as _count
from ..wire.sse import SSEEvent
from ..wire.tool_calls import ToolCallAssembler
from .openai_chat import (
    TOOL_ERROR_PREFIX,
    OpenAIChatAdapter,
    error_fields,
    error_marked,
    joined_text,
)

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]

ENCRYPTED_REASONING = "reasoning.encrypted_content"
_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
_INCOMPLETE_REASONS: dict[str, StopReason] = {
    "max_output_tokens": "maxTokens",
    "content_filter": "contentFilter",
}
#: what a response object says about the answer besides it, kept as `providerMetadata`
METADATA_FIELDS = ("created_at", "service_tier", "status")
_LIFECYCLE = frozenset({"response.created", "response.queued", "response.in_progress"})
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_THINKING_DELTAS = frozenset(
    {"response.reasoning_summary_text.delta", "response.reasoning_text.delta"}
)
_TEXT_DELTAS = frozenset({"response.output_text.delta", "response.refusal.delta"})
_SUMMARY_BREAK = "\n\n"


# ---- reasoning items carried across turns ----------------------------------------


def reasoning_signature(item: JsonObject) -> str | None:
    """The reasoning item as compact JSON, or None when it has no encrypted content.

    Without `encrypted_content` the item cannot be replayed while `store` is false:
    the API would look its id up and find nothing.
    """
    encrypted = item.get("encrypted_content")
    if not isinstance(encrypted, str) or not encrypted:
        return None
    kept: JsonObject = {"type": "reasoning"}
    if isinstance(item.get("id"), str):
        kept["id"] = item["id"]
    kept["summary"] = [
        {"type": "summary_text", "text": part["text"]}
        for part in item.get("summary") or []
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]
    kept["encrypted_content"] = encrypted
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


def reasoning_input_item(signature: str | None) -> JsonObject | None:
    """The `reasoning` input item a signature stands for; None for other providers' ones.

    The item id stays out: with `store: false` the API looks ids up in storage, and a
    reasoning id whose following item (sent without its id) cannot be matched is a 400.
    """
    if not signature or not signature.startswith("{"):
        return None
    try:
        item = json.loads(signature)
    except (ValueError, RecursionError):
        return None
    if not isinstance(item, dict) or item.get("type") != "reasoning":
        return None
    encrypted = item.get("encrypted_content")
    summary = item.get("summary")
    if not isinstance(encrypted, str) or not isinstance(summary, list):
        return None
    return {"type": "reasoning", "summary": summary, "encrypted_content": encrypted}


# ---- the stream --------------------------------------------------------------------


@dataclass
class _Item:
    """One output item of the response, by output_index (item ids may change mid-stream)."""

    kind: str
    streamed: bool = False  # deltas arrived: the done event's full copy must not repeat them
    thinking: bool = False  # thinking text was emitted: a new summary part needs a break


class OpenAIResponsesDecoder:
    """One Responses stream (or a whole response object) → normalized events."""

    def __init__(self, fallback_model: str) -> None:
        self._fallback_model = fallback_model
        self._tools = ToolCallAssembler()
        self._items: dict[Any, _Item] = {}
        self._finished: set[Any] = set()
        self._started = False
        self._saw_tool_call = False
        self._refused = False
        self._done = False
        self.provider_metadata: JsonObject = {}

    def feed(self, event: SSEEvent) -> list[ChatEvent]:
        if self._done:
            return []
        data = event.data.strip()
        if not data or data.startswith("[DONE]"):
            return []
        try:
            payload = json_codec.loads(data)
        except (ValueError, RecursionError):
            log.debug("skipping a data line that is not JSON (%d chars)", len(data))
            return []
        return self.feed_event(payload, event.event) if isinstance(payload, dict) else []

    def close(self) -> list[ChatEvent]:
        if self._done:
            return []
        self._done = True
        return [
            *self._tools.finish_all(),
            ErrorEvent(code=ErrorCode.NETWORK, message="the stream ended early"),
            StopEvent(reason="error"),
        ]

    def feed_event(self, payload: JsonObject, name: str = "") -> list[ChatEvent]:
        """One parsed event; its `type` decides (the SSE event name only when it is missing)."""
        if self._done:
            return []
        kind = payload.get("type")
        kind = kind if isinstance(kind, str) else name
        response = payload.get("response")
        response = response if isinstance(response, dict) else {}
        if kind in _LIFECYCLE:
            return self.start(response)
        if kind in _TERMINAL:
            return self.finish(response, kind.removeprefix("response."))
        if kind == "error":
            return self._stream_error(payload)
        key = _key(payload)
        if kind in _TEXT_DELTAS:
            return self._text(key, payload.get("delta"), refusal=kind == "response.refusal.delta")
        if kind in _THINKING_DELTAS:
            return self._thinking(key, payload.get("delta"))
        if kind == "response.reasoning_summary_part.added":
            return self._summary_part(key)
        if kind == "response.function_call_arguments.delta":
            return self._arguments(key, payload.get("delta"))
        if kind == "response.function_call_arguments.done":
            return self._arguments_done(key, payload.get("arguments"))
        item = payload.get("item")
        if not isinstance(item, dict):
            return []
        if kind == "response.output_item.added":
            return self._item_added(key, item)
        if kind == "response.output_item.done":
            return self._item_done(key, item)
        return []

    def start(self, response: JsonObject) -> list[ChatEvent]:
        if self._started:
            return []
        self._started = True
        response_id, model = response.get("id"), response.get("model")
        return [
            StartedEvent(
                id=response_id if isinstance(response_id, str) else "",
                model=model if isinstance(model, str) and model else self._fallback_model,
            )
        ]

    def finish(self, response: JsonObject, status: str) -> list[ChatEvent]:
        """The response is over: its status says how; items not yet seen come from `output`."""
        events = self.start(response)
        self.provider_metadata.update(
            (key, response[key]) for key in METADATA_FIELDS if response.get(key) is not None
        )
        output = response.get("output")
        if isinstance(output, list) and not self._items and not self._finished:
            for index, item in enumerate(output):
                if isinstance(item, dict):
                    events += self._item_done(index, item)
        events += self._tools.finish_all()
        usage = response.get("usage")
        if isinstance(usage, dict):
            events.append(usage_event(usage))
        self._done = True
        if status == "failed":
            return events + _error_events(response.get("error"))
        if status == "incomplete":
            details = response.get("incomplete_details")
            reason = details.get("reason") if isinstance(details, dict) else None
            stop = _INCOMPLETE_REASONS.get(str(reason), "other") if reason else "maxTokens"
            return [*events, StopEvent(reason=stop)]
        if self._saw_tool_call:
            return [*events, StopEvent(reason="toolUse")]
        return [*events, StopEvent(reason="refusal" if self._refused else "endTurn")]

    # ---- items ----

    def _item(self, key: Any, kind: str) -> _Item:
        if key not in self._items:
            self._items[key] = _Item(kind)
        return self._items[key]

    def _text(self, key: Any, delta: Any, refusal: bool) -> list[ChatEvent]:
        if not isinstance(delta, str) or not delta:
            return []
        self._item(key, "message").streamed = True
        self._refused = self._refused or refusal
        return [TextEvent(text=delta)]

    def _thinking(self, key: Any, delta: Any) -> list[ChatEvent]:
        if not isinstance(delta, str) or not delta:
            return []
        item = self._item(key, "reasoning")
        item.streamed = item.thinking = True
        return [ThinkingEvent(text=delta)]

    def _summary_part(self, key: Any) -> list[ChatEvent]:
        item = self._item(key, "reasoning")
        if not item.thinking:
            return []
        item.thinking = False
        return [ThinkingEvent(text=_SUMMARY_BREAK)]

    def _arguments(self, key: Any, delta: Any) -> list[ChatEvent]:
        if key not in self._tools or not isinstance(delta, str) or not delta:
            return []
        self._item(key, "function_call").streamed = True
        return self._tools.delta(key, delta)

    def _arguments_done(self, key: Any, arguments: Any) -> list[ChatEvent]:
        item = self._items.get(key)
        if item is None or item.streamed or key not in self._tools:
            return []
        return self._arguments(key, arguments)

    def _item_added(self, key: Any, item: JsonObject) -> list[ChatEvent]:
        kind = str(item.get("type"))
        self._item(key, kind)
        if kind != "function_call" or key in self._tools or key in self._finished:
            return []
        return self._start_call(key, item)

    def _start_call(self, key: Any, item: JsonObject) -> list[ChatEvent]:
        self._saw_tool_call = True
        call_id, name = item.get("call_id"), item.get("name")
        if not isinstance(call_id, str) or not call_id:
            item_id = item.get("id")
            call_id = item_id if isinstance(item_id, str) and item_id else f"call_{key}"
        return self._tools.start(key, call_id, name if isinstance(name, str) else "")

    def _item_done(self, key: Any, item: JsonObject) -> list[ChatEvent]:
        if key in self._finished:
            return []
        self._finished.add(key)
        kind = str(item.get("type"))
        state = self._item(key, kind)
        if kind == "function_call":
            return self._call_done(key, item, state)
        if kind == "reasoning":
            return self._reasoning_done(item, state)
        if kind == "message" and not state.streamed:
            return self._message_done(item)
        return []

    def _call_done(self, key: Any, item: JsonObject, state: _Item) -> list[ChatEvent]:
        events = [] if key in self._tools else self._start_call(key, item)
        if not state.streamed:
            events += self._arguments(key, item.get("arguments"))
        return events + self._tools.finish(key)

    def _reasoning_done(self, item: JsonObject, state: _Item) -> list[ChatEvent]:
        events: list[ChatEvent] = []
        if not state.streamed:
            text = _SUMMARY_BREAK.join(_texts(item.get("summary"))) or "".join(
                _texts(item.get("content"))
            )
            if text:
                events.append(ThinkingEvent(text=text))
        signature = reasoning_signature(item)
        if signature is not None:
            events.append(ThinkingEvent(text="", signature=signature))
        return events

    def _message_done(self, item: JsonObject) -> list[ChatEvent]:
        events: list[ChatEvent] = []
        for part in item.get("content") or []:
            if not isinstance(part, dict):
                continue
            text = part.get("refusal") if part.get("type") == "refusal" else part.get("text")
            if isinstance(text, str) and text:
                self._refused = self._refused or part.get("type") == "refusal"
                events.append(TextEvent(text=text))
        return events

    def _stream_error(self, payload: JsonObject) -> list[ChatEvent]:
        # OpenAI nests the fields under `error`; the SDK's type has them at the top level.
        error = payload.get("error")
        self._done = True
        return self._tools.finish_all() + _error_events(
            error if isinstance(error, dict) else payload
        )


def usage_event(usage: JsonObject) -> UsageEvent:
    """Responses usage: input_tokens already includes cached input, output_tokens reasoning."""
    inputs = usage.get("input_tokens_details")
    inputs = inputs if isinstance(inputs, dict) else {}
    outputs = usage.get("output_tokens_details")
    outputs = outputs if isinstance(outputs, dict) else {}
    return UsageEvent(
        input_tokens=_count(usage.get("input_tokens")),
        output_tokens=_count(usage.get("output_tokens")),
        cache_read_input_tokens=_optional_count(inputs.get("cached_tokens")),
        cache_creation_input_tokens=_optional_count(inputs.get("cache_write_tokens")),
        reasoning_tokens=_optional_count(outputs.get("reasoning_tokens")),
        reported_cost_usd=_cost(usage.get("cost")),
    )


def _error_events(error: Any) -> list[ChatEvent]:
    message, error_type, code = error_fields(error)
    message = message or "the provider reported an error in the stream"
    wording = " ".join(word for word in (error_type, code) if word) or None
    return [
        ErrorEvent(code=classify(None, message, wording), message=message),
        StopEvent(reason="error"),
    ]


def _key(payload: JsonObject) -> Any:
    index = payload.get("output_index")
    if isinstance(index, int) and not isinstance(index, bool):
        return index
    item_id = payload.get("item_id")
    return item_id if isinstance(item_id, str) else None


def _texts(parts: Any) -> list[str]:
    if not isinstance(parts, list):
        return []
    return [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]


def _optional_count(value: Any) -> int | None:
    return None if value is None else _count(value)


def _cost(value: Any) -> float | None:
    """OpenRouter adds what the request cost, in USD."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


# ---- the adapter -------------------------------------------------------------------


class OpenAIResponsesAdapter(OpenAIChatAdapter):
    chat_path: ClassVar[str] = "responses"
    reasoning_model_prefixes: ClassVar[tuple[str, ...]] = ("o1", "o3", "o4", "gpt-5", "gpt-6")

    def accepts_temperature(self, params: ChatParams, target: ModelTarget) -> bool:
        reasoning = self.is_reasoning_model(target.model) or target.info.capabilities.thinking
        return not reasoning

    def build_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        reasoning = self.is_reasoning_model(target.model) or target.info.capabilities.thinking
        instructions, items = self.input_items(params)
        body: JsonObject = {"model": target.model}
        if instructions:
            body["instructions"] = instructions
        body |= {"input": items, "stream": True, "store": False}
        if reasoning:
            body["include"] = [ENCRYPTED_REASONING]
        if params.tools:
            body["tools"] = [self.tool(spec) for spec in params.tools]
        if params.tool_choice is not None:
            body["tool_choice"] = self.tool_choice(params.tool_choice)
        if params.max_tokens is not None:
            body["max_output_tokens"] = params.max_tokens
        if params.temperature is not None and not reasoning:
            body["temperature"] = params.temperature
        if params.thinking is not None and reasoning:
            effort = self.reasoning_effort(params.thinking.budget_tokens)
            body["reasoning"] = {"effort": effort, "summary": "auto"}
        body.update(self.extra_body(params, target, settings))
        body.update(params.provider_options or {})
        return body

    def tool(self, spec: ToolSpec) -> JsonObject:
        # `strict` defaults to true here, which would reject most hand-written schemas.
        tool: JsonObject = {"type": "function", "name": spec.name}
        if spec.description:
            tool["description"] = spec.description
        return tool | {"parameters": spec.input_schema, "strict": False}

    def tool_choice(self, choice: ToolChoice) -> Any:
        if isinstance(choice, NamedToolChoice):
            return {"type": "function", "name": choice.name}
        return _TOOL_CHOICES[choice]

    # ---- input ----

    def input_items(self, params: ChatParams) -> tuple[str, list[JsonObject]]:
        """(instructions, input): the system prompt and leading system messages are the
        instructions; a later system message stays in place as a developer message."""
        instructions = [params.system] if params.system else []
        items: list[JsonObject] = []
        for message in params.messages:
            if message.role == "system":
                text = joined_text(message.parts())
                if not items:
                    instructions.append(text)
                else:
                    items.append(_message_item("developer", [_input_text(text)]))
            elif message.role == "assistant":
                items += self.assistant_items(message)
            else:
                items += self.user_items(message)
        return "\n\n".join(text for text in instructions if text), items

    def assistant_items(self, message: Message) -> list[JsonObject]:
        """In order: reasoning items, one message per run of text, function calls."""
        items: list[JsonObject] = []
        texts: list[str] = []

        def flush() -> None:
            if texts:
                content = [{"type": "output_text", "text": "".join(texts)}]
                items.append(_message_item("assistant", content))
                texts.clear()

        for part in message.parts():
            if isinstance(part, TextPart):
                if part.text:
                    texts.append(part.text)
                continue
            flush()
            if isinstance(part, ThinkingPart | RedactedThinkingPart):
                signature = part.signature if isinstance(part, ThinkingPart) else part.data
                reasoning = reasoning_input_item(signature)
                if reasoning is not None:
                    items.append(reasoning)
            elif isinstance(part, ToolUsePart):
                items.append(
                    {
                        "type": "function_call",
                        "call_id": part.id,
                        "name": part.name,
                        "arguments": json.dumps(part.input_or_empty(), ensure_ascii=False),
                    }
                )
        flush()
        return items

    def user_items(self, message: Message) -> list[JsonObject]:
        """Tool results become function_call_output items; the rest one user message."""
        items: list[JsonObject] = []
        content: list[JsonObject] = []
        for part in message.parts():
            if isinstance(part, ToolResultPart):
                items.append(_function_output(part))
            elif isinstance(part, TextPart):
                content.append(_input_text(part.text))
            elif isinstance(part, ImagePart):
                content.append(_input_image(part))
        if content:
            items.append(_message_item("user", content))
        return items

    # ---- answer ----

    def decoder(self, target: ModelTarget) -> OpenAIResponsesDecoder:  # type: ignore[override]
        return OpenAIResponsesDecoder(target.model)

    def decode_body(self, body: Any, target: ModelTarget) -> list[ChatEvent]:
        """A whole (non-streamed) response object, as the events its stream would give."""
        decoder = OpenAIResponsesDecoder(target.model)
        if not isinstance(body, dict):
            return decoder.close()
        status = body.get("status")
        status = status if status in ("failed", "incomplete") else "completed"
        return decoder.finish(body, status)


def _message_item(role: str, content: list[JsonObject]) -> JsonObject:
    return {"type": "message", "role": role, "content": content}


def _input_text(text: str) -> JsonObject:
    return {"type": "input_text", "text": text}


def _input_image(part: ImagePart) -> JsonObject:
    url = part.url or f"data:{part.media_type};base64,{part.data}"
    return {"type": "input_image", "image_url": url, "detail": part.detail or "auto"}


def _function_output(result: ToolResultPart) -> JsonObject:
    content = result.content
    output: str | list[JsonObject]
    if isinstance(content, str):
        output = error_marked(result, content)
    elif not any(isinstance(part, ImagePart) for part in content):
        output = error_marked(result, joined_text(list(content)))
    else:
        output = [
            _input_image(part) if isinstance(part, ImagePart) else _input_text(part.text)
            for part in content
        ]
        if result.is_error:
            output.insert(0, _input_text(TOOL_ERROR_PREFIX.strip()))
    return {"type": "function_call_output", "call_id": result.tool_use_id, "output": output}
