"""xAI (Grok): OpenAI's Chat Completions at api.x.ai, with its own usage fields.

What differs: thinking streams as `reasoning_content`; usage reports the
request's exact cost as `cost_in_usd_ticks` (1 USD = 10^10 ticks) and counts
reasoning tokens outside `completion_tokens`; only some models take
`reasoning_effort` (others reject it), and grok-3-mini knows only low/high.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from switchboard.protocol.chat import ChatParams, UsageEvent
from switchboard.protocol.errors import ErrorCode

from ..base import ModelTarget, ProviderSettings
from ..errors import ProviderError
from .openai_chat import JsonObject, OpenAIChatAdapter, OpenAIChatDecoder

TICKS_PER_USD = 10_000_000_000
#: Models whose requests may carry reasoning_effort; grok-4 and grok-4.3 answer 400 to it.
EFFORT_MODELS = ("grok-3-mini", "grok-4.5", "grok-4.6", "grok-4.7")
LOW_HIGH_EFFORT_MODELS = ("grok-3-mini",)
_NOT_CHAT_MARKERS = ("image", "imagine", "video", "embed", "tts", "voice")
_BAD_KEY = re.compile(r"incorrect api key|invalid api key|no api key", re.IGNORECASE)


def count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(0, int(value))


class XAIDecoder(OpenAIChatDecoder):
    def usage_event(self, usage: JsonObject) -> UsageEvent:
        event = super().usage_event(usage)
        details = usage.get("completion_tokens_details")
        reasoning = count(details.get("reasoning_tokens")) if isinstance(details, dict) else None
        output = event.output_tokens
        total = count(usage.get("total_tokens"))
        # xAI leaves reasoning out of completion_tokens (total adds all three); normalized
        # outputTokens includes it. Checked against total in case that ever changes.
        if reasoning and total == event.input_tokens + output + reasoning:
            output += reasoning
        ticks = count(usage.get("cost_in_usd_ticks"))
        return event.model_copy(
            update={
                "output_tokens": output,
                "reasoning_tokens": reasoning,
                "reported_cost_usd": ticks / TICKS_PER_USD if ticks is not None else None,
            }
        )


class XAIAdapter(OpenAIChatAdapter):
    kind: ClassVar[str] = "xai"
    display_name: ClassVar[str] = "xAI"
    default_base_url: ClassVar[str] = "https://api.x.ai/v1"
    api_key_envs: ClassVar[tuple[str, ...]] = ("XAI_API_KEY",)
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content",)
    decoder_class: ClassVar[type[OpenAIChatDecoder]] = XAIDecoder

    def is_reasoning_model(self, model: str) -> bool:
        # Grok's reasoning models keep temperature; reasoning_effort is decided per model below.
        return False

    def takes_reasoning_effort(self, model: str) -> bool:
        return _base_name(model).startswith(EFFORT_MODELS)

    def extra_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        if params.thinking is None or not self.takes_reasoning_effort(target.model):
            return {}
        effort = self.reasoning_effort(params.thinking.budget_tokens)
        if _base_name(target.model).startswith(LOW_HIGH_EFFORT_MODELS):
            effort = "low" if effort == "low" else "high"
        return {"reasoning_effort": effort}

    def is_chat_model(self, name: str) -> bool:
        return not any(marker in name for marker in _NOT_CHAT_MARKERS)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        error = super().parse_error(status, headers, body)
        # xAI has answered a wrong key with 400 ("Client specified an invalid argument").
        if status == 400 and _BAD_KEY.search(error.message):
            return ProviderError(
                ErrorCode.AUTHENTICATION_FAILED,
                error.message,
                provider=error.provider,
                status=status,
                suggestion=f"check the API key for {self.kind} (XAI_API_KEY)",
            )
        return error


def _base_name(model: str) -> str:
    return model.lower().rsplit("/", 1)[-1]
