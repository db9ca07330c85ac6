"""The arguments of the `switchboard.rewrite` command that Switchboard's code actions carry."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Params
from .tokens import TextRange

RewriteAction = Literal["explain", "simplify", "fix", "edit"]


class RewriteArguments(Params):
    uri: str = Field(min_length=1)
    range: TextRange
    action: RewriteAction
    version: int | None = Field(
        default=None, description="the document version the range belongs to"
    )
    problems: list[str] | None = Field(
        default=None, description="for fix: the diagnostics' messages"
    )
    instruction: str | None = Field(
        default=None,
        min_length=1,
        max_length=8000,
        description="for edit: what to change, in the user's words (an editor's inline chat)",
    )

    @model_validator(mode="after")
    def _range_in_order(self) -> RewriteArguments:
        start, end = self.range.start, self.range.end
        if (end.line, end.character) < (start.line, start.character):
            raise ValueError("range: end before start")
        if self.action == "edit" and not (self.instruction or "").strip():
            raise ValueError("instruction: the edit action needs one")
        return self
