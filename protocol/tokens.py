"""`switchboard/countTokens`."""

from __future__ import annotations

from pydantic import Field, model_validator

from .base import Params, WireModel
from .chat import Message


class TextPosition(WireModel):
    """An LSP Position: 0-based line, and character in the negotiated encoding (UTF-16 units)."""

    line: int = Field(ge=0)
    character: int = Field(ge=0)


class TextRange(WireModel):
    start: TextPosition
    end: TextPosition


class TextDocumentRef(WireModel):
    uri: str
    range: TextRange | None = Field(
        default=None, description="count only this part of the document (an LSP Range)"
    )


class CountTokensParams(Params):
    model: str | None = None
    text: str | None = None
    messages: list[Message] | None = None
    system: str | None = None
    text_document: TextDocumentRef | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> CountTokensParams:
        given = [n for n in ("text", "messages", "text_document") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, messages or textDocument")
        return self


class CountTokensResult(WireModel):
    input_tokens: int
    exact: bool
    method: str
    cost_usd: float | None = Field(
        default=None, description="the input's cost at the model's rates; null when unpriced"
    )
    max_cost_usd: float | None = Field(
        default=None,
        description="the input's cost plus the longest answer the model could write after it",
    )
