"""AWS Bedrock through the Converse API: every model family Bedrock serves, one wire format.

Request: `POST {base}/model/{modelId}/converse-stream`, signed with SigV4 by
`providers/auth/aws_auth.py` (or sent with a Bedrock API key). The answer is an
AWS eventstream (`providers/wire/eventstream.py` frames it); each message is an
event (`messageStart`, `contentBlockStart|Delta|Stop`, `messageStop`,
`metadata`) or an exception, decoded here into normalized events.

Request fields: messages, system, inferenceConfig (maxTokens, temperature,
stopSequences), toolConfig, and model-specific fields in
additionalModelRequestFields: Claude thinking (`thinking.budget_tokens`),
gpt-oss `reasoning_effort`, Nova 2 `reasoningConfig`. providerOptions are
merged last: keys that are Converse request fields (inferenceConfig,
toolConfig, guardrailConfig, performanceConfig, serviceTier, outputConfig,
additionalModelRequestFields, ...) go to the top level (objects merged one
level deep); any other key is a model-native parameter (`top_k`, ...) and
goes into additionalModelRequestFields.

Usage: Bedrock's `inputTokens` counts the input that was neither read from
nor written to the prompt cache (its `totalTokens` adds the cache parts), so
the normalized inputTokens adds them back, unless totalTokens shows that the
model already counted them inside inputTokens.
"""

from __future__ import annotations

import json
import logging
import os
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

from ..auth.aws_auth import AwsAuthenticator, require_region, text_option
from ..base import (
    AdapterDefaults,
    Credential,
    Framing,
    ListedModel,
    ModelTarget,
    ProviderSettings,
    inline_image,
    path_segment,
)
from ..catalog.cache_anchors import anchor_limit, caches_tools, keep_last
from ..errors import RETRYABLE, ProviderError, classify, json_body, retry_after_ms
from ..wire import json_codec
from ..wire.eventstream import CorruptStream, EventMessage
from ..wire.http import HttpRequest
from ..wire.json_values import is_int as _is_int
from ..wire.json_values import mapping as _mapping
from ..wire.json_values import text as _text
from ..wire.tool_calls import ToolCallAssembler

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
DEFAULT_THINKING_ANSWER_TOKENS = 4096
MAX_ERROR_TEXT = 500
CACHE_POINT: JsonObject = {"cachePoint": {"type": "default"}}
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
# Converse request fields a providerOption may set directly; anything else is model-native.
REQUEST_FIELDS = frozenset(
    {
        "inferenceConfig",
        "toolConfig",
        "guardrailConfig",
        "additionalModelRequestFields",
        "additionalModelResponseFieldPaths",
        "promptVariables",
        "requestMetadata",
        "performanceConfig",
        "serviceTier",
        "outputConfig",
        "system",
        "messages",
    }
)
STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "endTurn",
    "tool_use": "toolUse",
    "max_tokens": "maxTokens",
    "stop_sequence": "stopSequence",
    "guardrail_intervened": "contentFilter",
    "content_filtered": "contentFilter",
    "model_context_window_exceeded": "maxTokens",
}
#: what the `metadata` event says about the answer besides usage, kept as `providerMetadata`
METADATA_FIELDS = ("metrics", "trace", "performanceConfig", "serviceTier")
# Stop reasons that mean the model's output is unusable.
FAILED_STOPS = {
    "malformed_model_output": "the model produced malformed output",
    "malformed_tool_use": "the model produced a malformed tool call",
}
# AWS error types (HTTP `x-amzn-errortype`, `__type`, or an in-stream `:exception-type`),
# lower-cased and without the "exception" suffix.
ERROR_TYPES: dict[str, ErrorCode] = {
    "accessdenied": ErrorCode.AUTHENTICATION_FAILED,
    "unrecognizedclient": ErrorCode.AUTHENTICATION_FAILED,
    "expiredtoken": ErrorCode.AUTHENTICATION_FAILED,
    "invalidsignature": ErrorCode.AUTHENTICATION_FAILED,
    "incompletesignature": ErrorCode.AUTHENTICATION_FAILED,
    "missingauthenticationtoken": ErrorCode.AUTHENTICATION_FAILED,
    "invalidclienttokenid": ErrorCode.AUTHENTICATION_FAILED,
    "signaturedoesnotmatch": ErrorCode.AUTHENTICATION_FAILED,
    "throttling": ErrorCode.RATE_LIMITED,
    "toomanyrequests": ErrorCode.RATE_LIMITED,
    "servicequotaexceeded": ErrorCode.RATE_LIMITED,
    "resourcenotfound": ErrorCode.UNKNOWN_MODEL,
    "modelnotready": ErrorCode.PROVIDER_UNAVAILABLE,
    "serviceunavailable": ErrorCode.PROVIDER_UNAVAILABLE,
    "internalserver": ErrorCode.PROVIDER_UNAVAILABLE,
    "internalfailure": ErrorCode.PROVIDER_UNAVAILABLE,
    "modelerror": ErrorCode.PROVIDER_UNAVAILABLE,
    "modelstreamerror": ErrorCode.PROVIDER_UNAVAILABLE,
    "modeltimeout": ErrorCode.TIMEOUT,
}


