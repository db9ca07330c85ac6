"""What a provider translator is: the interface every adapter implements.

An adapter is sans-IO. It builds an HttpRequest from normalized ChatParams,
turns each wire event of the answer into normalized ChatEvents (through a
StreamDecoder made per request), and turns an error answer into a
ProviderError. The engine (providers/engine.py) and the transport do the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol
from urllib.parse import quote

if TYPE_CHECKING:
    # Only for annotations: the server imports this module at start-up, before pydantic.
    from switchboard.protocol.catalog import ModelInfo
    from switchboard.protocol.chat import ChatEvent, ChatParams

    from .auth.credential_store import CredentialStore
    from .auth.oauth_config import OAuthSettings
    from .auth.signin_flows import FlowHttp, InteractiveFlow
    from .catalog.calibration import Calibration
    from .catalog.models import Catalog
    from .errors import ProviderError
    from .wire.http import FetchJson, HttpRequest
    from .wire.transport import Transport

Framing = Literal["sse", "eventstream"]


@dataclass(frozen=True)
class Credential:
    """A secret and where it came from (`env:OPENAI_API_KEY`, `keyring`, ...)."""

    secret: str = field(repr=False)
    source: str

    def __str__(self) -> str:
        return f"<credential from {self.source}>"


@dataclass(frozen=True)
class ProviderSettings:
    """One `[providers.NAME]` table of the config, after validation."""

    id: str
    kind: str
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    oauth: OAuthSettings | None = None
    #: Seconds per limit ("connect", "headers", "stall", "total") set by `*_timeout` keys.
    timeouts: Mapping[str, float] = field(default_factory=dict)
    #: Requests open at once to this provider (`max_connections`); None: the default.
    max_connections: int | None = None
    #: A chat's temperature when it names none (`default_temperature`); over the top level's.
    default_temperature: float | None = None


@dataclass(frozen=True)
class ModelTarget:
    """A resolved `provider/model`: which provider, the wire model name, its catalog entry."""

    provider: str
    model: str
    info: ModelInfo

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class CompletionRequest:
    """One code completion, normalized: the text around the cursor and how much to write.

    The answer comes back as the chat vocabulary's TextEvent, UsageEvent,
    StopEvent and ErrorEvent, from a StreamDecoder like a chat's, so the FIM
    path and the chat fallback read the same way.
    """

    prefix: str
    suffix: str = ""
    language: str | None = None
    path: str | None = None
    max_tokens: int = 128
    stop: tuple[str, ...] = ()
    temperature: float | None = None


class StreamDecoder(Protocol):
    """Turns one request's wire events into normalized events, in order."""

    def feed(self, event: Any) -> list[ChatEvent]:
        """One framed wire event (an SSEEvent for SSE providers)."""
        ...

    def close(self) -> list[ChatEvent]:
        """The body ended: whatever is still pending (an unfinished tool call, a stop)."""
        ...


@dataclass(frozen=True)
class ListedModel:
    """One model as a provider's list endpoint reports it (None: not reported)."""

    name: str
    display_name: str | None = None
    context_window: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    tools: bool | None = None
    images: bool | None = None
    thinking: bool | None = None
    input_per_m_tok: float | None = None
    output_per_m_tok: float | None = None
    cache_read_per_m_tok: float | None = None
    cache_write_per_m_tok: float | None = None
    notes: Mapping[str, Any] = field(default_factory=dict)


class Authenticator(Protocol):
    """Turns a built request into an authorized one (a token, a signature).

    For providers whose credential is not a static key: AWS SigV4, Google
    OAuth tokens, the Copilot token exchange. `fetch_json` is the shared
    transport's, for authenticators that must call a token endpoint.
    """

    async def authorize(self, request: HttpRequest, fetch_json: FetchJson) -> HttpRequest: ...

    def invalidate(self) -> None:
        """The provider answered 401: the next `authorize` gets a fresh token."""
        ...


