"""Cohere's Chat API v2 as a Switchboard provider: a worked example of a provider plugin.

Installed, it adds the provider `cohere` (entry point `switchboard.providers`,
see pyproject.toml) with no change to Switchboard itself. It implements the
adapter contract of `switchboard.providers.adapters.contract`:

- metadata: id, name, version, models (limits and prices), features;
- `headers`: the Bearer key;
- `format_request`: normalized messages, tools, tool calls and tool results as a
  `POST /v2/chat` body;
- `parse_response`: a whole answer as normalized events;
- `handle_stream_chunk`: one server-sent event (`content-delta`,
  `tool-call-start`, `message-end`, ...) as normalized events.

The plugin never does I/O: Switchboard sends the request, retries, frames the
stream, prices the usage and keeps the key out of logs.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    ImagePart,
    Message,
    NamedToolChoice,
    StopEvent,
    StopReason,
    TextEvent,
    TextPart,
    ThinkingEvent,
    ThinkingPart,
    ToolResultPart,
    ToolUseEvent,
    ToolUsePart,
    UsageEvent,
)
from switchboard.providers.adapters.contract import (
    OutgoingRequest,
    PluginModel,
    ProviderPlugin,
    StreamChunk,
    StreamState,
)

__version__ = "0.1.0"

#: Cohere's finish reasons, as Switchboard's stop reasons
STOP_REASONS: dict[str, StopReason] = {
    "COMPLETE": "endTurn",
    "STOP_SEQUENCE": "stopSequence",
    "MAX_TOKENS": "maxTokens",
    "TOOL_CALL": "toolUse",
    "ERROR": "error",
    "TIMEOUT": "error",
}


class CohereProvider(ProviderPlugin):
    # ---- metadata -------------------------------------------------------------
    id = "cohere"
    name = "Cohere"
    version = __version__
    base_url = "https://api.cohere.com"
    api_key_env = ("CO_API_KEY", "COHERE_API_KEY")
    features = ("chat", "streaming", "tools", "images", "thinking")
    # Prices in USD per million tokens, from cohere.com/pricing (2025).
    models = (
        PluginModel(
            id="command-a-03-2025",
            name="Command A",
            context_window=256_000,
            max_output_tokens=8_000,
            input_per_m_tok=2.5,
            output_per_m_tok=10.0,
            tools=True,
        ),
        PluginModel(
            id="command-a-vision-07-2025",
            name="Command A Vision",
            context_window=128_000,
            max_output_tokens=8_000,
            input_per_m_tok=2.5,
            output_per_m_tok=10.0,
            images=True,
        ),
        PluginModel(
            id="command-r-08-2024",
            name="Command R",
            context_window=128_000,
            max_output_tokens=4_000,
            input_per_m_tok=0.15,
            output_per_m_tok=0.6,
            tools=True,
        ),
        PluginModel(
            id="command-r7b-12-2024",
            name="Command R7B",
            context_window=128_000,
            max_output_tokens=4_000,
            input_per_m_tok=0.0375,
            output_per_m_tok=0.15,
            tools=True,
        ),
    )

    # ---- headers --------------------------------------------------------------

    def headers(self, api_key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    # ---- format request ---------------------------------------------------------

    def format_request(self, params: ChatParams, model: str) -> OutgoingRequest:
        messages: list[dict[str, Any]] = []
        if params.system:
            messages.append({"role": "system", "content": params.system})
        for message in params.messages:
            messages.extend(_messages(message))
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        if params.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description or "",
                        "parameters": tool.input_schema,
                    },
                }
                for tool in params.tools
            ]
        # Cohere cannot be made to call one named tool: requiring a tool call is the nearest.
        if params.tool_choice == "any" or isinstance(params.tool_choice, NamedToolChoice):
            body["tool_choice"] = "REQUIRED"
        elif params.tool_choice == "none":
            body["tool_choice"] = "NONE"
        if params.max_tokens is not None:
            body["max_tokens"] = params.max_tokens
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.stop_sequences:
            body["stop_sequences"] = params.stop_sequences
        return OutgoingRequest(path="/v2/chat", body=body)

    # ---- parse response -----------------------------------------------------------

    def parse_response(self, body: Any, model: str) -> list[ChatEvent]:
        message = body.get("message") or {}
        events: list[ChatEvent] = []
        if message.get("tool_plan"):
            events.append(ThinkingEvent(text=message["tool_plan"]))
        for part in message.get("content") or []:
            if part.get("type") == "text" and part.get("text"):
                events.append(TextEvent(text=part["text"]))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            arguments = function.get("arguments") or "{}"
            events.append(
                ToolUseEvent(id=call["id"], name=function["name"], input=json.loads(arguments))
            )
        events.extend(_usage(body.get("usage")))
        events.append(StopEvent(reason=STOP_REASONS.get(body.get("finish_reason", ""), "other")))
        return events

    # ---- handle a stream chunk ------------------------------------------------------

    def handle_stream_chunk(self, chunk: StreamChunk, state: StreamState) -> list[ChatEvent]:
        if not chunk.data:
            return []
        event = json.loads(chunk.data)
        kind = event.get("type") or chunk.event
        delta = event.get("delta") or {}
        message = delta.get("message") or {}
        if kind == "content-delta":
            text = (message.get("content") or {}).get("text")
            return [TextEvent(text=text)] if text else []
        if kind == "tool-plan-delta":
            plan = message.get("tool_plan")
            return [ThinkingEvent(text=plan)] if plan else []
        if kind == "tool-call-start":
            call = message.get("tool_calls") or {}
            function = call.get("function") or {}
            index = event.get("index", 0)
            started = state.tool_calls.start(index, call["id"], function.get("name", ""))
            return started + state.tool_calls.delta(index, function.get("arguments") or "")
        if kind == "tool-call-delta":
            function = (message.get("tool_calls") or {}).get("function") or {}
            return state.tool_calls.delta(event.get("index", 0), function.get("arguments") or "")
        if kind == "tool-call-end":
            return state.tool_calls.finish(event.get("index", 0))
        if kind == "message-end":
            state.scratch["ended"] = True
            reason = delta.get("finish_reason") or ""
            events = state.tool_calls.finish_all() + _usage(delta.get("usage"))
            if reason == "ERROR" and delta.get("error"):
                events.append(ErrorEvent(code="providerUnavailable", message=delta["error"]))
            return [*events, StopEvent(reason=STOP_REASONS.get(reason, "other"))]
        return []

    def end_stream(self, state: StreamState) -> list[ChatEvent]:
        events = state.tool_calls.finish_all()
        if not state.scratch.get("ended"):
            events.append(StopEvent(reason="other"))
        return events


def _messages(message: Message) -> list[dict[str, Any]]:
    """One normalized message as Cohere's: tool results become `tool` messages of their own."""
    if isinstance(message.content, str):
        return [{"role": message.role, "content": message.content}]
    out: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    plan = ""
    for part in message.content:
        if isinstance(part, ThinkingPart):
            plan += part.text
        elif isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            url = part.url or f"data:{part.media_type or 'image/png'};base64,{part.data}"
            content.append({"type": "image_url", "image_url": {"url": url}})
        elif isinstance(part, ToolUsePart):
            arguments = part.raw_input if part.input is None else json.dumps(part.input)
            tool_calls.append(
                {
                    "id": part.id,
                    "type": "function",
                    "function": {"name": part.name, "arguments": arguments or "{}"},
                }
            )
        elif isinstance(part, ToolResultPart):
            result = part.content if isinstance(part.content, str) else _text_of(part.content)
            if part.is_error:
                result = f"Error: {result}"
            out.append({"role": "tool", "tool_call_id": part.tool_use_id, "content": result})
    if tool_calls:
        turn: dict[str, Any] = {"role": "assistant", "tool_calls": tool_calls}
        text = plan or "".join(item["text"] for item in content if item["type"] == "text")
        if text:
            turn["tool_plan"] = text
        out.insert(0, turn)
    elif content:
        out.insert(0, {"role": message.role, "content": content})
    return out


def _text_of(parts: list[TextPart | ImagePart]) -> str:
    return "".join(part.text for part in parts if isinstance(part, TextPart))


def _usage(usage: Any) -> list[ChatEvent]:
    """Billed units are what Cohere charges for; `tokens` counts the whole prompt."""
    if not isinstance(usage, dict):
        return []
    counted = usage.get("billed_units") or usage.get("tokens") or {}
    return [
        UsageEvent(
            input_tokens=int(counted.get("input_tokens") or 0),
            output_tokens=int(counted.get("output_tokens") or 0),
        )
    ]