class BedrockAdapter(AdapterDefaults):
    kind: ClassVar[str] = "bedrock"
    display_name: ClassVar[str] = "AWS Bedrock"
    default_base_url: ClassVar[str] = "https://bedrock-runtime.{region}.amazonaws.com"
    api_key_envs: ClassVar[tuple[str, ...]] = ("AWS_BEARER_TOKEN_BEDROCK",)
    framing: ClassVar[Framing] = "eventstream"

    def temperature_range(self, target: ModelTarget) -> tuple[float, float]:
        return (0.0, 1.0)  # Converse's inferenceConfig range, for every model family

    def accepts_temperature(self, params: ChatParams, target: ModelTarget) -> bool:
        thinking = params.thinking is not None and params.thinking.budget_tokens > 0
        return not (thinking and "anthropic" in target.model)

    def accepts_prefill(self, params: ChatParams, target: ModelTarget) -> bool:
        # Converse continues a last assistant turn for Claude, without extended thinking.
        thinking = params.thinking is not None and params.thinking.budget_tokens > 0
        return "anthropic" in target.model and not thinking

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        model = path_segment(target.model)
        return HttpRequest(
            "POST",
            f"{runtime_base(settings)}/model/{model}/converse-stream",
            headers={"content-type": "application/json", **settings.headers},
            json=request_body(params, target),
        )

    def authenticator(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        environ: Mapping[str, str],
    ) -> AwsAuthenticator:
        text_option(settings, "region")
        text_option(settings, "profile")
        return AwsAuthenticator(settings, environ, credential.secret if credential else None)

    def decoder(self, target: ModelTarget) -> BedrockStreamDecoder:
        return BedrockStreamDecoder(target.model)

    def decode_body(self, body: Any, target: ModelTarget) -> list[ChatEvent]:
        """A Converse (non-streaming) response, as the events its stream would give."""
        return decode_converse(body if isinstance(body, dict) else {}, target.model)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        parsed = json_body(body)
        fields = parsed if isinstance(parsed, dict) else {}
        message = _text(fields.get("message")) or _text(fields.get("Message"))
        if not message:
            message = body.decode("utf-8", errors="replace").strip()[:MAX_ERROR_TEXT]
        lowered = {name.lower(): value for name, value in headers.items()}
        error_type = _error_type(lowered.get("x-amzn-errortype") or _text(fields.get("__type")))
        code = error_code(error_type, message, status)
        request_id = lowered.get("x-amzn-requestid")
        text = f"bedrock: {message or f'HTTP {status}'}"
        if error_type:
            text += f" ({error_type})"
        if request_id:
            text += f" (request {request_id})"
        return ProviderError(
            code,
            text,
            provider=self.kind,
            status=status,
            retry_after_ms=retry_after_ms(headers) if code in RETRYABLE else None,
            suggestion=_suggestion(code),
        )

    def count_tokens_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest | None:
        """CountTokens, for the models that have it (Claude): the Converse request's input
        fields, counted by the foundation model an inference profile id names."""
        if model_family(target.model) not in COUNTING_FAMILIES:
            return None
        body = request_body(params, target)
        converse = {field: body[field] for field in COUNTED_FIELDS if field in body}
        model = path_segment(foundation_model(target.model))
        return HttpRequest(
            "POST",
            f"{runtime_base(settings)}/model/{model}/count-tokens",
            headers={"content-type": "application/json", **settings.headers},
            json={"input": {"converse": converse}},
        )

    def parse_count_tokens(self, body: Any) -> int:
        count = body.get("inputTokens") if isinstance(body, dict) else None
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            return count
        raise ProviderError(
            ErrorCode.PROVIDER_UNAVAILABLE,
            "bedrock: CountTokens answered without inputTokens",
            provider=self.kind,
        )

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest:
        return HttpRequest(
            "GET",
            f"{control_base(settings)}/foundation-models",
            headers=dict(settings.headers),
            params={"byOutputModality": "TEXT"},
        )

    def parse_models(self, body: Any) -> list[ListedModel]:
        """The foundation models list; it carries ids, names and modalities but no limits."""
        summaries = body.get("modelSummaries") if isinstance(body, dict) else None
        listed: list[ListedModel] = []
        for summary in summaries if isinstance(summaries, list) else []:
            if not isinstance(summary, dict) or not _text(summary.get("modelId")):
                continue
            if summary.get("responseStreamingSupported") is False:
                continue
            inputs = summary.get("inputModalities")
            lifecycle = _mapping(summary.get("modelLifecycle")).get("status")
            listed.append(
                ListedModel(
                    name=summary["modelId"],
                    display_name=_text(summary.get("modelName")) or None,
                    images=("IMAGE" in inputs) if isinstance(inputs, list) else None,
                    notes={
                        key: value
                        for key, value in (
                            ("provider", summary.get("providerName")),
                            ("lifecycle", lifecycle),
                            ("inferenceTypes", summary.get("inferenceTypesSupported")),
                        )
                        if value is not None
                    },
                )
            )
        return listed


