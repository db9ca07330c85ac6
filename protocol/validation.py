"""Turn raw JSON params into models, with errors that name the field."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import ValidationError

from .base import WireModel

_NAMED_IN_MESSAGE = re.compile(r"([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*): ")

M = TypeVar("M", bound=WireModel)


class InvalidParams(ValueError):
    """Params that do not fit the method; the message names the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


_TYPE_LABELS = {"str", "int", "float", "bool", "dict", "list", "none", "json-or-python"}


def _union_tags() -> frozenset[str]:
    """Discriminator values of tagged unions; pydantic puts them in error locations."""
    tags: set[str] = set()
    stack = list(WireModel.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        field = cls.model_fields.get("type")
        if field is not None and isinstance(field.default, str):
            tags.add(field.default)
    return frozenset(tags)


def _field_path(loc: tuple[int | str, ...], tags: frozenset[str]) -> list[str]:
    parts: list[str] = []
    previous_was_index = False
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
            previous_was_index = True
            continue
        is_label = (
            "[" in part
            or part in _TYPE_LABELS
            or part[:1].isupper()
            or (previous_was_index and part in tags)
        )
        previous_was_index = False
        if not is_label:
            parts.append(part)
    return parts


def _render(parts: list[str]) -> str:
    text = ""
    for part in parts:
        text += part if part.startswith("[") or not text else f".{part}"
    return text


def parse_params(model: type[M], raw: Any) -> M:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidParams("params must be an object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        tags = _union_tags()
        errors = exc.errors(include_url=False, include_input=False)
        # The deepest error is the most specific one (unions report every branch).
        best = max(errors, key=lambda e: len(_field_path(tuple(e["loc"]), tags)))
        path = _render(_field_path(tuple(best["loc"]), tags))
        message = best["msg"].removeprefix("Value error, ")
        if best["type"] == "extra_forbidden":
            message = "unknown field"
        named = _NAMED_IN_MESSAGE.match(message)
        if named and best["type"] == "value_error":
            # A check across fields (a model validator) names its field first: "range: ...".
            prefix = named.group(1)
            path = f"{path}.{prefix}" if path else prefix
            message = message[named.end() :]
        where = path or "params"
        raise InvalidParams(f"invalid params: {where}: {message}", field=path or None) from None
