"""Google Gemini API (AI Studio): streamGenerateContent, its SSE stream, its error bodies.

The request and decoder here are shared with Vertex AI's Gemini models
(adapters/vertex.py), which differ only in URL and authentication.

Thought signatures: Gemini signs the part that follows its thinking. A
signature on a function call travels in ToolUsePart.provider_data; one on
a text part arrives as a ThinkingEvent(text="", signature) just before that
text, so the accumulated ThinkingPart precedes the signed part, and on the
next turn the signature goes back on the first text or function-call part
after it. Thought summaries themselves are not sent back.

A prompt Gemini blocks (promptFeedback.blockReason, no candidates) ends as
a contentFilter stop with no content, like a candidate stopped for SAFETY;
the normalized stream has no place for the reason, so it is logged.
"""

from __future__ import annotations

import itertools
import json
import logging
import mimetypes
import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    ImagePart,
    Message,
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
    join_url,
    path_segment,
)
from ..errors import ProviderError, classify, http_error, json_body
from ..wire import json_codec
from ..wire.http import HttpRequest
from ..wire.json_values import is_int as _is_int
from ..wire.json_values import mapping as _mapping
from ..wire.json_values import text as _text
from ..wire.sse import SSEEvent
from ..wire.tool_calls import ToolCallAssembler
from .gemini_schema import gemini_parameters

log = logging.getLogger(__name__)

MAX_ERROR_TEXT = 500
# Google's documented stand-in for a function call Gemini 3 did not sign (one from another model).
UNSIGNED_CALL_SIGNATURE = "skip_thought_signature_validator"

FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MODEL_ARMOR",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "LANGUAGE",
    }
)
FAILED = frozenset(
    {
        "MALFORMED_FUNCTION_CALL",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
        "MISSING_THOUGHT_SIGNATURE",
        "MALFORMED_RESPONSE",
    }
)
STATUS_CODES: dict[str, ErrorCode] = {
    "RESOURCE_EXHAUSTED": ErrorCode.RATE_LIMITED,
    "NOT_FOUND": ErrorCode.UNKNOWN_MODEL,
    "UNAUTHENTICATED": ErrorCode.AUTHENTICATION_FAILED,
    "PERMISSION_DENIED": ErrorCode.PERMISSION_DENIED,
    "UNAVAILABLE": ErrorCode.PROVIDER_UNAVAILABLE,
    "INTERNAL": ErrorCode.PROVIDER_UNAVAILABLE,
    "UNKNOWN": ErrorCode.PROVIDER_UNAVAILABLE,
    "DEADLINE_EXCEEDED": ErrorCode.TIMEOUT,
    "FAILED_PRECONDITION": ErrorCode.INVALID_REQUEST,
    "OUT_OF_RANGE": ErrorCode.INVALID_REQUEST,
}
TOOL_MODES = {"auto": "AUTO", "any": "ANY", "none": "NONE"}
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]")
_MAJOR_VERSION = re.compile(r"gemini-(\d+)")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