def runtime_base(settings: ProviderSettings) -> str:
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return f"https://bedrock-runtime.{require_region(settings, os.environ)}.amazonaws.com"


def control_base(settings: ProviderSettings) -> str:
    """The control plane (model lists); a configured runtime URL is mapped to its twin."""
    if settings.base_url:
        return settings.base_url.rstrip("/").replace("://bedrock-runtime.", "://bedrock.", 1)
    return f"https://bedrock.{require_region(settings, os.environ)}.amazonaws.com"


def error_code(error_type: str, message: str, status: int | None) -> ErrorCode:
    """The normalized code for an AWS error type, else for the status and wording."""
    key = error_type.lower().removesuffix("exception")
    if key == "validation":
        code = classify(400, message, error_type)
        unknown_model = code == ErrorCode.UNKNOWN_MODEL
        keep = unknown_model or code == ErrorCode.CONTEXT_LENGTH_EXCEEDED
        return code if keep else ErrorCode.INVALID_REQUEST
    known = ERROR_TYPES.get(key)
    if known is not None:
        return known
    return classify(status, message, error_type or None)


def _error_type(raw: str | None) -> str:
    """`ThrottlingException:http://internal...` or `com.amazon...#ThrottlingException` → name."""
    if not raw:
        return ""
    name = raw.split(":", 1)[0]
    return name.rsplit("#", 1)[-1].strip()


def _suggestion(code: ErrorCode) -> str | None:
    if code == ErrorCode.AUTHENTICATION_FAILED:
        return (
            "check the AWS credentials (profile, keys, SSO session) or AWS_BEARER_TOKEN_BEDROCK,"
            " and that the identity may invoke this model"
        )
    if code == ErrorCode.RATE_LIMITED:
        return "wait and try again, or use another model or region"
    if code == ErrorCode.UNKNOWN_MODEL:
        return "use a Bedrock model id or inference profile id (switchboard models bedrock)"
    if code == ErrorCode.CONTEXT_LENGTH_EXCEEDED:
        return "shorten the conversation or pick a model with a larger context window"
    return None


# ---- request body ------------------------------------------------------------


# Inference profile prefixes in front of a model id (`us.anthropic.claude-...`).
GEO_PREFIXES = frozenset({"us", "eu", "apac", "global", "jp", "au", "ca", "us-gov", "in"})


#: the model families CountTokens counts for; for others it answers ValidationException
COUNTING_FAMILIES = frozenset({"anthropic"})
#: the Converse fields CountTokens takes (sampling settings are not input)
COUNTED_FIELDS = ("messages", "system", "toolConfig", "additionalModelRequestFields")


def foundation_model(model: str) -> str:
    """`us.anthropic.claude-...` or an inference profile's ARN → `anthropic.claude-...`:
    CountTokens takes only a foundation model's id."""
    name = model.rsplit("/", 1)[-1] if model.startswith("arn:") else model
    prefix, dot, rest = name.partition(".")
    return rest if dot and prefix.lower() in GEO_PREFIXES else name


