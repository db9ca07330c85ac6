"""FakeOpenAI is faithful: the official `openai` SDK reads everything it serves."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.corpus import body_bytes, wire_files
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario, ToolCall

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    # One server per module: stopping one waits out its 0.5 s accept-poll interval.
    with FakeOpenAI() as running:
        yield running


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.requests.clear()
    server.disconnects.clear()
    while not server.replies.empty():
        server.replies.get_nowait()
    return server


@pytest.fixture
def client(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url, api_key=fake.api_key, max_retries=0)


def collect(stream: Any) -> dict[str, Any]:
    """Choice 0's text, tool calls (merged by index), finish reason and usage, chunk by chunk."""
    text, finish, usage, chunks = "", None, None, 0
    calls: dict[int, dict[str, Any]] = {}
    for chunk in stream:
        chunks += 1
        usage = chunk.usage or usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                slot = calls.setdefault(call.index, {"id": None, "name": "", "args": [], "n": 0})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["args"].append(call.function.arguments or "")
                slot["n"] += 1
            finish = choice.finish_reason or finish
    return {"text": text, "calls": calls, "finish": finish, "usage": usage, "chunks": chunks}


def test_streamed_text_with_usage(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue_scenario(
        Scenario(text="Hello from a fake", pieces=3, input_tokens=40, cache_read_tokens=32)
    )
    stream = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    got = collect(stream)
    assert got["text"] == "Hello from a fake"
    assert got["finish"] == "stop"
    assert got["usage"].prompt_tokens == 40
    assert got["usage"].completion_tokens == 7
    assert got["usage"].total_tokens == 47
    assert got["usage"].prompt_tokens_details.cached_tokens == 32
    # role chunk + 3 text pieces + finish chunk + usage chunk
    assert got["chunks"] == 6
    assert fake.requests[-1].json()["stream_options"] == {"include_usage": True}


def test_streamed_tool_calls_arrive_in_fragments(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    calls = [
        ToolCall("call_a", "get_weather", {"city": "Paris", "units": "c"}),
        ToolCall("call_b", "get_time", {"zone": "Europe/Paris"}),
    ]
    fake.enqueue_scenario(Scenario(text="", tool_calls=calls, stop="toolUse"))
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=HELLO,
        tools=[WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    got = collect(stream)
    assert got["text"] == ""
    assert got["finish"] == "tool_calls"
    assert sorted(got["calls"]) == [0, 1]
    for index, expected in enumerate(calls):
        slot = got["calls"][index]
        assert (slot["id"], slot["name"]) == (expected.id, expected.name)
        assert json.loads("".join(slot["args"])) == expected.input
        assert slot["n"] > 2, "arguments should be streamed across several chunks"


def test_stream_without_include_usage_has_no_usage_chunk(
    fake: FakeOpenAI, client: openai.OpenAI
) -> None:
    fake.enqueue_scenario(Scenario(text="abc", pieces=1))
    got = collect(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    assert got["text"] == "abc"
    assert got["usage"] is None
    raw = fake.requests[-1].json()
    assert "stream_options" not in raw


def test_stream_helper_final_completion(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    helper = getattr(client.chat.completions, "stream", None)
    if helper is None:
        pytest.skip("this openai SDK has no chat.completions.stream helper")
    fake.enqueue_scenario(
        Scenario(
            text="Checking.",
            tool_calls=[ToolCall("call_x", "get_weather", {"city": "Oslo"})],
            stop="toolUse",
        )
    )
    with helper(
        model="gpt-4o",
        messages=HELLO,
        tools=[WEATHER_TOOL],
        stream_options={"include_usage": True},
    ) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Checking."
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    [call] = message.tool_calls
    assert call.id == "call_x"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Oslo"}
    assert final.usage is not None and final.usage.prompt_tokens == 12


def test_refusal_streams_in_the_refusal_field(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue_scenario(Scenario(text="I can't help with that.", stop="refusal"))
    refusal, content = "", ""
    for chunk in client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True):
        for choice in chunk.choices:
            refusal += choice.delta.refusal or ""
            content += choice.delta.content or ""
    assert (refusal, content) == ("I can't help with that.", "")


def test_finish_reasons(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    for stop, finish in [("maxTokens", "length"), ("contentFilter", "content_filter")]:
        fake.enqueue_scenario(Scenario(stop=stop))
        got = collect(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
        assert got["finish"] == finish


def test_error_in_stream_raises_api_error(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue_scenario(Scenario(text="partial", stop="error"))
    with pytest.raises(openai.APIError, match="server had an error"):
        collect(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))


def test_non_streaming_create(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue_scenario(
        Scenario(
            text="Sure.",
            tool_calls=[ToolCall("call_q", "lookup", {"q": "x"})],
            stop="toolUse",
            cache_read_tokens=4,
        )
    )
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini"
    choice = completion.choices[0]
    assert choice.message.content == "Sure."
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert (call.id, call.function.name) == ("call_q", "lookup")
    assert json.loads(call.function.arguments) == {"q": "x"}
    assert completion.usage is not None
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 4


def test_default_scenario_when_nothing_is_queued(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert completion.choices[0].message.content == Scenario().text


def test_models_list(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == list(fake.models)


def test_rate_limit_with_retry_after(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue_error(
        429,
        "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 30000.",
        "tokens",
        "rate_limit_exceeded",
        headers={"retry-after": "2"},
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "2"
    assert len(fake.requests) == 1


def test_bad_key_is_an_authentication_error(fake: FakeOpenAI) -> None:
    wrong = "sk-wrong-0123456789abcdefghijklmnop"
    client = openai.OpenAI(base_url=fake.url, api_key=wrong, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert caught.value.code == "invalid_api_key"
    assert wrong not in str(caught.value), "the fake masks the key like the real API"
    assert fake.replies.empty()


def test_missing_key_and_unknown_path(fake: FakeOpenAI) -> None:
    answer = httpx.post(f"{fake.url}/chat/completions", json={"model": "gpt-4o"})
    assert answer.status_code == 401
    assert "didn't provide an API key" in answer.json()["error"]["message"]
    auth = {"authorization": f"Bearer {fake.api_key}"}
    answer = httpx.post(f"{fake.url}/nowhere", json={}, headers=auth)
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "Invalid URL (POST /v1/nowhere)"


def test_wire_bytes_look_like_the_real_api(fake: FakeOpenAI) -> None:
    fake.enqueue_scenario(Scenario(text="Hi", pieces=1))
    auth = {"authorization": f"Bearer {fake.api_key}"}
    request = {
        "model": "gpt-4o",
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    answer = httpx.post(f"{fake.url}/chat/completions", json=request, headers=auth)
    assert answer.headers["content-type"] == "text/event-stream; charset=utf-8"
    body = answer.content
    assert body.endswith(b"\n\ndata: [DONE]\n\n")
    events = body.split(b"\n\n")[:-2]
    chunks = [json.loads(event.removeprefix(b"data: ")) for event in events]
    assert all(event.startswith(b'data: {"id":"chatcmpl-') for event in events)
    keys = ["id", "object", "created", "model", "service_tier", "system_fingerprint", "choices"]
    for chunk in chunks:
        assert list(chunk)[: len(keys)] == keys
        assert chunk["object"] == "chat.completion.chunk"
        assert "obfuscation" in chunk
    assert [chunk["usage"] is None for chunk in chunks] == [True, True, True, False]
    assert chunks[-1]["choices"] == []
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}


def test_chunk_keys_match_a_recorded_stream(fake: FakeOpenAI) -> None:
    recorded = [p for p in wire_files("openai-chat", (".sse",)) if "obfuscation" in p.name]
    if not recorded:
        pytest.skip("wire corpus not found (it lives in ../shared beside the repo)")
    real = json.loads(body_bytes(recorded[0]).split(b"\n\n")[1].removeprefix(b"data: "))
    fake.enqueue_scenario(Scenario(text="Hi", pieces=1))
    auth = {"authorization": f"Bearer {fake.api_key}"}
    request = {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True}}
    answer = httpx.post(f"{fake.url}/chat/completions", json=request, headers=auth)
    ours = json.loads(answer.content.split(b"\n\n")[1].removeprefix(b"data: "))
    assert set(ours) == set(real)
    assert set(ours["choices"][0]) == set(real["choices"][0])


def test_replay_serves_the_bytes_unchanged(fake: FakeOpenAI) -> None:
    body = b'data: {"id":"x","choices":[]}\n\ndata: [DONE]\n\n'
    fake.enqueue_replay(body, chunk_size=3)
    auth = {"authorization": f"Bearer {fake.api_key}"}
    answer = httpx.post(f"{fake.url}/chat/completions", json={"model": "m"}, headers=auth)
    assert answer.content == body


def test_enqueue_chunks_streams_n_deltas(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue_chunks(25)
    deltas = [
        choice.delta.content
        for chunk in client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
        for choice in chunk.choices
        if choice.delta.content
    ]
    assert deltas == ["tok "] * 25


def test_closing_the_stream_early_is_noticed(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.enqueue_chunks(500, delay_s=0.01)
    stream = client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    next(iter(stream))
    closed_at = time.monotonic()
    stream.close()
    noticed = fake.wait_for_disconnect(timeout_s=2)
    assert noticed is not None and noticed - closed_at < 1


async def test_async_client_streams(fake: FakeOpenAI) -> None:
    fake.enqueue_scenario(Scenario(text="async hello", pieces=2))
    client = openai.AsyncOpenAI(base_url=fake.url, api_key=fake.api_key, max_retries=0)
    text = ""
    stream = await client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
    await client.close()
    assert text == "async hello"
