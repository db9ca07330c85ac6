"""FakeBedrock is faithful: boto3's bedrock-runtime client, pointed at it, sees a real Bedrock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError
from switchboard.protocol.chat import TextEvent, ThinkingEvent, ToolUseEvent, UsageEvent
from switchboard.providers.adapters.bedrock import BedrockAdapter
from switchboard.providers.wire.eventstream import EventStreamFramer

from tests.fakes.bedrock import DEFAULT_KEY, FakeBedrock, model_id, signature_of
from tests.fakes.scenario import Scenario, ToolCall
from tests.test_bedrock_adapter import target

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
HELLO = [{"role": "user", "content": [{"text": "Hello"}]}]
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeBedrock) -> FakeBedrock:
    while not server.replies.empty():
        server.replies.get_nowait()
    server.requests.clear()
    server.auth_failures.clear()
    return server


def client(
    fake: FakeBedrock, secret: str = DEFAULT_KEY.secret_key, service: str = "bedrock-runtime"
) -> Any:
    return boto3.client(
        service,
        endpoint_url=fake.url,
        region_name="us-east-1",
        aws_access_key_id=DEFAULT_KEY.access_key,
        aws_secret_access_key=secret,
        config=NO_RETRIES,
    )


def rich_scenario() -> Scenario:
    return Scenario(
        text="Let me look that up.",
        thinking="The user wants weather; call the tool.",
        tool_calls=[ToolCall("tooluse_01A", "get_weather", {"city": "Paris", "days": [1, 2]})],
        input_tokens=100,
        output_tokens=33,
        cache_read_tokens=60,
        cache_write_tokens=10,
        stop="toolUse",
        pieces=3,
    )


def test_converse_stream_gives_the_scenario(fake: FakeBedrock) -> None:
    fake.enqueue_scenario(rich_scenario())
    response = client(fake).converse_stream(modelId=MODEL, messages=HELLO)
    events = list(response["stream"])
    assert fake.auth_failures == []
    assert model_id(fake.requests[-1]) == MODEL
    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    deltas = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
    reasoning = "".join(
        d["reasoningContent"].get("text", "") for d in deltas if "reasoningContent" in d
    )
    assert reasoning == "The user wants weather; call the tool."
    signature = [
        d["reasoningContent"]["signature"]
        for d in deltas
        if "signature" in d.get("reasoningContent", {})
    ]
    assert signature == [signature_of(reasoning)]
    assert "".join(d["text"] for d in deltas if "text" in d) == "Let me look that up."
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"] == {"toolUseId": "tooluse_01A", "name": "get_weather"}
    arguments = "".join(d["toolUse"]["input"] for d in deltas if "toolUse" in d)
    assert arguments == '{"city":"Paris","days":[1,2]}'
    assert events[-2] == {"messageStop": {"stopReason": "tool_use"}}
    usage = events[-1]["metadata"]["usage"]
    assert usage == {
        "inputTokens": 30,
        "outputTokens": 33,
        "totalTokens": 133,
        "cacheReadInputTokens": 60,
        "cacheWriteInputTokens": 10,
    }


def test_what_boto3_reads_our_decoder_reads_the_same(fake: FakeBedrock) -> None:
    scenario = rich_scenario()
    fake.enqueue_scenario(scenario)
    client(fake).converse_stream(modelId=MODEL, messages=HELLO)["stream"].close()
    body = fake.sent_bodies[-1]
    framer, decoder = EventStreamFramer(), BedrockAdapter().decoder(target())
    events = [e for item in framer.feed(body) for e in decoder.feed(item)] + decoder.close()
    assert "".join(e.text for e in events if isinstance(e, TextEvent)) == scenario.text
    assert "".join(e.text for e in events if isinstance(e, ThinkingEvent)) == scenario.thinking
    assert [e.input for e in events if isinstance(e, ToolUseEvent)] == [
        scenario.tool_calls[0].input
    ]
    usage = [e for e in events if isinstance(e, UsageEvent)]
    assert usage == [
        UsageEvent(
            input_tokens=100,
            output_tokens=33,
            cache_read_input_tokens=60,
            cache_creation_input_tokens=10,
        )
    ]


def test_converse_gives_the_same_answer_as_json(fake: FakeBedrock) -> None:
    fake.enqueue_scenario(rich_scenario())
    response = client(fake).converse(modelId=MODEL, messages=HELLO)
    content = response["output"]["message"]["content"]
    assert content[0]["reasoningContent"]["reasoningText"]["text"].startswith("The user wants")
    assert content[1] == {"text": "Let me look that up."}
    assert content[2]["toolUse"] == {
        "toolUseId": "tooluse_01A",
        "name": "get_weather",
        "input": {"city": "Paris", "days": [1, 2]},
    }
    assert response["stopReason"] == "tool_use"
    assert response["usage"]["cacheReadInputTokens"] == 60
    assert fake.requests[-1].path.endswith("/converse")
    events = BedrockAdapter().decode_body(
        {k: v for k, v in response.items() if k != "ResponseMetadata"}, target()
    )
    assert [e.name for e in events if isinstance(e, ToolUseEvent)] == ["get_weather"]


def test_an_exception_frame_reaches_boto3_as_an_event_stream_error(fake: FakeBedrock) -> None:
    fake.enqueue_stream_exception(
        "throttlingException", "Too many tokens, please wait.", Scenario(text="Hi")
    )
    stream = client(fake).converse_stream(modelId=MODEL, messages=HELLO)["stream"]
    with pytest.raises(EventStreamError) as caught:
        list(stream)
    assert caught.value.response["Error"]["Code"] == "throttlingException"
    assert caught.value.response["Error"]["Message"] == "Too many tokens, please wait."


def test_a_bad_signature_is_a_403_with_the_aws_error_type(fake: FakeBedrock) -> None:
    with pytest.raises(ClientError) as caught:
        client(fake, secret="notTheRightSecretnotTheRightSecret000000").converse(
            modelId=MODEL, messages=HELLO
        )
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert fake.auth_failures


def test_validation_errors_reach_boto3_by_name(fake: FakeBedrock) -> None:
    assistant_first = [{"role": "assistant", "content": [{"text": "Hi"}]}]
    with pytest.raises(ClientError) as caught:
        client(fake).converse(modelId=MODEL, messages=assistant_first)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    fake.enqueue_error(
        429, "ThrottlingException", "Too many requests, please wait before trying again."
    )
    with pytest.raises(ClientError) as throttled:
        client(fake).converse_stream(modelId=MODEL, messages=HELLO)
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"


def test_foundation_models_list_for_the_bedrock_client(fake: FakeBedrock) -> None:
    listed = client(fake, service="bedrock").list_foundation_models(byOutputModality="TEXT")
    ids = [summary["modelId"] for summary in listed["modelSummaries"]]
    assert "amazon.nova-micro-v1:0" in ids
    assert fake.requests[-1].path.startswith("/foundation-models?byOutputModality=TEXT")
    assert [m.name for m in BedrockAdapter().parse_models(listed)] == ids
