"""The adapter contract a provider plugin implements, as the spec names its functions.

A plugin (an installed package's entry point in `switchboard.providers`, or a
module in the plugins directory) subclasses `ProviderPlugin` and fills in:

- metadata: `id`, `name`, `version`, `models`, `features` (and where it lives:
  `base_url`, `api_key_env`);
- `headers`: what every request carries (authentication included);
- `format_request`: the normalized chat, tool calls and tool results included, as
  the provider's request;
- `parse_response`: a whole (non-streamed) answer as normalized events;
- `handle_stream_chunk`: one framed event of a streamed answer as normalized
  events (`end_stream` when the body ends).

Everything else (transport, retries, credentials, pricing, token counting,
journal, LSP) is the server's. The plugin is sans-IO: it sees data, never sockets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from switchboard.protocol.chat import ChatEvent, ChatParams

from ..base import Framing
from ..wire.sse import SSEEvent
from ..wire.tool_calls import ToolCallAssembler

__all__ = [
    "FEATURES",
    "OutgoingRequest",
    "PluginModel",
    "ProviderPlugin",
    "StreamChunk",
    "StreamState",
]

#: The words a provider's `features` may hold (others are refused with the plugin's name).
FEATURES = frozenset({"chat", "streaming", "tools", "images", "thinking", "fim"})

#: One framed event of a streamed answer: for SSE, its `event` name and `data` text.
StreamChunk = SSEEvent


@dataclass(frozen=True)
class PluginModel:
    """A model the provider serves: what it can take and what it costs (USD per 1M tokens)."""

    id: str
    context_window: int
    max_output_tokens: int | None = None
    input_per_m_tok: float | None = None
    output_per_m_tok: float | None = None
    tools: bool = False
    images: bool = False
    fim: bool = False
    name: str | None = None


@dataclass(frozen=True)
class OutgoingRequest:
    """What `format_request` returns: `path` is joined to the provider's base URL."""

    path: str
    body: Any
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class StreamState:
    """One streamed answer's state, made fresh per request and handed to every chunk.

    `tool_calls` assembles tool-call arguments that arrive in fragments: `start`,
    `delta` and `finish` return the normalized events (a toolUse, or a parse error
    that keeps the raw text). `scratch` is the plugin's own.
    """

    model: str
    tool_calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    scratch: dict[str, Any] = field(default_factory=dict)


class ProviderPlugin:
    """Subclass this, set the metadata, and implement the three translation functions."""

    # ---- metadata -----------------------------------------------------------
    #: the provider kind: `[providers.NAME] kind = ...`, and the `provider/` of model ids
    id: ClassVar[str]
    #: the display name editors show
    name: ClassVar[str]
    version: ClassVar[str]
    models: ClassVar[tuple[PluginModel, ...]]
    features: ClassVar[tuple[str, ...]] = ("chat", "streaming")
    base_url: ClassVar[str]
    #: environment variables holding the API key, first found wins; () for no key
    api_key_env: ClassVar[tuple[str, ...]] = ()
    #: True: the provider exists only where a `[providers.NAME]` table names its kind
    needs_config: ClassVar[bool] = False
    framing: ClassVar[Framing] = "sse"

    # ---- translation ----------------------------------------------------------

    def headers(self, api_key: str | None) -> dict[str, str]:
        """Headers of every request; the config's `headers` are added on top."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def format_request(self, params: ChatParams, model: str) -> OutgoingRequest:
        """The chat as the provider's streaming request: messages, system, tools,
        tool calls and tool results, limits."""
        raise NotImplementedError

    def parse_response(self, body: Any, model: str) -> list[ChatEvent]:
        """A whole answer (parsed JSON) as normalized events."""
        raise NotImplementedError

    def handle_stream_chunk(self, chunk: StreamChunk, state: StreamState) -> list[ChatEvent]:
        """One framed event of a streamed answer as normalized events (often none)."""
        raise NotImplementedError

    def end_stream(self, state: StreamState) -> list[ChatEvent]:
        """The body ended: what is still pending. By default, unfinished tool calls."""
        return state.tool_calls.finish_all()

    def error_message(self, status: int, body: bytes) -> str:
        """The words of an error answer; the server classifies the status and redacts."""
        try:
            parsed = json.loads(body)
        except ValueError:
            return body.decode("utf-8", errors="replace")[:500]
        if isinstance(parsed, dict):
            for key in ("message", "error", "detail"):
                value = parsed.get(key)
                if isinstance(value, dict):
                    value = value.get("message")
                if isinstance(value, str) and value:
                    return value
        return f"HTTP {status}"
