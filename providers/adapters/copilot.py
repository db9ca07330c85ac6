"""GitHub Copilot chat: OpenAI Chat Completions at Copilot's API, behind a token exchange.

The credential is a GitHub OAuth token (GITHUB_COPILOT_TOKEN); it only ever
goes to GitHub's token exchange (providers/auth/copilot_token.py), never to the
chat API, which takes the short-lived Copilot token instead.

Copilot's backend serves only known integrations, recognized by the
editor headers below (the ones Copilot Chat for VS Code sends, which other
editors' Copilot clients send too). Models that Copilot serves from other
vendors (Claude, Gemini) bend the wire format: text and tool calls may come
in different choices, tool-call indexes may repeat, and thinking arrives as
`reasoning_text` with an encrypted `reasoning_opaque` that must travel back.
Copilot bills by premium requests, not tokens: there is no price.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    Message,
    StartedEvent,
    ThinkingEvent,
    ThinkingPart,
    ToolResultPart,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode

from ..auth.copilot_apps import find_app_token
from ..auth.copilot_token import (
    COPILOT_API,
    COPILOT_PROXY,
    TOKEN_ENV,
    CopilotAuthenticator,
    github_api_url,
    token_url,
)
from ..auth.device_flow import GITHUB_HOST, github_login_url
from ..auth.redact import register_secret
from ..base import (
    CompletionRequest,
    Credential,
    ListedModel,
    ModelTarget,
    ProviderSettings,
    bad_option,
    join_url,
    option,
    path_segment,
    url_option,
)
from ..errors import ProviderError, json_body
from ..wire.http import HttpRequest
from ..wire.json_values import positive_int as _positive

if TYPE_CHECKING:
    from ..auth.signin_flows import FlowHttp, GitHubDeviceSignIn
from .fim_text import TextCompletionDecoder, text_completion_body
from .openai_chat import JsonObject, OpenAIChatAdapter, OpenAIChatDecoder

EDITOR_HEADERS: Mapping[str, str] = {
    "Editor-Version": "vscode/1.107.0",
    "Editor-Plugin-Version": "copilot-chat/0.35.0",
    "Copilot-Integration-Id": "vscode-chat",
    "User-Agent": "GitHubCopilotChat/0.35.0",
}
MODELS_API_VERSION = "2025-05-01"
_TEXT_FIELDS = ("content", "refusal")
# When choices disagree, the more telling finish reason wins.
_FINISH_RANK = {"tool_calls": 4, "function_call": 4, "content_filter": 3, "length": 2, "stop": 1}


class CopilotDecoder(OpenAIChatDecoder):
    """Every choice of a chunk counts, merged into one; tool calls are told apart by id.

    Copilot Chat for VS Code reads the stream the same way: a tool-call
    fragment with a new id starts a new call, one without an id continues
    the current call, whatever `index` says.
    """

    def __init__(self, fallback_model: str, reasoning_fields: tuple[str, ...]) -> None:
        super().__init__(fallback_model, reasoning_fields)
        self._merge_fields = (*_TEXT_FIELDS, *reasoning_fields)
        self._call_number = -1
        self._call_id: str | None = None
        self._saw_call = False

    def feed_chunk(self, chunk: JsonObject) -> list[ChatEvent]:
        choices = chunk.get("choices")
        choices = [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
        if not (choices or chunk.get("id") or chunk.get("usage") or chunk.get("error")):
            return []  # the prompt_filter_results preamble, or copilot_references: no answer yet
        signature = None
        if choices:
            merged, signature = self._merged(choices)
            chunk = {**chunk, "choices": [merged]}
        events = super().feed_chunk(chunk)
        if signature:
            events = _with_signature(events, signature)
        return events

    def usage_event(self, usage: JsonObject) -> UsageEvent:
        event = super().usage_event(usage)
        details = usage.get("completion_tokens_details")
        reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
        if isinstance(reasoning, int) and not isinstance(reasoning, bool) and reasoning > 0:
            event.reasoning_tokens = reasoning
        return event

    def _merged(self, choices: list[JsonObject]) -> tuple[JsonObject, str | None]:
        whole = any("message" in c and "delta" not in c for c in choices)
        delta: JsonObject = {}
        calls: list[JsonObject] = []
        finishes: list[str] = []
        signature = None
        for choice in choices:
            part = choice.get("message" if whole else "delta")
            if isinstance(part, dict):
                for name in self._merge_fields:
                    value = part.get(name)
                    if isinstance(value, str) and value:
                        delta[name] = delta.get(name, "") + value
                calls += self._numbered(part.get("tool_calls"))
                opaque = part.get("reasoning_opaque")
                if isinstance(opaque, str) and opaque:
                    signature = opaque
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                finishes.append(finish)
        if calls:
            delta["tool_calls"] = calls
        merged: JsonObject = {"index": 0, "message" if whole else "delta": delta}
        if finishes:
            merged["finish_reason"] = self._finish_reason(finishes)
        return merged, signature

    def _numbered(self, calls: Any) -> list[JsonObject]:
        numbered: list[JsonObject] = []
        for call in calls if isinstance(calls, list) else []:
            if not isinstance(call, dict):
                continue
            call_id = call.get("id")
            if isinstance(call_id, str) and call_id and call_id != self._call_id:
                self._call_number += 1
                self._call_id = call_id
            elif self._call_number < 0:
                self._call_number = 0
            self._saw_call = True
            numbered.append({**call, "index": self._call_number})
        return numbered

    def _finish_reason(self, finishes: list[str]) -> str:
        best = max(finishes, key=lambda f: _FINISH_RANK.get(f, 0))
        return "tool_calls" if self._saw_call and best == "stop" else best


def _with_signature(events: list[ChatEvent], signature: str) -> list[ChatEvent]:
    """The signature right after this chunk's thinking (or before its other events)."""
    after = 0
    for position, event in enumerate(events):
        if isinstance(event, ThinkingEvent | StartedEvent):
            after = position + 1
    return [*events[:after], ThinkingEvent(text="", signature=signature), *events[after:]]