def model_family(model: str) -> str:
    """`us.anthropic.claude-...` / `arn:...:inference-profile/us.anthropic...` → `anthropic`."""
    parts = model.rsplit("/", 1)[-1].lower().split(".")
    if len(parts) > 2 and parts[0] in GEO_PREFIXES:
        parts = parts[1:]
    return parts[0] if len(parts) > 1 else ""


def request_body(params: ChatParams, target: ModelTarget) -> JsonObject:
    model = target.model
    family = model_family(model)
    body: JsonObject = {"messages": _messages(params.messages)}
    system = _system(params.system, params.messages)
    if system:
        body["system"] = system
    budget = params.thinking.budget_tokens if params.thinking else 0
    claude_thinking = family == "anthropic" and budget > 0
    inference: JsonObject = {}
    max_tokens = _max_tokens(params, target, budget if claude_thinking else 0)
    if max_tokens is not None:
        inference["maxTokens"] = max_tokens
    if params.temperature is not None and not claude_thinking:
        inference["temperature"] = params.temperature
    if params.stop_sequences:
        inference["stopSequences"] = list(params.stop_sequences)
    if inference:
        body["inferenceConfig"] = inference
    tool_config = _tool_config(params.tools, params.tool_choice)
    if tool_config:
        if caches_tools(params, target.info):
            tool_config["tools"].append(dict(CACHE_POINT))
        body["toolConfig"] = tool_config
    extra = _reasoning_fields(family, model, budget)
    if extra:
        body["additionalModelRequestFields"] = extra
    _merge_provider_options(body, params.provider_options or {})
    keep_last(_cache_points(body), anchor_limit(target.info))
    return body


def _cache_points(body: JsonObject) -> list[Any]:
    """A remover for each cachePoint block, in prompt order: tools, system, messages."""
    lists: list[Any] = [_mapping(body.get("toolConfig")).get("tools"), body.get("system")]
    lists += [_mapping(message).get("content") for message in body.get("messages") or []]
    return [
        _remover(blocks, block)
        for blocks in lists
        if isinstance(blocks, list)
        for block in blocks
        if isinstance(block, dict) and "cachePoint" in block
    ]


def _remover(blocks: list[Any], block: JsonObject) -> Any:
    def remove() -> None:
        for index, candidate in enumerate(blocks):
            if candidate is block:
                del blocks[index]
                return

    return remove


def _max_tokens(params: ChatParams, target: ModelTarget, claude_budget: int) -> int | None:
    if not claude_budget:
        return params.max_tokens
    # Claude counts thinking inside maxTokens, which must exceed the budget.
    limit = target.info.max_output_tokens
    wanted = params.max_tokens or DEFAULT_THINKING_ANSWER_TOKENS
    if wanted <= claude_budget:
        wanted += claude_budget
    return min(wanted, limit) if limit else wanted


def _reasoning_fields(family: str, model: str, budget: int) -> JsonObject:
    if budget <= 0:
        return {}
    if family == "anthropic":
        return {"thinking": {"type": "enabled", "budget_tokens": budget}}
    if family == "openai" and "gpt-oss" in model:
        return {"reasoning_effort": reasoning_effort(budget)}
    if family == "amazon" and "nova-2" in model:
        effort = reasoning_effort(budget)
        return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": effort}}
    return {}


def reasoning_effort(budget_tokens: int) -> str:
    if budget_tokens < 4096:
        return "low"
    return "medium" if budget_tokens < 16384 else "high"


def _merge_provider_options(body: JsonObject, options: Mapping[str, Any]) -> None:
    for key, value in options.items():
        if key not in REQUEST_FIELDS:
            body.setdefault("additionalModelRequestFields", {})[key] = value
        elif isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value


def _tool_config(tools: list[ToolSpec] | None, choice: ToolChoice | None) -> JsonObject | None:
    if not tools or choice == "none":
        return None
    config: JsonObject = {"tools": [_tool(spec) for spec in tools]}
    if choice is not None:
        config["toolChoice"] = (
            {choice: {}} if isinstance(choice, str) else {"tool": {"name": choice.name}}
        )
    return config


def _tool(spec: ToolSpec) -> JsonObject:
    tool: JsonObject = {"name": spec.name}
    if spec.description:
        tool["description"] = spec.description
    tool["inputSchema"] = {"json": spec.input_schema}
    return {"toolSpec": tool}


