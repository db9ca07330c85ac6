"""The packaged JSON Schema matches the pydantic models, and the models speak camelCase."""

from __future__ import annotations

import json

from switchboard.protocol import schema
from switchboard.protocol.chat import ChatParams, ChatResult, TextPart, Usage
from switchboard.protocol.methods import REQUESTS


def test_packaged_schema_is_current() -> None:
    packaged = json.loads(schema.SCHEMA_PATH.read_text())
    assert packaged == json.loads(schema.render()), (
        "protocol/schema.json is stale: "
        "run python -m switchboard.protocol.schema protocol/schema.json"
    )


def test_every_request_is_in_the_schema() -> None:
    methods = schema.build_schema()["methods"]
    for method in REQUESTS:
        assert method.name in methods
    chat = methods["switchboard/chat"]
    assert "partialResultToken" in chat["params"]["properties"]
    assert "partialResult" in chat


def test_wire_is_camel_case_and_unknown_prices_are_null() -> None:
    params = ChatParams.model_validate(
        {"messages": [{"role": "user", "content": "x"}], "maxTokens": 5, "stopSequences": ["\n"]}
    )
    assert params.max_tokens == 5 and params.stop_sequences == ["\n"]
    result = ChatResult(
        id="1", model="m/x", content=[TextPart(text="hi")], stop_reason="endTurn", usage=Usage()
    )
    wire = result.to_wire()
    assert wire["stopReason"] == "endTurn"
    assert "cost" in wire and wire["cost"] is None
