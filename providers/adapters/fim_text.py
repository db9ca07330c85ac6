"""The text-completion dialect of fill-in-the-middle: OpenAI's legacy `/completions`.

`prompt` (the code before the cursor) and `suffix` (the code after it) go in;
the middle comes back as `choices[0].text`, streamed as SSE `text_completion`
chunks that end with `data: [DONE]`. Local servers (Ollama, llama.cpp, vLLM,
LM Studio) serve it at `/v1/completions`, DeepSeek at `/beta/completions`,
and GitHub Copilot at `/v1/engines/<model>/completions`.

What the recorded streams show: the finish reason rides on the last text
chunk (there may be no separate finishing chunk); usage comes only when
asked for with `stream_options`, in a last chunk whose `choices` is empty;
Copilot's stream opens with a chunk that has no text at all.
"""

from __future__ import annotations

import logging
from typing import Any

from switchboard.protocol.chat import (
    ChatEvent,
    ErrorEvent,
    StopEvent,
    StopReason,
    TextEvent,
)
from switchboard.protocol.errors import ErrorCode

from ..base import CompletionRequest
from ..wire import json_codec
from ..wire.sse import SSEEvent
from .openai_chat import FINISH_REASONS, JsonObject, stream_error, usage_event

log = logging.getLogger(__name__)


def text_completion_body(
    request: CompletionRequest, model: str, *, stream_usage: bool = True
) -> JsonObject:
    """The `/completions` body every dialect of this family starts from."""
    body: JsonObject = {
        "model": model,
        "prompt": request.prefix,
        "suffix": request.suffix,
        "max_tokens": request.max_tokens,
        "stream": True,
    }
    if stream_usage:
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stop:
        body["stop"] = list(request.stop)
    return body


class TextCompletionDecoder:
    """One streamed (or whole) text completion → TextEvent, UsageEvent, StopEvent.

    Only choice 0 counts. A body that ends without a finish reason or
    `[DONE]` ended early: an error, as for a chat.
    """

    def __init__(self) -> None:
        self._finish: StopReason | None = None
        self._done = False

    def feed(self, event: SSEEvent) -> list[ChatEvent]:
        if self._done:
            return []
        data = event.data.strip()
        if data.startswith("[DONE]"):
            self._finish = self._finish or "endTurn"
            return self.close()
        try:
            chunk = json_codec.loads(data)
        except (ValueError, RecursionError):
            log.debug("skipping a data line that is not JSON (%d chars)", len(data))
            return []
        return self.feed_chunk(chunk) if isinstance(chunk, dict) else []

    def feed_chunk(self, chunk: JsonObject) -> list[ChatEvent]:
        """One `text_completion` chunk, or a whole non-streamed answer, as parsed JSON."""
        if self._done:
            return []
        events: list[ChatEvent] = []
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            text = choice.get("text")
            if isinstance(text, str) and text:
                events.append(TextEvent(text=text))
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                self._finish = FINISH_REASONS.get(finish, "endTurn")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.append(usage_event(usage))
        if chunk.get("error"):
            events += self._error(chunk["error"])
        return events

    def close(self) -> list[ChatEvent]:
        if self._done:
            return []
        self._done = True
        if self._finish is None:
            return [
                ErrorEvent(code=ErrorCode.NETWORK, message="the stream ended early"),
                StopEvent(reason="error"),
            ]
        return [StopEvent(reason=self._finish)]

    def _error(self, error: Any) -> list[ChatEvent]:
        code, message = stream_error(error)
        self._done = True
        return [ErrorEvent(code=code, message=message), StopEvent(reason="error")]


def decode_whole(decoder: Any, body: Any) -> list[ChatEvent]:
    """A non-streamed answer (parsed JSON) through a decoder that has `feed_chunk`."""
    events: list[ChatEvent] = decoder.feed_chunk(body) if isinstance(body, dict) else []
    return events + decoder.close()
