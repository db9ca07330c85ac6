"""Azure OpenAI: OpenAI's Chat Completions on a customer's own Azure resource.

Two URL styles: the classic `openai/deployments/{deployment}/chat/completions?
api-version=...` (when `api_version` is set), and the v1 endpoint
`openai/v1/chat/completions` with the deployment as the body's model. Models
map to deployments through the `deployments` option. Auth is an `api-key`
header, or an Entra ID bearer token (`auth = "entra"`).

Azure's content filter annotates prompts and choices. When it stops an
answer (finish_reason content_filter) the stream ends with an ErrorEvent
(contentFiltered, naming the filtered categories) and then
StopEvent("contentFilter"); a filtered prompt is an HTTP 400 that becomes
the same code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from switchboard.protocol.chat import ChatEvent, ChatParams, ErrorEvent, StopEvent
from switchboard.protocol.errors import ErrorCode

from ..base import (
    Authenticator,
    Credential,
    ListedModel,
    ModelTarget,
    ProviderSettings,
    bad_option,
    option,
    path_segment,
)
from ..errors import ProviderError
from ..wire.http import HttpRequest
from .openai_chat import JsonObject, OpenAIChatAdapter, OpenAIChatDecoder

ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
AUTH_MODES = ("key", "entra")
_URL_SUFFIXES = ("/openai/v1", "/openai")
_FILTER_ERROR_CODES = frozenset({"content_filter", "ResponsibleAIPolicyViolation"})
_NOT_FOUND_CODES = frozenset({"DeploymentNotFound", "model_not_found"})


def filtered_categories(results: Any) -> list[str]:
    """`hate (high)`, `jailbreak`, ... for each category a content_filter_results marks filtered."""
    if not isinstance(results, Mapping):
        return []
    named: list[str] = []
    for category, verdict in results.items():
        if not isinstance(verdict, Mapping) or verdict.get("filtered") is not True:
            continue
        severity = verdict.get("severity")
        named.append(f"{category} ({severity})" if isinstance(severity, str) else str(category))
    return named


class AzureDecoder(OpenAIChatDecoder):
    def __init__(self, fallback_model: str, reasoning_fields: tuple[str, ...]) -> None:
        super().__init__(fallback_model, reasoning_fields)
        self._prompt_filtered: list[str] = []
        self._answer_filtered: list[str] = []

    def feed_chunk(self, chunk: JsonObject) -> list[ChatEvent]:
        self._note_filters(chunk)
        if _only_prompt_filters(chunk):
            return []  # the chunk that opens a stream: no id, no model, no choices
        return super().feed_chunk(chunk)

    def close(self) -> list[ChatEvent]:
        events = super().close()
        if events and isinstance(events[-1], StopEvent) and events[-1].reason == "contentFilter":
            filtered = ErrorEvent(code=ErrorCode.CONTENT_FILTERED, message=self.filter_message())
            events.insert(len(events) - 1, filtered)
        return events

    def filter_message(self) -> str:
        where = [
            f"{name}: {', '.join(dict.fromkeys(found))}"
            for name, found in (
                ("prompt", self._prompt_filtered),
                ("answer", self._answer_filtered),
            )
            if found
        ]
        named = "; ".join(where) if where else "no category reported"
        return f"Azure's content filter stopped the answer ({named})"

    def _note_filters(self, chunk: JsonObject) -> None:
        prompts = chunk.get("prompt_filter_results")
        for prompt in prompts if isinstance(prompts, list) else []:
            if isinstance(prompt, Mapping):
                self._prompt_filtered += filtered_categories(prompt.get("content_filter_results"))
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, Mapping) and choice.get("index", 0) == 0:
                self._answer_filtered += filtered_categories(choice.get("content_filter_results"))


class AzureOpenAIAdapter(OpenAIChatAdapter):
    kind: ClassVar[str] = "azure"
    display_name: ClassVar[str] = "Azure OpenAI"
    default_base_url: ClassVar[str] = "https://YOUR-RESOURCE.openai.azure.com"
    api_key_envs: ClassVar[tuple[str, ...]] = ("AZURE_OPENAI_API_KEY",)
    decoder_class: ClassVar[type[OpenAIChatDecoder]] = AzureDecoder

    # ---- settings -----------------------------------------------------------

    def endpoint(self, settings: ProviderSettings) -> str:
        """The resource URL, from base_url, the `endpoint` option or AZURE_OPENAI_ENDPOINT."""
        raw = settings.base_url or option(settings, "endpoint") or os.environ.get(ENDPOINT_ENV)
        if not isinstance(raw, str) or not raw.strip():
            raise ProviderError(
                ErrorCode.INVALID_REQUEST,
                f"azure: no endpoint: set {ENDPOINT_ENV} or endpoint = "
                '"https://NAME.openai.azure.com" in [providers.azure]',
                provider=settings.id,
            )
        url = raw.strip().rstrip("/")
        for suffix in _URL_SUFFIXES:
            if url.endswith(suffix):
                return url.removesuffix(suffix)
        return url

    def api_version(self, settings: ProviderSettings) -> str | None:
        version = option(settings, "api_version")
        if version is None or (isinstance(version, str) and version.strip()):
            return version.strip() if version else None
        raise bad_option(settings, "api_version", "a string such as 2024-10-21")

    def deployments(self, settings: ProviderSettings) -> Mapping[str, str]:
        table = option(settings, "deployments", {})
        if isinstance(table, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in table.items()
        ):
            return table
        raise bad_option(settings, "deployments", 'a table of "model" = "deployment" names')

    def deployment(self, model: str, settings: ProviderSettings) -> str:
        return self.deployments(settings).get(model, model)

    def model_name(self, deployment: str, settings: ProviderSettings) -> str:
        """The model a deployment serves, when the deployments table says so."""
        for model, name in self.deployments(settings).items():
            if name == deployment:
                return model
        return deployment

    def auth_mode(self, settings: ProviderSettings) -> str:
        mode = option(settings, "auth", "key")
        if mode in AUTH_MODES:
            return str(mode)
        raise bad_option(settings, "auth", 'either "key" or "entra"')

    # ---- request ------------------------------------------------------------

    def chat_url(self, target: ModelTarget, settings: ProviderSettings) -> str:
        endpoint, version = self.endpoint(settings), self.api_version(settings)
        if version is None:
            return f"{endpoint}/openai/v1/chat/completions"
        deployment = path_segment(self.deployment(target.model, settings))
        return (
            f"{endpoint}/openai/deployments/{deployment}/chat/completions"
            f"?api-version={quote(version, safe='')}"
        )

    def auth_headers(self, credential: Credential | None) -> dict[str, str]:
        return {"api-key": credential.secret} if credential else {}

    def build_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        body = super().build_body(params, target, settings)
        if body.get("model") == target.model:
            # The v1 endpoint routes by the body's model, which must name a deployment.
            body["model"] = self.deployment(target.model, settings)
        return body

    def authenticator(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        environ: Mapping[str, str],
    ) -> Authenticator | None:
        if self.auth_mode(settings) != "entra":
            return None
        from ..auth.azure_auth import EntraAuthenticator

        return EntraAuthenticator()

    # ---- models ---------------------------------------------------------------

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None:
        """The models the resource can serve (Azure has no data-plane list of deployments)."""
        endpoint, version = self.endpoint(settings), self.api_version(settings)
        url = f"{endpoint}/openai/v1/models"
        if version is not None:
            url = f"{endpoint}/openai/models?api-version={quote(version, safe='')}"
        headers = {**self.auth_headers(credential), **settings.headers}
        return HttpRequest("GET", url, headers=headers)

    def parse_models(self, body: Any) -> list[ListedModel]:
        data = body.get("data") if isinstance(body, dict) else None
        listed: list[ListedModel] = []
        for item in data if isinstance(data, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            capabilities = item.get("capabilities")
            if isinstance(capabilities, dict) and capabilities.get("chat_completion") is False:
                continue
            if self.is_chat_model(item["id"]):
                listed.append(ListedModel(name=item["id"]))
        return listed

    # ---- errors ---------------------------------------------------------------

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        error = super().parse_error(status, headers, body)
        details = _error_details(body)
        inner = details.get("innererror")
        inner = inner if isinstance(inner, dict) else {}
        codes = {details.get("code"), inner.get("code")}
        if codes & _FILTER_ERROR_CODES:
            results = inner.get("content_filter_result", inner.get("content_filter_results"))
            named = ", ".join(filtered_categories(results)) or "no category reported"
            return _recoded(
                error, ErrorCode.CONTENT_FILTERED, f"{error.message} (filtered: {named})"
            )
        if codes & _NOT_FOUND_CODES and error.code != ErrorCode.UNKNOWN_MODEL:
            return _recoded(error, ErrorCode.UNKNOWN_MODEL, error.message)
        return error


def _only_prompt_filters(chunk: JsonObject) -> bool:
    return "prompt_filter_results" in chunk and not (
        chunk.get("id") or chunk.get("choices") or chunk.get("error") or chunk.get("usage")
    )


def _error_details(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def _recoded(error: ProviderError, code: ErrorCode, message: str) -> ProviderError:
    suggestion = None
    if code == ErrorCode.UNKNOWN_MODEL:
        suggestion = "check the deployment name; the deployments option maps model names to it"
    return ProviderError(
        code, message, provider=error.provider, status=error.status, suggestion=suggestion
    )