class CopilotAdapter(OpenAIChatAdapter):
    kind: ClassVar[str] = "copilot"
    display_name: ClassVar[str] = "GitHub Copilot"
    default_base_url: ClassVar[str] = COPILOT_API
    api_key_envs: ClassVar[tuple[str, ...]] = (TOKEN_ENV,)
    max_tokens_field: ClassVar[str] = "max_tokens"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_text", "cot_summary")
    decoder_class: ClassVar[type[OpenAIChatDecoder]] = CopilotDecoder
    message_names: ClassVar[bool] = False  # its Claude and Gemini models have no name field

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        request = super().build_request(params, target, settings, credential)
        request.headers = {**self.request_headers(params), **request.headers}
        return request

    def auth_headers(self, credential: Credential | None) -> dict[str, str]:
        return {}  # the authenticator adds the Copilot token; the GitHub token stays home

    def request_headers(self, params: ChatParams) -> dict[str, str]:
        headers = {
            **EDITOR_HEADERS,
            "Openai-Intent": "conversation-panel",
            "X-Initiator": "agent" if _continues_a_tool_turn(params) else "user",
            "X-Request-Id": str(uuid.uuid4()),
        }
        if params.has_images():
            headers["Copilot-Vision-Request"] = "true"
        return headers

    def assistant_message(self, message: Message) -> JsonObject:
        """Signed thinking goes back as reasoning_text and reasoning_opaque."""
        wire = super().assistant_message(message)
        signed = [p for p in message.parts() if isinstance(p, ThinkingPart) and p.signature]
        if signed:
            wire["reasoning_text"] = "".join(part.text for part in signed)
            wire["reasoning_opaque"] = signed[-1].signature
        return wire

    # ---- inline completions: /v1/engines/<model>/completions ------------------

    def fim_request(
        self,
        request: CompletionRequest,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        body = text_completion_body(request, target.model, stream_usage=False)
        body.update(top_p=1, n=1)
        if request.temperature is None:
            body["temperature"] = 0
        extra: JsonObject = {"trim_by_indentation": True}
        if request.language:
            extra["language"] = request.language
        body["extra"] = extra
        headers = {
            **EDITOR_HEADERS,
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Openai-Intent": "copilot-ghost",
            "X-Request-Id": str(uuid.uuid4()),
            **settings.headers,
        }
        base = settings.base_url or COPILOT_PROXY
        url = join_url(base, f"v1/engines/{path_segment(target.model)}/completions")
        return HttpRequest("POST", url, headers=headers, json=body)

    def fim_decoder(self, target: ModelTarget) -> TextCompletionDecoder:
        return TextCompletionDecoder()

    # ---- the token exchange and the model list ------------------------------

    def authenticator(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        environ: Mapping[str, str],
    ) -> CopilotAuthenticator | None:
        if credential is None:
            return None
        return CopilotAuthenticator(
            credential.secret,
            provider=settings.id,
            token_url=token_url(self.github_api(settings)),
            headers=EDITOR_HEADERS,
            configured_api=settings.base_url,
        )

    def external_credential(
        self, settings: ProviderSettings, environ: Mapping[str, str]
    ) -> Credential | None:
        """The GitHub token a Copilot editor plugin saved, for this account's host."""
        host = option(settings, "enterprise_host")
        found = find_app_token(environ, host if isinstance(host, str) else None)
        if found is None:
            return None
        register_secret(found.token)
        return Credential(secret=found.token, source=f"github-copilot:{found.file}")

    def sign_in_flow(self, settings: ProviderSettings, http: FlowHttp) -> GitHubDeviceSignIn:
        from ..auth.signin_flows import GitHubDeviceSignIn

        return GitHubDeviceSignIn(http, self.github_web(settings))

    def github_web(self, settings: ProviderSettings) -> str:
        """Where the device flow runs: github.com, the enterprise host, or `github_url`."""
        url = url_option(settings, "github_url")
        if url is not None:
            return url
        host = option(settings, "enterprise_host")
        return github_login_url(host if isinstance(host, str) and host.strip() else GITHUB_HOST)

    def github_api(self, settings: ProviderSettings) -> str:
        url = url_option(settings, "github_api_url")
        if url is not None:
            return url
        host = option(settings, "enterprise_host")
        if host is not None and (not isinstance(host, str) or not host.strip()):
            raise bad_option(settings, "enterprise_host", "a host name such as 'example.ghe.com'")
        return github_api_url(host)

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None:
        if credential is None:
            return None
        return HttpRequest(
            "GET",
            join_url(settings.base_url or self.default_base_url, "models"),
            headers={
                **EDITOR_HEADERS,
                "Accept": "application/json",
                "X-GitHub-Api-Version": MODELS_API_VERSION,
                **settings.headers,
            },
        )

    def parse_models(self, body: Any) -> list[ListedModel]:
        items = body.get("data") if isinstance(body, dict) else None
        found: dict[str, tuple[ListedModel, bool]] = {}
        for item in items if isinstance(items, list) else []:
            listed = _listed_model(item)
            if listed is None:
                continue
            in_picker = bool(listed.notes.get("pickerEnabled"))
            known = found.get(listed.name)
            # The list repeats some ids; the one the model picker shows is the one to use.
            if known is None or (in_picker and not known[1]):
                found[listed.name] = (listed, in_picker)
        return [listed for listed, _ in found.values()]

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        error = super().parse_error(status, headers, body)
        code = _error_code(body)
        if code in ("model_not_supported", "unsupported_api_for_model"):
            return _recoded(error, ErrorCode.UNKNOWN_MODEL, retryable=False)
        if status == 402 or code == "quota_exceeded":
            suggestion = "the Copilot premium request allowance is used up: pick an included model"
            return _recoded(error, ErrorCode.RATE_LIMITED, suggestion, retryable=False)
        return error


def _continues_a_tool_turn(params: ChatParams) -> bool:
    last = params.messages[-1]
    if last.role == "tool":
        return True
    return any(isinstance(part, ToolResultPart) for part in last.parts())


def _listed_model(item: Any) -> ListedModel | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        return None
    capabilities = _object(item.get("capabilities"))
    if capabilities.get("type", "chat") != "chat":
        return None  # embeddings and inline-completion models
    limits, supports = _object(capabilities.get("limits")), _object(capabilities.get("supports"))
    context = _positive(limits.get("max_context_window_tokens"))
    prompt = _positive(limits.get("max_prompt_tokens"))
    output = _positive(limits.get("max_output_tokens"))
    if context is None and prompt is not None and output is not None:
        context = prompt + output
    billing, policy = _object(item.get("billing")), _object(item.get("policy"))
    notes = {
        "billingMultiplier": billing.get("multiplier"),
        "premium": billing.get("is_premium"),
        "pickerEnabled": item.get("model_picker_enabled"),
        "policy": policy.get("state"),
        "maxPromptTokens": prompt,
        "supportedEndpoints": item.get("supported_endpoints"),
        "vendor": item.get("vendor"),
        "preview": item.get("preview"),
    }
    thinking = supports.get("thinking") or supports.get("adaptive_thinking")
    if thinking is None and supports.get("reasoning_effort"):
        thinking = True
    name = item.get("name")
    return ListedModel(
        name=item["id"],
        display_name=name if isinstance(name, str) and name else None,
        context_window=context,
        max_input_tokens=prompt,
        max_output_tokens=output,
        tools=_flag(supports.get("tool_calls")),
        images=_flag(supports.get("vision")),
        thinking=_flag(thinking),
        notes={key: value for key, value in notes.items() if value is not None},
    )


def _object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _error_code(body: bytes) -> str | None:
    payload = json_body(body)
    error = payload.get("error", payload) if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _recoded(
    error: ProviderError, code: ErrorCode, suggestion: str | None = None, *, retryable: bool
) -> ProviderError:
    return ProviderError(
        code,
        error.message,
        provider=error.provider,
        status=error.status,
        suggestion=suggestion or error.suggestion,
        retryable=retryable,
    )
