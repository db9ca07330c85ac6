"""The fields golem:llm and the Plue wrapper ask of a chat: message `name`, image `detail`,
tool-result timing and error codes, the `other` stop reason and the `unknown` error code,
`usage.totalTokens`, the answer's provider id, timestamp and metadata, and the provider's
raw error body (redacted) in error data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from switchboard.protocol.chat import (
    ChatParams,
    ChatResult,
    ImagePart,
    Message,
    StartedEvent,
    StopEvent,
    TextEvent,
    ToolResultPart,
    ToolUsePart,
    Usage,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode, ErrorData
from switchboard.providers.adapters import adapter_for
from switchboard.providers.auth.redact import MASK, register_secret
from switchboard.providers.base import Credential, ModelTarget, ProviderSettings
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine, Continued, error_code
from switchboard.providers.errors import (
    MAX_PROVIDER_ERROR_CHARS,
    ProviderError,
    http_error,
    provider_error_body,
)
from switchboard.providers.wire.accumulator import ChatAccumulator
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.sse import SSEEvent
from switchboard.providers.wire.transport import Transport

from tests.fakes.http import FakeHTTPServer, Reply

ENGINE = ChatEngine(Config())
KEY = Credential("sk-test-abcdefghijklmnopqrstuvwxyz012345", "env:TEST")
CANARY = "canary-7f3a9c1e5b2d4068a1c3e5f7"
PNG = "iVBORw0KGgo="


def target(model_id: str) -> ModelTarget:
    return ENGINE.resolve(model_id)


def request_body(model_id: str, params: ChatParams) -> dict[str, Any]:
    resolved = target(model_id)
    adapter = adapter_for(resolved.provider)
    settings = ProviderSettings(id=resolved.provider, kind=resolved.provider)
    decoded: dict[str, Any] = json.loads(
        adapter.build_request(params, resolved, settings, KEY).body()
    )
    return decoded


def named_conversation() -> ChatParams:
    return ChatParams(
        messages=[
            Message(role="system", content="Be brief.", name="rules"),
            Message(role="user", content="hi", name="alice"),
            Message(
                role="assistant",
                name="helper",
                content=[ToolUsePart(id="call_1", name="look", input={"q": "x"})],
            ),
            Message(
                role="user",
                name="alice",
                content=[
                    ToolResultPart(tool_use_id="call_1", content="found"),
                    ImagePart(media_type="image/png", data=PNG),
                ],
            ),
        ]
    )


# ---- message name ---------------------------------------------------------------


def test_openai_chat_sends_the_name_on_system_user_and_assistant_messages() -> None:
    messages = request_body("openai/gpt-4o", named_conversation())["messages"]
    assert [(m["role"], m.get("name")) for m in messages] == [
        ("system", "rules"),
        ("user", "alice"),
        ("assistant", "helper"),
        ("tool", None),  # a tool message has no name of a participant
        ("user", "alice"),
    ]
    unnamed = request_body(
        "openai/gpt-4o", ChatParams(messages=[Message(role="user", content="x")])
    )
    assert "name" not in unnamed["messages"][0]


@pytest.mark.parametrize(
    "model_id",
    [
        "mistral/mistral-large-latest",
        "anthropic/claude-sonnet-4-5",
        "gemini/gemini-2.5-flash",
    ],
)
def test_apis_without_a_message_name_get_none(model_id: str) -> None:
    body = request_body(model_id, named_conversation())
    messages = body.get("messages") or body.get("contents")
    assert messages and all("name" not in message for message in messages)
    assert "alice" not in json.dumps(body)


def test_openai_responses_input_messages_carry_no_name() -> None:
    resolved = target("openai/gpt-4o")
    adapter = adapter_for("openai", "responses")
    settings = ProviderSettings(id="openai", kind="openai")
    body = json.loads(adapter.build_request(named_conversation(), resolved, settings, KEY).body())
    assert "alice" not in json.dumps(body) and "helper" not in json.dumps(body)


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_a_name_is_one_to_64_characters(name: str) -> None:
    with pytest.raises(ValidationError, match="name"):
        Message(role="user", content="x", name=name)


# ---- image detail -----------------------------------------------------------------


def image_params(detail: str | None) -> ChatParams:
    image = ImagePart(media_type="image/png", data=PNG, detail=detail)  # type: ignore[arg-type]
    return ChatParams(messages=[Message(role="user", content=[image])])


def test_openai_chat_sends_the_image_detail_only_when_given() -> None:
    low = request_body("openai/gpt-4o", image_params("low"))["messages"][0]["content"][0]
    assert low["image_url"]["detail"] == "low"
    plain = request_body("openai/gpt-4o", image_params(None))["messages"][0]["content"][0]
    assert "detail" not in plain["image_url"]


@pytest.mark.parametrize(("detail", "sent"), [("high", "high"), ("low", "low"), (None, "auto")])
def test_openai_responses_sends_the_image_detail(detail: str | None, sent: str) -> None:
    resolved = target("openai/gpt-4o")
    adapter = adapter_for("openai", "responses")
    settings = ProviderSettings(id="openai", kind="openai")
    body = json.loads(adapter.build_request(image_params(detail), resolved, settings, KEY).body())
    [image] = [p for item in body["input"] for p in item.get("content", []) if "image_url" in p]
    assert image["detail"] == sent


def test_detail_is_low_high_or_auto() -> None:
    with pytest.raises(ValidationError, match="detail"):
        image_params("medium")
    wire = ImagePart(media_type="image/png", data=PNG, detail="auto").to_wire()
    assert wire["detail"] == "auto"


# ---- tool results: execution time, error code --------------------------------------


def test_tool_results_keep_their_execution_time_and_error_code() -> None:
    success = ToolResultPart.model_validate(
        {"type": "toolResult", "toolUseId": "c1", "content": "ok", "executionTimeMs": 125}
    )
    failure = ToolResultPart.model_validate(
        {"toolUseId": "c2", "content": "no such file", "isError": True, "errorCode": "ENOENT"}
    )
    assert success.execution_time_ms == 125 and success.to_wire()["executionTimeMs"] == 125
    assert failure.error_code == "ENOENT" and failure.to_wire()["errorCode"] == "ENOENT"


@pytest.mark.parametrize(
    "fields",
    [
        {"errorCode": "E1"},
        {"errorCode": "E1", "isError": False},
        {"executionTimeMs": -1},
        {"errorCode": "", "isError": True},
    ],
)
def test_an_error_code_is_for_failures_and_times_are_not_negative(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ToolResultPart.model_validate({"toolUseId": "c1", **fields})


@pytest.mark.parametrize(
    "model_id", ["openai/gpt-4o", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"]
)
def test_tool_result_timing_and_codes_are_not_sent_to_providers(model_id: str) -> None:
    params = ChatParams(
        messages=[
            Message(role="user", content="go"),
            Message(role="assistant", content=[ToolUsePart(id="c1", name="run", input={})]),
            Message(
                role="user",
                content=[
                    ToolResultPart(
                        tool_use_id="c1",
                        content="failed",
                        is_error=True,
                        error_code="EXIT_3",
                        execution_time_ms=987,
                    )
                ],
            ),
        ]
    )
    sent = json.dumps(request_body(model_id, params))
    assert "EXIT_3" not in sent and "987" not in sent and "xecution" not in sent


# ---- stop reason `other`, error code `unknown` ------------------------------------------


def sse_events(*objects: dict[str, Any], done: bool = False) -> list[SSEEvent]:
    events = [SSEEvent(event=o.get("type", "message"), data=json.dumps(o)) for o in objects]
    return events + ([SSEEvent(event="message", data="[DONE]")] if done else [])


def decoded(model_id: str, wire: list[Any], api: str | None = None) -> tuple[list[Any], Any]:
    resolved = target(model_id)
    decoder = adapter_for(resolved.provider, api).decoder(resolved)
    events: list[Any] = []
    for item in wire:
        events += decoder.feed(item)
    return events + decoder.close(), decoder


def openai_chunks(finish: str) -> list[SSEEvent]:
    return sse_events(
        {
            "id": "chatcmpl-1",
            "model": "gpt-4o",
            "created": 1733600000,
            "system_fingerprint": "fp_abc",
            "service_tier": "default",
            "choices": [{"index": 0, "delta": {"content": "hi"}}],
        },
        {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        done=True,
    )


def anthropic_events(stop_reason: str) -> list[SSEEvent]:
    return sse_events(
        {
            "type": "message_start",
            "message": {"id": "msg_01", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 3}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": "END"},
            "usage": {"output_tokens": 2, "service_tier": "standard"},
        },
        {"type": "message_stop"},
    )


def gemini_chunks(finish: str) -> list[SSEEvent]:
    return sse_events(
        {
            "responseId": "resp-9",
            "modelVersion": "gemini-2.5-flash-001",
            "candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": finish}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1},
        }
    )


def responses_events(reason: str) -> list[SSEEvent]:
    response = {
        "id": "resp_1",
        "model": "gpt-4o",
        "created_at": 1733600000,
        "service_tier": "flex",
        "status": "incomplete",
        "incomplete_details": {"reason": reason},
        "output": [],
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    return sse_events(
        {"type": "response.created", "response": {**response, "status": "in_progress"}},
        {"type": "response.incomplete", "response": response},
    )


def bedrock_decoded(stop_reason: str) -> tuple[list[Any], Any]:
    decoder = adapter_for("bedrock").decoder(target("bedrock/amazon.nova-micro-v1:0"))
    events = decoder.feed_event("messageStart", {"role": "assistant"})
    events += decoder.feed_event(
        "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hi"}}
    )
    events += decoder.feed_event("messageStop", {"stopReason": stop_reason})
    events += decoder.feed_event(
        "metadata",
        {"usage": {"inputTokens": 3, "outputTokens": 1}, "metrics": {"latencyMs": 321}},
    )
    return events + decoder.close(), decoder


@pytest.mark.parametrize(
    "decode",
    [
        lambda: decoded("openai/gpt-4o", openai_chunks("a_reason_from_next_year")),
        lambda: decoded("anthropic/claude-sonnet-4-5", anthropic_events("a_reason_from_next_year")),
        lambda: decoded("gemini/gemini-2.5-flash", gemini_chunks("OTHER")),
        lambda: decoded("openai/gpt-4o", responses_events("next_year"), "responses"),
        lambda: bedrock_decoded("a_reason_from_next_year"),
    ],
    ids=["openai-chat", "anthropic", "gemini", "openai-responses", "bedrock"],
)
def test_a_stop_reason_no_mapping_knows_is_other(decode: Any) -> None:
    events, _ = decode()
    assert events[-1] == StopEvent(reason="other")


@pytest.mark.parametrize("status", [405, 409, 418, 451])
def test_an_http_status_no_rule_knows_is_unknown(status: int) -> None:
    error = http_error("fake", status, {"retry-after": "3"}, "I'm a teapot")
    assert error.code == ErrorCode.UNKNOWN and not error.retryable
    assert http_error("fake", 422, {}, "bad field").code == ErrorCode.INVALID_REQUEST


def test_an_error_event_code_that_is_no_normalized_one_is_unknown() -> None:
    assert error_code("quota_exploded") == ErrorCode.UNKNOWN == "unknown"
    assert error_code("rateLimited") == ErrorCode.RATE_LIMITED
    assert ErrorData(code=ErrorCode.UNKNOWN).to_wire() == {"code": "unknown"}


# ---- usage.totalTokens ---------------------------------------------------------------


def test_a_results_usage_has_its_total_and_a_streamed_usage_event_does_not() -> None:
    result = ChatResult(
        id="sb-1",
        model="openai/gpt-4o",
        content=[],
        stop_reason="endTurn",
        usage=Usage(input_tokens=120, output_tokens=30, cache_read_input_tokens=100),
    )
    assert result.usage.total_tokens == 150
    assert result.to_wire()["usage"]["totalTokens"] == 150
    assert "totalTokens" not in UsageEvent(input_tokens=1, output_tokens=2).to_wire()
    replayed = ChatResult.model_validate(result.to_wire())
    assert replayed.usage.total_tokens == 150


def test_a_continued_answers_total_counts_both_calls() -> None:
    partial = ChatResult(
        id="sb-1", model="m/x", content=[], stop_reason="error", usage=Usage(output_tokens=4)
    )
    rest = ChatResult(
        id="sb-2",
        model="m/x",
        content=[],
        stop_reason="endTurn",
        usage=Usage(input_tokens=10, output_tokens=6),
    )
    joined = Continued(partial, Usage(input_tokens=9, output_tokens=4)).joined(rest, None)
    assert joined.usage.total_tokens == 29


# ---- the answer's provider id, timestamp and metadata ------------------------------------


@pytest.mark.parametrize(
    ("decode", "provider_id", "metadata"),
    [
        (
            lambda: decoded("openai/gpt-4o", openai_chunks("stop")),
            "chatcmpl-1",
            {"created": 1733600000, "system_fingerprint": "fp_abc", "service_tier": "default"},
        ),
        (
            lambda: decoded("anthropic/claude-sonnet-4-5", anthropic_events("stop_sequence")),
            "msg_01",
            {"stop_reason": "stop_sequence", "stop_sequence": "END", "service_tier": "standard"},
        ),
        (
            lambda: decoded("gemini/gemini-2.5-flash", gemini_chunks("STOP")),
            "resp-9",
            {"modelVersion": "gemini-2.5-flash-001", "finishReason": "STOP"},
        ),
        (
            lambda: decoded("openai/gpt-4o", responses_events("max_output_tokens"), "responses"),
            "resp_1",
            {"created_at": 1733600000, "service_tier": "flex", "status": "incomplete"},
        ),
        (
            lambda: bedrock_decoded("end_turn"),
            None,  # ConverseStream gives no id of its answer
            {"stopReason": "end_turn", "metrics": {"latencyMs": 321}},
        ),
    ],
    ids=["openai-chat", "anthropic", "gemini", "openai-responses", "bedrock"],
)
def test_each_adapter_reports_its_answers_id_and_metadata(
    decode: Any, provider_id: str | None, metadata: dict[str, Any]
) -> None:
    events, decoder = decode()
    accumulator = ChatAccumulator("sb-1", "x/y")
    accumulator.mark_started()
    for event in events:
        accumulator.add(event)
    result = accumulator.result(None, None, decoder.provider_metadata or None)
    assert result.provider_id == provider_id
    assert result.provider_metadata == metadata
    assert result.timestamp is not None and result.timestamp.endswith("Z")
    wire = result.to_wire()
    assert wire["providerMetadata"] == metadata and wire["timestamp"] == result.timestamp


def test_the_started_event_the_editor_sees_keeps_switchboards_id() -> None:
    accumulator = ChatAccumulator("sb-7", "openai/gpt-4o")
    accumulator.add(StartedEvent(id="chatcmpl-9", model="gpt-4o"))
    accumulator.add(TextEvent(text="x"))
    result = accumulator.result(None)
    assert (result.id, result.provider_id, result.provider_metadata) == ("sb-7", "chatcmpl-9", None)


# ---- providerError: the raw error body, redacted -----------------------------------------


def test_the_raw_error_body_goes_in_the_error_data_with_no_secret() -> None:
    register_secret(CANARY)
    body = json.dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {CANARY}",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
                "param": None,
            },
            "api_key": "abc123-not-registered-anywhere",
            "headers": {"Authorization": "Bearer zzzzzzzzzzzzzzzzzzzzzzzz"},
            "usage": {"input_tokens": 3, "token": 7},
        }
    ).encode()
    error = http_error("openai", 401, {}, "bad key").with_body(body)
    data = error.data().to_wire()
    assert CANARY not in json.dumps(data)
    raw = data["providerError"]
    assert raw["error"]["code"] == "invalid_api_key" and raw["error"]["param"] is None
    assert raw["error"]["message"] == f"Incorrect API key provided: {MASK}"
    assert raw["api_key"] == MASK and raw["headers"]["Authorization"] == MASK
    assert raw["usage"] == {"input_tokens": 3, "token": 7}  # numbers name no secret


def test_an_error_body_that_is_not_json_is_its_redacted_text_capped() -> None:
    register_secret(CANARY)
    assert provider_error_body(f"<html>bad gateway {CANARY}</html>".encode()) == (
        f"<html>bad gateway {MASK}</html>"
    )
    huge = provider_error_body(b"x" * (MAX_PROVIDER_ERROR_CHARS * 2))
    assert isinstance(huge, str) and len(huge) == MAX_PROVIDER_ERROR_CHARS
    assert provider_error_body(b"") is None


def test_an_error_without_a_body_has_no_provider_error() -> None:
    error = ProviderError(ErrorCode.NETWORK, "fake: network error")
    assert "providerError" not in error.data().to_wire()


async def test_the_transport_attaches_each_error_answers_body() -> None:
    register_secret(CANARY)
    body = {"error": {"message": f"key {CANARY} is revoked", "code": "revoked_key"}}
    transport = Transport()
    with FakeHTTPServer() as fake:
        fake.enqueue(Reply.json(body, 403))
        try:
            with pytest.raises(ProviderError) as failed:
                async for _ in transport.stream(
                    HttpRequest("POST", fake.url),
                    provider="fake",
                    parse_error=lambda status, headers, raw: http_error(
                        "fake", status, headers, "refused"
                    ),
                ):
                    pass
        finally:
            await transport.aclose()
    assert failed.value.provider_error == {
        "error": {"message": f"key {MASK} is revoked", "code": "revoked_key"}
    }


def test_an_error_body_nested_too_deep_for_json_is_kept_as_text() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    kept = provider_error_body(deep[:MAX_PROVIDER_ERROR_CHARS])
    assert isinstance(kept, str) and kept.startswith("[[[")
    assert provider_error_body(b"[" * 5000 + b"]" * 5000) == "[" * 5000 + "]" * 5000
