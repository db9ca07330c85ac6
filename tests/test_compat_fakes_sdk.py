"""The Azure, OpenRouter and xAI fakes are faithful: the official `openai` SDK reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fakes.azure import FakeAzure
from tests.fakes.openrouter import PROCESSING, FakeOpenRouter, FakeXAI
from tests.fakes.scenario import Scenario, ToolCall

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
API_VERSION = "2024-10-21"


def reset(fake: Any) -> Any:
    fake.requests.clear()
    while not fake.replies.empty():
        fake.replies.get_nowait()
    return fake


@pytest.fixture(scope="module")
def azure_server() -> Iterator[FakeAzure]:
    with FakeAzure() as running:
        yield running


@pytest.fixture(scope="module")
def router_server() -> Iterator[FakeOpenRouter]:
    with FakeOpenRouter() as running:
        yield running


@pytest.fixture(scope="module")
def xai_server() -> Iterator[FakeXAI]:
    with FakeXAI() as running:
        yield running


@pytest.fixture
def azure(azure_server: FakeAzure) -> FakeAzure:
    return reset(azure_server)  # type: ignore[no-any-return]


@pytest.fixture
def router(router_server: FakeOpenRouter) -> FakeOpenRouter:
    return reset(router_server)  # type: ignore[no-any-return]


@pytest.fixture
def xai(xai_server: FakeXAI) -> FakeXAI:
    return reset(xai_server)  # type: ignore[no-any-return]


def collect(stream: Any) -> dict[str, Any]:
    text, reasoning, finish, usage, extras = "", "", None, None, []
    calls: dict[int, dict[str, Any]] = {}
    for chunk in stream:
        usage = chunk.usage or usage
        extras.append(chunk.model_extra or {})
        for choice in chunk.choices:
            delta = choice.delta
            text += delta.content or ""
            reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
            reasoning += (delta.model_extra or {}).get("reasoning") or ""
            for call in delta.tool_calls or []:
                slot = calls.setdefault(call.index, {"id": None, "name": "", "args": ""})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["args"] += call.function.arguments or ""
            finish = choice.finish_reason or finish
    return {
        "text": text,
        "reasoning": reasoning,
        "finish": finish,
        "usage": usage,
        "calls": calls,
        "extras": extras,
    }


# ---- Azure ---------------------------------------------------------------------------


def azure_client(fake: FakeAzure) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=fake.url, api_version=API_VERSION, api_key=fake.api_key, max_retries=0
    )


def test_azure_classic_stream_with_usage(azure: FakeAzure) -> None:
    azure.enqueue_scenario(Scenario(text="Hello from Azure", pieces=3, input_tokens=30))
    stream = azure_client(azure).chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    got = collect(stream)
    assert (got["text"], got["finish"]) == ("Hello from Azure", "stop")
    assert got["usage"].prompt_tokens == 30
    sent = azure.requests[-1]
    assert sent.path == f"/openai/deployments/gpt-4o/chat/completions?api-version={API_VERSION}"
    assert sent.headers["api-key"] == azure.api_key


def test_azure_classic_non_stream_has_filter_annotations(azure: FakeAzure) -> None:
    call = ToolCall("call_1", "lookup", {"q": "x"})
    azure.enqueue_scenario(Scenario(text="", tool_calls=[call], stop="toolUse"))
    completion = azure_client(azure).chat.completions.create(model="chat-prod", messages=HELLO)
    assert completion.model == "gpt-4.1-2025-04-14"
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"q": "x"}
    assert (choice.model_extra or {})["content_filter_results"]["hate"]["filtered"] is False
    assert "prompt_filter_results" in (completion.model_extra or {})


def test_azure_v1_endpoint_with_the_plain_client(azure: FakeAzure) -> None:
    client = openai.OpenAI(base_url=azure.url + "/openai/v1", api_key=azure.api_key, max_retries=0)
    azure.enqueue_scenario(Scenario(text="v1 says hi", pieces=2))
    got = collect(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    assert got["text"] == "v1 says hi"
    assert azure.requests[-1].path == "/openai/v1/chat/completions"
    azure.enqueue_scenario(Scenario(text="whole"))
    assert (
        client.chat.completions.create(model="gpt-4o", messages=HELLO).choices[0].message.content
        == "whole"
    )
    assert [m.id for m in client.models.list()][:2] == list(azure.deployments.values())


def test_azure_content_filter_finish(azure: FakeAzure) -> None:
    azure.enqueue_scenario(Scenario(text="Partial", stop="contentFilter"))
    stream = azure_client(azure).chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True
    )
    chunks = list(stream)
    last = chunks[-1].choices[0]
    assert last.finish_reason == "content_filter"
    assert (last.model_extra or {})["content_filter_results"]["violence"] == {
        "filtered": True,
        "severity": "high",
    }
    assert chunks[0].id == "" and chunks[0].choices == []


def test_azure_errors(azure: FakeAzure) -> None:
    azure.enqueue_prompt_filtered("jailbreak")
    with pytest.raises(openai.BadRequestError) as filtered:
        azure_client(azure).chat.completions.create(model="gpt-4o", messages=HELLO)
    assert filtered.value.code == "content_filter"
    body: Any = filtered.value.body
    assert body["innererror"]["content_filter_result"]["jailbreak"]["filtered"] is True
    with pytest.raises(openai.NotFoundError, match="deployment"):
        azure_client(azure).chat.completions.create(model="nope", messages=HELLO)
    bad = openai.AzureOpenAI(
        azure_endpoint=azure.url, api_version=API_VERSION, api_key="0" * 32, max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-4o", messages=HELLO)
    missing = httpx.post(azure.url + "/openai/deployments/gpt-4o/chat/completions", json={})
    assert missing.status_code in (401, 404)


def test_azure_entra_token(azure: FakeAzure) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=azure.url,
        api_version=API_VERSION,
        azure_ad_token_provider=lambda: azure.entra_token,
        max_retries=0,
    )
    azure.enqueue_scenario(Scenario(text="signed in"))
    answer = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert answer.choices[0].message.content == "signed in"
    assert azure.requests[-1].headers["authorization"] == f"Bearer {azure.entra_token}"


# ---- OpenRouter --------------------------------------------------------------------


def router_client(fake: FakeOpenRouter) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url, api_key=fake.api_key, max_retries=0)


def test_openrouter_stream_with_reasoning_and_cost(router: FakeOpenRouter) -> None:
    scenario = Scenario(text="Four.", thinking="2+2 is 4.", pieces=3, input_tokens=40)
    router.enqueue_scenario(scenario)
    stream = router_client(router).chat.completions.create(
        model="anthropic/claude-sonnet-4.5", messages=HELLO, stream=True
    )
    got = collect(stream)
    assert (got["text"], got["reasoning"], got["finish"]) == ("Four.", "2+2 is 4.", "stop")
    assert (got["usage"].model_extra or {})["cost"] == pytest.approx(router.cost_of(scenario))
    assert all(extra["provider"] == "Anthropic" for extra in got["extras"])
    assert router.sent_bodies[-1].startswith(PROCESSING)
    assert router.sent_bodies[-1].count(PROCESSING) >= 3  # the SDK ignored them all


def test_openrouter_tool_call_stream_and_whole(router: FakeOpenRouter) -> None:
    call = ToolCall("call_w", "get_weather", {"city": "Paris", "days": 2})
    router.enqueue_scenario(Scenario(text="", tool_calls=[call], stop="toolUse"))
    got = collect(
        router_client(router).chat.completions.create(model="m/x", messages=HELLO, stream=True)
    )
    assert got["finish"] == "tool_calls"
    assert got["calls"][0]["id"] == "call_w"
    assert json.loads(got["calls"][0]["args"]) == call.input
    router.enqueue_scenario(Scenario(text="Hi", thinking="hmm"))
    whole = router_client(router).chat.completions.create(model="m/x", messages=HELLO)
    extra = whole.choices[0].message.model_extra or {}
    assert extra["reasoning"] == "hmm"
    assert extra["reasoning_details"][0]["signature"] == router.signature


def test_openrouter_mid_stream_error_is_an_api_error(router: FakeOpenRouter) -> None:
    router.enqueue_scenario(Scenario(text="partial", stop="error"))
    stream = router_client(router).chat.completions.create(model="m/x", messages=HELLO, stream=True)
    with pytest.raises(openai.APIError, match="overloaded"):
        collect(stream)


def test_openrouter_errors_and_models(router: FakeOpenRouter) -> None:
    bad = openai.OpenAI(base_url=router.url, api_key="sk-or-v1-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="m/x", messages=HELLO)
    models = router_client(router).models.list()
    first = models.data[0]
    assert first.id == "anthropic/claude-sonnet-4.5"
    assert (first.model_extra or {})["pricing"]["prompt"] == "0.000003"


# ---- xAI -------------------------------------------------------------------------


def xai_client(fake: FakeXAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url, api_key=fake.api_key, max_retries=0)


def test_xai_stream_reasoning_tool_call_and_ticks(xai: FakeXAI) -> None:
    call = ToolCall("call_55117580", "weather", {"location": "San Francisco"})
    scenario = Scenario(text="", thinking="First, the user", tool_calls=[call], stop="toolUse")
    xai.enqueue_scenario(scenario)
    got = collect(
        xai_client(xai).chat.completions.create(
            model="grok-3-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert got["reasoning"] == "First, the user"
    assert got["finish"] == "tool_calls"
    assert json.loads(got["calls"][0]["args"]) == call.input
    usage = got["usage"]
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens + 3
    assert (usage.model_extra or {})["cost_in_usd_ticks"] == xai.ticks_of(scenario)


def test_xai_whole_and_bad_key(xai: FakeXAI) -> None:
    xai.enqueue_scenario(Scenario(text="Hi", thinking="think"))
    whole = xai_client(xai).chat.completions.create(model="grok-3-mini", messages=HELLO)
    assert (whole.choices[0].message.model_extra or {})["reasoning_content"] == "think"
    bad = openai.OpenAI(base_url=xai.url, api_key="xai-wrong-key-000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.chat.completions.create(model="grok-3-mini", messages=HELLO)
    # xAI's body is flat ({"code": ..., "error": "..."}): the SDK keeps the error string.
    assert str(caught.value.body).startswith("Incorrect API key provided: xa***00.")
