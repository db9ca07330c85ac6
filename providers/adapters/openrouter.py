"""OpenRouter: one OpenAI-compatible API in front of many providers' models.

What differs: attribution headers (HTTP-Referer, X-Title); provider routing
(`provider` in the body, a default table from config, providerOptions on
top); usage carries the request's cost in USD; thinking streams as
`reasoning` with structured `reasoning_details` beside it, which must travel
back on the next assistant turn; errors that happen after the answer started
arrive inside the HTTP-200 stream as an `error` object with a numeric code.

The reasoning_details of a turn are kept as the signature of its thinking
part (a JSON array), and sent back as the assistant message's
`reasoning_details`. The same array, merged, is streamed as a
`reasoningDetails` event when the thinking ends, for clients that read it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    Message,
    ReasoningDetailsEvent,
    StopEvent,
    ThinkingEvent,
    ThinkingPart,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode

from ..base import Credential, ListedModel, ModelTarget, ProviderSettings, option, url_option
from ..errors import RETRYABLE, ProviderError, classify, retry_after_ms
from ..wire.http import HttpRequest
from .openai_chat import JsonObject, OpenAIChatAdapter, OpenAIChatDecoder

if TYPE_CHECKING:
    from ..auth.signin_flows import FlowHttp, OpenRouterSignIn

DEFAULT_REFERER = "https://github.com/switchboard-lsp/switchboard"
DEFAULT_TITLE = "Switchboard"
CREDITS_HINT = "add credits at https://openrouter.ai/settings/credits"
_REASONING_KEYS = ("reasoning", "reasoning_content", "reasoning_details")
_JOINED_DETAIL_FIELDS = ("text", "summary", "data")
_MAX_RAW = 300
_PER_MILLION = Decimal(1_000_000)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class OpenRouterDecoder(OpenAIChatDecoder):
    def __init__(self, fallback_model: str, reasoning_fields: tuple[str, ...]) -> None:
        super().__init__(fallback_model, reasoning_fields)
        self._details: list[JsonObject] = []
        self._details_by_index: dict[Any, JsonObject] = {}
        self._stopped = False

    def feed_chunk(self, chunk: JsonObject) -> list[ChatEvent]:
        if self._stopped:
            return []
        chunk = _error_for_error_finish(chunk)
        choices = chunk.get("choices")
        choice = (
            next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
            if isinstance(choices, list)
            else None
        )
        key = "delta" if choice is not None and "delta" in choice else "message"
        delta = choice.get(key) if choice is not None else None
        if choice is None or not isinstance(delta, dict):
            return self._seen(super().feed_chunk(chunk))
        thinking = {k: v for k, v in delta.items() if k in _REASONING_KEYS}
        answer = {k: v for k, v in delta.items() if k not in _REASONING_KEYS}
        events: list[ChatEvent] = []
        if thinking:
            head = {k: v for k, v in chunk.items() if k not in ("usage", "error")}
            events += super().feed_chunk({**head, "choices": [{"index": 0, key: thinking}]})
            events += self._merge_details(thinking)
        if answer.get("content") or answer.get("tool_calls") or answer.get("refusal"):
            events += self.flush_details()
        events += super().feed_chunk({**chunk, "choices": [{**choice, key: answer}]})
        return self._seen(events)

    def close(self) -> list[ChatEvent]:
        if self._stopped:
            return super().close()
        return self._seen(self.flush_details() + super().close())

    def flush_details(self) -> list[ChatEvent]:
        """The turn's reasoning_details: the signature that closes its thinking, and an
        event of their own."""
        if not self._details:
            return []
        details = self._details
        signature = json.dumps(details, separators=(",", ":"), ensure_ascii=False)
        self._details, self._details_by_index = [], {}
        return [ThinkingEvent(text="", signature=signature), ReasoningDetailsEvent(details=details)]

    def usage_event(self, usage: JsonObject) -> UsageEvent:
        event = super().usage_event(usage)
        prompt = usage.get("prompt_tokens_details")
        written = number(prompt.get("cache_write_tokens")) if isinstance(prompt, dict) else None
        completion = usage.get("completion_tokens_details")
        reasoning = (
            number(completion.get("reasoning_tokens")) if isinstance(completion, dict) else None
        )
        return event.model_copy(
            update={
                "cache_creation_input_tokens": int(written) if written else None,
                "reasoning_tokens": int(reasoning) if reasoning is not None else None,
                "reported_cost_usd": reported_cost(usage),
            }
        )

    def stream_error(self, error: Any) -> tuple[ErrorCode, str]:
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            return super().stream_error(error)
        message = error_message(error) or "the provider reported an error in the stream"
        return error_code(error["code"], message, error), message

    def _merge_details(self, thinking: JsonObject) -> list[ChatEvent]:
        details = thinking.get("reasoning_details")
        texts: list[str] = []
        for position, detail in enumerate(details if isinstance(details, list) else []):
            if not isinstance(detail, dict):
                continue
            index = detail.get("index", f"at{len(self._details) + position}")
            merged = self._details_by_index.get(index)
            if merged is None:
                merged = self._details_by_index[index] = {}
                self._details.append(merged)
            for field, value in detail.items():
                if field in _JOINED_DETAIL_FIELDS and isinstance(value, str):
                    merged[field] = merged.get(field, "") + value
                    if field != "data" and value:
                        texts.append(value)
                elif value not in (None, "") or field not in merged:
                    merged[field] = value
        spoken = any(
            isinstance(thinking.get(k), str) and thinking[k]
            for k in ("reasoning", "reasoning_content")
        )
        # Some models stream their thinking only inside reasoning_details.
        return [ThinkingEvent(text="".join(texts))] if texts and not spoken else []

    def _seen(self, events: list[ChatEvent]) -> list[ChatEvent]:
        if any(isinstance(event, StopEvent) for event in events):
            self._stopped = True
        return events


class OpenRouterAdapter(OpenAIChatAdapter):
    kind: ClassVar[str] = "openrouter"
    display_name: ClassVar[str] = "OpenRouter"
    default_base_url: ClassVar[str] = "https://openrouter.ai/api/v1"
    api_key_envs: ClassVar[tuple[str, ...]] = ("OPENROUTER_API_KEY",)
    max_tokens_field: ClassVar[str] = "max_tokens"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning", "reasoning_content")
    decoder_class: ClassVar[type[OpenAIChatDecoder]] = OpenRouterDecoder

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        request = super().build_request(params, target, settings, credential)
        request.headers = {**self.attribution_headers(settings), **request.headers}
        return request

    def sign_in_flow(self, settings: ProviderSettings, http: FlowHttp) -> OpenRouterSignIn:
        """PKCE in the browser, ending in an API key; the site is the API's host unless set."""
        from ..auth.signin_flows import OpenRouterSignIn

        api = (settings.base_url or self.default_base_url).rstrip("/")
        site = url_option(settings, "auth_site") or api.removesuffix("/api/v1")
        return OpenRouterSignIn(http, site=site, api=api)

    def attribution_headers(self, settings: ProviderSettings) -> dict[str, str]:
        return {
            "HTTP-Referer": _text_option(settings, "referer", DEFAULT_REFERER),
            "X-Title": _text_option(settings, "title", DEFAULT_TITLE),
        }

    def is_reasoning_model(self, model: str) -> bool:
        # OpenRouter takes one `reasoning` object for every model and drops what a model lacks.
        return False

    def extra_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        # Deprecated by OpenRouter (usage is now always sent) but harmless where it still counts.
        extra: JsonObject = {"usage": {"include": True}}
        if params.thinking is not None:
            budget = params.thinking.budget_tokens
            extra["reasoning"] = {"max_tokens": budget} if budget > 0 else {"effort": "low"}
        return extra

    def build_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        body = super().build_body(params, target, settings)
        routing = self.default_routing(settings)
        if routing:
            wanted = body.get("provider")
            body["provider"] = {**routing, **wanted} if isinstance(wanted, dict) else routing
        return body

    def default_routing(self, settings: ProviderSettings) -> JsonObject:
        routing = option(settings, "provider", {})
        if not isinstance(routing, Mapping):
            raise ProviderError(
                ErrorCode.INVALID_REQUEST,
                f"{settings.id}: option 'provider' must be a table of OpenRouter routing"
                ' preferences, e.g. { order = ["anthropic"], allow_fallbacks = false }',
                provider=settings.id,
            )
        return dict(routing)

    def assistant_message(self, message: Message) -> JsonObject:
        wire = super().assistant_message(message)
        details: list[Any] = []
        for part in message.parts():
            if isinstance(part, ThinkingPart) and part.signature:
                details += _details_of(part.signature)
        if details:
            wire["reasoning_details"] = details
        return wire

    # ---- models -------------------------------------------------------------

    def parse_models(self, body: Any) -> list[ListedModel]:
        data = body.get("data") if isinstance(body, dict) else None
        listed: list[ListedModel] = []
        for item in data if isinstance(data, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
                listed.append(_listed_model(item))
        return listed

    # ---- errors -------------------------------------------------------------

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        error = super().parse_error(status, headers, body)
        details = _error_details(body)
        message = error_message(details) if details else ""
        code = error_code(status, message or error.message, details)
        if not message and code == error.code:
            return error
        retryable = False if status == 402 else None
        suggestion = CREDITS_HINT if status == 402 else error.suggestion
        return ProviderError(
            code,
            f"{self.kind}: {message}" if message else error.message,
            provider=error.provider,
            status=status,
            retry_after_ms=retry_after_ms(headers) if code in RETRYABLE else None,
            suggestion=suggestion,
            retryable=retryable,
        )


def reported_cost(usage: JsonObject) -> float | None:
    """What the request cost in USD; with your own key (BYOK) the upstream bill is added."""
    cost = number(usage.get("cost"))
    details = usage.get("cost_details")
    upstream = number(details.get("upstream_inference_cost")) if isinstance(details, dict) else None
    if usage.get("is_byok") is True and upstream is not None:
        return (cost or 0.0) + upstream
    return cost


def error_message(error: Mapping[str, Any]) -> str:
    """The message, with the upstream provider's own words when OpenRouter passes them on."""
    message = error.get("message")
    message = message if isinstance(message, str) else ""
    metadata = error.get("metadata")
    if not isinstance(metadata, Mapping):
        return message
    raw, name = metadata.get("raw"), metadata.get("provider_name")
    if isinstance(name, str) and name:
        message = f"{message} ({name})"
    if isinstance(raw, str) and raw.strip():
        message = f"{message}: {' '.join(raw.split())[:_MAX_RAW]}"
    return message


def error_code(status: int, message: str, error: Mapping[str, Any]) -> ErrorCode:
    """OpenRouter's error.code is an HTTP status, also for errors inside a 200 stream."""
    if status == 402:
        return ErrorCode.RATE_LIMITED  # out of credits: a quota, not a bad request
    metadata = error.get("metadata")
    if status == 403 and isinstance(metadata, Mapping) and "reasons" in metadata:
        return ErrorCode.CONTENT_FILTERED
    return classify(status, message)


def _error_for_error_finish(chunk: JsonObject) -> JsonObject:
    """A choice that finished with "error" but carries no error object still failed."""
    choices = chunk.get("choices")
    failed = isinstance(choices, list) and any(
        isinstance(c, dict) and c.get("finish_reason") == "error" for c in choices
    )
    if not failed or chunk.get("error"):
        return chunk
    error = {"code": 502, "message": "the upstream provider failed while answering"}
    return {**chunk, "error": error}


def _details_of(signature: str) -> list[Any]:
    try:
        details = json.loads(signature)
    except (ValueError, RecursionError):
        return []
    if isinstance(details, list) and all(isinstance(d, dict) for d in details):
        return details
    return []


def _error_details(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def _per_million(value: Any) -> float | None:
    """OpenRouter prices are USD per token as decimal strings; "-1" means variable."""
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not price.is_finite() or price < 0:
        return None
    return float(price * _PER_MILLION)


def _listed_model(item: JsonObject) -> ListedModel:
    pricing = _object(item.get("pricing"))
    top = _object(item.get("top_provider"))
    architecture = item.get("architecture")
    modalities = architecture.get("input_modalities") if isinstance(architecture, dict) else None
    parameters = item.get("supported_parameters")
    parameters = parameters if isinstance(parameters, list) else None
    context, max_output = item.get("context_length"), top.get("max_completion_tokens")
    name = item.get("name")
    return ListedModel(
        name=item["id"],
        display_name=name if isinstance(name, str) else None,
        context_window=context if isinstance(context, int) and context > 0 else None,
        max_output_tokens=max_output if isinstance(max_output, int) and max_output > 0 else None,
        tools="tools" in parameters if parameters is not None else None,
        images="image" in modalities if isinstance(modalities, list) else None,
        thinking="reasoning" in parameters if parameters is not None else None,
        input_per_m_tok=_per_million(pricing.get("prompt")),
        output_per_m_tok=_per_million(pricing.get("completion")),
        cache_read_per_m_tok=_per_million(pricing.get("input_cache_read")),
        cache_write_per_m_tok=_per_million(pricing.get("input_cache_write")),
    )


def _object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _text_option(settings: ProviderSettings, key: str, default: str) -> str:
    value = option(settings, key, default)
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value:
        return value.strip()
    raise ProviderError(
        ErrorCode.INVALID_REQUEST,
        f"{settings.id}: option '{key}' must be a one-line string",
        provider=settings.id,
    )
