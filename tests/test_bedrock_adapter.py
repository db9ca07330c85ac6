"""The Bedrock Converse translator: request bodies, decoding, errors, model lists."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    RedactedThinkingEvent,
    StartedEvent,
    StopEvent,
    StopReason,
    TextEvent,
    ThinkingEvent,
    ToolUseDeltaEvent,
    ToolUseEvent,
    ToolUseJsonParseErrorEvent,
    ToolUseStartEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for, option_keys
from switchboard.providers.adapters.bedrock import BedrockAdapter, model_family
from switchboard.providers.base import ModelTarget, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.eventstream import EventStreamFramer

from tests.corpus import WIRE, random_chunks, wire_files
from tests.fakes.bedrock import encode_frame, event_frame, exception_frame

ADAPTER = BedrockAdapter()
SETTINGS = ProviderSettings(
    id="bedrock", kind="bedrock", base_url="http://127.0.0.1:9", options={"region": "us-east-1"}
)
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SEEDS = (1, 2, 3, 7, 42)
STREAMS = [p for p in wire_files("bedrock", (".bin",)) if p.name.startswith("converse-stream-")]
BODIES = [
    p
    for p in wire_files("bedrock", (".json",))
    if p.name.startswith("converse-nonstream-") and not p.name.endswith(".meta.json")
]
# Written out here rather than imported, so a wrong table in the adapter fails these tests.
EXPECTED_STOP: dict[str, StopReason] = {
    "end_turn": "endTurn",
    "tool_use": "toolUse",
    "max_tokens": "maxTokens",
    "stop_sequence": "stopSequence",
    "guardrail_intervened": "contentFilter",
    "content_filtered": "contentFilter",
    "model_context_window_exceeded": "maxTokens",
}


def target(model: str = CLAUDE, max_output: int | None = 64000) -> ModelTarget:
    info = ModelInfo(
        id=f"bedrock/{model}",
        provider="bedrock",
        name=model,
        context_window=200_000,
        max_output_tokens=max_output,
    )
    return ModelTarget("bedrock", model, info)


def body_for(model: str = CLAUDE, **params: Any) -> dict[str, Any]:
    params.setdefault("messages", [{"role": "user", "content": "hi"}])
    request = ADAPTER.build_request(
        ChatParams.model_validate(params), target(model), SETTINGS, None
    )
    body: dict[str, Any] = request.json
    return body


def decode(chunks: list[bytes], model: str = CLAUDE) -> list[ChatEvent]:
    framer, decoder = EventStreamFramer(), ADAPTER.decoder(target(model))
    events: list[ChatEvent] = []
    for chunk in chunks:
        for item in framer.feed(chunk):
            events += decoder.feed(item)
    for item in framer.close():
        events += decoder.feed(item)
    return events + decoder.close()


def frames(*events: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(event_frame(kind, payload, n) for n, (kind, payload) in enumerate(events))


def of_type(events: list[ChatEvent], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


START = ("messageStart", {"role": "assistant"})


def text_delta(index: int, text: str) -> tuple[str, dict[str, Any]]:
    return ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": text}})


def stop(reason: str) -> tuple[str, dict[str, Any]]:
    return ("messageStop", {"stopReason": reason})


def metadata(**usage: int) -> tuple[str, dict[str, Any]]:
    return ("metadata", {"usage": usage, "metrics": {"latencyMs": 1}})


# ---- registry and request -----------------------------------------------------------


def test_registered_with_its_options() -> None:
    assert isinstance(adapter_for("bedrock"), BedrockAdapter)
    assert {"region", "profile"} <= option_keys("bedrock")
    assert ADAPTER.framing == "eventstream"


def test_request_goes_to_the_converse_stream_path_with_the_model_id_quoted() -> None:
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    request = ADAPTER.build_request(params, target(), SETTINGS, None)
    assert request.method == "POST"
    assert request.url == (
        "http://127.0.0.1:9/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    )
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in {k.lower() for k in request.headers}
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-3-70b"
    arn_request = ADAPTER.build_request(params, target(arn), SETTINGS, None)
    assert "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus." in (
        arn_request.url
    )


def test_default_base_url_is_the_regional_runtime_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    settings = ProviderSettings(id="bedrock", kind="bedrock", options={"region": "eu-west-3"})
    url = ADAPTER.build_request(params, target(), settings, None).url
    assert url.startswith("https://bedrock-runtime.eu-west-3.amazonaws.com/model/")
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    bare = ProviderSettings(id="bedrock", kind="bedrock")
    assert ADAPTER.build_request(params, target(), bare, None).url.startswith(
        "https://bedrock-runtime.ap-south-1.amazonaws.com/"
    )


def test_a_bad_region_option_is_an_invalid_request() -> None:
    params = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    settings = ProviderSettings(id="bedrock", kind="bedrock", options={"region": 5})
    with pytest.raises(ProviderError) as caught:
        ADAPTER.build_request(params, target(), settings, None)
    assert caught.value.code == ErrorCode.INVALID_REQUEST
    assert "option 'region'" in caught.value.message


def test_body_carries_messages_system_and_inference_config() -> None:
    body = body_for(
        system="Be brief.",
        messages=[
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Bonjour"},
            {"role": "user", "content": [{"type": "text", "text": "Again"}]},
        ],
        maxTokens=300,
        temperature=0.2,
        stopSequences=["END"],
    )
    assert body["system"] == [{"text": "Be brief."}, {"text": "Answer in French."}]
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Hello"}]},
        {"role": "assistant", "content": [{"text": "Bonjour"}]},
        {"role": "user", "content": [{"text": "Again"}]},
    ]
    assert body["inferenceConfig"] == {
        "maxTokens": 300,
        "temperature": 0.2,
        "stopSequences": ["END"],
    }
    assert "toolConfig" not in body and "additionalModelRequestFields" not in body


def test_tools_and_every_tool_choice() -> None:
    tools = [{"name": "get_weather", "description": "Weather", "inputSchema": {"type": "object"}}]
    spec = {
        "toolSpec": {
            "name": "get_weather",
            "description": "Weather",
            "inputSchema": {"json": {"type": "object"}},
        }
    }
    assert body_for(tools=tools)["toolConfig"] == {"tools": [spec]}
    assert body_for(tools=tools, toolChoice="auto")["toolConfig"]["toolChoice"] == {"auto": {}}
    assert body_for(tools=tools, toolChoice="any")["toolConfig"]["toolChoice"] == {"any": {}}
    named = body_for(tools=tools, toolChoice={"name": "get_weather"})["toolConfig"]
    assert named["toolChoice"] == {"tool": {"name": "get_weather"}}
    assert "toolConfig" not in body_for(tools=tools, toolChoice="none")


def test_tool_round_trip_history_with_signed_reasoning() -> None:
    body = body_for(
        messages=[
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "text": "use the tool", "signature": "sig=="},
                    {"type": "thinking", "text": "unsigned, from elsewhere"},
                    {"type": "redactedThinking", "data": "cmVkYWN0ZWQ="},
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "toolUse",
                        "id": "tu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                ],
            },
            {
                "role": "tool",
                "content": [
                    {"type": "toolResult", "toolUseId": "tu_1", "content": "sunny"},
                    {"type": "toolResult", "toolUseId": "tu_2", "content": "", "isError": True},
                ],
            },
            {"role": "user", "content": "Thanks"},
        ],
        tools=[{"name": "get_weather"}],
    )
    assistant, results = body["messages"][1], body["messages"][2]
    assert assistant["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "use the tool", "signature": "sig=="}}},
        {"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}},
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "tu_1", "name": "get_weather", "input": {"city": "Paris"}}},
    ]
    # The tool turn and the next user turn merge into one user message, results first.
    assert results == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "tu_1", "content": [{"text": "sunny"}]}},
            {"toolResult": {"toolUseId": "tu_2", "content": [{"json": {}}], "status": "error"}},
            {"text": "Thanks"},
        ],
    }
    assert len(body["messages"]) == 3


def test_images_go_as_base64_bytes_with_their_format() -> None:
    body = body_for(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "mediaType": "image/png", "data": "iVBORw0KGgo="},
                    {"type": "image", "url": "data:image/jpeg;base64,/9j/4AAQ"},
                ],
            }
        ]
    )
    assert body["messages"][0]["content"] == [
        {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
        {"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}},
    ]
    with pytest.raises(ProviderError) as caught:
        body_for(
            messages=[{"role": "user", "content": [{"type": "image", "url": "https://x/y.png"}]}]
        )
    assert caught.value.code == ErrorCode.UNSUPPORTED


def test_cache_marks_become_cache_points() -> None:
    body = body_for(
        messages=[
            {"role": "system", "content": "Long rules", "cache": True},
            {"role": "user", "content": "Long document", "cache": True},
        ]
    )
    assert body["system"] == [{"text": "Long rules"}, {"cachePoint": {"type": "default"}}]
    assert body["messages"][0]["content"][-1] == {"cachePoint": {"type": "default"}}


def test_claude_thinking_sets_the_budget_and_room_for_the_answer() -> None:
    body = body_for(thinking={"budgetTokens": 2048}, temperature=0.5)
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }
    assert body["inferenceConfig"]["maxTokens"] > 2048
    assert "temperature" not in body["inferenceConfig"]
    capped = body_for(thinking={"budgetTokens": 60000}, maxTokens=8000)
    assert capped["inferenceConfig"]["maxTokens"] == 64000
    assert "additionalModelRequestFields" not in body_for(thinking={"budgetTokens": 0})


def test_reasoning_fields_for_other_families() -> None:
    gpt = body_for("openai.gpt-oss-120b-1:0", thinking={"budgetTokens": 20000})
    assert gpt["additionalModelRequestFields"] == {"reasoning_effort": "high"}
    nova = body_for("us.amazon.nova-2-lite-v1:0", thinking={"budgetTokens": 1000})
    assert nova["additionalModelRequestFields"] == {
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}
    }
    llama = body_for("us.meta.llama3-3-70b-instruct-v1:0", thinking={"budgetTokens": 1000})
    assert "additionalModelRequestFields" not in llama


def test_provider_options_merge_into_request_or_model_fields() -> None:
    body = body_for(
        maxTokens=10,
        providerOptions={
            "inferenceConfig": {"topP": 0.5},
            "performanceConfig": {"latency": "optimized"},
            "top_k": 40,
        },
        thinking={"budgetTokens": 1024},
    )
    assert body["inferenceConfig"]["topP"] == 0.5 and body["inferenceConfig"]["maxTokens"] > 1024
    assert body["performanceConfig"] == {"latency": "optimized"}
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "top_k": 40,
    }


@pytest.mark.parametrize(
    ("model", "family"),
    [
        (CLAUDE, "anthropic"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic"),
        ("global.anthropic.claude-opus-4-6-v1", "anthropic"),
        ("amazon.nova-micro-v1:0", "amazon"),
        ("us-gov.openai.gpt-oss-120b-1:0", "openai"),
        ("deepseek.v3.2", "deepseek"),
        ("arn:aws:bedrock:us-east-1:1:inference-profile/eu.meta.llama3-2-1b", "meta"),
        ("my-model", ""),
    ],
)
def test_model_family(model: str, family: str) -> None:
    assert model_family(model) == family


# ---- decoding the recorded streams -----------------------------------------------------


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.name)
def test_recorded_streams_decode_the_same_in_any_chunking(path: Path) -> None:
    data = path.read_bytes()
    whole = decode([data])
    assert isinstance(whole[0], StartedEvent)
    assert isinstance(whole[-1], StopEvent) and whole[-1].reason in {"endTurn", "toolUse"}
    assert len(of_type(whole, StopEvent)) == 1
    assert not of_type(whole, ErrorEvent)
    assert len(of_type(whole, UsageEvent)) == 1
    for seed in SEEDS:
        assert decode(random_chunks(data, seed)) == whole


def corpus(name: str) -> bytes:
    path = WIRE / "bedrock" / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path.read_bytes()


def test_claude_reasoning_stream() -> None:
    events = decode([corpus("converse-stream-claude-reasoning.bin")])
    thinking = of_type(events, ThinkingEvent)
    text = "".join(e.text for e in thinking)
    assert text.startswith("The user has greeted me") and text.endswith("help them today.")
    signed = [e for e in thinking if e.signature]
    assert len(signed) == 1 and signed[0].text == "" and signed[0].signature.startswith("Eu0CCkgI")
    assert thinking[-1] is signed[0]
    assert "".join(e.text for e in of_type(events, TextEvent)) == (
        "Hello! It's nice to meet you. How can I help you today?"
    )
    assert of_type(events, UsageEvent) == [UsageEvent(input_tokens=36, output_tokens=73)]
    assert events[-1] == StopEvent(reason="endTurn")


def test_redacted_reasoning_stream() -> None:
    events = decode([corpus("converse-stream-claude-redacted-reasoning.bin")])
    redacted = of_type(events, RedactedThinkingEvent)
    assert len(redacted) == 2
    assert all(e.data.startswith("RX") for e in redacted)
    assert "".join(e.text for e in of_type(events, TextEvent)).startswith("I notice you've sent")


def test_gpt_oss_empty_text_delta_and_reasoning() -> None:
    events = decode(
        [corpus("converse-stream-gptoss-empty-text-delta.bin")], "openai.gpt-oss-120b-1:0"
    )
    assert all(e.text for e in of_type(events, TextEvent))
    assert "".join(e.text for e in of_type(events, TextEvent)) == "Hello! How can I help you today?"
    assert of_type(events, ThinkingEvent)[0].text.startswith('The user just says "Hi"')


def test_text_then_tool_use_stream() -> None:
    events = decode([corpus("converse-stream-text-then-tooluse.bin")])
    assert of_type(events, ToolUseStartEvent) == [
        ToolUseStartEvent(id="tooluse_lAG_zP8QRHmSYOwZzzaCqA", name="get_temperature")
    ]
    assert of_type(events, ToolUseDeltaEvent)[0].input_json == '{"city":"Paris"}'
    assert of_type(events, ToolUseEvent) == [
        ToolUseEvent(
            id="tooluse_lAG_zP8QRHmSYOwZzzaCqA", name="get_temperature", input={"city": "Paris"}
        )
    ]
    assert of_type(events, UsageEvent) == [UsageEvent(input_tokens=471, output_tokens=91)]
    assert events[-1] == StopEvent(reason="toolUse")


def test_server_tool_use_is_not_a_client_tool_call() -> None:
    events = decode([corpus("converse-stream-nova-server-tool.bin")])
    assert [e.name for e in of_type(events, ToolUseEvent)] == ["final_result"]
    assert of_type(events, ToolUseEvent)[0].input == {"result": 7006652.0}
    assert not of_type(events, ToolUseJsonParseErrorEvent)


@pytest.mark.parametrize("path", BODIES, ids=lambda p: p.name)
def test_nonstream_bodies_decode_to_the_same_event_shapes(path: Path) -> None:
    events = ADAPTER.decode_body(json.loads(path.read_text()), target())
    assert isinstance(events[0], StartedEvent)
    assert len(of_type(events, StopEvent)) == 1 and isinstance(events[-1], StopEvent)
    assert len(of_type(events, UsageEvent)) == 1


def test_nonstream_text_and_tool_use() -> None:
    body = json.loads(corpus("converse-nonstream-text-and-tooluse.json"))
    events = ADAPTER.decode_body(body, target())
    assert "".join(e.text for e in of_type(events, TextEvent)).startswith("I'll help you find")
    assert of_type(events, ToolUseEvent) == [
        ToolUseEvent(id="tooluse_YFo0dGJWt2BxnVmdQ8qPQt", name="country_source", input={})
    ]
    assert of_type(events, UsageEvent) == [
        UsageEvent(
            input_tokens=628,
            output_tokens=50,
            cache_read_input_tokens=0,
            cache_creation_input_tokens=0,
        )
    ]
    assert events[-1] == StopEvent(reason="toolUse")


def test_nonstream_reasoning_comes_before_the_text() -> None:
    events = ADAPTER.decode_body(json.loads(corpus("converse-nonstream-reasoning.json")), target())
    kinds = [type(e) for e in events if isinstance(e, TextEvent | ThinkingEvent)]
    assert kinds == [ThinkingEvent, TextEvent]
    assert of_type(events, UsageEvent)[0].output_tokens == 302


def test_nonstream_signed_and_redacted_reasoning() -> None:
    body = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"reasoningContent": {"reasoningText": {"text": "hm", "signature": "s1"}}},
                    {"reasoningContent": {"redactedContent": "ZGF0YQ=="}},
                    {"text": "ok"},
                ],
            }
        },
        "stopReason": "max_tokens",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
    }
    events = ADAPTER.decode_body(body, target())
    assert ThinkingEvent(text="", signature="s1") in events
    assert RedactedThinkingEvent(data="ZGF0YQ==") in events
    assert events[-1] == StopEvent(reason="maxTokens")


# ---- synthetic streams --------------------------------------------------------------------


@pytest.mark.parametrize(("wire", "normalized"), sorted(EXPECTED_STOP.items()))
def test_stop_reasons(wire: str, normalized: StopReason) -> None:
    events = decode([frames(START, text_delta(0, "x"), stop(wire), metadata(inputTokens=1))])
    assert events[-1] == StopEvent(reason=normalized)
    assert isinstance(events[-2], UsageEvent)


@pytest.mark.parametrize("wire", ["malformed_model_output", "malformed_tool_use"])
def test_malformed_output_stops_with_an_error(wire: str) -> None:
    events = decode([frames(START, stop(wire), metadata(inputTokens=3, outputTokens=1))])
    assert isinstance(events[-3], UsageEvent)
    assert isinstance(events[-2], ErrorEvent) and wire in events[-2].message
    assert events[-1] == StopEvent(reason="error")


def test_stop_waits_for_the_usage_that_follows_it() -> None:
    framer, decoder = EventStreamFramer(), ADAPTER.decoder(target())
    fed = [
        e
        for item in framer.feed(frames(START, text_delta(0, "hi"), stop("end_turn")))
        for e in decoder.feed(item)
    ]
    assert not of_type(fed, StopEvent)
    later = [
        e
        for item in framer.feed(frames(metadata(inputTokens=5, outputTokens=2)))
        for e in decoder.feed(item)
    ]
    assert later == [UsageEvent(input_tokens=5, output_tokens=2), StopEvent(reason="endTurn")]
    assert decoder.close() == []


def test_a_stream_without_metadata_still_stops_at_the_end() -> None:
    events = decode([frames(START, text_delta(0, "hi"), stop("end_turn"))])
    assert events[-1] == StopEvent(reason="endTurn")
    assert not of_type(events, UsageEvent) and not of_type(events, ErrorEvent)


def test_a_stream_cut_short_is_a_network_error() -> None:
    data = frames(START, text_delta(0, "partial"))
    for body in (data, data + event_frame("messageStop", {"stopReason": "end_turn"})[:9]):
        events = decode([body])
        assert TextEvent(text="partial") in events
        assert events[-2] == ErrorEvent(code="network", message=events[-2].message)
        assert events[-1] == StopEvent(reason="error")


@pytest.mark.parametrize(
    ("exception_type", "message", "code"),
    [
        ("throttlingException", "Too many tokens, please wait before trying again.", "rateLimited"),
        (
            "serviceUnavailableException",
            "Bedrock is unable to process your request.",
            "providerUnavailable",
        ),
        ("internalServerException", "An internal error occurred.", "providerUnavailable"),
        ("modelStreamErrorException", "The model failed while streaming.", "providerUnavailable"),
        ("validationException", "Input is too long for requested model.", "contextLengthExceeded"),
        ("validationException", "Malformed input request.", "invalidRequest"),
    ],
)
def test_in_stream_exceptions(exception_type: str, message: str, code: str) -> None:
    data = frames(START, text_delta(0, "so far")) + exception_frame(exception_type, message)
    data += frames(text_delta(0, "ignored"), stop("end_turn"))
    events = decode([data])
    assert TextEvent(text="so far") in events and TextEvent(text="ignored") not in events
    error = events[-2]
    assert isinstance(error, ErrorEvent) and error.code == code
    assert message in error.message and exception_type in error.message
    assert events[-1] == StopEvent(reason="error")
    assert len(of_type(events, StopEvent)) == 1


def test_model_stream_error_keeps_the_original_message() -> None:
    headers = {":message-type": "exception", ":exception-type": "modelStreamErrorException"}
    payload = {"message": "Model error", "originalStatusCode": 500, "originalMessage": "overheated"}
    events = decode([frames(START) + encode_frame(headers, json.dumps(payload).encode())])
    assert "overheated" in of_type(events, ErrorEvent)[0].message


def test_generic_error_frames() -> None:
    headers = {
        ":message-type": "error",
        ":error-code": "ThrottlingException",
        ":error-message": "slow down",
    }
    events = decode([frames(START) + encode_frame(headers, b"")])
    assert of_type(events, ErrorEvent) == [ErrorEvent(code="rateLimited", message="slow down")]


def test_tool_input_split_across_deltas_and_a_bad_one() -> None:
    def tool(index: int, call_id: str) -> tuple[str, dict[str, Any]]:
        start = {"toolUse": {"toolUseId": call_id, "name": "f"}}
        return ("contentBlockStart", {"contentBlockIndex": index, "start": start})

    def piece(index: int, text: str) -> tuple[str, dict[str, Any]]:
        return (
            "contentBlockDelta",
            {"contentBlockIndex": index, "delta": {"toolUse": {"input": text}}},
        )

    events = decode(
        [
            frames(
                START,
                tool(0, "a"),
                piece(0, '{"x": '),
                piece(0, "[1, 2]}"),
                ("contentBlockStop", {"contentBlockIndex": 0}),
                tool(1, "b"),
                piece(1, '{"broken'),
                stop("tool_use"),
                metadata(inputTokens=1, outputTokens=1),
            )
        ]
    )
    assert of_type(events, ToolUseEvent) == [ToolUseEvent(id="a", name="f", input={"x": [1, 2]})]
    assert of_type(events, ToolUseJsonParseErrorEvent)[0].raw_input == '{"broken'
    assert events[-1] == StopEvent(reason="toolUse")


def test_usage_adds_the_cache_parts_bedrock_leaves_out() -> None:
    usage = metadata(
        inputTokens=10,
        outputTokens=5,
        cacheReadInputTokens=100,
        cacheWriteInputTokens=20,
        totalTokens=135,
    )
    events = decode([frames(START, stop("end_turn"), usage)])
    assert of_type(events, UsageEvent) == [
        UsageEvent(
            input_tokens=130,
            output_tokens=5,
            cache_read_input_tokens=100,
            cache_creation_input_tokens=20,
        )
    ]


def test_usage_already_counting_the_cache_is_not_counted_twice() -> None:
    usage = metadata(inputTokens=130, outputTokens=5, cacheReadInputTokens=100, totalTokens=135)
    events = decode([frames(START, stop("end_turn"), usage)])
    assert of_type(events, UsageEvent)[0].input_tokens == 130


def test_garbage_never_raises() -> None:
    rng = random.Random(11)
    decoder_inputs: list[Any] = [None, 3, "x", b"y", object()]
    decoder = ADAPTER.decoder(target())
    for item in decoder_inputs:
        assert decoder.feed(item) == []
    shapes: list[Any] = [
        None,
        1,
        "s",
        [],
        {},
        {"delta": 5},
        {"delta": {"toolUse": {"input": 7}}},
        {"start": {"toolUse": "x"}},
        {"usage": {"inputTokens": "many"}},
        {"contentBlockIndex": "0", "delta": {"reasoningContent": {"text": 1}}},
    ]
    kinds = [
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
        "unknownEvent",
    ]
    for _ in range(400):
        payload = rng.choice(shapes)
        raw = json.dumps(payload).encode() if rng.random() < 0.8 else bytes([rng.randrange(256)])
        headers = {
            ":message-type": rng.choice(["event", "exception", "error", ""]),
            ":event-type": rng.choice(kinds),
            ":exception-type": rng.choice(["", "x"]),
        }
        events = decode([encode_frame(headers, raw)])
        assert isinstance(events[-1], StopEvent)
        assert len(of_type(events, StopEvent)) == 1


# ---- errors and model lists --------------------------------------------------------------


def test_recorded_400_body_keeps_the_message() -> None:
    error = ADAPTER.parse_error(400, {}, corpus("converse-stream-error-400.json"))
    assert error.code == ErrorCode.UNKNOWN_MODEL
    assert "The provided model identifier is invalid." in error.message
    assert error.status == 400


@pytest.mark.parametrize(
    ("status", "error_type", "message", "code"),
    [
        (
            403,
            "AccessDeniedException",
            "You don't have access to the model.",
            "authenticationFailed",
        ),
        (
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            "authenticationFailed",
        ),
        (
            403,
            "ExpiredTokenException",
            "The security token included in the request is expired",
            "authenticationFailed",
        ),
        (
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match",
            "authenticationFailed",
        ),
        (
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
            "rateLimited",
        ),
        (
            400,
            "ValidationException",
            "Input is too long for requested model.",
            "contextLengthExceeded",
        ),
        (
            400,
            "ValidationException",
            "The model returned the following errors: messages: roles must alternate",
            "invalidRequest",
        ),
        (404, "ResourceNotFoundException", "Model not found.", "unknownModel"),
        (
            429,
            "ModelNotReadyException",
            "Model is not ready to serve inference requests.",
            "providerUnavailable",
        ),
        (
            503,
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
            "providerUnavailable",
        ),
        (500, "InternalServerException", "Internal error", "providerUnavailable"),
        (408, "ModelTimeoutException", "Model timed out", "timeout"),
        (424, "ModelErrorException", "The model returned an error", "providerUnavailable"),
        (502, "", "Bad gateway", "providerUnavailable"),
    ],
)
def test_http_errors_by_aws_error_type(
    status: int, error_type: str, message: str, code: str
) -> None:
    headers = (
        {"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        if error_type
        else {}
    )
    headers["x-amzn-RequestId"] = "11111111-2222-3333-4444-555555555555"
    headers["Retry-After"] = "3"
    error = ADAPTER.parse_error(status, headers, json.dumps({"message": message}).encode())
    assert error.code == code
    assert message in error.message and "11111111-2222" in error.message
    assert error.retryable == (code in {"rateLimited", "providerUnavailable", "timeout"})
    assert error.retry_after_ms == (3000 if error.retryable else None)


def test_error_type_from_the_body_and_non_json_bodies() -> None:
    body = {
        "__type": "com.amazon.coral.service#UnrecognizedClientException",
        "Message": "bad token",
    }
    error = ADAPTER.parse_error(403, {}, json.dumps(body).encode())
    assert error.code == ErrorCode.AUTHENTICATION_FAILED and "bad token" in error.message
    plain = ADAPTER.parse_error(502, {}, b"<html>Bad Gateway</html>")
    assert plain.code == ErrorCode.PROVIDER_UNAVAILABLE and "Bad Gateway" in plain.message


def test_models_request_goes_to_the_control_plane() -> None:
    settings = ProviderSettings(id="bedrock", kind="bedrock", options={"region": "us-west-2"})
    request = ADAPTER.models_request(settings, None)
    assert request.method == "GET"
    assert request.url == "https://bedrock.us-west-2.amazonaws.com/foundation-models"
    runtime = ProviderSettings(
        id="b", kind="bedrock", base_url="https://bedrock-runtime.eu-west-1.amazonaws.com"
    )
    assert ADAPTER.models_request(runtime, None).url == (
        "https://bedrock.eu-west-1.amazonaws.com/foundation-models"
    )
    assert ADAPTER.models_request(SETTINGS, None).url == "http://127.0.0.1:9/foundation-models"


def test_parse_models() -> None:
    body = {
        "modelSummaries": [
            {
                "modelId": "anthropic.claude-sonnet-4-5-20250929-v1:0",
                "modelName": "Claude Sonnet 4.5",
                "providerName": "Anthropic",
                "inputModalities": ["TEXT", "IMAGE"],
                "responseStreamingSupported": True,
                "modelLifecycle": {"status": "ACTIVE"},
            },
            {"modelId": "amazon.titan-embed", "responseStreamingSupported": False},
            {"modelId": "meta.llama3-3-70b-instruct-v1:0", "inputModalities": ["TEXT"]},
            {"modelName": "no id"},
            "junk",
        ]
    }
    listed = ADAPTER.parse_models(body)
    assert [m.name for m in listed] == [
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "meta.llama3-3-70b-instruct-v1:0",
    ]
    assert listed[0].display_name == "Claude Sonnet 4.5" and listed[0].images is True
    assert listed[0].context_window is None  # the list carries no limits
    assert listed[0].notes["lifecycle"] == "ACTIVE"
    assert listed[1].images is False
    assert ADAPTER.parse_models({"nope": 1}) == [] and ADAPTER.parse_models([]) == []
