"""Mistral AI: OpenAI's Chat Completions at api.mistral.ai, and Codestral's fill-in-the-middle.

Chat is the OpenAI dialect with `max_tokens` and no `stream_options` (the
last chunk carries usage unasked). Fill-in-the-middle is `POST
/v1/fim/completions` with `prompt` + `suffix`, and its answer is shaped like
a chat: `chat.completion.chunk` deltas when streamed, a `chat.completion`
with `message.content` when whole, so the chat decoder reads it.
"""

from __future__ import annotations

from typing import ClassVar

from ..base import CompletionRequest, Credential, ModelTarget, ProviderSettings, join_url
from ..wire.http import HttpRequest
from .openai_chat import JsonObject, OpenAIChatAdapter, OpenAIChatDecoder

FIM_PATH = "fim/completions"


class MistralAdapter(OpenAIChatAdapter):
    kind: ClassVar[str] = "mistral"
    display_name: ClassVar[str] = "Mistral AI"
    default_base_url: ClassVar[str] = "https://api.mistral.ai/v1"
    api_key_envs: ClassVar[tuple[str, ...]] = ("MISTRAL_API_KEY",)
    max_tokens_field: ClassVar[str] = "max_tokens"
    reasoning_model_prefixes: ClassVar[tuple[str, ...]] = ()
    message_names: ClassVar[bool] = False  # Mistral refuses fields it does not know (422)

    def stream_options(self) -> JsonObject | None:
        return None  # Mistral sends usage in the last chunk without being asked

    def is_chat_model(self, name: str) -> bool:
        return not any(marker in name for marker in ("embed", "moderation", "ocr"))

    def fim_request(
        self,
        request: CompletionRequest,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        body: JsonObject = {
            "model": target.model,
            "prompt": request.prefix,
            "suffix": request.suffix,
            "max_tokens": request.max_tokens,
            "stream": True,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.stop:
            body["stop"] = list(request.stop)
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            **self.auth_headers(credential),
            **settings.headers,
        }
        url = join_url(settings.base_url or self.default_base_url, FIM_PATH)
        return HttpRequest("POST", url, headers=headers, json=body)

    def fim_decoder(self, target: ModelTarget) -> OpenAIChatDecoder:
        return self.decoder(target)
