"""Base classes shared by every wire model."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A JSON object on the wire: camelCase keys, snake_case attributes."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
    )

    #: fields sent as an explicit null rather than left out (e.g. an unknown price)
    nullable_on_wire: ClassVar[tuple[str, ...]] = ()

    def to_wire(self) -> dict[str, Any]:
        wire = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        for name in self.nullable_on_wire:
            if getattr(self, name) is None:
                wire[to_camel(name)] = None
        # Nested models keep their explicit nulls too (ModelsResult's pricing, usageChanged's cost).
        for name, field in type(self).model_fields.items():
            key = field.alias or name
            value = getattr(self, name)
            if isinstance(value, WireModel) and key in wire:
                wire[key] = value.to_wire()
            elif isinstance(value, list) and key in wire:
                wire[key] = [
                    item.to_wire() if isinstance(item, WireModel) else dumped
                    for item, dumped in zip(value, wire[key], strict=True)
                ]
        return wire


class Params(WireModel):
    """Request params from a client: unknown fields are an error that names them."""

    model_config = ConfigDict(extra="forbid")
