"""`switchboard/models` and `switchboard/providers`: what can be called, at what price."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Params, WireModel

ToolChoiceMode = Literal["auto", "any", "none", "tool"]
ToolInputFormat = Literal["jsonSchema", "simplified"]
ModelSource = Literal["catalog", "provider", "fallback"]
AuthMethod = Literal["apiKey", "device", "oauth", "env", "none"]
AuthStatus = Literal["signedIn", "signedOut", "expired"]


_DEFAULT_TOOL_CHOICE: tuple[ToolChoiceMode, ...] = ("auto", "none")


class Capabilities(WireModel):
    images: bool = False
    tools: bool = True
    tool_choice: list[ToolChoiceMode] = Field(default_factory=lambda: list(_DEFAULT_TOOL_CHOICE))
    thinking: bool = False
    prompt_caching: bool = False
    streaming: bool = True
    fim: bool = Field(
        default=False, description="fills in the middle (prefix + suffix) for code completion"
    )
    tool_input_format: ToolInputFormat = Field(
        default="jsonSchema",
        description="the tool input schemas the model takes: full JSON Schema, or a simplified"
        " subset (Gemini's OpenAPI schema: no $ref, anyOf of types only, no formats)",
    )


class CacheConfiguration(WireModel):
    """How a model's prompt cache takes explicit anchors (cache breakpoints)."""

    max_cache_anchors: int = Field(
        ge=0, description="the most cache anchors one request may carry, tools' included"
    )
    cache_tools: bool = Field(description="true: the tool definitions can be cached")
    min_cacheable_tokens: int = Field(
        ge=0, description="a cached prefix shorter than this is not cached (no error)"
    )


class Pricing(WireModel):
    """USD per million tokens."""

    input_per_m_tok: float = Field(alias="inputPerMTok")
    output_per_m_tok: float = Field(alias="outputPerMTok")
    cache_read_per_m_tok: float | None = Field(default=None, alias="cacheReadPerMTok")
    cache_write_per_m_tok: float | None = Field(default=None, alias="cacheWritePerMTok")
    cache_write_1h_per_m_tok: float | None = Field(
        default=None,
        alias="cacheWrite1hPerMTok",
        description="writes cached for one hour, where they cost more than 5-minute writes",
    )


class ModelInfo(WireModel):
    id: str
    provider: str
    name: str
    context_window: int
    max_input_tokens: int | None = Field(
        default=None, description="a separate input limit; null: the context window bounds input"
    )
    max_output_tokens: int | None = None
    capabilities: Capabilities = Field(default_factory=Capabilities)
    pricing: Pricing | None = None
    cache_configuration: CacheConfiguration | None = Field(
        default=None, description="null: the model takes no explicit cache anchors"
    )
    is_default: bool = False
    is_default_fast: bool = False
    available: bool = False
    source: ModelSource = "catalog"

    nullable_on_wire = ("max_input_tokens", "max_output_tokens", "pricing")


class ModelsParams(Params):
    provider: str | None = None
    refresh: bool = False


class ModelsResult(WireModel):
    models: list[ModelInfo]


class ProviderAuth(WireModel):
    methods: list[AuthMethod]
    status: AuthStatus
    account: str | None = None
    source: str | None = Field(
        default=None, description="where the credential came from, e.g. env:OPENAI_API_KEY"
    )


class ProviderInfo(WireModel):
    id: str
    name: str
    icon: str | None = Field(
        default=None,
        description="an icon id editors map to an image: the provider kind's, e.g. anthropic",
    )
    base_url: str
    auth: ProviderAuth
    version: str | None = Field(
        default=None,
        description="the version of the code that translates for it: a plugin's own version,"
        " else the server's",
    )
    features: list[str] = Field(
        default_factory=list,
        description="what it can do: chat, streaming, tools, images, thinking, fim",
    )


class ProvidersParams(Params):
    pass


class ProvidersResult(WireModel):
    providers: list[ProviderInfo]