class GeminiAdapter(AdapterDefaults):
    kind: ClassVar[str] = "gemini"
    display_name: ClassVar[str] = "Google Gemini"
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com/v1beta"
    api_key_envs: ClassVar[tuple[str, ...]] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    framing: ClassVar[Framing] = "sse"

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        return HttpRequest(
            "POST",
            self._model_url(settings, target.model, "streamGenerateContent"),
            headers=_headers(settings, credential),
            json=request_body(params, target),
            params={"alt": "sse"},
        )

    def decoder(self, target: ModelTarget) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(target.model)

    def decode_body(self, body: Any, target: ModelTarget) -> list[ChatEvent]:
        return decode_response(body, target.model)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        return google_error(self.kind, status, headers, body)

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None:
        return HttpRequest(
            "GET",
            join_url(self._base(settings), "models"),
            headers=_headers(settings, credential),
            params={"pageSize": "1000"},
        )

    def parse_models(self, body: Any) -> list[ListedModel]:
        models = body.get("models") if isinstance(body, dict) else None
        listed: list[ListedModel] = []
        for raw in models if isinstance(models, list) else []:
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                continue
            methods = raw.get("supportedGenerationMethods")
            if isinstance(methods, list) and "generateContent" not in methods:
                continue  # embeddings, image and speech models: not chat models
            listed.append(
                ListedModel(
                    name=raw["name"].removeprefix("models/"),
                    display_name=_text(raw.get("displayName")) or None,
                    context_window=_int(raw.get("inputTokenLimit")),
                    max_output_tokens=_int(raw.get("outputTokenLimit")),
                    thinking=raw["thinking"] if isinstance(raw.get("thinking"), bool) else None,
                    notes={"methods": methods} if isinstance(methods, list) else {},
                )
            )
        return listed

    def count_tokens_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        # countTokens takes only `contents` at the top: the rest rides in a generateContentRequest.
        inner = count_tokens_body(params, target)
        inner["model"] = f"models/{_bare_model(target.model)}"
        return HttpRequest(
            "POST",
            self._model_url(settings, target.model, "countTokens"),
            headers=_headers(settings, credential),
            json={"generateContentRequest": inner},
        )

    def parse_count_tokens(self, body: Any) -> int:
        return parse_total_tokens(self.kind, body)

    def _base(self, settings: ProviderSettings) -> str:
        return (settings.base_url or self.default_base_url).rstrip("/")

    def _model_url(self, settings: ProviderSettings, model: str, method: str) -> str:
        return join_url(self._base(settings), f"models/{path_segment(_bare_model(model))}:{method}")


def _headers(settings: ProviderSettings, credential: Credential | None) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if credential is not None:
        headers["x-goog-api-key"] = credential.secret
    headers.update(settings.headers)
    return headers


def _bare_model(model: str) -> str:
    return model.removeprefix("models/")


def parse_total_tokens(kind: str, body: Any) -> int:
    if isinstance(body, bytes | str):
        body = json_body(body.encode() if isinstance(body, str) else body)
    count = _int(body.get("totalTokens")) if isinstance(body, dict) else None
    if count is not None:
        return count
    raise ProviderError(
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"{kind}: countTokens answered without totalTokens",
        provider=kind,
    )


# ---- request body ------------------------------------------------------------


def request_body(params: ChatParams, target: ModelTarget) -> dict[str, Any]:
    body = count_tokens_body(params, target)
    if params.tool_choice is not None and params.tools:
        body["toolConfig"] = {"functionCallingConfig": _tool_choice(params.tool_choice)}
    config = _generation_config(params, target)
    if config:
        body["generationConfig"] = config
    body.update(params.provider_options or {})
    return body


def count_tokens_body(params: ChatParams, target: ModelTarget) -> dict[str, Any]:
    """What the model reads: contents, system instruction, tools."""
    body: dict[str, Any] = {"contents": _contents(params.messages, target.model)}
    system = _system(params)
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if params.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(t) for t in params.tools]}]
    return body


def _generation_config(params: ChatParams, target: ModelTarget) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if params.max_tokens:
        config["maxOutputTokens"] = params.max_tokens
    if params.temperature is not None:
        config["temperature"] = params.temperature
    if params.stop_sequences:
        config["stopSequences"] = list(params.stop_sequences)
    if params.thinking is not None:
        budget = params.thinking.budget_tokens
        config["thinkingConfig"] = (
            {"thinkingBudget": budget, "includeThoughts": True} if budget else {"thinkingBudget": 0}
        )
    elif target.info.capabilities.thinking:
        config["thinkingConfig"] = {"includeThoughts": True}
    return config


def _declaration(spec: ToolSpec) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": spec.name}
    if spec.description:
        declaration["description"] = spec.description
    parameters = gemini_parameters(spec.input_schema)
    if parameters is not None:
        declaration["parameters"] = parameters
    return declaration


def _tool_choice(choice: ToolChoice) -> dict[str, Any]:
    if isinstance(choice, str):
        return {"mode": TOOL_MODES[choice]}
    return {"mode": "ANY", "allowedFunctionNames": [choice.name]}


