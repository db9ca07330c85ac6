"""OpenAI's legacy `/completions` answer (`text_completion`), rendered from a Scenario.

The shape the recorded streams in ../shared/corpus/fim/openai-completions show:
each chunk `{id, object: "text_completion", created, choices: [{text, index,
logprobs: null, finish_reason}], model}`, the finish reason on the last text
chunk (no separate finishing chunk), with `include_usage` a `usage: null` on
every chunk and a last chunk with `choices: []` and the usage, then
`data: [DONE]`. Local servers, DeepSeek's beta FIM and Copilot's inline
completions all answer in it; `usage_extra` adds a server's own usage fields
(DeepSeek's prompt_cache_hit_tokens) and `copilot=True` gives Copilot's bare
chunks (no id or model, an opening chunk with no text).
"""

from __future__ import annotations

import json
import random
import string
import time
from typing import Any

from .http import Reply
from .scenario import Scenario

FINISH = {
    "endTurn": "stop",
    "stopSequence": "stop",
    "maxTokens": "length",
    "contentFilter": "content_filter",
}


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


class TextCompletion:
    def __init__(
        self,
        scenario: Scenario,
        model: str,
        *,
        usage_extra: dict[str, Any] | None = None,
        copilot: bool = False,
    ) -> None:
        self.scenario = scenario
        self.model = scenario.model or model
        self.usage_extra = usage_extra or {}
        self.copilot = copilot
        self.id = "cmpl-" + "".join(random.choices(string.ascii_letters + string.digits, k=29))
        self.created = int(time.time())

    def usage(self) -> dict[str, Any]:
        scenario = self.scenario
        return {
            "prompt_tokens": scenario.input_tokens,
            "completion_tokens": scenario.output_tokens,
            "total_tokens": scenario.input_tokens + scenario.output_tokens,
            **self.usage_extra,
        }

    def chunk(self, choices: list[Any], with_usage: bool) -> dict[str, Any]:
        if self.copilot:
            return {"choices": choices}
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "choices": choices,
            "model": self.model,
        }
        if with_usage:
            chunk["usage"] = None
        return chunk

    def choice(self, text: str | None, finish: str | None) -> dict[str, Any]:
        if self.copilot:
            bare: dict[str, Any] = {"index": 0, "finish_reason": finish}
            return bare if text is None else {"text": text, **bare}
        return {"text": text or "", "index": 0, "logprobs": None, "finish_reason": finish}

    def stream(self, with_usage: bool) -> list[bytes]:
        pieces = self.scenario.text_pieces()
        finish = FINISH.get(self.scenario.stop, "stop")
        events = []
        if self.copilot:
            events.append(_event(self.chunk([self.choice(None, None)], False)))
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1 and not self.copilot
            choice = self.choice(piece, finish if last else None)
            events.append(_event(self.chunk([choice], with_usage)))
        if self.copilot or not pieces:
            events.append(_event(self.chunk([self.choice(None, finish)], with_usage)))
        if with_usage:
            events.append(_event({**self.chunk([], False), "usage": self.usage()}))
        return [*events, b"data: [DONE]\n\n"]

    def whole(self) -> dict[str, Any]:
        finish = FINISH.get(self.scenario.stop, "stop")
        return {
            **self.chunk([self.choice(self.scenario.text, finish)], False),
            "usage": self.usage(),
        }

    def reply(self, body: dict[str, Any], *, usage_unasked: bool = False) -> Reply:
        """The answer to a request body: a stream when it asked for one, else whole JSON."""
        if not body.get("stream"):
            return Reply.json(self.whole())
        asked = bool((body.get("stream_options") or {}).get("include_usage"))
        return Reply(
            headers={"content-type": "text/event-stream; charset=utf-8"},
            chunks=self.stream(asked or usage_unasked),
            delay_s=self.scenario.delay_s,
        )
