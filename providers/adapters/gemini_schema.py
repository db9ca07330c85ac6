"""Tool input schemas rewritten into the JSON Schema subset Gemini accepts.

Gemini's function declarations take an OpenAPI-style Schema: type, format,
description, nullable, enum, items, properties, required, anyOf, numeric and
length bounds, pattern, title, propertyOrdering. Anything else makes the
request fail, so a client's full JSON Schema is rewritten here: `$ref`s are
inlined (a cycle ends in a plain object), type lists become a type plus
`nullable`, `const` becomes a one-value enum, `oneOf` becomes `anyOf`,
`allOf` branches are merged, and unknown keywords are dropped. It never
raises: a schema it cannot make sense of becomes a plain object.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

MAX_DEPTH = 40
SCALAR_KEYS = frozenset(
    {
        "title",
        "description",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minProperties",
        "maxProperties",
        "pattern",
    }
)
FORMATS = {
    "string": frozenset({"enum", "date-time"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}
TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})


def gemini_parameters(schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A tool's `parameters`, or None when it takes no arguments (Gemini rejects empty objects)."""
    simplified = simplify_schema(schema or {})
    if simplified.get("type", "object") == "object" and not simplified.get("properties"):
        return None
    return simplified


def simplify_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return _Simplifier(schema).convert(schema, depth=0, seen=())
    except (RecursionError, TypeError, ValueError, AttributeError) as error:
        log.debug("gemini: tool schema replaced by a plain object: %s", error)
        return {"type": "object"}


class _Simplifier:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self._root = root

    def convert(self, node: Any, depth: int, seen: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(node, Mapping) or depth > MAX_DEPTH:
            return {}
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return _described({"type": "object"}, node)
            target = self._resolve(ref)
            if target is None:
                return _described({"type": "object"}, node)
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return self.convert(merged, depth + 1, (*seen, ref))
        if isinstance(node.get("allOf"), list):
            return self.convert(_merge_all_of(node), depth + 1, seen)
        branches = _branches(node)
        if branches is not None:
            return self._union(node, branches, depth, seen)
        return self._plain(node, depth, seen)

    def _resolve(self, ref: str) -> Mapping[str, Any] | None:
        if not ref.startswith("#"):
            return None
        target: Any = self._root
        for token in ref[1:].split("/"):
            if not token:
                continue
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or token not in target:
                return None
            target = target[token]
        return target if isinstance(target, Mapping) else None

    def _union(
        self, node: Mapping[str, Any], branches: list[Any], depth: int, seen: tuple[str, ...]
    ) -> dict[str, Any]:
        nullable = any(_is_null(branch) for branch in branches)
        kept = [
            self.convert(branch, depth + 1, seen) for branch in branches if not _is_null(branch)
        ]
        outer = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
        if len(kept) == 1:
            result = {**self._plain(outer, depth, seen), **kept[0]}
            if outer.get("description"):
                result["description"] = outer["description"]
        else:
            result = self._plain({k: v for k, v in outer.items() if k != "type"}, depth, seen)
            result.pop("type", None)
            if kept:
                result["anyOf"] = kept
        if nullable:
            result["nullable"] = True
        return result

    def _plain(self, node: Mapping[str, Any], depth: int, seen: tuple[str, ...]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        kind, nullable, others = _type_of(node)
        if others:
            # Several non-null types: Gemini has no type list, but anyOf says the same.
            inner = {k: v for k, v in node.items() if k not in ("description", "nullable")}
            variants = [self._plain({**inner, "type": other}, depth + 1, seen) for other in others]
            union: dict[str, Any] = {"anyOf": variants}
            if isinstance(node.get("description"), str):
                union["description"] = node["description"]
            if nullable:
                union["nullable"] = True
            return union
        if kind:
            result["type"] = kind
        if nullable:
            result["nullable"] = True
        for key in SCALAR_KEYS:
            value = node.get(key)
            if key in ("title", "description", "pattern"):
                if isinstance(value, str):
                    result[key] = value
            elif isinstance(value, int | float) and not isinstance(value, bool):
                result[key] = value
        _enum(node, result)
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt in FORMATS.get(result.get("type", ""), ()):
            result["format"] = fmt
        if result.get("type") == "array" or "items" in node:
            items = node.get("items")
            if isinstance(items, list):
                items = {"anyOf": items} if len(items) > 1 else (items[0] if items else {})
            converted = self.convert(items, depth + 1, seen) if isinstance(items, Mapping) else {}
            result.setdefault("type", "array")
            if converted:
                result["items"] = converted
        properties = node.get("properties")
        if isinstance(properties, Mapping):
            result.setdefault("type", "object")
            converted_properties = {
                str(name): self.convert(value, depth + 1, seen)
                for name, value in properties.items()
            }
            if converted_properties:
                result["properties"] = converted_properties
                required = node.get("required")
                if isinstance(required, list):
                    kept = [n for n in required if isinstance(n, str) and n in converted_properties]
                    if kept:
                        result["required"] = kept
        return result


def _branches(node: Mapping[str, Any]) -> list[Any] | None:
    for key in ("anyOf", "oneOf"):
        value = node.get(key)
        if isinstance(value, list) and value:
            return value
    return None


def _merge_all_of(node: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    properties: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[Any] = list(merged.get("required") or [])
    for branch in node.get("allOf") or []:
        if not isinstance(branch, Mapping):
            continue
        for key, value in branch.items():
            if key == "properties" and isinstance(value, Mapping):
                properties.update(value)
            elif key == "required" and isinstance(value, list):
                required.extend(n for n in value if n not in required)
            else:
                merged.setdefault(key, value)
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


def _type_of(node: Mapping[str, Any]) -> tuple[str | None, bool, list[str]]:
    """(the one type, nullable, the other types when there are several)."""
    raw = node.get("type")
    names = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []
    names = [name.lower() for name in names if isinstance(name, str)]
    nullable = "null" in names or node.get("nullable") is True
    kinds = [name for name in names if name in TYPES]
    if not kinds:
        if "const" in node and isinstance(node["const"], str):
            return "string", nullable, []
        if names == ["null"]:
            return "string", True, []
        return None, nullable, []
    if len(kinds) > 1:
        return None, nullable, kinds
    return kinds[0], nullable, []


def _enum(node: Mapping[str, Any], result: dict[str, Any]) -> None:
    """Gemini's enum is a list of strings: `const` and non-string values become text."""
    values: list[Any] | None = None
    if isinstance(node.get("enum"), list):
        values = list(node["enum"])
    elif "const" in node:
        values = [node["const"]]
    if not values:
        return
    if None in values:
        result["nullable"] = True
        values = [value for value in values if value is not None]
    if not values:
        return
    if all(isinstance(value, str) for value in values):
        result["enum"] = values
        result.setdefault("type", "string")
        if result["type"] != "string":
            result["type"] = "string"
        return
    listed = ", ".join(str(value) for value in values)
    note = f"one of: {listed}"
    result["description"] = f"{result['description']} ({note})" if "description" in result else note


def _is_null(branch: Any) -> bool:
    return isinstance(branch, Mapping) and branch.get("type") == "null"


def _described(result: dict[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(node.get("description"), str):
        result["description"] = node["description"]
    return result