def _system(params: ChatParams) -> str:
    pieces = [params.system] if params.system else []
    for message in params.messages:
        if message.role == "system":
            pieces.extend(p.text for p in message.parts() if isinstance(p, TextPart) and p.text)
    return "\n\n".join(pieces)


def _contents(messages: list[Message], model: str) -> list[dict[str, Any]]:
    names = {
        part.id: part.name
        for message in messages
        for part in message.parts()
        if isinstance(part, ToolUsePart)
    }
    calls = {
        part.id: part
        for message in messages
        for part in message.parts()
        if isinstance(part, ToolUsePart)
    }
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "assistant":
            role, parts = "model", _model_parts(message.parts(), model)
        else:
            role, parts = "user", _user_parts(message.parts(), names, calls)
        if not parts:
            continue
        if wire and wire[-1]["role"] == role:
            wire[-1]["parts"].extend(parts)
        else:
            wire.append({"role": role, "parts": parts})
    return wire


def _model_parts(parts: list[Any], model: str) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    pending: str | None = None
    signed_call = False
    for part in parts:
        if isinstance(part, ThinkingPart):
            if part.signature:
                _sign_last(wire, pending)
                pending = part.signature
            continue
        if isinstance(part, TextPart):
            if not part.text:
                continue
            item: dict[str, Any] = {"text": part.text}
        elif isinstance(part, ToolUsePart):
            item = {"functionCall": _function_call(part)}
            own = (part.provider_data or {}).get("thoughtSignature")
            if isinstance(own, str) and own:
                item["thoughtSignature"] = own
        elif isinstance(part, ImagePart):
            item = _image(part)
        else:
            continue
        if pending and "thoughtSignature" not in item:
            item["thoughtSignature"] = pending
            pending = None
        if "functionCall" in item and not signed_call:
            signed_call = True
            if "thoughtSignature" not in item and _needs_call_signature(model):
                item["thoughtSignature"] = UNSIGNED_CALL_SIGNATURE
        wire.append(item)
    _sign_last(wire, pending)
    return wire


def _sign_last(wire: list[dict[str, Any]], signature: str | None) -> None:
    if signature and wire and "thoughtSignature" not in wire[-1]:
        wire[-1]["thoughtSignature"] = signature


def _needs_call_signature(model: str) -> bool:
    match = _MAJOR_VERSION.search(model)
    return match is not None and int(match.group(1)) >= 3


def _function_call(part: ToolUsePart) -> dict[str, Any]:
    call: dict[str, Any] = {"name": part.name, "args": part.input_or_empty()}
    provider_id = (part.provider_data or {}).get("id")
    if isinstance(provider_id, str) and provider_id:
        call["id"] = provider_id
    return call


def _user_parts(
    parts: list[Any], names: Mapping[str, str], calls: Mapping[str, ToolUsePart]
) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if part.text:
                wire.append({"text": part.text})
        elif isinstance(part, ImagePart):
            wire.append(_image(part))
        elif isinstance(part, ToolResultPart):
            wire.extend(_function_response(part, names, calls))
    # Gemini pairs function responses with the calls of the turn before: they come first.
    wire.sort(key=lambda item: "functionResponse" not in item)
    return wire


def _function_response(
    part: ToolResultPart, names: Mapping[str, str], calls: Mapping[str, ToolUsePart]
) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = []
    if isinstance(part.content, str):
        text = part.content
    else:
        text = "\n".join(p.text for p in part.content if isinstance(p, TextPart))
        images = [_image(p) for p in part.content if isinstance(p, ImagePart)]
    response: dict[str, Any] = {
        "name": names.get(part.tool_use_id) or part.tool_name or part.tool_use_id,
        "response": {"error" if part.is_error else "result": text},
    }
    call = calls.get(part.tool_use_id)
    provider_id = (call.provider_data or {}).get("id") if call else None
    if isinstance(provider_id, str) and provider_id:
        response["id"] = provider_id
    return [{"functionResponse": response}, *images]


def _image(part: ImagePart) -> dict[str, Any]:
    inline = inline_image(part.media_type, part.data, part.url)
    if inline is not None:
        media_type, data = inline
        return {"inlineData": {"mimeType": media_type, "data": data}}
    url = part.url or ""
    file_data = {"fileUri": url}
    guessed = part.media_type or mimetypes.guess_type(url.partition("?")[0])[0]
    if guessed:
        file_data["mimeType"] = guessed
    return {"fileData": file_data}


