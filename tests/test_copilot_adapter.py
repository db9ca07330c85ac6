"""The GitHub Copilot translator: request headers, CAPI stream quirks, models, errors.

The recorded CAPI stream is checked against a plain reading of its JSON
lines; the fake is checked against the official `openai` SDK.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import (
    ChatEvent,
    ChatParams,
    ErrorEvent,
    Message,
    StartedEvent,
    StopEvent,
    TextEvent,
    ThinkingEvent,
    ToolUseEvent,
    ToolUseStartEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for, listed_kinds, option_keys
from switchboard.providers.adapters.copilot import (
    EDITOR_HEADERS,
    CopilotAdapter,
)
from switchboard.providers.adapters.fim_text import TextCompletionDecoder
from switchboard.providers.auth.copilot_token import CopilotAuthenticator
from switchboard.providers.base import Credential, ModelTarget, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.sse import SSEDecoder
from switchboard.providers.wire.transport import Transport

from tests.corpus import body_bytes, random_chunks, wire_files
from tests.fakes.copilot import FakeCopilot, default_models
from tests.fakes.scenario import Scenario, ToolCall

ADAPTER = CopilotAdapter()
SETTINGS = ProviderSettings(id="copilot", kind="copilot")
GH = Credential("gho_" + "AdapterTestToken0123456789abcd", "env:GITHUB_COPILOT_TOKEN")
NO_CORPUS = "wire corpus not found (it lives in ../shared beside the repo)"


def target(model: str = "gpt-5-mini") -> ModelTarget:
    info = ModelInfo(id=f"copilot/{model}", provider="copilot", name=model, context_window=128000)
    return ModelTarget("copilot", model, info)


def params(**fields: Any) -> ChatParams:
    fields.setdefault("messages", [Message(role="user", content="hi")])
    return ChatParams(**fields)


def request(settings: ProviderSettings = SETTINGS, **fields: Any) -> HttpRequest:
    return ADAPTER.build_request(params(**fields), target(), settings, GH)


def decode(data: bytes, chunks: list[bytes] | None = None, decoder: Any = None) -> list[Any]:
    sse, decoder = SSEDecoder(), decoder or ADAPTER.decoder(target())
    events: list[Any] = []
    for chunk in chunks if chunks is not None else [data]:
        for event in sse.feed(chunk):
            events += decoder.feed(event)
    for event in sse.close():
        events += decoder.feed(event)
    return events + decoder.close()


def sse(*payloads: Any, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)
    return body + (b"data: [DONE]\n\n" if done else b"")


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def text_of(events: list[Any]) -> str:
    return "".join(event.text for event in of_type(events, TextEvent))


def corpus_file(name: str) -> Path:
    found = [p for p in wire_files("copilot", (".sse",)) if p.name == name]
    if not found:
        pytest.skip(NO_CORPUS)
    return found[0]


# ---- request -------------------------------------------------------------------------


def test_registered_with_its_options_and_listed_without_config() -> None:
    assert isinstance(adapter_for("copilot"), CopilotAdapter)
    assert "copilot" in listed_kinds()
    assert option_keys("copilot") == {"enterprise_host", "github_api_url", "github_url"}
    assert CopilotAdapter.api_key_envs == ("GITHUB_COPILOT_TOKEN",)


def test_url_and_the_integration_headers() -> None:
    sent = request(max_tokens=100)
    assert sent.url == "https://api.githubcopilot.com/chat/completions"
    for name, value in EDITOR_HEADERS.items():
        assert sent.headers[name] == value
    assert sent.headers["Openai-Intent"] == "conversation-panel"
    assert sent.headers["X-Initiator"] == "user"
    uuid.UUID(sent.headers["X-Request-Id"])
    assert "Copilot-Vision-Request" not in sent.headers
    body = json.loads(sent.body())
    assert body["max_tokens"] == 100 and "max_completion_tokens" not in body
    assert body["stream"] is True


def test_the_github_token_never_goes_to_the_chat_api() -> None:
    sent = request()
    assert "Authorization" not in sent.headers
    assert GH.secret not in json.dumps(sent.headers) + sent.body().decode()


def test_every_request_gets_its_own_request_id() -> None:
    assert request().headers["X-Request-Id"] != request().headers["X-Request-Id"]


def test_a_tool_result_turn_is_agent_initiated() -> None:
    history = [
        Message(role="user", content="weather?"),
        Message(
            role="assistant",
            content=[{"type": "toolUse", "id": "call_1", "name": "weather", "input": {}}],
        ),
        Message(
            role="tool", content=[{"type": "toolResult", "toolUseId": "call_1", "content": "sun"}]
        ),
    ]
    assert request(messages=history).headers["X-Initiator"] == "agent"
    as_user = [*history[:2], Message(role="user", content=history[2].content)]
    assert request(messages=as_user).headers["X-Initiator"] == "agent"
    follow_up = [*history, Message(role="user", content="and tomorrow?")]
    assert request(messages=follow_up).headers["X-Initiator"] == "user"


def test_images_ask_for_vision() -> None:
    image = {"type": "image", "mediaType": "image/png", "data": "iVBORw0KGgo="}
    sent = request(messages=[Message(role="user", content=[image])])
    assert sent.headers["Copilot-Vision-Request"] == "true"
    in_result = Message(
        role="tool", content=[{"type": "toolResult", "toolUseId": "c", "content": [image]}]
    )
    assert request(messages=[in_result]).headers["Copilot-Vision-Request"] == "true"


def test_config_headers_and_base_url_win() -> None:
    settings = ProviderSettings(
        id="copilot",
        kind="copilot",
        base_url="http://127.0.0.1:9",
        headers={"Editor-Version": "Neovim/0.11.0"},
    )
    sent = request(settings)
    assert sent.url == "http://127.0.0.1:9/chat/completions"
    assert sent.headers["Editor-Version"] == "Neovim/0.11.0"


def test_signed_thinking_travels_back_as_reasoning_fields() -> None:
    assistant = Message(
        role="assistant",
        content=[
            {"type": "thinking", "text": "Check the ", "signature": None},
            {"type": "thinking", "text": "weather.", "signature": "opaque-blob"},
            {"type": "text", "text": "Looking."},
            {"type": "toolUse", "id": "call_1", "name": "weather", "input": {"city": "Oslo"}},
        ],
    )
    messages = [Message(role="user", content="hi"), assistant]
    wire = json.loads(request(messages=messages).body())["messages"][1]
    assert wire["reasoning_opaque"] == "opaque-blob"
    assert wire["reasoning_text"] == "weather."
    assert wire["content"] == "Looking."
    assert wire["tool_calls"][0]["id"] == "call_1"


# ---- the token exchange and options ---------------------------------------------------------


def test_no_token_means_no_authenticator() -> None:
    assert ADAPTER.authenticator(SETTINGS, None, {}) is None
    assert isinstance(ADAPTER.authenticator(SETTINGS, GH, {}), CopilotAuthenticator)


@pytest.mark.parametrize(
    ("options", "url"),
    [
        ({}, "https://api.github.com"),
        ({"enterprise_host": "octo.ghe.com"}, "https://api.octo.ghe.com"),
        ({"github_api_url": "http://127.0.0.1:5/"}, "http://127.0.0.1:5"),
    ],
)
def test_where_the_exchange_goes(options: dict[str, Any], url: str) -> None:
    settings = ProviderSettings(id="copilot", kind="copilot", options=options)
    assert ADAPTER.github_api(settings) == url


@pytest.mark.parametrize(
    "options", [{"github_api_url": "ftp://x"}, {"github_api_url": 5}, {"enterprise_host": " "}]
)
def test_bad_options_are_invalid_requests(options: dict[str, Any]) -> None:
    settings = ProviderSettings(id="work", kind="copilot", options=options)
    with pytest.raises(ProviderError) as caught:
        ADAPTER.authenticator(settings, GH, {})
    assert caught.value.code == ErrorCode.INVALID_REQUEST
    assert "work: option" in caught.value.message


# ---- decoding ------------------------------------------------------------------------------


def test_recorded_capi_stream() -> None:
    data = body_bytes(corpus_file("chat-stream-capi-gpt4o-mini.sse"))
    chunks = [json.loads(line[6:]) for line in data.splitlines() if line.startswith(b"data: {")]
    expected_text = "".join(
        choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
    )
    usage = chunks[-1]["usage"]
    events = decode(data)
    assert events[0] == StartedEvent(
        id="chatcmpl-C8ojeJT8SVXTy5qp7xog2lFodnxFA", model="gpt-4o-mini-2024-07-18"
    )
    assert of_type(events, StartedEvent) == [events[0]]
    assert text_of(events) == expected_text and expected_text.startswith("```")
    assert of_type(events, UsageEvent) == [
        UsageEvent(
            input_tokens=usage["prompt_tokens"],
            output_tokens=usage["completion_tokens"],
            cache_read_input_tokens=0,
        )
    ]
    assert events[-1] == StopEvent(reason="endTurn")
    assert not of_type(events, ErrorEvent)
    for seed in range(5):
        assert decode(data, random_chunks(data, seed)) == events, f"seed {seed}"


def test_recorded_inline_completion_stream() -> None:
    data = body_bytes(corpus_file("completions-stream-inline.sse"))
    lines = [json.loads(line[6:]) for line in data.splitlines() if line.startswith(b"data: {")]
    expected = "".join(c.get("text", "") for line in lines for c in line["choices"])
    events = decode(data, decoder=TextCompletionDecoder())
    assert text_of(events) == expected and expected.endswith('console.log("Hello, World!");')
    assert events[-1] == StopEvent(reason="endTurn")
    for seed in range(5):
        split = decode(data, random_chunks(data, seed), TextCompletionDecoder())
        assert split == events


def test_inline_completion_stream_cut_short() -> None:
    data = body_bytes(corpus_file("completions-stream-inline.sse"))
    events = decode(data[: len(data) // 2], decoder=TextCompletionDecoder())
    assert of_type(events, ErrorEvent)[0].code == ErrorCode.NETWORK
    assert events[-1] == StopEvent(reason="error")


def chunk(*choices: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "msg_1", "model": "claude-sonnet-4.5", "choices": list(choices), **extra}


def test_text_and_tool_calls_in_separate_choices() -> None:
    data = sse(
        chunk({"index": 0, "delta": {"role": "assistant", "content": "Let me "}}),
        chunk({"index": 0, "delta": {"content": "check."}}),
        chunk(
            {
                "index": 1,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "toolu_a",
                            "function": {"name": "weather", "arguments": '{"city":'},
                        }
                    ]
                },
            }
        ),
        chunk(
            {
                "index": 1,
                "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]},
            }
        ),
        chunk(
            {
                "index": 1,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "toolu_b",
                            "function": {"name": "time", "arguments": "{}"},
                        }
                    ]
                },
            }
        ),
        chunk({"index": 0, "delta": {}, "finish_reason": "stop"}),
        chunk({"index": 1, "delta": {}, "finish_reason": "tool_calls"}),
        chunk(usage={"prompt_tokens": 30, "completion_tokens": 9}),
    )
    events = decode(data)
    assert text_of(events) == "Let me check."
    uses = of_type(events, ToolUseEvent)
    assert [(u.id, u.name, u.input) for u in uses] == [
        ("toolu_a", "weather", {"city": "Oslo"}),
        ("toolu_b", "time", {}),
    ]
    assert [e.id for e in of_type(events, ToolUseStartEvent)] == ["toolu_a", "toolu_b"]
    assert events[-1] == StopEvent(reason="toolUse")
    assert of_type(events, UsageEvent)[-1].input_tokens == 30


def test_a_stop_after_tool_calls_in_one_chunk_is_tool_use() -> None:
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}
    data = sse(
        chunk(
            {"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"},
            {"index": 1, "delta": {"tool_calls": [call]}, "finish_reason": "stop"},
        )
    )
    events = decode(data)
    assert [u.id for u in of_type(events, ToolUseEvent)] == ["c1"]
    assert events[-1] == StopEvent(reason="toolUse")


def test_reasoning_text_and_its_opaque_signature() -> None:
    data = sse(
        chunk({"index": 0, "delta": {"role": "assistant", "reasoning_text": "Think"}}),
        chunk({"index": 0, "delta": {"reasoning_text": "ing.", "reasoning_opaque": "enc-123"}}),
        chunk({"index": 0, "delta": {"content": "Answer."}, "finish_reason": "stop"}),
        chunk(
            usage={
                "prompt_tokens": 10,
                "completion_tokens": 40,
                "completion_tokens_details": {"reasoning_tokens": 25},
            }
        ),
    )
    events = decode(data)
    thinking = of_type(events, ThinkingEvent)
    assert [t.text for t in thinking] == ["Think", "ing.", ""]
    assert thinking[-1].signature == "enc-123"
    assert events.index(thinking[-1]) < events.index(of_type(events, TextEvent)[0])
    assert of_type(events, UsageEvent)[-1].reasoning_tokens == 25


def test_whole_answer_with_split_choices() -> None:
    body = {
        "id": "msg_2",
        "model": "claude-sonnet-4.5",
        "choices": [
            {"index": 0, "message": {"content": "Sure."}, "finish_reason": "tool_calls"},
            {
                "index": 1,
                "message": {
                    "tool_calls": [
                        {"id": "t1", "function": {"name": "a", "arguments": '{"x":1}'}},
                        {"id": "t2", "function": {"name": "b", "arguments": "{}"}},
                    ]
                },
                "finish_reason": "tool_calls",
            },
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    events = ADAPTER.decode_body(body, target())
    assert events[0] == StartedEvent(id="msg_2", model="claude-sonnet-4.5")
    assert text_of(events) == "Sure."
    assert [(u.id, u.input) for u in of_type(events, ToolUseEvent)] == [
        ("t1", {"x": 1}),
        ("t2", {}),
    ]
    assert events[-1] == StopEvent(reason="toolUse")


def test_an_error_chunk_in_the_stream() -> None:
    data = sse({"error": {"message": "Server overloaded, try again", "code": "server_error"}})
    events = decode(data)
    assert of_type(events, ErrorEvent)[0].code == ErrorCode.PROVIDER_UNAVAILABLE
    assert events[-1] == StopEvent(reason="error")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"data: \n\n",
        b"data: {\n\n",
        b'data: {"choices": "x"}\n\n',
        b'data: {"choices": [1, null, {"delta": 5}]}\n\n',
        b'data: {"id": "a", "choices": [{"delta": {"tool_calls": [{"id": 3}, 7]}}]}\n\n',
        b'data: {"choices": [{"message": {"tool_calls": {"x": 1}}}]}\n\n',
        b'data: {"usage": {"prompt_tokens": "many"}}\n\ndata: [DONE]\n\n',
    ],
)
def test_garbage_never_raises(data: bytes) -> None:
    events = decode(data)
    assert of_type(events, StopEvent) == [events[-1]]


def test_mangled_corpus_never_raises() -> None:
    data = body_bytes(corpus_file("chat-stream-capi-gpt4o-mini.sse"))
    rng = random.Random(7)
    for _ in range(40):
        mangled = bytearray(data)
        for _ in range(20):
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        cut = bytes(mangled[: rng.randrange(len(mangled) + 1)])
        events = decode(cut, random_chunks(cut, rng.randrange(1000)))
        assert of_type(events, StopEvent) == [events[-1]]


# ---- models and errors -------------------------------------------------------------------------


def test_models_request_and_list() -> None:
    settings = ProviderSettings(id="copilot", kind="copilot", base_url="http://127.0.0.1:9")
    sent = ADAPTER.models_request(settings, GH)
    assert sent is not None
    assert (sent.method, sent.url) == ("GET", "http://127.0.0.1:9/models")
    assert sent.headers["Copilot-Integration-Id"] == "vscode-chat"
    assert "Authorization" not in sent.headers
    assert ADAPTER.models_request(settings, None) is None

    listed = {m.name: m for m in ADAPTER.parse_models({"data": default_models()})}
    assert set(listed) == {"gpt-5-mini", "gpt-4.1", "claude-sonnet-4.5"}
    claude = listed["claude-sonnet-4.5"]
    assert (claude.context_window, claude.max_output_tokens) == (200000, 16000)
    assert (claude.tools, claude.images) == (True, True)
    assert claude.notes["billingMultiplier"] == 1.0
    assert claude.notes["premium"] is True
    assert claude.notes["maxPromptTokens"] == 128000
    assert claude.notes["policy"] == "enabled"
    assert listed["gpt-5-mini"].notes["billingMultiplier"] == 0.0
    assert all(m.input_per_m_tok is None and m.output_per_m_tok is None for m in listed.values())


def test_model_list_oddities() -> None:
    hidden = {"id": "gpt-4o", "model_picker_enabled": False, "capabilities": {"type": "chat"}}
    shown = {
        "id": "gpt-4o",
        "model_picker_enabled": True,
        "capabilities": {"limits": {"max_prompt_tokens": 64000, "max_output_tokens": 4096}},
    }
    listed = ADAPTER.parse_models({"data": [hidden, shown, {"id": ""}, 5, {"id": 3}]})
    assert [(m.name, m.context_window, m.notes["pickerEnabled"]) for m in listed] == [
        ("gpt-4o", 68096, True)
    ]
    assert ADAPTER.parse_models({"data": "x"}) == [] == ADAPTER.parse_models(None)


def test_error_bodies() -> None:
    unsupported = json.dumps(
        {
            "error": {
                "message": "The requested model is not supported.",
                "code": "model_not_supported",
            }
        }
    ).encode()
    error = ADAPTER.parse_error(400, {}, unsupported)
    assert error.code == ErrorCode.UNKNOWN_MODEL
    assert "not supported" in error.message

    quota = json.dumps(
        {"error": {"message": "You have no quota left", "code": "quota_exceeded"}}
    ).encode()
    error = ADAPTER.parse_error(402, {"retry-after": "5"}, quota)
    assert error.code == ErrorCode.RATE_LIMITED and not error.retryable
    assert "premium" in (error.suggestion or "")

    expired = ADAPTER.parse_error(401, {}, b"unauthorized: token expired\n")
    assert expired.code == ErrorCode.AUTHENTICATION_FAILED
    assert "token expired" in expired.message

    missing = ADAPTER.parse_error(
        400, {}, b"bad request: missing Editor-Version header for IDE auth"
    )
    assert missing.code == ErrorCode.INVALID_REQUEST


# ---- the fake, checked against the official SDK -------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeCopilot]:
    with FakeCopilot() as server:
        yield server


def sdk_client(fake: FakeCopilot) -> openai.OpenAI:
    import httpx

    exchange = httpx.get(
        f"{fake.url}/copilot_internal/v2/token",
        headers={"Authorization": f"token {fake.github_token}", **EDITOR_HEADERS},
    )
    exchange.raise_for_status()
    answer = exchange.json()
    assert answer["endpoints"]["api"] == fake.url
    return openai.OpenAI(
        base_url=answer["endpoints"]["api"],
        api_key=answer["token"],
        default_headers=dict(EDITOR_HEADERS),
        max_retries=0,
    )


def test_sdk_streams_text_and_usage_from_the_fake(fake: FakeCopilot) -> None:
    client = sdk_client(fake)
    fake.enqueue_scenario(Scenario(text="Hello from Copilot.", input_tokens=9, output_tokens=4))
    stream = client.chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from Copilot."
    assert chunks[0].choices == [] and chunks[0].id == ""
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 9
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_sdk_reads_tool_calls_and_whole_answers(fake: FakeCopilot) -> None:
    client = sdk_client(fake)
    call = ToolCall("call_q", "search", {"q": "copilot", "n": 2})
    fake.enqueue_scenario(Scenario(text="", tool_calls=[call], stop="toolUse"))
    stream = client.chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "find"}], stream=True
    )
    arguments, names = "", ""
    for piece in stream:
        for choice in piece.choices:
            for delta in choice.delta.tool_calls or []:
                arguments += delta.function.arguments or "" if delta.function else ""
                names += delta.function.name or "" if delta.function else ""
    assert (names, json.loads(arguments)) == ("search", {"q": "copilot", "n": 2})

    fake.enqueue_scenario(Scenario(text="Done.", input_tokens=5, output_tokens=2))
    whole = client.chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "x"}]
    )
    assert whole.choices[0].message.content == "Done."
    assert whole.usage is not None and whole.usage.total_tokens == 7


def test_sdk_sees_the_split_choices(fake: FakeCopilot) -> None:
    fake.split_choices = True
    client = sdk_client(fake)
    calls = [ToolCall("t_1", "a", {"x": 1}), ToolCall("t_2", "b", {})]
    fake.enqueue_scenario(Scenario(text="On it.", tool_calls=calls, stop="toolUse"))
    whole = client.chat.completions.create(
        model="claude-sonnet-4.5", messages=[{"role": "user", "content": "x"}]
    )
    assert [c.index for c in whole.choices] == [0, 1]
    assert whole.choices[0].message.content == "On it."
    assert [t.id for t in whole.choices[1].message.tool_calls or []] == ["t_1", "t_2"]


def test_sdk_errors_from_the_fake(fake: FakeCopilot) -> None:
    client = sdk_client(fake)
    with pytest.raises(openai.BadRequestError) as bad_model:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert "not supported" in str(bad_model.value)
    fake.expire_tokens()
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "x"}])
    no_headers = openai.OpenAI(base_url=fake.url, api_key=fake.issued[-1], max_retries=0)
    with pytest.raises(openai.APIStatusError):
        no_headers.models.list()


def test_sdk_lists_the_fake_models(fake: FakeCopilot) -> None:
    ids = [model.id for model in sdk_client(fake).models.list()]
    assert ids == [m["id"] for m in default_models()]


# ---- end to end over HTTP: adapter → authenticator → transport → fake → decoder -------------


async def run_chat(fake: FakeCopilot, chat: ChatParams, model: str = "gpt-5-mini") -> Any:
    settings = ProviderSettings(id="copilot", kind="copilot", options={"github_api_url": fake.url})
    credential = Credential(fake.github_token, "test")
    auth = ADAPTER.authenticator(settings, credential, {})
    assert auth is not None
    transport = Transport(RetryPolicy(max_retries=0))

    async def fetch_json(sent: HttpRequest) -> Any:
        return await transport.fetch_json(sent, provider="copilot", parse_error=ADAPTER.parse_error)

    built = ADAPTER.build_request(chat, target(model), settings, credential)
    sent = await auth.authorize(built, fetch_json)
    sse_decoder, decoder = SSEDecoder(), ADAPTER.decoder(target(model))
    events: list[ChatEvent] = []
    try:
        async for item in transport.stream(
            sent, provider="copilot", parse_error=ADAPTER.parse_error
        ):
            assert isinstance(item, bytes)
            for event in sse_decoder.feed(item):
                events += decoder.feed(event)
    finally:
        await transport.aclose()
    return events + decoder.close()


async def test_a_chat_through_the_exchange_against_the_fake(fake: FakeCopilot) -> None:
    fake.split_choices = True
    calls = [ToolCall("toolu_1", "weather", {"city": "Oslo"})]
    fake.enqueue_scenario(Scenario(text="Checking.", tool_calls=calls, stop="toolUse"))
    events = await run_chat(fake, params(), "claude-sonnet-4.5")
    assert text_of(events) == "Checking."
    assert [(u.id, u.input) for u in of_type(events, ToolUseEvent)] == [
        ("toolu_1", {"city": "Oslo"})
    ]
    assert events[-1] == StopEvent(reason="toolUse")
    [chat] = fake.chats()
    assert chat.headers["authorization"] == f"Bearer {fake.issued[-1]}"
    assert fake.github_token not in str(chat.headers) + chat.body.decode()


async def test_an_unknown_model_against_the_fake(fake: FakeCopilot) -> None:
    with pytest.raises(ProviderError) as caught:
        await run_chat(fake, params(), "gpt-99")
    assert caught.value.code == ErrorCode.UNKNOWN_MODEL
