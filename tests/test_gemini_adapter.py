"""The Gemini translator: request bodies, the stream decoder, errors, the recorded corpus."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from switchboard.protocol.catalog import Capabilities, ModelInfo
from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    StartedEvent,
    StopEvent,
    StopReason,
    TextEvent,
    ThinkingEvent,
    ToolUseDeltaEvent,
    ToolUseEvent,
    ToolUseStartEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for
from switchboard.providers.adapters.gemini import GeminiAdapter
from switchboard.providers.adapters.vertex import VertexAdapter
from switchboard.providers.base import Credential, ModelTarget, ProviderSettings
from switchboard.providers.wire.accumulator import ChatAccumulator
from switchboard.providers.wire.sse import SSEDecoder, SSEEvent

from tests.corpus import WIRE, body_bytes, random_chunks, wire_files
from tests.fakes.gemini import FakeGemini
from tests.fakes.scenario import Scenario, ToolCall

ADAPTER = GeminiAdapter()
VERTEX = VertexAdapter(environ={"GOOGLE_CLOUD_PROJECT": "p"})
SETTINGS = ProviderSettings(id="gemini", kind="gemini")
KEY = Credential(secret="AIzaTestKey00000000000000000000000000", source="test")
SEEDS = (1, 2, 3, 7, 42)


def target(model: str = "gemini-2.5-flash", thinking: bool = False) -> ModelTarget:
    info = ModelInfo(
        id=f"gemini/{model}",
        provider="gemini",
        name=model,
        context_window=1_048_576,
        capabilities=Capabilities(thinking=thinking),
    )
    return ModelTarget("gemini", model, info)


def body_for(model: str = "gemini-2.5-flash", **params: Any) -> dict[str, Any]:
    params.setdefault("messages", [{"role": "user", "content": "hi"}])
    chat = ChatParams.model_validate(params)
    body: dict[str, Any] = ADAPTER.build_request(chat, target(model), SETTINGS, KEY).json
    return body


def decode(chunks: list[bytes], adapter: Any = ADAPTER) -> list[ChatEvent]:
    sse, decoder = SSEDecoder(), adapter.decoder(target())
    events: list[ChatEvent] = []
    for chunk in chunks:
        for event in sse.feed(chunk):
            events += decoder.feed(event)
    for event in sse.close():
        events += decoder.feed(event)
    return events + decoder.close()


def feed(*objects: Any) -> list[ChatEvent]:
    decoder = ADAPTER.decoder(target())
    events: list[ChatEvent] = []
    for item in objects:
        data = item if isinstance(item, str) else json.dumps(item)
        events += decoder.feed(SSEEvent("message", data))
    return events + decoder.close()


def of(events: list[ChatEvent], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def chunk(*parts: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **extra}


def stable(events: list[ChatEvent]) -> list[dict[str, Any]]:
    """Events as dicts, with generated tool ids replaced by their order of appearance."""
    ids: dict[str, str] = {}
    out = []
    for event in events:
        data = event.to_wire()
        if "id" in data and data["type"].startswith("toolUse"):
            data["id"] = ids.setdefault(data["id"], f"tool-{len(ids)}")
        out.append(data)
    return out


def assert_one_stop_at_the_end(events: list[ChatEvent]) -> None:
    assert sum(isinstance(event, StopEvent) for event in events) == 1
    assert isinstance(events[-1], StopEvent)


# ---- the request --------------------------------------------------------------


def test_registered_under_its_kind() -> None:
    assert isinstance(adapter_for("gemini"), GeminiAdapter)
    assert ADAPTER.api_key_envs == ("GEMINI_API_KEY", "GOOGLE_API_KEY")


def test_url_headers_and_sse() -> None:
    chat = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    request = ADAPTER.build_request(chat, target("models/gemini-2.5-pro"), SETTINGS, KEY)
    assert request.method == "POST"
    assert request.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro"
        ":streamGenerateContent"
    )
    assert request.params == {"alt": "sse"}
    assert request.headers["x-goog-api-key"] == KEY.secret
    custom = ProviderSettings(
        id="g", kind="gemini", base_url="http://127.0.0.1:9/v1beta/", headers={"x-extra": "1"}
    )
    other = ADAPTER.build_request(chat, target(), custom, None)
    assert other.url == "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert "x-goog-api-key" not in other.headers and other.headers["x-extra"] == "1"


def test_minimal_body() -> None:
    assert body_for() == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def test_system_generation_config_and_thinking() -> None:
    body = body_for(
        system="Be brief.",
        messages=[
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "hi"},
        ],
        maxTokens=300,
        temperature=0.2,
        stopSequences=["END"],
        thinking={"budgetTokens": 1024},
    )
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief.\n\nAnswer in French."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert body["generationConfig"] == {
        "maxOutputTokens": 300,
        "temperature": 0.2,
        "stopSequences": ["END"],
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
    }
    assert body_for(thinking={"budgetTokens": 0})["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 0}
    }


def test_thinking_models_stream_their_thoughts_by_default() -> None:
    chat = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    body = ADAPTER.build_request(chat, target(thinking=True), SETTINGS, KEY).json
    assert body["generationConfig"] == {"thinkingConfig": {"includeThoughts": True}}


TOOL = {
    "name": "get_weather",
    "description": "Weather forecast",
    "inputSchema": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "city": {"type": "string", "default": "Paris"},
            "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
        },
        "required": ["city"],
    },
}


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("any", {"mode": "ANY"}),
        ("none", {"mode": "NONE"}),
        ({"name": "get_weather"}, {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    ],
)
def test_tools_and_tool_choice(choice: Any, config: dict[str, Any]) -> None:
    no_args = {"name": "ping", "inputSchema": {"type": "object", "properties": {}}}
    body = body_for(tools=[TOOL, no_args], toolChoice=choice)
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather forecast",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "city": {"type": "string"},
                            "unit": {"type": "string", "nullable": True, "enum": ["c", "f"]},
                        },
                        "required": ["city"],
                    },
                },
                {"name": "ping"},
            ]
        }
    ]
    assert body["toolConfig"] == {"functionCallingConfig": config}


def test_tool_round_trip_carries_names_and_signatures() -> None:
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "text": "Let me look.", "signature": "sig-text"},
                {"type": "text", "text": "Checking."},
                {
                    "type": "toolUse",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                    "providerData": {"thoughtSignature": "sig-call"},
                },
                {"type": "toolUse", "id": "call_2", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "tool",
            "content": [
                {"type": "toolResult", "toolUseId": "call_1", "content": "sunny"},
                {
                    "type": "toolResult",
                    "toolUseId": "call_2",
                    "content": [{"type": "text", "text": "boom"}],
                    "isError": True,
                },
            ],
        },
        {"role": "user", "content": "Thanks"},
    ]
    body = body_for(messages=history)
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Checking.", "thoughtSignature": "sig-text"},
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "sig-call",
                },
                {"functionCall": {"name": "get_time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
                {"functionResponse": {"name": "get_time", "response": {"error": "boom"}}},
                {"text": "Thanks"},
            ],
        },
    ]


def test_gemini_3_gets_a_stand_in_signature_for_an_unsigned_call() -> None:
    history = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "toolUse", "id": "a", "name": "f", "input": {}},
                {"type": "toolUse", "id": "b", "name": "f", "input": {}},
            ],
        },
        {"role": "tool", "content": [{"type": "toolResult", "toolUseId": "a", "content": "1"}]},
    ]
    three = body_for("gemini-3-flash-preview", messages=history)["contents"][1]["parts"]
    assert three[0]["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in three[1]
    two = body_for("gemini-2.5-flash", messages=history)["contents"][1]["parts"]
    assert all("thoughtSignature" not in part for part in two)


def test_a_trailing_signature_goes_on_the_last_part() -> None:
    history = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Done."},
                {"type": "thinking", "text": "", "signature": "late"},
            ],
        },
        {"role": "user", "content": "ok"},
    ]
    parts = body_for(messages=history)["contents"][1]["parts"]
    assert parts == [{"text": "Done.", "thoughtSignature": "late"}]


def test_provider_call_ids_travel_back() -> None:
    history = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "toolUse",
                    "id": "fc-7",
                    "name": "f",
                    "input": {},
                    "providerData": {"id": "fc-7"},
                }
            ],
        },
        {"role": "tool", "content": [{"type": "toolResult", "toolUseId": "fc-7", "content": ""}]},
    ]
    contents = body_for(messages=history)["contents"]
    assert contents[1]["parts"][0]["functionCall"]["id"] == "fc-7"
    assert contents[2]["parts"][0]["functionResponse"]["id"] == "fc-7"


def test_images() -> None:
    content = [
        {"type": "image", "mediaType": "image/png", "data": "iVBORw0KGgo="},
        {"type": "image", "url": "data:image/jpeg;base64,/9j/4AAQ"},
        {"type": "image", "url": "https://example.com/cat.webp?x=1"},
        {"type": "image", "url": "gs://bucket/object"},
        {"type": "text", "text": "What are these?"},
    ]
    parts = body_for(messages=[{"role": "user", "content": content}])["contents"][0]["parts"]
    assert parts == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
        {"fileData": {"fileUri": "https://example.com/cat.webp?x=1", "mimeType": "image/webp"}},
        {"fileData": {"fileUri": "gs://bucket/object"}},
        {"text": "What are these?"},
    ]


def test_tool_result_images_follow_the_response() -> None:
    history = [
        {"role": "user", "content": "draw"},
        {"role": "assistant", "content": [{"type": "toolUse", "id": "c", "name": "shot"}]},
        {
            "role": "tool",
            "content": [
                {
                    "type": "toolResult",
                    "toolUseId": "c",
                    "content": [
                        {"type": "text", "text": "here"},
                        {"type": "image", "mediaType": "image/png", "data": "AAAA"},
                    ],
                }
            ],
        },
    ]
    parts = body_for(messages=history)["contents"][2]["parts"]
    assert parts == [
        {"functionResponse": {"name": "shot", "response": {"result": "here"}}},
        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
    ]


def test_provider_options_win() -> None:
    body = body_for(providerOptions={"safetySettings": [{"category": "X", "threshold": "OFF"}]})
    assert body["safetySettings"] == [{"category": "X", "threshold": "OFF"}]


def test_count_tokens_request_and_answer() -> None:
    chat = ChatParams.model_validate(
        {"messages": [{"role": "user", "content": "hi"}], "system": "s", "tools": [TOOL]}
    )
    request = ADAPTER.count_tokens_request(chat, target(), SETTINGS, KEY)
    assert request.url.endswith("/models/gemini-2.5-flash:countTokens")
    inner = request.json["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash"
    assert inner["systemInstruction"] == {"parts": [{"text": "s"}]}
    assert inner["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert ADAPTER.parse_count_tokens({"totalTokens": 42}) == 42
    assert ADAPTER.parse_count_tokens(b'{"totalTokens": 7}') == 7
    with pytest.raises(Exception, match="totalTokens"):
        ADAPTER.parse_count_tokens({"totalTokens": "many"})


# ---- against the fake ---------------------------------------------------------------


@pytest.fixture
def fake() -> Any:
    with FakeGemini() as server:
        yield server


def send(request: Any) -> httpx.Response:
    return httpx.request(
        request.method,
        request.url,
        headers=request.headers,
        params=request.params,
        content=request.body(),
        timeout=10,
    )


def test_round_trip_through_the_fake(fake: FakeGemini) -> None:
    settings = ProviderSettings(id="gemini", kind="gemini", base_url=f"{fake.url}/v1beta")
    key = Credential(secret=fake.api_key, source="test")
    call = ToolCall(id="x", name="get_weather", input={"city": "Paris"})
    fake.enqueue_scenario(Scenario(text="Hi.", thinking="Hmm.", tool_calls=[call], stop="toolUse"))
    chat = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    response = send(ADAPTER.build_request(chat, target(), settings, key))
    assert response.status_code == 200
    events = decode([response.content])
    accumulator = ChatAccumulator("id", "gemini/x")
    for event in events:
        accumulator.add(event)
    result = accumulator.result(None)
    assert accumulator.text() == "Hi."
    assert result.stop_reason == "toolUse"
    tool = next(p for p in result.content if p.type == "toolUse")
    assert (tool.name, tool.input) == ("get_weather", {"city": "Paris"})
    assert tool.provider_data and tool.provider_data["thoughtSignature"]
    assert "".join(e.text for e in of(events, ThinkingEvent)) == "Hmm."


def test_models_and_count_through_the_fake(fake: FakeGemini) -> None:
    settings = ProviderSettings(id="gemini", kind="gemini", base_url=f"{fake.url}/v1beta")
    key = Credential(secret=fake.api_key, source="test")
    request = ADAPTER.models_request(settings, key)
    assert request is not None and request.params == {"pageSize": "1000"}
    listed = ADAPTER.parse_models(send(request).json())
    assert [m.name for m in listed] == ["gemini-2.5-pro", "gemini-2.5-flash"]
    assert listed[0].context_window == 1048576 and listed[0].max_output_tokens == 65536
    assert listed[0].thinking is True and listed[0].display_name == "Gemini 2.5 Pro"
    chat = ChatParams.model_validate({"messages": [{"role": "user", "content": "hello"}]})
    counted = send(ADAPTER.count_tokens_request(chat, target(), settings, key))
    assert ADAPTER.parse_count_tokens(counted.json()) > 0


def test_error_answer_through_the_fake(fake: FakeGemini) -> None:
    settings = ProviderSettings(id="gemini", kind="gemini", base_url=f"{fake.url}/v1beta")
    chat = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
    wrong = Credential(secret="AIzaWrongKey000000000000000000000000", source="test")
    response = send(ADAPTER.build_request(chat, target(), settings, wrong))
    error = ADAPTER.parse_error(response.status_code, dict(response.headers), response.content)
    assert error.code == ErrorCode.AUTHENTICATION_FAILED
    assert "API key not valid" in error.message


# ---- the corpus --------------------------------------------------------------------


def corpus_files() -> list[Any]:
    files = [
        p
        for folder in ("gemini", "vertex")
        for p in wire_files(folder, (".sse", ".jsonl", ".json"))
        if not p.name.endswith(".meta.json")
    ]
    if files:
        return [pytest.param(path, id=f"{path.parent.name}/{path.name}") for path in files]
    reason = f"wire corpus not found at {WIRE} (it lives in ../shared beside the repo)"
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]


# What each recorded body must decode to: text, tool calls, stop, usage (in, out, reasoning).
EXPECTED: dict[str, dict[str, Any]] = {
    "gemini/nonstream-finish-safety.json": {"stop": "contentFilter", "usage": (14, 0, None)},
    "gemini/nonstream-max-tokens-no-parts.json": {"stop": "maxTokens", "usage": (15, 2, 2)},
    "gemini/nonstream-three-function-calls.json": {
        "tools": [("generate_topic", {})] * 3,
        "signed": ["Es8FCswF"],
        "stop": "toolUse",
        "usage": (83, 220, 190),
    },
    "gemini/stream-function-call-single-chunk.sse": {
        "tools": [("get_capital", {"country": "France"})],
        "stop": "toolUse",
        "usage": (52, 5, None),
    },
    "gemini/stream-function-call-thought-signature.sse": {
        "tools": [("get_country", {})],
        "signed": ["EpwICpkI"],
        "stop": "toolUse",
        "usage": (29, 212, 202),
    },
    "gemini/stream-text-multi-chunk.sse": {
        "text": "The temperature in Paris is 30°C.\n",
        "stop": "endTurn",
        "usage": (79, 12, None),
    },
    "gemini/stream-thinking-thought-parts.sse": {
        "text_start": "This is a great question!",
        "thinking_start": "**Clarifying User Goals**",
        "stop": "endTurn",
        "usage": (34, 1256, 787),
    },
    "gemini/stream-tool-call-gemini3.chunks.jsonl": {
        "tools": [("weather", {"location": "San Francisco"})],
        "signed": ["EpEgCo4g"],
        "stop": "toolUse",
        "usage": (29, 819, 804),
    },
    "vertex/nonstream-function-call-avglogprobs.json": {
        "tools": [("get_file", {})],
        "signed": ["CscCAY89"],
        "stop": "toolUse",
        "usage": (114, 83, 76),
    },
    "vertex/nonstream-prompt-blocked-model-armor.json": {"stop": "contentFilter"},
    "vertex/stream-function-call-partial-args.chunks.jsonl": {
        "tools": [
            ("getWeather", {"location": "Boston"}),
            ("getWeather", {"location": "San Francisco"}),
        ],
        "signed": ["CiMBjz1r"],
        "stop": "toolUse",
        "usage": (26, 155, 132),
    },
    "vertex/stream-function-call-partial-args-nested.chunks.jsonl": {
        "tool_names": ["cookRecipe"],
        "signed": ["CmIBjz1r"],
        "stop": "toolUse",
        "usage": (31, 1710, 1026),
    },
    "vertex/stream-generate-content-flex.sse": {
        "text": "OK",
        "text_signed": "CiQBjz1r",
        "stop": "endTurn",
        "usage": (5, 101, 100),
    },
    "gemini/error-404-not-found.json": {
        "error": (404, ErrorCode.UNKNOWN_MODEL, "gemini-3.6-flahs", None)
    },
    "gemini/error-429-resource-exhausted.json": {
        "error": (429, ErrorCode.RATE_LIMITED, "exceeded your current quota", 34400)
    },
    "vertex/error-400-invalid-argument.json": {
        "error": (400, ErrorCode.INVALID_REQUEST, "URL_ROBOTED", None)
    },
}


def replay(path: Path, seed: int | None = None) -> list[ChatEvent]:
    adapter = VERTEX if path.parent.name == "vertex" else ADAPTER
    if path.name.endswith(".json"):
        return adapter.decode_body(json.loads(path.read_text()), target())
    if path.name.endswith(".chunks.jsonl"):
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        body = "".join(f"data: {line}\r\n\r\n" for line in lines).encode()
    else:
        body = body_bytes(path)
    return decode([body] if seed is None else random_chunks(body, seed), adapter)


def check_expected(events: list[ChatEvent], expected: dict[str, Any]) -> None:
    assert_one_stop_at_the_end(events)
    assert events[-1] == StopEvent(reason=expected["stop"])
    assert not of(events, ErrorEvent)
    assert sum(isinstance(e, StartedEvent) for e in events) == 1 and isinstance(
        events[0], StartedEvent
    )
    text = "".join(e.text for e in of(events, TextEvent))
    if "text" in expected:
        assert text == expected["text"]
    if "text_start" in expected:
        assert text.startswith(expected["text_start"])
    thinking = "".join(e.text for e in of(events, ThinkingEvent))
    if "thinking_start" in expected:
        assert thinking.startswith(expected["thinking_start"])
    tools = of(events, ToolUseEvent)
    if "tools" in expected:
        assert [(t.name, t.input) for t in tools] == expected["tools"]
    if "tool_names" in expected:
        assert [t.name for t in tools] == expected["tool_names"]
    assert len(of(events, ToolUseStartEvent)) == len(tools)
    for tool in tools:
        deltas = [e.input_json for e in of(events, ToolUseDeltaEvent) if e.id == tool.id]
        assert json.loads("".join(deltas) or "{}") == tool.input
    signed = [(t.provider_data or {}).get("thoughtSignature", "")[:8] for t in tools]
    assert [s for s in signed if s] == expected.get("signed", [])
    if "text_signed" in expected:
        signatures = [e.signature for e in of(events, ThinkingEvent) if e.signature]
        assert signatures and signatures[0].startswith(expected["text_signed"])
    usage = of(events, UsageEvent)
    if "usage" in expected:
        last = usage[-1]
        assert (last.input_tokens, last.output_tokens, last.reasoning_tokens) == expected["usage"]
    else:
        assert not usage


@pytest.mark.parametrize("path", corpus_files())
def test_corpus_decodes_to_the_recorded_answer(path: Path) -> None:
    key = f"{path.parent.name}/{path.name}"
    assert key in EXPECTED, f"{key}: a corpus file without expectations here"
    expected = EXPECTED[key]
    if "error" in expected:
        status, code, words, wait = expected["error"]
        adapter = VERTEX if path.parent.name == "vertex" else ADAPTER
        error = adapter.parse_error(status, {}, path.read_bytes())
        assert error.code == code and words in error.message
        assert error.status == status and error.retry_after_ms == wait
        return
    whole = replay(path)
    check_expected(whole, expected)
    if not path.name.endswith(".json"):
        for seed in SEEDS:
            assert stable(replay(path, seed)) == stable(whole)


def test_nested_partial_arguments_build_the_whole_object() -> None:
    path = WIRE / "vertex" / "stream-function-call-partial-args-nested.chunks.jsonl"
    if not path.exists():
        pytest.skip(f"wire corpus not found at {path.parent}")
    recipe = of(replay(path), ToolUseEvent)[0].input["recipe"]
    assert recipe["name"] == "Lasagna"
    assert recipe["ingredients"][0] == {"amount": "16 oz", "name": "Lasagna noodles"}
    assert len(recipe["ingredients"]) == 10 and len(recipe["steps"]) == 10
    assert recipe["steps"][1] == (
        "Cook lasagna noodles according to package directions, drain and set aside."
    )


# ---- decoder details the corpus does not show -------------------------------------------


def test_cached_tokens_are_part_of_input() -> None:
    usage = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 800,
        "candidatesTokenCount": 10,
        "thoughtsTokenCount": 5,
        "toolUsePromptTokenCount": 20,
    }
    events = feed(chunk({"text": "x"}, finish="STOP", usageMetadata=usage))
    assert of(events, UsageEvent) == [
        UsageEvent(
            input_tokens=1020, output_tokens=15, cache_read_input_tokens=800, reasoning_tokens=5
        )
    ]


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("STOP", "endTurn"),
        ("MAX_TOKENS", "maxTokens"),
        ("SAFETY", "contentFilter"),
        ("RECITATION", "contentFilter"),
        ("BLOCKLIST", "contentFilter"),
        ("PROHIBITED_CONTENT", "contentFilter"),
        ("SPII", "contentFilter"),
        ("MODEL_ARMOR", "contentFilter"),
        ("IMAGE_SAFETY", "contentFilter"),
        ("OTHER", "other"),
        ("FINISH_REASON_UNSPECIFIED", "other"),
    ],
)
def test_finish_reasons(finish: str, stop: StopReason) -> None:
    assert feed(chunk({"text": "x"}, finish=finish))[-1] == StopEvent(reason=stop)


def test_a_malformed_function_call_is_an_error() -> None:
    malformed = chunk(finish="MALFORMED_FUNCTION_CALL")
    malformed["candidates"][0]["finishMessage"] = "Malformed call: x"
    events = feed(malformed)
    assert events[-2:] == [
        ErrorEvent(code=ErrorCode.PROVIDER_UNAVAILABLE, message="Malformed call: x"),
        StopEvent(reason="error"),
    ]


def test_a_blocked_prompt_is_a_content_filter_stop() -> None:
    events = feed({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "responseId": "r"})
    assert events[-1] == StopEvent(reason="contentFilter")
    assert not of(events, ErrorEvent)


def test_an_error_inside_the_stream() -> None:
    error = {
        "error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}
    }
    events = feed(chunk({"text": "partial"}), error, chunk({"text": "ignored"}, finish="STOP"))
    assert [e.text for e in of(events, TextEvent)] == ["partial"]
    assert events[-2:] == [
        ErrorEvent(code=ErrorCode.RATE_LIMITED, message="Resource exhausted"),
        StopEvent(reason="error"),
    ]
    wrapped = feed(
        json.dumps([{"error": {"code": 500, "message": "Internal", "status": "INTERNAL"}}])
    )
    assert of(wrapped, ErrorEvent)[0].code == ErrorCode.PROVIDER_UNAVAILABLE


def test_stream_cut_short_finishes_open_calls() -> None:
    start = {"functionCall": {"name": "f", "willContinue": True}}
    fragment = {"functionCall": {"partialArgs": [{"jsonPath": "$.q", "stringValue": "ab"}]}}
    events = feed(chunk(start), chunk(fragment))
    assert of(events, ToolUseEvent)[0].input == {"q": "ab"}
    assert events[-2:] == [
        ErrorEvent(code=ErrorCode.NETWORK, message="the stream ended early"),
        StopEvent(reason="error"),
    ]


def test_partial_arguments_of_every_type() -> None:
    start = {"functionCall": {"name": "f", "willContinue": True}}
    fragments = [
        {"jsonPath": "$.s", "stringValue": "he", "willContinue": True},
        {"jsonPath": "$.s", "stringValue": "llo"},
        {"jsonPath": "$.n", "numberValue": 2.5},
        {"jsonPath": "$.b", "boolValue": True},
        {"jsonPath": "$.z", "nullValue": None},
        {"jsonPath": "$.deep.list[1].k", "stringValue": "v"},
        {"jsonPath": "$['odd key']", "stringValue": "q"},
        {"jsonPath": 5, "stringValue": "ignored"},
        {"jsonPath": "$.none"},
    ]
    events = feed(
        chunk(start),
        chunk({"functionCall": {"partialArgs": fragments, "willContinue": True}}),
        chunk({"functionCall": {}}, finish="STOP"),
    )
    assert of(events, ToolUseEvent)[0].input == {
        "s": "hello",
        "n": 2.5,
        "b": True,
        "z": None,
        "deep": {"list": [None, {"k": "v"}]},
        "odd key": "q",
    }
    assert events[-1] == StopEvent(reason="toolUse")


def test_provider_call_ids_are_kept() -> None:
    events = feed(chunk({"functionCall": {"id": "fc-1", "name": "f", "args": {}}}, finish="STOP"))
    tool = of(events, ToolUseEvent)[0]
    assert tool.id == "fc-1" and tool.provider_data == {"id": "fc-1"}


def test_signed_text_and_thoughts() -> None:
    events = feed(
        chunk({"text": "plan", "thought": True}),
        chunk({"text": "Answer", "thoughtSignature": "sig"}, finish="STOP"),
    )
    kinds = [
        (type(e).__name__, getattr(e, "text", None), getattr(e, "signature", None)) for e in events
    ]
    assert kinds[1:4] == [
        ("ThinkingEvent", "plan", None),
        ("ThinkingEvent", "", "sig"),
        ("TextEvent", "Answer", None),
    ]


def test_started_once_with_the_response_id() -> None:
    events = feed(
        chunk({"text": "a"}, responseId="r-1", modelVersion="gemini-2.5-flash-001"),
        chunk({"text": "b"}, finish="STOP", responseId="r-1"),
    )
    assert of(events, StartedEvent) == [StartedEvent(id="r-1", model="gemini-2.5-flash-001")]


def test_nothing_after_the_stop() -> None:
    decoder = ADAPTER.decoder(target())
    decoder.feed(SSEEvent("message", json.dumps(chunk({"text": "a"}, finish="STOP"))))
    assert decoder.close()[-1] == StopEvent(reason="endTurn")
    assert decoder.feed(SSEEvent("message", json.dumps(chunk({"text": "b"})))) == []
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "API key not valid. Please pass a valid API key.",
                    "status": "INVALID_ARGUMENT",
                }
            },
            ErrorCode.AUTHENTICATION_FAILED,
        ),
        (
            401,
            {
                "error": {
                    "code": 401,
                    "message": "Request had invalid authentication credentials.",
                    "status": "UNAUTHENTICATED",
                }
            },
            ErrorCode.AUTHENTICATION_FAILED,
        ),
        (
            403,
            {
                "error": {
                    "code": 403,
                    "message": "The caller does not have permission",
                    "status": "PERMISSION_DENIED",
                }
            },
            ErrorCode.PERMISSION_DENIED,
        ),
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "The input token count (1200000) exceeds the"
                    " maximum number of tokens allowed (1048576).",
                    "status": "INVALID_ARGUMENT",
                }
            },
            ErrorCode.CONTEXT_LENGTH_EXCEEDED,
        ),
        (
            500,
            {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}},
            ErrorCode.PROVIDER_UNAVAILABLE,
        ),
        (
            503,
            {
                "error": {
                    "code": 503,
                    "message": "The model is overloaded.",
                    "status": "UNAVAILABLE",
                }
            },
            ErrorCode.PROVIDER_UNAVAILABLE,
        ),
        (
            504,
            {"error": {"code": 504, "message": "Deadline expired", "status": "DEADLINE_EXCEEDED"}},
            ErrorCode.TIMEOUT,
        ),
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "User location is not supported",
                    "status": "FAILED_PRECONDITION",
                }
            },
            ErrorCode.INVALID_REQUEST,
        ),
        (
            404,
            [{"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}],
            ErrorCode.UNKNOWN_MODEL,
        ),
    ],
)
def test_error_codes(status: int, body: Any, code: ErrorCode) -> None:
    error = ADAPTER.parse_error(status, {}, json.dumps(body).encode())
    assert error.code == code
    assert error.status == status and error.provider == "gemini"


def test_error_body_that_is_not_json() -> None:
    error = ADAPTER.parse_error(502, {"retry-after": "3"}, b"<html>Bad Gateway</html>")
    assert error.code == ErrorCode.PROVIDER_UNAVAILABLE
    assert "Bad Gateway" in error.message and error.retry_after_ms == 3000


# ---- no input makes the decoder raise ------------------------------------------------


@pytest.mark.parametrize("seed", range(15))
def test_random_bytes_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
    for body in (noise, b"data: " + noise + b"\r\n\r\n" + noise):
        assert_one_stop_at_the_end(decode(random_chunks(body, seed)))


JUNK: list[Any] = [None, True, 3, -1, 2.5, "x", "", [], [1, {}], {}, {"parts": 5}]


def mangle(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        return {
            k: rng.choice(JUNK) if rng.random() < 0.3 else mangle(v, rng) for k, v in value.items()
        }
    if isinstance(value, list):
        return [mangle(item, rng) for item in value]
    return value


@pytest.mark.parametrize("path", corpus_files())
def test_wrong_types_in_valid_json_never_raise(path: Path) -> None:
    if path.name.startswith("error-"):
        for seed in range(10):
            mangled = mangle(json.loads(path.read_text()), random.Random(seed))
            ADAPTER.parse_error(400, {}, json.dumps(mangled).encode())
        return
    if path.name.endswith(".json"):
        objects = [json.loads(path.read_text())]
    elif path.name.endswith(".jsonl"):
        objects = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        objects = [json.loads(e.data) for e in SSEDecoder().feed(body_bytes(path) + b"\r\n\r\n")]
    for seed in range(10):
        rng = random.Random(seed)
        mangled = [mangle(item, rng) for item in objects]
        assert_one_stop_at_the_end(feed(*mangled))
        assert_one_stop_at_the_end(ADAPTER.decode_body(mangled[0], target()))


@pytest.mark.parametrize("path", corpus_files())
def test_truncated_bodies_never_raise(path: Path) -> None:
    if path.name.endswith(".json"):
        return
    body = path.read_bytes()
    rng = random.Random(path.name)
    for cut in sorted({rng.randrange(len(body)) for _ in range(20)}):
        assert_one_stop_at_the_end(decode(random_chunks(body[:cut], cut)))
