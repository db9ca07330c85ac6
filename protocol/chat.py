"""The normalized chat types: what every provider is translated to and from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

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
    width: int | None = Field(default=None, gt=0, description="in pixels, when known")
    height: int | None = Field(default=None, gt=0, description="in pixels, when known")
    detail: Literal["low", "high", "auto"] | None = Field(
        default=None, description="the resolution the model sees it at (OpenAI Chat, Responses)"
    )

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
    input: dict[str, Any] | None = Field(
        default_factory=dict, description="null: the model's input was not a JSON object"
    )
    raw_input: str | None = Field(
        default=None, description="the input as the model wrote it, when it did not parse"
    )
    parse_error: str | None = Field(default=None, description="why the raw input did not parse")
    provider_data: dict[str, Any] | None = Field(
        default=None,
        description="opaque provider state that must travel back on the next turn",
    )

    nullable_on_wire = ("input",)

    def input_or_empty(self) -> dict[str, Any]:
        """The input to send back to a provider: an unparsed one goes as an empty object."""
        return self.input if self.input is not None else {}


class ToolResultPart(WireModel):
    type: Literal["toolResult"] = "toolResult"
    tool_use_id: str
    tool_name: str | None = Field(default=None, description="the name of the tool that ran")
    content: str | list[TextPart | ImagePart] = ""
    is_error: bool | None = None
    execution_time_ms: int | None = Field(
        default=None, ge=0, description="how long the tool ran; kept, never sent to a provider"
    )
    error_code: str | None = Field(
        default=None,
        min_length=1,
        description="a failed tool's own code (with isError); kept, never sent to a provider",
    )

    @model_validator(mode="after")
    def _error_code_on_failures(self) -> ToolResultPart:
        if self.error_code is not None and self.is_error is not True:
            raise ValueError("errorCode is for a failed tool: set isError to true")
        return self


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
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the participant's name, sent where the API has one (OpenAI Chat)",
    )

    @model_validator(mode="before")
    @classmethod
    def _null_assistant_content_is_empty(cls, data: Any) -> Any:
        """An assistant turn with `content: null` (OpenAI's form of a turn that only
        called tools) is an empty turn, not an error."""
        assistant = isinstance(data, dict) and data.get("role") == "assistant"
        if assistant and data.get("content") is None:
            return {**data, "content": ""}
        return data

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
    max_cost_usd: float | None = Field(
        default=None,
        ge=0,
        description="refuse (costLimitExceeded) a request whose worst-case cost, its input "
        "plus its longest answer at catalog prices, is more than this many USD",
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="seconds the whole request may take, retries and waits included",
    )
    partial_result_token: ProgressToken | None = None
    work_done_token: ProgressToken | None = None

    def has_images(self) -> bool:
        """Whether any message carries an image, in a tool's result included."""
        for message in self.messages:
            for part in message.parts():
                if isinstance(part, ImagePart):
                    return True
                inner = part.content if isinstance(part, ToolResultPart) else ""
                if not isinstance(inner, str) and any(isinstance(p, ImagePart) for p in inner):
                    return True
        return False


# ---- events -----------------------------------------------------------------


class Usage(WireModel):
    """Normalized usage: input_tokens counts all input, cache reads and writes included."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_creation_one_hour_input_tokens: int | None = Field(
        default=None,
        description="the part of cacheCreationInputTokens cached for one hour, when reported",
    )
    reasoning_tokens: int | None = Field(
        default=None, description="the part of outputTokens spent thinking, when reported"
    )
    reported_cost_usd: float | None = Field(
        default=None, description="what the provider says the request cost (OpenRouter, xAI)"
    )
    estimated: bool | None = Field(
        default=None, description="true when counted locally: the provider reported no usage"
    )
    total_tokens: int | None = Field(
        default=None, description="inputTokens + outputTokens; in a chat's result"
    )

    def with_total(self) -> Usage:
        return self.model_copy(update={"total_tokens": self.input_tokens + self.output_tokens})


StopReason = Literal[
    "endTurn", "maxTokens", "toolUse", "stopSequence", "refusal", "contentFilter", "error", "other"
]


class StartedEvent(WireModel):
    type: Literal["started"] = "started"
    id: str
    model: str


# The events a stream carries one per chunk are slotted dataclasses, not pydantic
# models: built once by the decoder and turned into their JSON dict in one step.
# pydantic still validates and describes them inside ChatEvent.
_HOT_EVENT = ConfigDict(populate_by_name=True)


@dataclass(slots=True)
class TextEvent:
    text: str
    type: Literal["text"] = "text"

    __pydantic_config__: ClassVar[ConfigDict] = _HOT_EVENT

    def to_wire(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass(slots=True)
class ThinkingEvent:
    text: str
    signature: str | None = None
    type: Literal["thinking"] = "thinking"

    __pydantic_config__: ClassVar[ConfigDict] = _HOT_EVENT

    def to_wire(self) -> dict[str, Any]:
        if self.signature is None:
            return {"type": "thinking", "text": self.text}
        return {"type": "thinking", "text": self.text, "signature": self.signature}


class RedactedThinkingEvent(WireModel):
    type: Literal["redactedThinking"] = "redactedThinking"
    data: str


class ReasoningDetailsEvent(WireModel):
    """A turn's structured reasoning (OpenRouter's `reasoning_details`), whole, once the
    thinking ends; the thinking part's signature carries the same array back."""

    type: Literal["reasoningDetails"] = "reasoningDetails"
    details: list[dict[str, Any]]


class ToolUseStartEvent(WireModel):
    type: Literal["toolUseStart"] = "toolUseStart"
    id: str
    name: str


@dataclass(slots=True)
class ToolUseDeltaEvent:
    id: str
    input_json: Annotated[str, Field(alias="inputJson")]
    type: Literal["toolUseDelta"] = "toolUseDelta"

    __pydantic_config__: ClassVar[ConfigDict] = _HOT_EVENT

    def to_wire(self) -> dict[str, Any]:
        return {"type": "toolUseDelta", "id": self.id, "inputJson": self.input_json}


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
    """Every connection the provider may open (its `max_connections`) is busy, or the
    provider asked to be left alone for `retryAfterMs` (a 429's Retry-After): the request
    waits its turn, `position` 1 being next."""

    type: Literal["queued"] = "queued"
    provider: str
    position: int
    limit: int
    retry_after_ms: int | None = None


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
    | ReasoningDetailsEvent
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
    provider_id: str | None = Field(
        default=None, description="the provider's own id of the answer (its message id)"
    )
    timestamp: str | None = Field(default=None, description="when the answer began, ISO 8601 UTC")
    provider_metadata: dict[str, Any] | None = Field(
        default=None, description="what else the provider said about the answer, as it said it"
    )

    nullable_on_wire = ("cost",)

    @model_validator(mode="after")
    def _usage_total(self) -> ChatResult:
        if self.usage.total_tokens is None:
            self.usage = self.usage.with_total()
        return self
