"""Tool schemas rewritten into the subset Gemini's function declarations accept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from switchboard.providers.adapters.gemini_schema import gemini_parameters, simplify_schema

ALLOWED = {
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "items",
    "properties",
    "required",
    "anyOf",
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


def keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in a schema (property names excluded)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for child in value.values():
                    found |= keywords(child)
            elif key in ("items",):
                found |= keywords(value)
            elif key == "anyOf":
                for child in value:
                    found |= keywords(child)
    return found


def test_drops_what_gemini_rejects_and_keeps_the_rest() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "urn:tool",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "city": {"type": "string", "description": "City", "default": "Paris", "minLength": 1},
            "days": {"type": "integer", "minimum": 1, "maximum": 14, "examples": [3]},
            "when": {"type": "string", "format": "date-time"},
            "email": {"type": "string", "format": "email"},
            "ratio": {"type": "number", "format": "double", "exclusiveMinimum": 0},
        },
        "required": ["city", "ghost"],
    }
    result = simplify_schema(schema)
    assert keywords(result) <= ALLOWED
    assert result["required"] == ["city"]
    assert result["properties"]["city"] == {"type": "string", "description": "City", "minLength": 1}
    assert result["properties"]["days"] == {"type": "integer", "minimum": 1, "maximum": 14}
    assert result["properties"]["when"]["format"] == "date-time"
    assert "format" not in result["properties"]["email"]
    assert result["properties"]["ratio"] == {"type": "number", "format": "double"}


def test_type_lists_become_a_type_and_nullable() -> None:
    result = simplify_schema({"type": "object", "properties": {"x": {"type": ["string", "null"]}}})
    assert result["properties"]["x"] == {"type": "string", "nullable": True}


def test_several_types_become_any_of() -> None:
    result = simplify_schema({"type": ["string", "integer", "null"], "description": "id"})
    assert result == {
        "anyOf": [{"type": "string"}, {"type": "integer"}],
        "description": "id",
        "nullable": True,
    }


def test_const_becomes_a_one_value_enum() -> None:
    assert simplify_schema({"const": "fixed"}) == {"type": "string", "enum": ["fixed"]}


def test_non_string_enums_move_into_the_description() -> None:
    result = simplify_schema({"type": "integer", "enum": [1, 2, 3], "description": "level"})
    assert result == {"type": "integer", "description": "level (one of: 1, 2, 3)"}


def test_enum_with_null_is_nullable() -> None:
    assert simplify_schema({"enum": ["a", "b", None]}) == {
        "type": "string",
        "enum": ["a", "b"],
        "nullable": True,
    }


def test_optional_any_of_collapses_to_nullable() -> None:
    schema = {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}], "description": "d"}
    assert simplify_schema(schema) == {
        "type": "string",
        "maxLength": 5,
        "description": "d",
        "nullable": True,
    }


def test_one_of_becomes_any_of() -> None:
    schema = {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"a": {}}}]}
    result = simplify_schema(schema)
    assert result == {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"a": {}}}]}


def test_refs_are_inlined_and_cycles_end_in_a_plain_object() -> None:
    schema = {
        "type": "object",
        "$defs": {
            "Point": {"type": "object", "properties": {"x": {"type": "number"}}},
            "Node": {
                "type": "object",
                "properties": {"child": {"$ref": "#/$defs/Node"}, "name": {"type": "string"}},
            },
        },
        "properties": {
            "at": {"$ref": "#/$defs/Point", "description": "where"},
            "tree": {"$ref": "#/$defs/Node"},
            "lost": {"$ref": "#/$defs/Missing"},
            "remote": {"$ref": "https://example.com/schema.json"},
        },
    }
    result = simplify_schema(schema)
    assert "$defs" not in result
    assert result["properties"]["at"] == {
        "type": "object",
        "description": "where",
        "properties": {"x": {"type": "number"}},
    }
    tree = result["properties"]["tree"]
    assert tree["properties"]["name"] == {"type": "string"}
    assert tree["properties"]["child"] == {"type": "object"}
    assert result["properties"]["lost"] == {"type": "object"}
    assert result["properties"]["remote"] == {"type": "object"}
    assert "$ref" not in json.dumps(result)


def test_all_of_branches_are_merged() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
        ]
    }
    result = simplify_schema(schema)
    assert result["type"] == "object"
    assert set(result["properties"]) == {"a", "b"}
    assert result["required"] == ["a", "b"]


def test_arrays_keep_items_and_tuple_items_become_any_of() -> None:
    assert simplify_schema({"type": "array", "items": {"type": "string"}, "maxItems": 3}) == {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": 3,
    }
    result = simplify_schema({"type": "array", "items": [{"type": "string"}, {"type": "integer"}]})
    assert result["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}


def test_a_tool_without_arguments_has_no_parameters() -> None:
    assert gemini_parameters({"type": "object", "properties": {}}) is None
    assert gemini_parameters({"type": "object", "additionalProperties": False}) is None
    assert gemini_parameters(None) is None
    assert gemini_parameters({"type": "object", "properties": {"q": {"type": "string"}}}) == {
        "type": "object",
        "properties": {"q": {"type": "string"}},
    }


@pytest.mark.parametrize(
    "schema",
    [
        {"type": 42, "properties": "nope", "required": "x", "items": 7},
        {"anyOf": "not a list", "enum": "x"},
        {"properties": {"a": {"$ref": 3}}, "required": [1, None]},
        {"$ref": "#/definitions/a", "definitions": {"a": {"$ref": "#/definitions/a"}}},
        {"type": ["null"]},
        {"allOf": [1, "two", {"type": "string"}]},
    ],
)
def test_malformed_schemas_never_raise(schema: dict[str, Any]) -> None:
    result = simplify_schema(schema)
    assert isinstance(result, dict)
    json.dumps(result)


def test_a_deeply_nested_schema_is_cut_off_not_crashed() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(5000):
        schema = {"type": "object", "properties": {"n": schema}}
    result = simplify_schema(schema)
    assert result["type"] == "object"