class Adapter(Protocol):
    kind: ClassVar[str]
    display_name: ClassVar[str]
    #: An icon id editors map to an image, or an image URL; None: the kind is the icon id.
    icon: ClassVar[str | None]
    default_base_url: ClassVar[str]
    api_key_envs: ClassVar[tuple[str, ...]]
    framing: ClassVar[Framing]

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest: ...

    def decoder(self, target: ModelTarget) -> StreamDecoder: ...

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> ProviderError: ...

    def authenticator(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        environ: Mapping[str, str],
    ) -> Authenticator | None: ...

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None: ...

    def parse_models(self, body: Any) -> list[ListedModel]: ...

    def configured_models(
        self, settings: ProviderSettings, discovered: list[ListedModel] | None
    ) -> list[ListedModel] | None:
        """The final list from what the endpoint reported (None: nothing) and the config."""
        ...

    def count_tokens_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest | None: ...

    def parse_count_tokens(self, body: Any) -> int: ...

    def decode_body(self, body: Any, target: ModelTarget) -> list[ChatEvent]:
        """A whole non-streamed answer (parsed JSON) as the same normalized events."""
        ...

    def external_credential(
        self, settings: ProviderSettings, environ: Mapping[str, str]
    ) -> Credential | None:
        """A credential another tool keeps (Copilot's apps.json): the last place looked."""
        ...

    def sign_in_flow(self, settings: ProviderSettings, http: FlowHttp) -> InteractiveFlow | None:
        """The provider's interactive sign-in (device code, browser), if it has one."""
        ...

    def temperature_range(self, target: ModelTarget) -> tuple[float, float]:
        """The temperatures the provider accepts for this model."""
        ...

    def has_fim(self, target: ModelTarget, settings: ProviderSettings) -> bool:
        """Whether this model fills in the middle through `fim_request`."""
        ...

    def fim_request(
        self,
        request: CompletionRequest,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest | None:
        """The provider's fill-in-the-middle request; None for a kind without one."""
        ...

    def fim_decoder(self, target: ModelTarget) -> StreamDecoder | None:
        """Decodes what `fim_request` streams back (wire events in `framing`)."""
        ...

    def accepts_temperature(self, params: ChatParams, target: ModelTarget) -> bool:
        """False where the model rejects any temperature (reasoning models, thinking on)."""
        ...

    def accepts_prefill(self, params: ChatParams, target: ModelTarget) -> bool:
        """True where a last assistant turn is continued by the model (Anthropic's prefill)."""
        ...


class ProviderAccess(Protocol):
    """What the services the engine builds (the model directory, the token counter,
    sign-in) need of it: a provider's settings, adapter and credential, and requests
    authorized and sent through the shared transport. The engine is the one
    implementation; the services name this instead, so none of them imports it."""

    catalog: Catalog
    calibration: Calibration
    transport: Transport
    store: CredentialStore | None

    @property
    def environ(self) -> Mapping[str, str]: ...

    def provider_ids(self) -> list[str]: ...

    def settings(self, provider: str) -> ProviderSettings: ...

    def adapter(self, provider: str, model: str | None = None) -> Adapter: ...

    def base_url(self, provider: str) -> str: ...

    def credential(self, provider: str) -> Credential | None: ...

    def has_credentials(self, provider: str) -> bool: ...

    def forget_credentials(self, provider: str) -> None: ...

    async def authorize(
        self, provider: str, adapter: Adapter, credential: Credential | None, request: HttpRequest
    ) -> HttpRequest: ...

    def default_model(self) -> str: ...

    def fast_model(self) -> str: ...


class AdapterDefaults:
    """What an adapter without a list, count or token endpoint inherits."""

    icon: ClassVar[str | None] = None

    def authenticator(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        environ: Mapping[str, str],
    ) -> Authenticator | None:
        return None

    def models_request(
        self, settings: ProviderSettings, credential: Credential | None
    ) -> HttpRequest | None:
        return None

    def parse_models(self, body: Any) -> list[ListedModel]:
        return []

    def configured_models(
        self, settings: ProviderSettings, discovered: list[ListedModel] | None
    ) -> list[ListedModel] | None:
        return discovered

    def count_tokens_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest | None:
        return None

    def parse_count_tokens(self, body: Any) -> int:
        raise NotImplementedError("this provider has no count endpoint")

    def external_credential(
        self, settings: ProviderSettings, environ: Mapping[str, str]
    ) -> Credential | None:
        return None

    def sign_in_flow(self, settings: ProviderSettings, http: FlowHttp) -> InteractiveFlow | None:
        return None

    def temperature_range(self, target: ModelTarget) -> tuple[float, float]:
        return (0.0, 2.0)

    def accepts_temperature(self, params: ChatParams, target: ModelTarget) -> bool:
        return True

    def accepts_prefill(self, params: ChatParams, target: ModelTarget) -> bool:
        return False

    def has_fim(self, target: ModelTarget, settings: ProviderSettings) -> bool:
        return target.info.capabilities.fim

    def fim_request(
        self,
        request: CompletionRequest,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest | None:
        return None

    def fim_decoder(self, target: ModelTarget) -> StreamDecoder | None:
        return None


def option(settings: ProviderSettings, key: str, default: Any = None) -> Any:
    """A provider-specific config option (`[providers.NAME] key = ...`)."""
    return settings.options.get(key, default)


def bad_option(settings: ProviderSettings, key: str, wanted: str) -> ProviderError:
    from switchboard.protocol.errors import ErrorCode

    from .errors import ProviderError

    return ProviderError(
        ErrorCode.INVALID_REQUEST,
        f"{settings.id}: option '{key}' must be {wanted}",
        provider=settings.id,
    )


def url_option(settings: ProviderSettings, key: str) -> str | None:
    """An http(s) URL option without its trailing slash; None when not set."""
    url = option(settings, key)
    if url is None:
        return None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise bad_option(settings, key, "an http(s) URL")
    return url.rstrip("/")


def inline_image(
    media_type: str | None, data: str | None, url: str | None
) -> tuple[str, str] | None:
    """An image's (media type, base64 data), from its data or a `data:...;base64,` URL."""
    if data is not None:
        return media_type or "", data
    header, comma, encoded = (url or "").partition(",")
    if header.startswith("data:") and comma and header.endswith(";base64"):
        return header[len("data:") : -len(";base64")], encoded
    return None


def join_url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def path_segment(value: str) -> str:
    """`value` as one segment of a URL path: a model id or a deployment name that holds `/`,
    `?`, `#`, `:` or is `..` can then reach no other path. `@` stays (Vertex's `model@version`).
    """
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="@")
