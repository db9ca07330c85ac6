"""Local OpenAI-compatible servers: Ollama, LM Studio, llama.cpp, vLLM, or any other.

Each `[providers.NAME]` table with one of these kinds is its own provider,
so several servers can be used at once. A key is optional (`api_key_env`);
without one no Authorization header is sent. What the servers do
differently from OpenAI:
- usage: some send none (the engine then counts tokens locally);
  `stream_usage = false` stops asking for it, for servers that reject
  `stream_options`;
- thinking: vLLM and Ollama send it as `reasoning_content`/`reasoning`
  deltas; models run through llama.cpp without a reasoning parser write it
  inline, as `<think>…</think>` at the start of the content;
- tool calls: whole arguments in one delta, sometimes without ids, and
  streams that end with `[DONE]` and no finish_reason (the base decoder
  copes with all three).
Models come from the server's list (`/v1/models`, Ollama's `/api/tags`); the
option `models = [...]` names them when the list is unavailable, and
`context_window` gives the window of models whose size the server does not report.
The window a server runs with comes from the server where it says: llama.cpp's
`GET /props` (`n_ctx`), Ollama's `POST /api/show` (`num_ctx`, else the model's
`<arch>.context_length`); see catalog/local_servers.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    StartedEvent,
    TextEvent,
    ThinkingEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode

from ..base import (
    CompletionRequest,
    Credential,
    ListedModel,
    ModelTarget,
    ProviderSettings,
    bad_option,
    join_url,
    option,
)
from ..catalog.local_servers import WindowRequest, positive_int
from ..errors import ProviderError
from ..wire.http import HttpRequest
from .fim_text import TextCompletionDecoder, text_completion_body
from .openai_chat import JsonObject, OpenAIChatAdapter, OpenAIChatDecoder

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
OPTIONS = frozenset({"models", "context_window", "stream_usage", "fim"})
#: Model families trained with fill-in-the-middle tokens, which local servers template.
FIM_FAMILIES = (
    "codellama",
    "codegemma",
    "codestral",
    "coder",
    "deepseek-coder",
    "granite-code",
    "stable-code",
    "starcoder",
)


class ThinkTags:
    """Splits content into thinking and text when it opens with a `<think>` block.

    Tags may be cut anywhere between two deltas, so a tail that could be the
    start of a tag is held back until the next delta (or the end) decides.
    """

    def __init__(self) -> None:
        self._mode = "start"  # start → thinking → text; or start → text
        self._held = ""
        self._trim_text = False

    def feed(self, text: str) -> list[ChatEvent]:
        held, self._held = self._held + text, ""
        if self._mode == "start":
            opening = held.lstrip()
            if OPEN_TAG.startswith(opening):
                self._held = held  # whitespace, or a piece of "<think>": wait
                return []
            if not opening.startswith(OPEN_TAG):
                self._mode = "text"
                return [TextEvent(text=held)]
            self._mode = "thinking"
            held = opening[len(OPEN_TAG) :]
        if self._mode == "thinking":
            return self._thinking(held)
        return self._text(held)

    def flush(self) -> list[ChatEvent]:
        """The end of the content: what was held back is what it looked like."""
        held, self._held = self._held, ""
        if not held:
            return []
        if self._mode == "thinking":
            return [ThinkingEvent(text=held)]
        return self._text(held)

    def _thinking(self, text: str) -> list[ChatEvent]:
        end = text.find(CLOSE_TAG)
        if end < 0:
            keep = _partial_tag_length(text, CLOSE_TAG)
            thought, self._held = text[: len(text) - keep], text[len(text) - keep :]
            return [ThinkingEvent(text=thought)] if thought else []
        self._mode, self._trim_text = "text", True
        events: list[ChatEvent] = [ThinkingEvent(text=text[:end])] if end else []
        return events + self._text(text[end + len(CLOSE_TAG) :])

    def _text(self, text: str) -> list[ChatEvent]:
        if self._trim_text:
            # The blank line models put after </think> is not part of the answer.
            text = text.lstrip()
            if not text:
                return []
            self._trim_text = False
        return [TextEvent(text=text)] if text else []


def _partial_tag_length(text: str, tag: str) -> int:
    """How many characters at the end of `text` could begin `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


# Events that may come before held-back content; anything else must come after it.
_FLOWING = (TextEvent, ThinkingEvent, StartedEvent, UsageEvent)


class LocalDecoder(OpenAIChatDecoder):
    """The chat decoder, with `<think>` blocks in the content read as thinking."""

    def __init__(self, fallback_model: str, reasoning_fields: tuple[str, ...]) -> None:
        super().__init__(fallback_model, reasoning_fields)
        self._tags = ThinkTags()

    def content_events(self, text: str) -> list[ChatEvent]:
        return self._tags.feed(text)

    def feed_chunk(self, chunk: JsonObject) -> list[ChatEvent]:
        return self._settled(super().feed_chunk(chunk))

    def close(self) -> list[ChatEvent]:
        return self._settled(super().close())

    def _settled(self, events: list[ChatEvent]) -> list[ChatEvent]:
        """Held-back content goes out before a tool call, an error or the stop."""
        boundary = next((i for i, e in enumerate(events) if not isinstance(e, _FLOWING)), None)
        if boundary is None:
            return events
        return [*events[:boundary], *self._tags.flush(), *events[boundary:]]


class LocalServerAdapter(OpenAIChatAdapter):
    """Any server that speaks OpenAI Chat Completions; `base_url` is required."""

    kind: ClassVar[str] = "openai-compatible"
    display_name: ClassVar[str] = "OpenAI-compatible server"
    default_base_url: ClassVar[str] = ""
    api_key_envs: ClassVar[tuple[str, ...]] = ()
    max_tokens_field: ClassVar[str] = "max_tokens"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content", "reasoning")
    decoder_class: ClassVar[type[OpenAIChatDecoder]] = LocalDecoder
    #: Whether `/v1/completions` fills in the middle from `suffix` without being told
    #: (vLLM answers 400 to a suffix; LM Studio applies no prompt template there).
    honors_suffix: ClassVar[bool] = False

    def chat_url(self, target: ModelTarget, settings: ProviderSettings) -> str:
        return join_url(self.base_url(settings), self.chat_path)

    def base_url(self, settings: ProviderSettings) -> str:
        base = settings.base_url or self.default_base_url
        if not base:
            raise ProviderError(
                ErrorCode.INVALID_REQUEST,
                f"{settings.id}: an openai-compatible provider needs base_url in its config table",
                provider=settings.id,
                suggestion=f'set base_url = "http://host:port/v1" in [providers.{settings.id}]',
            )
        return base

    def build_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        body = super().build_body(params, target, settings)
        stream_usage = option(settings, "stream_usage", True)
        if not isinstance(stream_usage, bool):
            raise bad_option(settings, "stream_usage", "true or false")
        if not stream_usage:
            body.pop("stream_options", None)
        return body

    def is_reasoning_model(self, model: str) -> bool:
        return False  # local servers take a temperature whatever the model

    def extra_body(
        self, params: ChatParams, target: ModelTarget, settings: ProviderSettings
    ) -> JsonObject:
        if params.thinking is None:
            return {}
        return {"reasoning_effort": self.reasoning_effort(params.thinking.budget_tokens)}

    # ---- fill-in-the-middle: /v1/completions with prompt + suffix ---------------

    def has_fim(self, target: ModelTarget, settings: ProviderSettings) -> bool:
        """The `fim` option when set; else, on a server known to honor `suffix`, whether
        the model is of a FIM-trained family."""
        wanted = option(settings, "fim")
        if wanted is not None and not isinstance(wanted, bool):
            raise bad_option(settings, "fim", "true or false")
        if wanted is not None:
            return wanted
        if not self.honors_suffix:
            return False
        return target.info.capabilities.fim or any(
            family in target.model.lower() for family in FIM_FAMILIES
        )

    def fim_request(
        self,
        request: CompletionRequest,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        stream_usage = option(settings, "stream_usage", True)
        if not isinstance(stream_usage, bool):
            raise bad_option(settings, "stream_usage", "true or false")
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            **self.auth_headers(credential),
            **settings.headers,
        }
        return HttpRequest(
            "POST",
            join_url(self.base_url(settings), "completions"),
            headers=headers,
            json=text_completion_body(request, target.model, stream_usage=stream_usage),
        )

    def fim_decoder(self, target: ModelTarget) -> TextCompletionDecoder:
        return TextCompletionDecoder()

    # ---- the model list --------------------------------------------------------

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None:
        headers = {**self.auth_headers(credential), **settings.headers}
        return HttpRequest("GET", join_url(self.base_url(settings), "models"), headers=headers)

    def parse_models(self, body: Any) -> list[ListedModel]:
        """`/v1/models` (`data`, vLLM adds max_model_len) or Ollama's `/api/tags` (`models`)."""
        if not isinstance(body, dict):
            return []
        items = body.get("data", body.get("models"))
        listed: dict[str, ListedModel] = {}
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            name = item.get("id", item.get("model", item.get("name")))
            if isinstance(name, str) and name and self.is_chat_model(name):
                listed.setdefault(name, ListedModel(name=name, context_window=_window(item)))
        return list(listed.values())

    def is_chat_model(self, name: str) -> bool:
        return "embed" not in name.lower()

    # ---- the context window the server runs with (catalog/local_servers.py) -----------

    def window_requests(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        models: list[ListedModel],
    ) -> list[WindowRequest]:
        """None by default: the list (vLLM's max_model_len) is all these servers report."""
        return []

    def parse_window(self, body: Any) -> int | None:
        return None

    def server_root(self, settings: ProviderSettings) -> str:
        """The base URL without its `/v1`: where a server's own endpoints are."""
        return self.base_url(settings).rstrip("/").removesuffix("/v1")

    def configured_models(
        self, settings: ProviderSettings, discovered: list[ListedModel] | None
    ) -> list[ListedModel]:
        """What the server reported (else the `models` option), with windows filled in."""
        window = option(settings, "context_window")
        if window is not None and (
            isinstance(window, bool) or not isinstance(window, int) or window <= 0
        ):
            raise bad_option(settings, "context_window", "a positive number of tokens")
        names = option(settings, "models", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise bad_option(settings, "models", 'a list of model names, e.g. ["llama3.2"]')
        models = discovered if discovered else [ListedModel(name=name) for name in names]
        if window is None:
            return list(models)
        return [m if m.context_window else replace(m, context_window=window) for m in models]


class OllamaAdapter(LocalServerAdapter):
    kind: ClassVar[str] = "ollama"
    display_name: ClassVar[str] = "Ollama"
    default_base_url: ClassVar[str] = "http://localhost:11434/v1"
    honors_suffix: ClassVar[bool] = True  # the model's template places it (FIM models)

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None:
        """Ollama's own list: every pulled model, not only loaded ones."""
        headers = {**self.auth_headers(credential), **settings.headers}
        return HttpRequest("GET", join_url(self.server_root(settings), "api/tags"), headers=headers)

    def window_requests(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        models: list[ListedModel],
    ) -> list[WindowRequest]:
        """`/api/show` per model: its parameters and the model file's metadata."""
        url = join_url(self.server_root(settings), "api/show")
        headers = {
            "Content-Type": "application/json",
            **self.auth_headers(credential),
            **settings.headers,
        }
        return [
            (model.name, HttpRequest("POST", url, headers=headers, json={"model": model.name}))
            for model in models
        ]

    def parse_window(self, body: Any) -> int | None:
        """`num_ctx` when the model's parameters set it (the window it runs with), else the
        window it was trained for, `model_info["<arch>.context_length"]`."""
        if not isinstance(body, dict):
            return None
        parameters = body.get("parameters")
        for line in parameters.splitlines() if isinstance(parameters, str) else []:
            name, _, value = line.strip().partition(" ")
            if name == "num_ctx" and (size := positive_int(value)):
                return size
        info = body.get("model_info")
        if not isinstance(info, dict):
            return None
        architecture = info.get("general.architecture")
        if isinstance(architecture, str):
            return positive_int(info.get(f"{architecture}.context_length"))
        return None


class LMStudioAdapter(LocalServerAdapter):
    kind: ClassVar[str] = "lmstudio"
    display_name: ClassVar[str] = "LM Studio"
    default_base_url: ClassVar[str] = "http://localhost:1234/v1"


class LlamaCppAdapter(LocalServerAdapter):
    kind: ClassVar[str] = "llamacpp"
    display_name: ClassVar[str] = "llama.cpp server"
    default_base_url: ClassVar[str] = "http://localhost:8080/v1"

    def window_requests(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        models: list[ListedModel],
    ) -> list[WindowRequest]:
        """`/props`: the server's settings, one window for the model it serves."""
        headers = {**self.auth_headers(credential), **settings.headers}
        url = join_url(self.server_root(settings), "props")
        return [(None, HttpRequest("GET", url, headers=headers))]

    def parse_window(self, body: Any) -> int | None:
        """`default_generation_settings.n_ctx`: the `-c` the server was started with."""
        if not isinstance(body, dict):
            return None
        settings = body.get("default_generation_settings")
        if isinstance(settings, dict) and (size := positive_int(settings.get("n_ctx"))):
            return size
        return positive_int(body.get("n_ctx"))


class VLLMAdapter(LocalServerAdapter):
    kind: ClassVar[str] = "vllm"
    display_name: ClassVar[str] = "vLLM"
    default_base_url: ClassVar[str] = "http://localhost:8000/v1"


def _window(item: JsonObject) -> int | None:
    for key in ("max_model_len", "context_length", "max_context_length", "context_window"):
        value = item.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
