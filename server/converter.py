"""pygls' converter, except that untyped params and results stay plain JSON dicts.

pygls turns untyped params into namedtuples, which renames keys such as
`$schema` inside a tool's JSON Schema; Switchboard validates the raw dict
with its own pydantic models instead.
"""

from __future__ import annotations

from typing import Any

from cattrs import Converter
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    default_converter,
)


def _keep_as_is(obj: dict[str, Any], cls: type[Any]) -> Any:
    return cls(**obj)


def make_converter() -> Converter:
    converter = default_converter()
    for message in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        converter.register_structure_hook(message, _keep_as_is)
    return converter
