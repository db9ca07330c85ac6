"""AWS Bedrock end to end: the real server over stdio, a SigV4-checking loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.bedrock import DEFAULT_KEY, FakeBedrock, model_id, signature_of
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import open_session

MODEL_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MODEL = f"bedrock/{MODEL_ID}"
USER = [{"role": "user", "content": "What's the weather in Paris?"}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather forecast",
        "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock() as server:
        yield server


def config(fake: FakeBedrock, profile: str | None = None) -> str:
    lines = ["[providers.bedrock]", f'base_url = "{fake.url}"', 'region = "us-east-1"']
    if profile:
        lines.append(f'profile = "{profile}"')
    return "\n".join(lines) + "\n"


def aws_env(tmp_path: Path, secret: str = DEFAULT_KEY.secret_key) -> dict[str, str]:
    """Keys in the environment; private (empty) AWS files, no instance metadata lookups."""
    return {
        "AWS_ACCESS_KEY_ID": DEFAULT_KEY.access_key,
        "AWS_SECRET_ACCESS_KEY": secret,
        **private_aws_files(tmp_path),
    }


def private_aws_files(tmp_path: Path) -> dict[str, str]:
    return {
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def text_of(result: dict[str, Any]) -> str:
    return "".join(p["text"] for p in result["content"] if p["type"] == "text")


async def test_chat_streams_text_reasoning_usage_and_stop(
    tmp_path: Path, fake: FakeBedrock
) -> None:
    scenario = Scenario(
        text="Sunny, 21 degrees.",
        thinking="The user asks about the weather.",
        input_tokens=1200,
        output_tokens=40,
        cache_read_tokens=1000,
        pieces=5,
    )
    fake.enqueue_scenario(scenario)
    async with open_session(tmp_path, config(fake), aws_env(tmp_path)) as session:
        result = await session.request(
            "switchboard/chat",
            {
                "model": MODEL,
                "messages": USER,
                "thinking": {"budgetTokens": 2048},
                "partialResultToken": "tok",
            },
        )
        events = session.events("tok")
    assert fake.auth_failures == []
    assert text_of(result) == scenario.text
    assert session.texts("tok") == scenario.text
    thinking = [p for p in result["content"] if p["type"] == "thinking"]
    assert thinking == [
        {
            "type": "thinking",
            "text": scenario.thinking,
            "signature": signature_of(scenario.thinking),
        }
    ]
    assert events[0]["type"] == "started" and events[0]["model"] == MODEL
    assert events[-1] == {"type": "stop", "reason": "endTurn"}
    assert result["stopReason"] == "endTurn"
    assert result["usage"]["inputTokens"] == 1200
    assert result["usage"]["cacheReadInputTokens"] == 1000
    assert result["usage"]["outputTokens"] == 40
    assert result["cost"]["totalUsd"] > 0

    sent = fake.requests[-1]
    assert model_id(sent) == MODEL_ID and sent.path.endswith("/converse-stream")
    assert sent.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={DEFAULT_KEY.access_key}/"
    )
    body = sent.json()
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }
    assert body["inferenceConfig"]["maxTokens"] > 2048


async def test_tool_round_trip_carries_tool_use_result_and_signed_reasoning(
    tmp_path: Path, fake: FakeBedrock
) -> None:
    call = ToolCall(id="tooluse_weather_1", name="get_weather", input={"city": "Paris"})
    fake.enqueue_scenario(
        Scenario(text="Let me check.", thinking="Need the tool.", tool_calls=[call], stop="toolUse")
    )
    fake.enqueue_scenario(Scenario(text="Sunny in Paris."))
    async with open_session(tmp_path, config(fake), aws_env(tmp_path)) as session:
        params = {"model": MODEL, "tools": TOOLS, "thinking": {"budgetTokens": 1024}}
        first = await session.request("switchboard/chat", {**params, "messages": USER})
        assert first["stopReason"] == "toolUse"
        uses = [p for p in first["content"] if p["type"] == "toolUse"]
        assert [(u["id"], u["name"], u["input"]) for u in uses] == [
            ("tooluse_weather_1", "get_weather", {"city": "Paris"})
        ]
        history = [
            *USER,
            {"role": "assistant", "content": first["content"]},
            {
                "role": "tool",
                "content": [
                    {
                        "type": "toolResult",
                        "toolUseId": "tooluse_weather_1",
                        "content": "sunny, 21C",
                    }
                ],
            },
        ]
        second = await session.request("switchboard/chat", {**params, "messages": history})
    assert text_of(second) == "Sunny in Paris."
    assert fake.auth_failures == []
    messages = fake.requests[-1].json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [
        {
            "reasoningContent": {
                "reasoningText": {
                    "text": "Need the tool.",
                    "signature": signature_of("Need the tool."),
                }
            }
        },
        {"text": "Let me check."},
        {
            "toolUse": {
                "toolUseId": "tooluse_weather_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            }
        },
    ]
    assert messages[2]["content"] == [
        {"toolResult": {"toolUseId": "tooluse_weather_1", "content": [{"text": "sunny, 21C"}]}}
    ]
    assert fake.requests[-1].json()["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"


async def test_in_stream_throttling_is_rate_limited(tmp_path: Path, fake: FakeBedrock) -> None:
    fake.enqueue_stream_exception(
        "throttlingException",
        "Too many tokens, please wait before trying again.",
        Scenario(text="Partial answer"),
    )
    async with open_session(tmp_path, config(fake), aws_env(tmp_path)) as session:
        with pytest.raises(JsonRpcException) as failure:
            await session.request(
                "switchboard/chat", {"model": MODEL, "messages": USER, "partialResultToken": "p"}
            )
        assert session.texts("p") == "Partial answer"
    assert failure.value.code == -32803
    assert failure.value.data["code"] == "rateLimited"
    assert "Too many tokens" in failure.value.message


async def test_a_bad_signature_is_authentication_failed(tmp_path: Path, fake: FakeBedrock) -> None:
    wrong = "notTheRightSecretnotTheRightSecret000000"
    async with open_session(tmp_path, config(fake), aws_env(tmp_path, wrong)) as session:
        with pytest.raises(JsonRpcException) as failure:
            await session.request("switchboard/chat", {"model": MODEL, "messages": USER})
        log = "".join(
            p.read_text(errors="replace") for p in session.data_dir.rglob("*") if p.is_file()
        )
    assert failure.value.data["code"] == "authenticationFailed"
    assert failure.value.data["status"] == 403
    assert "signature" in failure.value.message
    assert fake.auth_failures
    assert wrong not in failure.value.message and wrong not in log


async def test_shared_credentials_file_and_aws_profile(tmp_path: Path, fake: FakeBedrock) -> None:
    files = private_aws_files(tmp_path)
    Path(files["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[default]\naws_access_key_id = AKIANOTTHISONE000000\naws_secret_access_key = no\n"
        f"[bedrock-dev]\naws_access_key_id = {DEFAULT_KEY.access_key}\n"
        f"aws_secret_access_key = {DEFAULT_KEY.secret_key}\n"
    )
    fake.enqueue_scenario(Scenario(text="From a profile."))
    env = {**files, "AWS_PROFILE": "bedrock-dev"}
    async with open_session(tmp_path, config(fake), env) as session:
        result = await session.request("switchboard/chat", {"model": MODEL, "messages": USER})
    assert text_of(result) == "From a profile."
    assert fake.auth_failures == []
    assert f"Credential={DEFAULT_KEY.access_key}/" in fake.requests[-1].headers["authorization"]