# ---- stream decoding ---------------------------------------------------------


def decode_response(body: Any, model: str) -> list[ChatEvent]:
    """A non-streamed GenerateContentResponse (or the stream's JSON array) as events."""
    decoder = GeminiStreamDecoder(model)
    chunks = body if isinstance(body, list) else [body]
    events: list[ChatEvent] = []
    for chunk in chunks:
        if isinstance(chunk, dict):
            events += decoder.feed_data(chunk)
    return events + decoder.close()


class GeminiStreamDecoder:
    """One answer's GenerateContentResponse chunks as normalized events."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        # Call ids Gemini does not give are made from the response id: the same bytes, the same ids.
        self._id_prefix = f"call_{uuid.uuid4().hex[:16]}"
        self._tools = ToolCallAssembler()
        self._calls = 0
        self._streamed: _StreamedCall | None = None
        self._usage: dict[str, int] = {}
        self._finish: str | None = None
        self._finish_message = ""
        self._blocked = False
        self.provider_metadata: dict[str, Any] = {}
        self._done = False

    def feed(self, event: SSEEvent) -> list[ChatEvent]:
        try:
            data = json_codec.loads(event.data)
        except (ValueError, RecursionError):
            log.debug("gemini: skipped a data line that is not JSON: %.200s", event.data)
            return []
        if isinstance(data, list):  # an error can arrive wrapped in a JSON array
            data = data[0] if data and isinstance(data[0], dict) else {}
        return self.feed_data(data) if isinstance(data, dict) else []

    def feed_data(self, data: dict[str, Any]) -> list[ChatEvent]:
        if self._done:
            return []
        if isinstance(data.get("error"), dict):
            return self._stream_error(data["error"])
        events = self._start(data)
        usage = data.get("usageMetadata")
        if isinstance(usage, dict):
            self._update_usage(usage)
        feedback = _mapping(data.get("promptFeedback"))
        if isinstance(feedback.get("blockReason"), str):
            self._blocked = True
            log.info(
                "gemini: the prompt was blocked (%s): %s",
                feedback["blockReason"],
                _text(feedback.get("blockReasonMessage")),
            )
        candidates = data.get("candidates")
        candidate = candidates[0] if isinstance(candidates, list) and candidates else None
        if not isinstance(candidate, dict):
            return events
        parts = _mapping(candidate.get("content")).get("parts")
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict):
                events += self._part(part)
        reason = candidate.get("finishReason")
        if isinstance(reason, str) and reason:
            self._finish = reason
            self._finish_message = _text(candidate.get("finishMessage"))
            self.provider_metadata["finishReason"] = reason
            if self._finish_message:
                self.provider_metadata["finishMessage"] = self._finish_message
        return events

    def close(self) -> list[ChatEvent]:
        if self._done:
            return []
        events = self._finish_tools() + self._usage_event()
        self._done = True
        if self._blocked and self._finish is None:
            return [*events, StopEvent(reason="contentFilter")]
        if self._finish is None:
            error = ErrorEvent(code=ErrorCode.NETWORK, message="the stream ended early")
            return [*events, error, StopEvent(reason="error")]
        if self._finish in FAILED:
            message = self._finish_message or f"the model's answer failed ({self._finish})"
            error = ErrorEvent(code=ErrorCode.PROVIDER_UNAVAILABLE, message=message)
            return [*events, error, StopEvent(reason="error")]
        return [*events, StopEvent(reason=self._stop_reason(self._finish))]

    def _stop_reason(self, finish: str) -> StopReason:
        if finish == "MAX_TOKENS":
            return "maxTokens"
        if finish in FILTERED:
            return "contentFilter"
        if self._calls:
            return "toolUse"
        return "endTurn" if finish == "STOP" else "other"

    def _start(self, data: dict[str, Any]) -> list[ChatEvent]:
        if self._started:
            return []
        self._started = True
        response_id = _text(data.get("responseId"))
        safe = _UNSAFE_ID.sub("", response_id)
        if safe:
            self._id_prefix = f"call_{safe}"
        model = _text(data.get("modelVersion")) or self._model
        if _text(data.get("modelVersion")):
            self.provider_metadata["modelVersion"] = data["modelVersion"]
        return [StartedEvent(id=response_id, model=model)]

    def _part(self, part: dict[str, Any]) -> list[ChatEvent]:
        signature = _text(part.get("thoughtSignature"))
        call = part.get("functionCall")
        if isinstance(call, dict):
            return self._function_call(call, signature)
        text = _text(part.get("text"))
        if part.get("thought") is True:
            events: list[ChatEvent] = [ThinkingEvent(text=text)] if text else []
            if signature:
                events.append(ThinkingEvent(text="", signature=signature))
            return events
        events = [ThinkingEvent(text="", signature=signature)] if signature else []
        if text:
            events.append(TextEvent(text=text))
        return events

    def _function_call(self, call: dict[str, Any], signature: str) -> list[ChatEvent]:
        name = _text(call.get("name"))
        partial = call.get("partialArgs")
        streamed = self._streamed
        if streamed is not None and not name:
            if isinstance(partial, list):
                streamed.add(partial)
            if call.get("willContinue") is True or partial:
                return []
            return self._finish_streamed()
        events = self._finish_streamed()
        if not name:
            return events
        provider_data: dict[str, Any] = {}
        if signature:
            provider_data["thoughtSignature"] = signature
        provider_id = _text(call.get("id"))
        if provider_id:
            provider_data["id"] = provider_id
        call_id = provider_id or f"{self._id_prefix}_{self._calls}"
        key = self._calls
        self._calls += 1
        events += self._tools.start(key, call_id, name, provider_data or None)
        if call.get("willContinue") is True:
            self._streamed = _StreamedCall(key, _mapping(call.get("args")))
            if isinstance(partial, list):
                self._streamed.add(partial)
            return events
        args = call.get("args")
        raw = json.dumps(args, ensure_ascii=False) if isinstance(args, dict) else "{}"
        return events + self._tools.delta(key, raw) + self._tools.finish(key)

    def _finish_streamed(self) -> list[ChatEvent]:
        streamed, self._streamed = self._streamed, None
        if streamed is None:
            return []
        raw = json.dumps(streamed.args, ensure_ascii=False)
        return self._tools.delta(streamed.key, raw) + self._tools.finish(streamed.key)

    def _finish_tools(self) -> list[ChatEvent]:
        return self._finish_streamed() + self._tools.finish_all()

    def _stream_error(self, error: dict[str, Any]) -> list[ChatEvent]:
        message = _text(error.get("message")) or "the provider reported an error mid-stream"
        status = _text(error.get("status"))
        code = STATUS_CODES.get(status) or classify(None, message, status or None)
        events = self._finish_tools() + self._usage_event()
        self._done = True
        return [*events, ErrorEvent(code=code, message=message), StopEvent(reason="error")]

    def _update_usage(self, usage: Mapping[str, Any]) -> None:
        for name, value in usage.items():
            if _is_int(value):
                self._usage[name] = value

    def _usage_event(self) -> list[ChatEvent]:
        counted = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount")
        if not any(name in self._usage for name in counted):
            return []
        thoughts = self._usage.get("thoughtsTokenCount")
        return [
            UsageEvent(
                input_tokens=self._usage.get("promptTokenCount", 0)
                + self._usage.get("toolUsePromptTokenCount", 0),
                output_tokens=self._usage.get("candidatesTokenCount", 0) + (thoughts or 0),
                cache_read_input_tokens=self._usage.get("cachedContentTokenCount"),
                reasoning_tokens=thoughts,
            )
        ]


class _StreamedCall:
    """A function call whose arguments arrive as partialArgs (JSON path, value) fragments."""

    def __init__(self, key: int, args: dict[str, Any]) -> None:
        self.key = key
        self.args: dict[str, Any] = dict(args)

    def add(self, fragments: list[Any]) -> None:
        for fragment in fragments:
            if isinstance(fragment, dict) and isinstance(fragment.get("jsonPath"), str):
                found, value = _fragment_value(fragment)
                if found:
                    _set_path(self.args, fragment["jsonPath"], value)


def _fragment_value(fragment: dict[str, Any]) -> tuple[bool, Any]:
    for key in ("stringValue", "numberValue", "boolValue", "structValue", "listValue"):
        if key in fragment:
            return True, fragment[key]
    if "nullValue" in fragment:
        return True, None
    return False, None


def _set_path(root: dict[str, Any], path: str, value: Any) -> None:
    """Put `value` at a `$.a.b[0]` path; a string continues the string already there."""
    tokens: list[str | int] = [
        name if name else (int(index) if index else quoted)
        for name, index, quoted in _PATH_TOKEN.findall(path.removeprefix("$"))
    ]
    if not tokens:
        return
    container: Any = root
    for token, following in itertools.pairwise(tokens):
        fresh: Any = [] if isinstance(following, int) else {}
        container = _child(container, token, fresh)
        if container is None:
            return
    last = tokens[-1]
    if isinstance(container, dict) and isinstance(last, str):
        existing = container.get(last)
        joined = isinstance(existing, str) and isinstance(value, str)
        container[last] = existing + value if joined else value
    elif isinstance(container, list) and isinstance(last, int) and last < 100_000:
        container.extend([None] * (last + 1 - len(container)))
        existing = container[last]
        joined = isinstance(existing, str) and isinstance(value, str)
        container[last] = existing + value if joined else value


def _child(container: Any, token: str | int, fresh: Any) -> Any:
    if isinstance(container, dict) and isinstance(token, str):
        if not isinstance(container.get(token), dict | list):
            container[token] = fresh
        return container[token]
    if isinstance(container, list) and isinstance(token, int) and token < 100_000:
        container.extend([None] * (token + 1 - len(container)))
        if not isinstance(container[token], dict | list):
            container[token] = fresh
        return container[token]
    return None


# ---- errors -------------------------------------------------------------------


def google_error(kind: str, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """A ProviderError from Google's `{"error": {code, message, status, details}}` body."""
    parsed = json_body(body)
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = _mapping(parsed.get("error")) if isinstance(parsed, dict) else {}
    message = _text(error.get("message"))
    if not message:
        message = body.decode("utf-8", errors="replace").strip()[:MAX_ERROR_TEXT]
    google_status = _text(error.get("status")) or _text(error.get("type"))
    raw_details = error.get("details")
    details: list[Any] = raw_details if isinstance(raw_details, list) else []
    code = _error_code(status, message, google_status, details)
    base = http_error(kind, status, headers, message, google_status or None)
    wait = base.retry_after_ms
    if wait is None and code == ErrorCode.RATE_LIMITED:
        wait = _retry_delay_ms(details)
    if base.code == code and wait == base.retry_after_ms:
        return base
    return ProviderError(
        code,
        base.message,
        provider=kind,
        status=status,
        retry_after_ms=wait,
        suggestion=base.suggestion if base.code == code else None,
    )


def _error_code(status: int, message: str, google_status: str, details: list[Any]) -> ErrorCode:
    reasons = {_text(_mapping(d).get("reason")) for d in details}
    if "API_KEY_INVALID" in reasons or "API key not valid" in message:
        return ErrorCode.AUTHENTICATION_FAILED
    if status == 401:
        return ErrorCode.AUTHENTICATION_FAILED
    mapped = STATUS_CODES.get(google_status)
    if mapped is not None:
        return mapped
    return classify(status, message, google_status or None)


def _retry_delay_ms(details: list[Any]) -> int | None:
    for detail in details:
        delay = _mapping(detail).get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(0, int(float(delay[:-1]) * 1000))
            except ValueError:
                return None
    return None


# ---- helpers --------------------------------------------------------------------


def _int(value: Any) -> int | None:
    return value if _is_int(value) else None


__all__ = [
    "GeminiAdapter",
    "GeminiStreamDecoder",
    "count_tokens_body",
    "decode_response",
    "google_error",
    "parse_total_tokens",
    "request_body",
]
