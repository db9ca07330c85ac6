"""JSON Schema of the custom methods, for editor extensions and docs.

`python -m switchboard.protocol.schema [OUT]` writes it (default: stdout).
The packaged copy, protocol/schema.json, is checked against this by a test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .methods import NOTIFICATIONS, REQUESTS

SCHEMA_PATH = Path(__file__).with_name("schema.json")


def build_schema() -> dict[str, Any]:
    methods: dict[str, Any] = {}
    for method in (*REQUESTS, *NOTIFICATIONS):
        entry: dict[str, Any] = {
            "kind": "request" if method.result is not None else "notification",
            "params": method.params.model_json_schema(by_alias=True),
        }
        if method.result is not None:
            entry["result"] = method.result.model_json_schema(by_alias=True, mode="serialization")
        if method.progress is not None:
            entry["partialResult"] = method.progress.model_json_schema(
                by_alias=True, mode="serialization"
            )
        methods[method.name] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Switchboard protocol",
        "version": 1,
        "methods": methods,
    }


def render() -> str:
    return json.dumps(build_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args:
        Path(args[0]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
