"""Google Vertex AI: Gemini models (streamGenerateContent) and Claude models (streamRawPredict).

One endpoint shape for both publishers:
`https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/
publishers/{google|anthropic}/models/{model}:{method}` (the `global` location has no
region prefix). Gemini models take the Gemini API's body (adapters/gemini.py);
Claude models take Anthropic's Messages body without `model` and with Vertex's
`anthropic_version`, and answer with Anthropic's SSE stream. A model is Claude when
its name starts with `claude` (the catalog's api "messages" picks VertexClaudeAdapter
directly). Authentication is a Google OAuth token (providers/auth/google_auth.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from switchboard.protocol.chat import ChatEvent, ChatParams
from switchboard.protocol.errors import ErrorCode

from ..base import (
    AdapterDefaults,
    Authenticator,
    Credential,
    Framing,
    ModelTarget,
    ProviderSettings,
    StreamDecoder,
    bad_option,
    option,
    path_segment,
)
from ..errors import ProviderError
from ..wire.http import HttpRequest
from . import anthropic, gemini

ANTHROPIC_VERSION = "vertex-2023-10-16"
DEFAULT_LOCATION = "global"
PROJECT_ENVS = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")
LOCATION_ENVS = ("GOOGLE_CLOUD_LOCATION", "CLOUD_ML_REGION")


class VertexAdapter(AdapterDefaults):
    kind: ClassVar[str] = "vertex"
    display_name: ClassVar[str] = "Google Vertex AI"
    default_base_url: ClassVar[str] = "https://aiplatform.googleapis.com/v1"
    api_key_envs: ClassVar[tuple[str, ...]] = ()
    framing: ClassVar[Framing] = "sse"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        if self.claude(target.model):
            body = anthropic.request_body(params, target)
            body.pop("model", None)
            body["anthropic_version"] = ANTHROPIC_VERSION
            url = self.model_url(settings, "anthropic", target.model, "streamRawPredict")
            return HttpRequest("POST", url, headers=_headers(settings), json=body)
        url = self.model_url(settings, "google", target.model, "streamGenerateContent")
        return HttpRequest(
            "POST",
            url,
            headers=_headers(settings),
            json=gemini.request_body(params, target),
            params={"alt": "sse"},
        )

    def decoder(self, target: ModelTarget) -> StreamDecoder:
        if self.claude(target.model):
            return anthropic.AnthropicStreamDecoder(target.model)
        return gemini.GeminiStreamDecoder(target.model)

    def decode_body(self, body: Any, target: ModelTarget) -> list[ChatEvent]:
        if self.claude(target.model):
            return anthropic.AnthropicAdapter().decode_body(body, target)
        return gemini.decode_response(body, target.model)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        return gemini.google_error(self.kind, status, headers, body)

    def authenticator(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        environ: Mapping[str, str],
    ) -> Authenticator | None:
        from ..auth.google_auth import GoogleAuthenticator

        configured = option(settings, "credentials_file")
        if configured is not None and not isinstance(configured, str):
            raise bad_option(settings, "credentials_file", "a path")
        return GoogleAuthenticator.from_environ(settings.id, configured, environ)

    def count_tokens_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest | None:
        if self.claude(target.model):
            return None
        return HttpRequest(
            "POST",
            self.model_url(settings, "google", target.model, "countTokens"),
            headers=_headers(settings),
            json=gemini.count_tokens_body(params, target),
        )

    def parse_count_tokens(self, body: Any) -> int:
        return gemini.parse_total_tokens(self.kind, body)

    def claude(self, model: str) -> bool:
        return is_claude(model)

    # ---- where ---------------------------------------------------------------

    def model_url(self, settings: ProviderSettings, publisher: str, model: str, method: str) -> str:
        project, location = self.project(settings), self.location(settings)
        return (
            f"{self.base_url(settings, location)}/projects/{path_segment(project)}"
            f"/locations/{path_segment(location)}"
            f"/publishers/{publisher}/models/{path_segment(model)}:{method}"
        )

    def base_url(self, settings: ProviderSettings, location: str) -> str:
        if settings.base_url:
            return settings.base_url.rstrip("/")
        host = (
            "aiplatform.googleapis.com"
            if location == DEFAULT_LOCATION
            else f"{location}-aiplatform.googleapis.com"
        )
        return f"https://{host}/v1"

    def project(self, settings: ProviderSettings) -> str:
        project = option(settings, "project") or _first_env(PROJECT_ENVS, self._env())
        if not project:
            raise ProviderError(
                ErrorCode.INVALID_REQUEST,
                f"{settings.id}: no Google Cloud project: set option 'project'"
                " or GOOGLE_CLOUD_PROJECT",
                provider=settings.id,
            )
        if not isinstance(project, str) or "/" in project:
            raise bad_option(settings, "project", "a project id")
        return project

    def location(self, settings: ProviderSettings) -> str:
        location = option(settings, "location") or _first_env(LOCATION_ENVS, self._env())
        if not location:
            return DEFAULT_LOCATION
        if not isinstance(location, str) or not location.replace("-", "").isalnum():
            raise bad_option(settings, "location", "a region such as us-east5, or global")
        return location

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def temperature_range(self, target: ModelTarget) -> tuple[float, float]:
        return (0.0, 1.0) if self.claude(target.model) else (0.0, 2.0)

    def accepts_temperature(self, params: ChatParams, target: ModelTarget) -> bool:
        thinking = params.thinking is not None and params.thinking.budget_tokens > 0
        return not (self.claude(target.model) and thinking)

    def accepts_prefill(self, params: ChatParams, target: ModelTarget) -> bool:
        # Claude on Vertex speaks Anthropic's Messages API, prefill included.
        thinking = params.thinking is not None and params.thinking.budget_tokens > 0
        return self.claude(target.model) and not thinking


class VertexClaudeAdapter(VertexAdapter):
    """The catalog says "messages": a Claude model whatever its name."""

    def claude(self, model: str) -> bool:
        return True


def is_claude(model: str) -> bool:
    return model.lower().startswith("claude")


def _headers(settings: ProviderSettings) -> dict[str, str]:
    return {"content-type": "application/json", **settings.headers}


def _first_env(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None
