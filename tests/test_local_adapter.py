"""Local OpenAI-compatible servers: presets, optional keys, options, think tags, model lists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    Message,
    StopEvent,
    TextEvent,
    ThinkingEvent,
    ToolUseEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for, kinds, listed_kinds, option_keys
from switchboard.providers.adapters.local import (
    LocalServerAdapter,
    OllamaAdapter,
    ThinkTags,
)
from switchboard.providers.base import Credential, ListedModel, ModelTarget, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.sse import SSEDecoder
from switchboard.providers.wire.transport import Transport

from tests.fakes.local import FakeLocal
from tests.fakes.scenario import Scenario, ToolCall

PRESETS = {
    "ollama": "http://localhost:11434/v1",
    "lmstudio": "http://localhost:1234/v1",
    "llamacpp": "http://localhost:8080/v1",
    "vllm": "http://localhost:8000/v1",
}
LOCAL_KINDS = ("openai-compatible", *PRESETS)
BOX = ProviderSettings(id="box", kind="openai-compatible", base_url="http://127.0.0.1:7/v1")


def target(model: str = "llama3.2", provider: str = "box") -> ModelTarget:
    info = ModelInfo(id=f"{provider}/{model}", provider=provider, name=model, context_window=8192)
    return ModelTarget(provider, model, info)


def params(**fields: Any) -> ChatParams:
    fields.setdefault("messages", [Message(role="user", content="hi")])
    return ChatParams(**fields)


def body_for(settings: ProviderSettings = BOX, model: str = "llama3.2", **fields: Any) -> Any:
    adapter = adapter_for(settings.kind)
    return json.loads(adapter.build_request(params(**fields), target(model), settings, None).body())


def decode(data: bytes, kind: str = "openai-compatible") -> list[Any]:
    sse, decoder = SSEDecoder(), adapter_for(kind).decoder(target())
    events: list[Any] = []
    for event in [*sse.feed(data), *sse.close()]:
        events += decoder.feed(event)
    return events + decoder.close()


def sse(*deltas: Any, finish: str | None = None, done: bool = True) -> bytes:
    chunks = [
        {"id": "chatcmpl-1", "model": "m", "choices": [{"index": 0, "delta": d}]} for d in deltas
    ]
    if finish is not None:
        chunks.append(
            {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
        )
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def joined(events: list[Any], kind: type) -> str:
    return "".join(event.text for event in of_type(events, kind))


# ---- the registry and the request ----------------------------------------------------


def test_local_kinds_exist_only_when_configured() -> None:
    for kind in LOCAL_KINDS:
        assert kind in kinds() and kind not in listed_kinds()
        assert option_keys(kind) == {"models", "context_window", "stream_usage", "fim"}
        assert isinstance(adapter_for(kind), LocalServerAdapter)
        assert adapter_for(kind).api_key_envs == ()


@pytest.mark.parametrize(("kind", "base"), PRESETS.items())
def test_presets_know_their_address(kind: str, base: str) -> None:
    adapter = adapter_for(kind)
    settings = ProviderSettings(id=kind, kind=kind)
    sent = adapter.build_request(params(), target(), settings, None)
    assert sent.url == f"{base}/chat/completions"
    assert adapter.default_base_url == base


def test_no_key_no_authorization_and_a_key_when_configured() -> None:
    adapter = adapter_for("openai-compatible")
    bare = adapter.build_request(params(), target(), BOX, None)
    assert "Authorization" not in bare.headers
    keyed = adapter.build_request(params(), target(), BOX, Credential("local-secret-1", "env:X"))
    assert keyed.headers["Authorization"] == "Bearer local-secret-1"


def test_a_custom_server_needs_a_base_url() -> None:
    settings = ProviderSettings(id="box", kind="openai-compatible")
    with pytest.raises(ProviderError) as caught:
        adapter_for("openai-compatible").build_request(params(), target(), settings, None)
    assert caught.value.code == ErrorCode.INVALID_REQUEST
    assert "base_url" in caught.value.message and "[providers.box]" in (
        caught.value.suggestion or ""
    )


def test_body_fields_for_local_servers() -> None:
    body = body_for(model="o3-distill", max_tokens=50, temperature=0.2)
    assert body["max_tokens"] == 50 and "max_completion_tokens" not in body
    assert body["temperature"] == 0.2  # no o-series rules on a local server
    assert body["stream_options"] == {"include_usage": True}
    assert "reasoning_effort" not in body
    thinking = body_for(thinking={"budgetTokens": 20000})
    assert thinking["reasoning_effort"] == "high"


def test_stream_usage_can_be_turned_off() -> None:
    off = ProviderSettings(**{**BOX.__dict__, "options": {"stream_usage": False}})
    assert "stream_options" not in body_for(off)
    bad = ProviderSettings(**{**BOX.__dict__, "options": {"stream_usage": "no"}})
    with pytest.raises(ProviderError) as caught:
        body_for(bad)
    assert "stream_usage" in caught.value.message


# ---- decoding --------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_are_thinking(field: str) -> None:
    events = decode(sse({field: "Hmm, "}, {field: "yes."}, {"content": "Yes."}, finish="stop"))
    assert joined(events, ThinkingEvent) == "Hmm, yes."
    assert joined(events, TextEvent) == "Yes."
    assert not of_type(events, UsageEvent)  # nothing invented when the server sends none
    assert events[-1] == StopEvent(reason="endTurn")


def test_whole_tool_call_without_an_id_and_no_finish_reason() -> None:
    call = {"index": 0, "function": {"name": "weather", "arguments": '{"city": "Lima"}'}}
    events = decode(sse({"tool_calls": [call]}))
    [use] = of_type(events, ToolUseEvent)
    assert (use.id, use.name, use.input) == ("call_0", "weather", {"city": "Lima"})
    assert events[-1] == StopEvent(reason="toolUse")


def test_think_tags_in_content_become_thinking() -> None:
    pieces = ["<th", "ink>\nLet me", " think.</", "think>\n\n", "The answer", " is 4."]
    events = decode(sse(*({"content": p} for p in pieces), finish="stop"))
    assert joined(events, ThinkingEvent) == "\nLet me think."
    assert joined(events, TextEvent) == "The answer is 4."
    assert events[-1] == StopEvent(reason="endTurn")


def test_held_back_content_comes_before_the_stop_or_the_error() -> None:
    events = decode(sse({"content": "<think>unfinished </thi"}, finish="length"))
    assert joined(events, ThinkingEvent) == "unfinished </thi"
    assert events[-1] == StopEvent(reason="maxTokens")
    cut = decode(sse({"content": "  "}, done=False))
    assert joined(cut, TextEvent) == "  "
    assert isinstance(cut[-2], ErrorEvent) and cut[-1] == StopEvent(reason="error")
    erred = (
        sse({"content": "<think>a</th"}, done=False) + b'data: {"error": {"message": "boom"}}\n\n'
    )
    events = decode(erred)
    assert [type(e).__name__ for e in events[-3:]] == ["ThinkingEvent", "ErrorEvent", "StopEvent"]


def test_whole_answer_with_think_tags() -> None:
    body = {
        "id": "x",
        "model": "qwen3",
        "choices": [
            {
                "index": 0,
                "message": {"content": "<think>plan</think>\n\nDone."},
                "finish_reason": "stop",
            }
        ],
    }
    events = adapter_for("llamacpp").decode_body(body, target())
    assert joined(events, ThinkingEvent) == "plan"
    assert joined(events, TextEvent) == "Done."


def tag_events(pieces: list[str]) -> tuple[str, str]:
    tags = ThinkTags()
    events: list[ChatEvent] = []
    for piece in pieces:
        events += tags.feed(piece)
    events += tags.flush()
    return joined(events, ThinkingEvent), joined(events, TextEvent)


@pytest.mark.parametrize(
    ("content", "thinking", "text"),
    [
        ("<think>abc</think>\n\nanswer", "abc", "answer"),
        ("  \n<think>x</think>y", "x", "y"),
        ("no tags at all", "", "no tags at all"),
        ("<thinking> is a word", "", "<thinking> is a word"),
        ("<thin", "", "<thin"),
        ("answer <think>later</think>", "", "answer <think>later</think>"),
        ("<think>a<b</think>c</think>", "a<b", "c</think>"),
        ("<think>never closed", "never closed", ""),
        ("<think></think>only text", "", "only text"),
    ],
)
def test_think_tags_split_at_every_point(content: str, thinking: str, text: str) -> None:
    assert tag_events([content]) == (thinking, text)
    for cut in range(len(content) + 1):
        assert tag_events([content[:cut], content[cut:]]) == (thinking, text), cut
    assert tag_events(list(content)) == (thinking, text)


# ---- model lists -------------------------------------------------------------------------


def test_model_list_requests() -> None:
    sent = adapter_for("openai-compatible").models_request(BOX, None)
    assert sent is not None and sent.url == "http://127.0.0.1:7/v1/models"
    ollama = ProviderSettings(id="ollama", kind="ollama")
    sent = OllamaAdapter().models_request(ollama, None)
    assert sent is not None and sent.url == "http://localhost:11434/api/tags"
    assert "Authorization" not in sent.headers


def test_model_lists_of_each_shape() -> None:
    adapter = adapter_for("vllm")
    vllm = {
        "object": "list",
        "data": [{"id": "Qwen/Qwen3-8B", "object": "model", "max_model_len": 32768}],
    }
    assert adapter.parse_models(vllm) == [ListedModel(name="Qwen/Qwen3-8B", context_window=32768)]
    tags = {
        "models": [
            {"name": "llama3.2:latest", "model": "llama3.2:latest"},
            {"name": "nomic-embed-text:latest"},
        ]
    }
    assert [m.name for m in adapter.parse_models(tags)] == ["llama3.2:latest"]
    assert adapter.parse_models({"data": [5, {"id": ""}]}) == [] == adapter.parse_models("x")


def test_configured_models_and_context_window() -> None:
    adapter = LocalServerAdapter()
    settings = ProviderSettings(
        **{**BOX.__dict__, "options": {"models": ["a", "b"], "context_window": 32768}}
    )
    assert adapter.configured_models(settings, None) == [
        ListedModel(name="a", context_window=32768),
        ListedModel(name="b", context_window=32768),
    ]
    discovered = [ListedModel(name="c"), ListedModel(name="d", context_window=4096)]
    assert adapter.configured_models(settings, discovered) == [
        ListedModel(name="c", context_window=32768),
        ListedModel(name="d", context_window=4096),
    ]
    assert adapter.configured_models(BOX, None) == []
    for options in (
        {"models": "a"},
        {"models": [1]},
        {"context_window": 0},
        {"context_window": True},
    ):
        bad = ProviderSettings(**{**BOX.__dict__, "options": options})
        with pytest.raises(ProviderError):
            adapter.configured_models(bad, None)


# ---- the fake, checked against the official SDK ----------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeLocal]:
    with FakeLocal(ollama=True, reasoning_field="reasoning") as server:
        yield server


def client(fake: FakeLocal) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url, api_key="unused", max_retries=0)


def test_sdk_stream_has_no_usage_and_whole_tool_calls(fake: FakeLocal) -> None:
    call = ToolCall("call_1", "weather", {"city": "Lima"})
    fake.enqueue_scenario(Scenario(text="Looking.", tool_calls=[call], stop="toolUse"))
    chunks = list(
        client(fake).chat.completions.create(
            model="llama3.2",
            messages=[{"role": "user", "content": "x"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(c.usage is None for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Looking."
    [delta] = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert delta.id == "call_1" and delta.function is not None
    assert json.loads(delta.function.arguments or "") == {"city": "Lima"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_sdk_non_stream_and_models(fake: FakeLocal) -> None:
    fake.enqueue_scenario(Scenario(text="Hi.", thinking="ponder"))
    whole = client(fake).chat.completions.create(
        model="qwen3:8b", messages=[{"role": "user", "content": "x"}]
    )
    assert whole.choices[0].message.content == "Hi."
    assert whole.usage is None
    assert [m.id for m in client(fake).models.list()] == ["llama3.2", "qwen3:8b"]
    with pytest.raises(openai.NotFoundError) as caught:
        client(fake).chat.completions.create(
            model="mystery", messages=[{"role": "user", "content": "x"}]
        )
    assert "try pulling it first" in str(caught.value)


def test_sdk_sees_a_stream_without_finish_reason(fake: FakeLocal) -> None:
    fake.finish_reason = False
    fake.enqueue_scenario(Scenario(text="ok"))
    chunks = list(
        client(fake).chat.completions.create(
            model="llama3.2", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert [c.choices[0].finish_reason for c in chunks] == [None] * len(chunks)


def test_a_strict_server_rejects_stream_options() -> None:
    with FakeLocal(rejects_stream_options=True) as strict:
        with pytest.raises(openai.BadRequestError):
            client(strict).chat.completions.create(
                model="llama3.2",
                messages=[{"role": "user", "content": "x"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        strict.enqueue_scenario(Scenario(text="fine"))
        chunks = client(strict).chat.completions.create(
            model="llama3.2", messages=[{"role": "user", "content": "x"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "fine"


# ---- over real HTTP ------------------------------------------------------------------------------


async def run_chat(settings: ProviderSettings, chat: ChatParams, key: str | None = None) -> Any:
    adapter = adapter_for(settings.kind)
    credential = Credential(key, "env:LOCAL_KEY") if key else None
    sent = adapter.build_request(chat, target(), settings, credential)
    transport = Transport(RetryPolicy(max_retries=0))
    sse_decoder, decoder = SSEDecoder(), adapter.decoder(target())
    events: list[ChatEvent] = []
    try:
        async for item in transport.stream(
            sent, provider=settings.id, parse_error=adapter.parse_error
        ):
            assert isinstance(item, bytes)
            for event in sse_decoder.feed(item):
                events += decoder.feed(event)
    finally:
        await transport.aclose()
    return events + decoder.close()


async def test_think_tags_and_a_key_over_http() -> None:
    with FakeLocal(think_tags=True, api_key="local-key-123456") as server:
        settings = ProviderSettings(id="llama", kind="llamacpp", base_url=server.url)
        server.enqueue_scenario(Scenario(text="Four.", thinking="2+2 is 4", pieces=2))
        events = await run_chat(settings, params(), key="local-key-123456")
        assert joined(events, ThinkingEvent).strip() == "2+2 is 4"
        assert joined(events, TextEvent) == "Four."
        assert server.chats()[-1].headers["authorization"] == "Bearer local-key-123456"
        with pytest.raises(ProviderError) as caught:
            await run_chat(settings, params())
        assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED


async def test_stream_usage_off_against_a_strict_server() -> None:
    with FakeLocal(rejects_stream_options=True) as server:
        strict = ProviderSettings(id="box", kind="openai-compatible", base_url=server.url)
        with pytest.raises(ProviderError) as caught:
            await run_chat(strict, params())
        assert caught.value.code == ErrorCode.INVALID_REQUEST
        assert "stream_options" in caught.value.message
        relaxed = ProviderSettings(**{**strict.__dict__, "options": {"stream_usage": False}})
        server.enqueue_scenario(Scenario(text="ok"))
        events = await run_chat(relaxed, params())
        assert joined(events, TextEvent) == "ok" and events[-1] == StopEvent(reason="endTurn")
