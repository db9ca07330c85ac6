"""DeepSeek: OpenAI's Chat Completions at api.deepseek.com, and its beta fill-in-the-middle.

Chat: thinking is on by default for DeepSeek's V4 models and streams as
`reasoning_content`; a request turns it on or off with `thinking: {type}`
and sets its depth with `reasoning_effort` (high or max). Switchboard turns
it off unless the chat asks for thinking. Usage names cache hits
`prompt_cache_hit_tokens`.

Fill-in-the-middle is the beta text-completion endpoint `POST
/beta/completions` (`prompt` + `suffix`, at most 4K output tokens,
non-thinking mode only), answered in OpenAI's legacy `text_completion` shape.
"""

from __future__ import annotations

from typing import ClassVar

from switchboard.protocol.chat import ChatParams

from ..base import CompletionRequest, Credential, ModelTarget, ProviderSettings, join_url
from ..wire.http import HttpRequest
from .fim_text import TextCompletionDecoder, text_completion_body
from .openai_chat import JsonObject, OpenAIChatAdapter

FIM_PATH = "beta/completions"
FIM_MAX_TOKENS = 4096


class DeepSeekAdapter(OpenAIChatAdapter):
    kind: ClassVar[str] = "deepseek"
    display_name: ClassVar[str] = "DeepSeek"
    default_base_url: ClassVar[str] = "https://api.deepseek.com"
    api_key_envs: ClassVar[tuple[str, ...]] = ("DEEPSEEK_API_KEY",)
    max_tokens_field: ClassVar[str] = "max_tokens"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content",)

    def is_reasoning_model(self, model: str) -> bool:
        return False  # thinking is a request switch here, not a model family

    def extra_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        if params.thinking is None:
            return {"thinking": {"type": "disabled"}}
        effort = "max" if params.thinking.budget_tokens >= 32768 else "high"
        return {"thinking": {"type": "enabled"}, "reasoning_effort": effort}

    def fim_request(
        self,
        request: CompletionRequest,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        body = text_completion_body(request, target.model)
        body["max_tokens"] = min(request.max_tokens, FIM_MAX_TOKENS)
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            **self.auth_headers(credential),
            **settings.headers,
        }
        # The beta endpoints hang off the API root, beside /v1 rather than under it.
        root = (settings.base_url or self.default_base_url).rstrip("/").removesuffix("/v1")
        return HttpRequest("POST", join_url(root, FIM_PATH), headers=headers, json=body)

    def fim_decoder(self, target: ModelTarget) -> TextCompletionDecoder:
        return TextCompletionDecoder()