def _system(system: str | None, messages: list[Message]) -> list[JsonObject]:
    blocks: list[JsonObject] = [{"text": system}] if system else []
    for message in messages:
        if message.role != "system":
            continue
        texts = [p.text for p in message.parts() if isinstance(p, TextPart) and p.text]
        blocks.extend({"text": text} for text in texts)
        if texts and message.cache:
            blocks.append(dict(CACHE_POINT))
    return blocks


def _messages(messages: list[Message]) -> list[JsonObject]:
    wire: list[JsonObject] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = [block for part in message.parts() if (block := _block(part)) is not None]
        if not blocks:
            continue
        if message.cache:
            blocks.append(dict(CACHE_POINT))
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    for merged in wire:
        if merged["role"] == "user":
            # Claude wants a user turn's tool results before any other block.
            merged["content"].sort(key=lambda block: "toolResult" not in block)
    return wire


def _block(part: Any) -> JsonObject | None:
    if isinstance(part, TextPart):
        return {"text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        return {"image": _image(part)}
    if isinstance(part, ToolUsePart):
        use = {"toolUseId": part.id, "name": part.name, "input": part.input_or_empty()}
        return {"toolUse": use}
    if isinstance(part, ToolResultPart):
        return {"toolResult": _tool_result(part)}
    if isinstance(part, ThinkingPart):
        # Reasoning goes back only with the signature its model gave it (Claude checks it).
        if not part.signature:
            return None
        text = {"text": part.text, "signature": part.signature}
        return {"reasoningContent": {"reasoningText": text}}
    if isinstance(part, RedactedThinkingPart):
        return {"reasoningContent": {"redactedContent": part.data}}
    return None


def _image(part: ImagePart) -> JsonObject:
    inline = inline_image(part.media_type, part.data, part.url)
    if inline is None:
        raise ProviderError(
            ErrorCode.UNSUPPORTED,
            "bedrock: images must be sent as data (base64), not as a URL",
            provider="bedrock",
        )
    media_type, data = inline
    image_format = IMAGE_FORMATS.get((media_type or "").lower())
    if image_format is None:
        raise ProviderError(
            ErrorCode.UNSUPPORTED,
            f"bedrock: image type {media_type!r} is not supported (png, jpeg, gif, webp)",
            provider="bedrock",
        )
    # The JSON protocol carries blobs as base64 strings.
    return {"format": image_format, "source": {"bytes": data}}


def _tool_result(part: ToolResultPart) -> JsonObject:
    content: list[JsonObject]
    if isinstance(part.content, str):
        content = [{"text": part.content}] if part.content else []
    else:
        content = [
            {"text": p.text} if isinstance(p, TextPart) else {"image": _image(p)}
            for p in part.content
            if not isinstance(p, TextPart) or p.text
        ]
    result: JsonObject = {"toolUseId": part.tool_use_id, "content": content or [{"json": {}}]}
    if part.is_error:
        result["status"] = "error"
    return result


# ---- stream decoding ---------------------------------------------------------


class BedrockStreamDecoder:
    """One answer's eventstream messages as normalized events.

    Bedrock sends messageStop (the stop reason) before metadata (the usage),
    so the StopEvent waits for the metadata, or for the end of the body.
    """

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        self._tools = ToolCallAssembler()
        self._stop: StopReason | None = None
        self._failed_stop: str | None = None
        self._usage: UsageEvent | None = None
        self._done = False
        self.provider_metadata: JsonObject = {}

    def feed(self, item: Any) -> list[ChatEvent]:
        if self._done:
            return []
        if isinstance(item, CorruptStream):
            return self._fail(ErrorCode.NETWORK, item.error)
        if not isinstance(item, EventMessage):
            return []
        kind = item.message_type
        if kind == "event":
            payload = _payload(item)
            event_type = item.headers.get(":event-type")
            return self.feed_event(event_type, payload) if payload is not None else []
        if kind == "exception":
            payload = _payload(item) or {}
            exception_type = _text(item.headers.get(":exception-type"))
            return self._exception(exception_type, payload)
        if kind == "error":
            code = _text(item.headers.get(":error-code"))
            message = _text(item.headers.get(":error-message")) or code or "stream error"
            return self._fail(error_code(code, message, None), message)
        return []

    def feed_event(self, event_type: Any, payload: JsonObject) -> list[ChatEvent]:
        """One decoded event by its `:event-type` (also what decode_converse replays)."""
        if self._done:
            return []
        handler = self._handlers.get(event_type) if isinstance(event_type, str) else None
        return handler(self, payload) if handler else []

    def close(self) -> list[ChatEvent]:
        if self._done:
            return []
        if self._stop is not None:
            return self._finish()
        return self._fail(ErrorCode.NETWORK, "the stream ended early")

    def _message_start(self, payload: JsonObject) -> list[ChatEvent]:
        if self._started:
            return []
        self._started = True
        return [StartedEvent(id="", model=self._model)]

    def _block_start(self, payload: JsonObject) -> list[ChatEvent]:
        index = _index(payload)
        tool = _mapping(_mapping(payload.get("start")).get("toolUse"))
        # server_tool_use (Nova's code interpreter) is the provider's own work, not the client's.
        if not tool or tool.get("type") == "server_tool_use":
            return []
        return self._tools.start(index, _text(tool.get("toolUseId")), _text(tool.get("name")))

    def _block_delta(self, payload: JsonObject) -> list[ChatEvent]:
        delta = _mapping(payload.get("delta"))
        events: list[ChatEvent] = []
        text = _text(delta.get("text"))
        if text:
            events.append(TextEvent(text=text))
        reasoning = _mapping(delta.get("reasoningContent"))
        if _text(reasoning.get("text")):
            events.append(ThinkingEvent(text=reasoning["text"]))
        if _text(reasoning.get("signature")):
            events.append(ThinkingEvent(text="", signature=reasoning["signature"]))
        if _text(reasoning.get("redactedContent")):
            events.append(RedactedThinkingEvent(data=reasoning["redactedContent"]))
        tool_input = _mapping(delta.get("toolUse")).get("input")
        if isinstance(tool_input, str):
            events += self._tools.delta(_index(payload), tool_input)
        elif isinstance(tool_input, dict):
            events += self._tools.delta(_index(payload), json.dumps(tool_input))
        return events

    def _block_stop(self, payload: JsonObject) -> list[ChatEvent]:
        return self._tools.finish(_index(payload))

    def _message_stop(self, payload: JsonObject) -> list[ChatEvent]:
        reason = _text(payload.get("stopReason"))
        if reason:
            self.provider_metadata["stopReason"] = reason
        extra = payload.get("additionalModelResponseFields")
        if extra:
            self.provider_metadata["additionalModelResponseFields"] = extra
        if reason in FAILED_STOPS:
            self._failed_stop = f"{FAILED_STOPS[reason]} (stopReason {reason})"
            self._stop = "error"
        else:
            self._stop = STOP_REASONS.get(reason, "other")
        return self._tools.finish_all()

    def _metadata(self, payload: JsonObject) -> list[ChatEvent]:
        for field in METADATA_FIELDS:
            if payload.get(field):
                self.provider_metadata[field] = payload[field]
        usage = normalized_usage(_mapping(payload.get("usage")))
        events: list[ChatEvent] = []
        if usage is not None and usage != self._usage:
            self._usage = usage
            events.append(usage)
        if self._stop is not None:
            events += self._finish()
        return events

    def _exception(self, exception_type: str, payload: JsonObject) -> list[ChatEvent]:
        message = _text(payload.get("message")) or _text(payload.get("Message"))
        original = _text(payload.get("originalMessage"))
        if original and original not in message:
            message = f"{message}: {original}" if message else original
        message = message or exception_type or "the provider reported an error mid-stream"
        if exception_type:
            message = f"{message} ({exception_type})"
        return self._fail(error_code(exception_type, message, None), message)

    def _finish(self) -> list[ChatEvent]:
        events = self._tools.finish_all()
        self._done = True
        if self._stop == "error":
            message = self._failed_stop or "the model failed"
            return [
                *events,
                ErrorEvent(code=ErrorCode.PROVIDER_UNAVAILABLE, message=message),
                StopEvent(reason="error"),
            ]
        return [*events, StopEvent(reason=self._stop or "endTurn")]

    def _fail(self, code: ErrorCode, message: str) -> list[ChatEvent]:
        events = self._tools.finish_all()
        self._done = True
        return [*events, ErrorEvent(code=code, message=message), StopEvent(reason="error")]

    _handlers: ClassVar[dict[str, Any]] = {
        "messageStart": _message_start,
        "contentBlockStart": _block_start,
        "contentBlockDelta": _block_delta,
        "contentBlockStop": _block_stop,
        "messageStop": _message_stop,
        "metadata": _metadata,
    }


def normalized_usage(usage: Mapping[str, Any]) -> UsageEvent | None:
    if not _is_int(usage.get("inputTokens")) and not _is_int(usage.get("outputTokens")):
        return None
    reported_input = _int(usage.get("inputTokens"))
    output = _int(usage.get("outputTokens"))
    read = _first_int(usage, "cacheReadInputTokens", "cacheReadInputTokenCount")
    written = _first_int(usage, "cacheWriteInputTokens", "cacheWriteInputTokenCount")
    cached = (read or 0) + (written or 0)
    total = usage.get("totalTokens")
    already_counted = (
        cached > 0 and _is_int(total) and total == reported_input + output and total != 0
    )
    return UsageEvent(
        input_tokens=reported_input if already_counted else reported_input + cached,
        output_tokens=output,
        cache_read_input_tokens=read,
        cache_creation_input_tokens=written,
        cache_creation_one_hour_input_tokens=_one_hour_writes(usage.get("cacheDetails")),
    )


def _one_hour_writes(details: Any) -> int | None:
    """cacheDetails splits the writes by TTL: `[{"ttl": "1h", "inputTokens": n}, ...]`."""
    found = [
        _int(detail.get("inputTokens"))
        for detail in (details if isinstance(details, list) else [])
        if isinstance(detail, dict) and detail.get("ttl") == "1h"
    ]
    return sum(found) or None


def decode_converse(body: JsonObject, model: str) -> list[ChatEvent]:
    """Replays a Converse response through the stream decoder, block by block."""
    decoder = BedrockStreamDecoder(model)
    message = _mapping(_mapping(body.get("output")).get("message"))
    events = decoder.feed_event("messageStart", {"role": message.get("role", "assistant")})
    content = message.get("content")
    for index, block in enumerate(content if isinstance(content, list) else []):
        for event_type, payload in _block_events(index, _mapping(block)):
            events += decoder.feed_event(event_type, payload)
    events += decoder.feed_event("messageStop", {"stopReason": body.get("stopReason")})
    events += decoder.feed_event("metadata", {"usage": _mapping(body.get("usage"))})
    return events + decoder.close()


def _block_events(index: int, block: JsonObject) -> list[tuple[str, JsonObject]]:
    at = {"contentBlockIndex": index}
    deltas: list[JsonObject] = []
    start: JsonObject | None = None
    if _text(block.get("text")):
        deltas.append({"text": block["text"]})
    reasoning = _mapping(block.get("reasoningContent"))
    reasoning_text = _mapping(reasoning.get("reasoningText"))
    if reasoning_text:
        deltas.append({"reasoningContent": {"text": _text(reasoning_text.get("text"))}})
        if _text(reasoning_text.get("signature")):
            deltas.append({"reasoningContent": {"signature": reasoning_text["signature"]}})
    if _text(reasoning.get("redactedContent")):
        deltas.append({"reasoningContent": {"redactedContent": reasoning["redactedContent"]}})
    tool = _mapping(block.get("toolUse"))
    if tool:
        start = {"toolUse": {k: tool.get(k) for k in ("toolUseId", "name", "type")}}
        deltas.append({"toolUse": {"input": json.dumps(tool.get("input") or {})}})
    events: list[tuple[str, JsonObject]] = []
    if start is not None:
        events.append(("contentBlockStart", {**at, "start": start}))
    events += [("contentBlockDelta", {**at, "delta": delta}) for delta in deltas]
    return [*events, ("contentBlockStop", at)]


def _payload(item: EventMessage) -> JsonObject | None:
    try:
        value = json_codec.loads(item.payload) if item.payload else {}
    except (ValueError, RecursionError):
        log.debug("bedrock: skipped an event whose payload is not JSON: %.200r", item.payload)
        return None
    return value if isinstance(value, dict) else None


def _int(value: Any) -> int:
    return value if _is_int(value) and value >= 0 else 0


def _first_int(usage: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        if _is_int(usage.get(name)):
            return _int(usage[name])
    return None


def _index(payload: JsonObject) -> int | None:
    index = payload.get("contentBlockIndex")
    return index if _is_int(index) else None
