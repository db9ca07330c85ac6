"""The fill-in-the-middle fakes are faithful: the official SDKs read everything they serve.

`mistralai` against FakeMistral (chat and Codestral FIM), `openai` against
FakeDeepSeek (chat and the beta FIM), FakeLocal's `/v1/completions` and
FakeCopilot's inline completions (the legacy completions API of each).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from mistralai.client import Mistral
from mistralai.client.errors import SDKError
from switchboard.providers.adapters.copilot import EDITOR_HEADERS

from tests.fakes.copilot import FakeCopilot
from tests.fakes.deepseek import FakeDeepSeek
from tests.fakes.local import FakeLocal
from tests.fakes.mistral import FakeMistral
from tests.fakes.scenario import Scenario

PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))\n"


@pytest.fixture(scope="module")
def mistral() -> Iterator[FakeMistral]:
    with FakeMistral() as running:
        yield running


@pytest.fixture(scope="module")
def deepseek() -> Iterator[FakeDeepSeek]:
    with FakeDeepSeek() as running:
        yield running


@pytest.fixture(scope="module")
def local() -> Iterator[FakeLocal]:
    with FakeLocal(models=("qwen2.5-coder:7b",), sends_usage=True) as running:
        yield running


@pytest.fixture(scope="module")
def copilot() -> Iterator[FakeCopilot]:
    with FakeCopilot() as running:
        yield running


def mistral_client(fake: FakeMistral) -> Mistral:
    return Mistral(api_key=fake.api_key, server_url=fake.url)


def completion_text(stream: Any) -> tuple[str, str | None, Any]:
    text, finish, usage = "", None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text += choice.text or ""
            finish = choice.finish_reason or finish
    return text, finish, usage


# ---- Mistral ----------------------------------------------------------------------------


def test_mistral_fim_streams_to_the_sdk(mistral: FakeMistral) -> None:
    mistral.enqueue_scenario(Scenario(text="return a + b", pieces=3, output_tokens=5))
    events = mistral_client(mistral).fim.stream(
        model="codestral-latest", prompt=PREFIX, suffix=SUFFIX, max_tokens=64
    )
    text, finish, usage = "", None, None
    for event in events:
        chunk = event.data
        usage = chunk.usage or usage
        for choice in chunk.choices:
            content = choice.delta.content
            text += content if isinstance(content, str) else ""
            finish = choice.finish_reason or finish
    assert (text, finish) == ("return a + b", "stop")
    assert usage is not None and usage.completion_tokens == 5
    sent = mistral.fims()[-1].json()
    assert (sent["prompt"], sent["suffix"], sent["stream"]) == (PREFIX, SUFFIX, True)


def test_mistral_fim_whole_answer_reads_as_the_sdk_model(mistral: FakeMistral) -> None:
    mistral.enqueue_scenario(Scenario(text="return a + b", input_tokens=9))
    answer = mistral_client(mistral).fim.complete(
        model="codestral-2508", prompt=PREFIX, suffix=SUFFIX
    )
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content == "return a + b"
    assert answer.usage.prompt_tokens == 9


def test_mistral_chat_streams_and_answers_whole(mistral: FakeMistral) -> None:
    client = mistral_client(mistral)
    mistral.enqueue_scenario(Scenario(text="Bonjour from the fake", pieces=4))
    streamed = ""
    for event in client.chat.stream(
        model="mistral-small-2506", messages=[{"role": "user", "content": "hi"}]
    ):
        for choice in event.data.choices:
            content = choice.delta.content
            streamed += content if isinstance(content, str) else ""
    assert streamed == "Bonjour from the fake"
    mistral.enqueue_scenario(Scenario(text="Whole answer"))
    whole = client.chat.complete(
        model="mistral-large-2512", messages=[{"role": "user", "content": "hi"}]
    )
    assert whole.choices[0].message.content == "Whole answer"


def test_mistral_refuses_fim_for_a_chat_model_and_a_wrong_key(mistral: FakeMistral) -> None:
    with pytest.raises(SDKError) as refused:
        mistral_client(mistral).fim.complete(model="mistral-small-2506", prompt=PREFIX)
    assert refused.value.status_code == 400 and "FIM" in str(refused.value)
    stranger = Mistral(api_key="wrong", server_url=mistral.url)
    with pytest.raises(SDKError) as unauthorized:
        stranger.fim.complete(model="codestral-2508", prompt=PREFIX)
    assert unauthorized.value.status_code == 401


def test_mistral_model_list_reads_as_the_sdk_model(mistral: FakeMistral) -> None:
    listed = mistral_client(mistral).models.list()
    assert [model.id for model in listed.data or []] == mistral.models


# ---- DeepSeek ---------------------------------------------------------------------------


def test_deepseek_fim_through_the_openai_sdk(deepseek: FakeDeepSeek) -> None:
    client = openai.OpenAI(base_url=deepseek.url + "/beta", api_key=deepseek.api_key)
    deepseek.enqueue_scenario(Scenario(text="return a + b", pieces=3, cache_read_tokens=4))
    stream = client.completions.create(
        model="deepseek-v4-flash",
        prompt=PREFIX,
        suffix=SUFFIX,
        max_tokens=128,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = completion_text(stream)
    assert (text, finish) == ("return a + b", "stop")
    assert usage is not None and usage.model_extra["prompt_cache_hit_tokens"] == 4
    deepseek.enqueue_scenario(Scenario(text="return a + b"))
    whole = client.completions.create(model="deepseek-v4-flash", prompt=PREFIX, suffix=SUFFIX)
    assert whole.choices[0].text == "return a + b"
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="deepseek-v4-flash", prompt=PREFIX, max_tokens=8192)


def test_deepseek_chat_through_the_openai_sdk(deepseek: FakeDeepSeek) -> None:
    client = openai.OpenAI(base_url=deepseek.url, api_key=deepseek.api_key)
    deepseek.enqueue_scenario(Scenario(text="Hi there", thinking="Say hi.", pieces=2))
    stream = client.chat.completions.create(
        model="deepseek-v4-pro",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, thought, usage = "", "", None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            thought += (choice.delta.model_extra or {}).get("reasoning_content") or ""
    assert (text, thought) == ("Hi there", "Say hi.")
    assert usage is not None and usage.total_tokens == 19
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=deepseek.url, api_key="sk-wrong").models.list()


# ---- local servers and Copilot: /v1/completions ---------------------------------------------


def test_local_completions_through_the_openai_sdk(local: FakeLocal) -> None:
    client = openai.OpenAI(base_url=local.url, api_key="unused")
    local.enqueue_completion(Scenario(text="return a + b", pieces=4, output_tokens=6))
    stream = client.completions.create(
        model="qwen2.5-coder:7b",
        prompt=PREFIX,
        suffix=SUFFIX,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = completion_text(stream)
    assert (text, finish) == ("return a + b", "stop")
    assert usage is not None and usage.completion_tokens == 6
    sent = local.completions()[-1].json()
    assert (sent["prompt"], sent["suffix"]) == (PREFIX, SUFFIX)
    whole = client.completions.create(model="qwen2.5-coder:7b", prompt=PREFIX, suffix=SUFFIX)
    assert whole.object == "text_completion" and whole.choices[0].text


def test_copilot_inline_completions_through_the_openai_sdk(copilot: FakeCopilot) -> None:
    exchange = httpx.get(
        f"{copilot.url}/copilot_internal/v2/token",
        headers={"Authorization": f"token {copilot.github_token}"},
    )
    token = exchange.json()["token"]
    client = openai.OpenAI(
        base_url=f"{copilot.url}/v1/engines/gpt-41-copilot",
        api_key=token,
        default_headers=dict(EDITOR_HEADERS),
    )
    copilot.enqueue_completion(Scenario(text=' console.log("Hello, World!");', pieces=5))
    stream = client.completions.create(
        model="gpt-41-copilot", prompt="function hello() {\n ", suffix="\n}\n", stream=True
    )
    text, finish, usage = completion_text(stream)
    assert (text, finish, usage) == (' console.log("Hello, World!");', "stop", None)
