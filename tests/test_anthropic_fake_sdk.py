"""FakeAnthropic is faithful: the official anthropic SDK, pointed at it, sees a real API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.scenario import Scenario, ToolCall

MODEL = "claude-haiku-4-5"
HELLO: list[MessageParam] = [{"role": "user", "content": "Hello"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server: FakeAnthropic) -> FakeAnthropic:
    """The module's fake, with nothing queued and no requests recorded."""
    while not server.replies.empty():
        server.replies.get_nowait()
    server.requests.clear()
    return server


@pytest.fixture
def client(fake: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.url, api_key=fake.api_key, max_retries=0)


def rich_scenario() -> Scenario:
    return Scenario(
        text="Let me look that up for you.",
        thinking="The user wants the weather; call the tool.",
        tool_calls=[
            ToolCall("toolu_01A", "get_weather", {"city": "Paris", "days": [1, 2]}),
            ToolCall("toolu_01B", "get_time", {}),
        ],
        input_tokens=100,
        output_tokens=33,
        cache_read_tokens=60,
        cache_write_tokens=10,
        stop="toolUse",
        pieces=3,
    )


def test_key_is_shaped_like_a_real_one(fake: FakeAnthropic) -> None:
    assert fake.api_key.startswith("sk-ant-test-")
    assert len(fake.api_key) == len("sk-ant-test-") + 24
    assert fake.url.startswith("http://127.0.0.1:")


def test_stream_gives_the_scenario_blocks(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.enqueue_scenario(rich_scenario())
    with client.messages.stream(model=MODEL, max_tokens=256, messages=HELLO) as stream:
        deltas = list(stream.text_stream)
        message = stream.get_final_message()

    assert deltas == ["Let me loo", "k that up ", "for you."]
    assert [block.type for block in message.content] == [
        "thinking",
        "text",
        "tool_use",
        "tool_use",
    ]
    thinking, text, weather, clock = message.content
    assert thinking.type == "thinking" and text.type == "text"
    assert thinking.thinking == "The user wants the weather; call the tool."
    assert thinking.signature
    assert text.text == "Let me look that up for you."
    assert weather.type == "tool_use" and clock.type == "tool_use"
    assert (weather.id, weather.name, weather.input) == (
        "toolu_01A",
        "get_weather",
        {"city": "Paris", "days": [1, 2]},
    )
    assert (clock.id, clock.name, clock.input) == ("toolu_01B", "get_time", {})
    assert message.stop_reason == "tool_use"
    assert message.model == MODEL
    assert message.id.startswith("msg_")
    usage = message.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens) == (30, 60)
    assert (usage.cache_creation_input_tokens, usage.output_tokens) == (10, 33)


def test_stream_is_framed_like_the_live_api(fake: FakeAnthropic) -> None:
    fake.enqueue_scenario(Scenario(text="Hi there", pieces=2))
    response = httpx.post(
        f"{fake.url}/v1/messages",
        headers={"x-api-key": fake.api_key, "anthropic-version": "2023-06-01"},
        json={"model": MODEL, "max_tokens": 16, "messages": HELLO, "stream": True},
    )
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["request-id"].startswith("req_")
    raw = response.content.decode()
    assert raw.endswith("\n\n")
    frames = raw[:-2].split("\n\n")
    names = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        name = event_line.removeprefix("event: ")
        data = data_line.removeprefix("data: ")
        assert json.loads(data)["type"] == name
        if name != "ping":
            assert data == json.dumps(json.loads(data), separators=(",", ":"), ensure_ascii=False)
        names.append(name)
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert 'data: {"type": "ping"}' in raw


def test_async_stream(fake: FakeAnthropic) -> None:
    import asyncio

    async def run() -> anthropic.types.Message:
        async_client = anthropic.AsyncAnthropic(
            base_url=fake.url, api_key=fake.api_key, max_retries=0
        )
        async with async_client.messages.stream(
            model=MODEL, max_tokens=64, messages=HELLO
        ) as stream:
            return await stream.get_final_message()

    fake.enqueue_scenario(Scenario(text="async works"))
    message = asyncio.run(run())
    assert message.content[0].type == "text"
    assert message.content[0].text == "async works"


