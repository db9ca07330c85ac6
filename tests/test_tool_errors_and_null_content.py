"""Failed tool results reach OpenAI-style APIs as failures; null assistant content is empty.

OpenAI's Chat and Responses APIs have no error flag on a tool result, so a result with
`isError` is sent with a leading "Error: " the model reads. Every compat provider that
goes through the Chat translator (Mistral, DeepSeek, xAI, OpenRouter, Azure, Copilot,
local servers) sends the same.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import ChatParams, Message
from switchboard.providers.adapters import adapter_for
from switchboard.providers.base import Credential, ModelTarget, ProviderSettings

KEY = Credential("sk-test-abcdefghijklmnopqrstuvwxyz012345", "test")
OPTIONS: dict[str, dict[str, Any]] = {
    "azure": {"api_version": "2024-10-21"},
}
CHAT_KINDS = ["openai", "mistral", "deepseek", "xai", "openrouter", "azure", "copilot"]


def target(provider: str, model: str) -> ModelTarget:
    info = ModelInfo(id=f"{provider}/{model}", provider=provider, name=model, context_window=128000)
    return ModelTarget(provider, model, info)


def tool_turn(result: dict[str, Any]) -> ChatParams:
    call = {"type": "toolUse", "id": "call_1", "name": "read_file", "input": {"path": "a"}}
    return ChatParams.model_validate(
        {
            "messages": [
                {"role": "user", "content": "read a"},
                {"role": "assistant", "content": [call]},
                {
                    "role": "user",
                    "content": [{"type": "toolResult", "toolUseId": "call_1", **result}],
                },
            ]
        }
    )


def sent_body(kind: str, params: ChatParams, api: str | None = None) -> dict[str, Any]:
    adapter = adapter_for(kind, api)
    settings = ProviderSettings(
        id=kind, kind=kind, base_url="https://host.example/v1", options=OPTIONS.get(kind, {})
    )
    request = adapter.build_request(params, target(kind, "some-model"), settings, KEY)
    body: dict[str, Any] = json.loads(request.body())
    return body


def tool_message(body: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in body["messages"] if m.get("role") == "tool")


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_a_failed_tool_result_reads_as_an_error_on_every_chat_api(kind: str) -> None:
    failed = tool_turn({"content": "no such file", "isError": True})
    assert tool_message(sent_body(kind, failed))["content"] == "Error: no such file"
    succeeded = tool_turn({"content": "no such file"})
    assert tool_message(sent_body(kind, succeeded))["content"] == "no such file"


def test_a_result_that_already_says_error_is_not_marked_twice() -> None:
    failed = tool_turn({"content": "error: denied", "isError": True})
    assert tool_message(sent_body("openai", failed))["content"] == "error: denied"


def test_a_failed_text_list_result_is_joined_then_marked() -> None:
    parts = [{"type": "text", "text": "exit "}, {"type": "text", "text": "1"}]
    failed = tool_turn({"content": parts, "isError": True})
    assert tool_message(sent_body("mistral", failed))["content"] == "Error: exit 1"


def function_output(body: dict[str, Any]) -> Any:
    item = next(i for i in body["input"] if i.get("type") == "function_call_output")
    return item["output"]


def test_the_responses_api_marks_a_failed_result_too() -> None:
    failed = tool_turn({"content": "timed out", "isError": True})
    assert function_output(sent_body("openai", failed, "responses")) == "Error: timed out"
    fine = tool_turn({"content": "done"})
    assert function_output(sent_body("openai", fine, "responses")) == "done"


def test_the_responses_api_marks_a_failed_result_with_an_image() -> None:
    parts = [
        {"type": "text", "text": "crashed here"},
        {"type": "image", "mediaType": "image/png", "data": "AAAA"},
    ]
    output = function_output(
        sent_body("openai", tool_turn({"content": parts, "isError": True}), "responses")
    )
    assert output[0] == {"type": "input_text", "text": "Error:"}
    assert output[1] == {"type": "input_text", "text": "crashed here"}
    assert output[2]["type"] == "input_image"


# ---- null assistant content -------------------------------------------------------------


def test_null_or_missing_assistant_content_is_an_empty_turn() -> None:
    assert Message.model_validate({"role": "assistant", "content": None}).content == ""
    assert Message.model_validate({"role": "assistant"}).content == ""
    assert Message.model_validate({"role": "assistant", "content": None}).parts() == []


def test_null_content_stays_an_error_for_other_roles() -> None:
    with pytest.raises(ValidationError):
        Message.model_validate({"role": "user", "content": None})


def test_a_conversation_with_null_assistant_content_is_sent() -> None:
    params = ChatParams.model_validate(
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": None},
                {"role": "user", "content": "again"},
            ]
        }
    )
    messages = sent_body("openai", params)["messages"]
    assert messages[1] == {"role": "assistant", "content": ""}
    assert messages[2] == {"role": "user", "content": "again"}
