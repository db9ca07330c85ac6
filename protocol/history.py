"""`switchboard/history`: the journal's calls, newest first, or one call with its events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from .base import Params, WireModel
from .chat import ChatEvent, Cost, Usage
from .errors import ErrorData

PAGE_FIELDS = ("limit", "before", "status")
CallStatus = Literal["running", "completed", "failed", "cancelled", "interrupted"]


class HistoryParams(Params):
    """Either a page of calls (`limit`, `before`, `status`) or one call (`id`)."""

    limit: int | None = Field(default=None, ge=1, le=1000)
    before: datetime | None = Field(
        default=None, description="only calls started before this time (a page's last startedAt)"
    )
    status: CallStatus | None = None
    id: str | None = Field(default=None, min_length=1, description="one call, with its events")

    @field_validator("id")
    @classmethod
    def _one_call_or_a_page(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and any(info.data.get(k) is not None for k in PAGE_FIELDS):
            raise ValueError("id asks for one call: it takes no limit, before or status")
        return value


class CallHead(WireModel):
    """What every listing of a call says of it."""

    id: str
    model: str
    status: CallStatus
    started_at: datetime
    duration_ms: int
    usage: Usage | None = None
    cost: Cost | None = None

    nullable_on_wire = ("usage", "cost")


class CallSummary(CallHead):
    text_preview: str = ""


class CallDetail(CallHead):
    events: list[ChatEvent]
    error: ErrorData | None = None


class HistoryResult(WireModel):
    """`calls` for a page, `call` for one id."""

    calls: list[CallSummary] | None = None
    call: CallDetail | None = None