def test_create_without_streaming(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.enqueue_scenario(rich_scenario())
    message = client.messages.create(model=MODEL, max_tokens=256, messages=HELLO)
    assert [block.type for block in message.content] == [
        "thinking",
        "text",
        "tool_use",
        "tool_use",
    ]
    assert message.content[1].type == "text"
    assert message.content[1].text == "Let me look that up for you."
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens == 30
    assert message.usage.output_tokens == 33
    assert fake.requests[-1].json()["messages"] == HELLO


def test_stop_sequence_is_echoed(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.enqueue_scenario(Scenario(text="def f():", stop="stopSequence"))
    with client.messages.stream(
        model=MODEL, max_tokens=64, messages=HELLO, stop_sequences=["```"]
    ) as stream:
        message = stream.get_final_message()
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "```")


def test_default_scenario_when_nothing_is_queued(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert message.content[0].type == "text"
    assert message.content[0].text == Scenario().text
    assert message.stop_reason == "end_turn"


def test_count_tokens_is_deterministic(client: anthropic.Anthropic) -> None:
    short = client.messages.count_tokens(model=MODEL, messages=HELLO).input_tokens
    again = client.messages.count_tokens(model=MODEL, messages=HELLO).input_tokens
    longer = client.messages.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "Hello " * 200}]
    ).input_tokens
    assert short == again > 0
    assert longer > short


def test_models_list(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    models = list(client.models.list())
    assert [model.id for model in models] == [model["id"] for model in fake.models]
    assert models[0].display_name == "Claude Opus 4.6"
    assert models[0].type == "model"


def test_rate_limit_surfaces_as_rate_limit_error(
    fake: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake.enqueue_error(
        429,
        "rate_limit_error",
        "Number of requests has exceeded your rate limit",
        headers={"retry-after": "7"},
    )
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "rate_limit_error"


def test_overloaded_529(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.enqueue_error(529, "overloaded_error", "Overloaded")
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=MODEL, max_tokens=16, messages=HELLO)


def test_error_in_the_stream(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.enqueue_scenario(Scenario(text="partial", stop="error"))
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(model=MODEL, max_tokens=16, messages=HELLO) as stream,
    ):
        stream.get_final_message()
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["type"] == "overloaded_error"


def test_bad_key_is_rejected_without_using_the_queue(fake: FakeAnthropic) -> None:
    fake.enqueue_scenario(Scenario(text="kept for the right key"))
    wrong = anthropic.Anthropic(base_url=fake.url, api_key="sk-ant-wrong-key-000000", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        wrong.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"] == {
        "type": "authentication_error",
        "message": "invalid x-api-key",
    }
    right = anthropic.Anthropic(base_url=fake.url, api_key=fake.api_key, max_retries=0)
    message = right.messages.create(model=MODEL, max_tokens=16, messages=HELLO)
    assert message.content[0].type == "text"
    assert message.content[0].text == "kept for the right key"


def test_missing_key_and_version_are_rejected(fake: FakeAnthropic) -> None:
    body = {"model": MODEL, "max_tokens": 16, "messages": HELLO}
    no_key = httpx.post(
        f"{fake.url}/v1/messages", headers={"anthropic-version": "2023-06-01"}, json=body
    )
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    no_version = httpx.post(
        f"{fake.url}/v1/messages", headers={"x-api-key": fake.api_key}, json=body
    )
    assert no_version.status_code == 400
    assert no_version.json()["error"]["message"] == "anthropic-version: header is required"


def test_missing_max_tokens_is_a_bad_request(fake: FakeAnthropic) -> None:
    response = httpx.post(
        f"{fake.url}/v1/messages",
        headers={"x-api-key": fake.api_key, "anthropic-version": "2023-06-01"},
        json={"model": MODEL, "messages": HELLO},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


def test_a_queued_error_also_answers_count_tokens(
    fake: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake.enqueue_error(404, "not_found_error", "model: claude-does-not-exist")
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="claude-does-not-exist", messages=HELLO)


def test_replay_serves_bytes_verbatim_in_chunks(
    fake: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_replay",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "é!"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    body = b"".join(
        f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events
    )
    fake.enqueue_replay(body, chunk_size=3)
    with client.messages.stream(model=MODEL, max_tokens=16, messages=HELLO) as stream:
        message = stream.get_final_message()
    assert message.id == "msg_replay"
    assert message.content[0].type == "text"
    assert message.content[0].text == "é!"
    assert message.usage.output_tokens == 2


def test_delay_between_events(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.enqueue_scenario(Scenario(text="slow text", pieces=3, delay_s=0.03))
    began = time.monotonic()
    with client.messages.stream(model=MODEL, max_tokens=16, messages=HELLO) as stream:
        stream.get_final_message()
    # message_start, block start, ping, 3 deltas, block stop, message_delta, message_stop
    assert time.monotonic() - began >= 8 * 0.03
