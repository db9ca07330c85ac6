"""The normalized chat types: what every provider is translated to and from."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .base import Params, WireModel

ProgressToken = int | str


# ---- content ----------------------------------------------------------------


class TextPart(WireModel):
    type: Literal["text"] = "text"
    text: str


class ImagePart(WireModel):
    type: Literal["image"] = "image"
    media_type: str | None = None
    data: str | None = Field(default=None, description="base64, without a data: prefix")
    url: str | None = None

    @model_validator(mode="after")
    def _data_or_url(self) -> ImagePart:
        if (self.data is None) == (self.url is None):
            raise ValueError("an image needs exactly one of data or url")
        if self.data is not None and not self.media_type:
            raise ValueError("an image with data needs mediaType")
        return self


class ToolUsePart(WireModel):
    type: Literal["toolUse"] = "toolUse"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    provider_data: dict[str, Any] | None = Field(
        default=None,
        description="opaque provider state that must travel back on the next turn",
    )


class ToolResultPart(WireModel):
    type: Literal["toolResult"] = "toolResult"
    tool_use_id: str
    content: str | list[TextPart | ImagePart] = ""
    is_error: bool | None = None


class ThinkingPart(WireModel):
    type: Literal["thinking"] = "thinking"
    text: str
    signature: str | None = None


class RedactedThinkingPart(WireModel):
    type: Literal["redactedThinking"] = "redactedThinking"
    data: str


ContentPart = Annotated[
    TextPart | ImagePart | ToolUsePart | ToolResultPart | ThinkingPart | RedactedThinkingPart,
    Field(discriminator="type"),
]

Role = Literal["system", "user", "assistant", "tool"]


class Message(WireModel):
    role: Role
    content: str | list[ContentPart]
    cache: bool | None = None

    def parts(self) -> list[Any]:
        """The content as a list of parts (a plain string becomes one text part)."""
        if isinstance(self.content, str):
            return [TextPart(text=self.content)] if self.content else []
        return list(self.content)


# ---- request ----------------------------------------------------------------


class ToolSpec(WireModel):
    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


class NamedToolChoice(WireModel):
    name: str


ToolChoice = Literal["auto", "any", "none"] | NamedToolChoice


class ThinkingConfig(WireModel):
    budget_tokens: int = Field(ge=0)


class ChatParams(Params):
    """`switchboard/chat` params."""

    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    system: str | None = None
    tools: list[ToolSpec] | None = None
    tool_choice: ToolChoice | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    stop_sequences: list[str] | None = None
    thinking: ThinkingConfig | None = None
    request_id: str | None = None
    resume: bool | None = Field(
        default=None,
        description="false: a requestId whose call was interrupted starts afresh, not resumed",
    )
    provider_options: dict[str, Any] | None = None
    partial_result_token: ProgressToken | None = None
    work_done_token: ProgressToken | None = None


# ---- events -----------------------------------------------------------------


class Usage(WireModel):
    """Normalized usage: input_tokens counts all input, cache reads and writes included."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_tokens: int | None = Field(
        default=None, description="the part of outputTokens spent thinking, when reported"
    )
    reported_cost_usd: float | None = Field(
        default=None, description="what the provider says the request cost (OpenRouter, xAI)"
    )
    estimated: bool | None = Field(
        default=None, description="true when counted locally: the provider reported no usage"
    )


StopReason = Literal[
    "endTurn", "maxTokens", "toolUse", "stopSequence", "refusal", "contentFilter", "error"
]


class StartedEvent(WireModel):
    type: Literal["started"] = "started"
    id: str
    model: str


class TextEvent(WireModel):
    type: Literal["text"] = "text"
    text: str


class ThinkingEvent(WireModel):
    type: Literal["thinking"] = "thinking"
    text: str
    signature: str | None = None


class RedactedThinkingEvent(WireModel):
    type: Literal["redactedThinking"] = "redactedThinking"
    data: str


class ToolUseStartEvent(WireModel):
    type: Literal["toolUseStart"] = "toolUseStart"
    id: str
    name: str


class ToolUseDeltaEvent(WireModel):
    type: Literal["toolUseDelta"] = "toolUseDelta"
    id: str
    input_json: str


class ToolUseEvent(WireModel):
    type: Literal["toolUse"] = "toolUse"
    id: str
    name: str
    input: dict[str, Any]
    provider_data: dict[str, Any] | None = None


class ToolUseJsonParseErrorEvent(WireModel):
    type: Literal["toolUseJsonParseError"] = "toolUseJsonParseError"
    id: str
    name: str
    raw_input: str
    error: str


class UsageEvent(Usage):
    """Cumulative normalized usage so far; the last one of a stream is the request's."""

    type: Literal["usage"] = "usage"

    def as_usage(self) -> Usage:
        return Usage.model_validate(self.model_dump(exclude={"type"}))


class RetryEvent(WireModel):
    type: Literal["retry"] = "retry"
    attempt: int
    delay_ms: int
    reason: str


class QueuedEvent(WireModel):
    """Every connection the provider may open (its `max_connections`) is busy: the
    request waits for one to free up, `position` 1 being next."""

    type: Literal["queued"] = "queued"
    provider: str
    position: int
    limit: int


class StopEvent(WireModel):
    type: Literal["stop"] = "stop"
    reason: StopReason


class ErrorEvent(WireModel):
    type: Literal["error"] = "error"
    code: str
    message: str


ChatEvent = Annotated[
    StartedEvent
    | TextEvent
    | ThinkingEvent
    | RedactedThinkingEvent
    | ToolUseStartEvent
    | ToolUseDeltaEvent
    | ToolUseEvent
    | ToolUseJsonParseErrorEvent
    | UsageEvent
    | RetryEvent
    | QueuedEvent
    | StopEvent
    | ErrorEvent,
    Field(discriminator="type"),
]


class ChatProgress(WireModel):
    """`value` of a `$/progress` notification for a chat's partialResultToken."""

    events: list[ChatEvent]


# ---- result -----------------------------------------------------------------


class Cost(WireModel):
    input_usd: float
    output_usd: float
    cache_usd: float | None = None
    total_usd: float
    cost_source: Literal["catalog", "provider"] = "catalog"


class ChatResult(WireModel):
    id: str
    model: str
    content: list[ContentPart]
    stop_reason: StopReason
    usage: Usage
    cost: Cost | None = None
    warnings: list[str] | None = None
    resumed: bool | None = Field(
        default=None, description="true when an interrupted call was continued, not restarted"
    )

    nullable_on_wire = ("cost",)
