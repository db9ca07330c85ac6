"""Bedrock's CountTokens: exact input counts for Claude, SigV4-signed, against the fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from switchboard.protocol.chat import ChatParams
from switchboard.providers.adapters.bedrock import BedrockAdapter, foundation_model
from switchboard.providers.base import ProviderSettings
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine

from tests.fakes.bedrock import DEFAULT_KEY, FakeBedrock, counted_tokens, model_id

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PARAMS = ChatParams.model_validate(
    {
        "messages": [
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "content": "Let me look."},
            {"role": "user", "content": "Thanks."},
        ],
        "system": "Be brief.",
        "maxTokens": 300,
        "temperature": 0.5,
        "tools": [{"name": "get_weather", "inputSchema": {"type": "object"}}],
    }
)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    # botocore's credential chain reads the process environment.
    for name, value in {
        "AWS_ACCESS_KEY_ID": DEFAULT_KEY.access_key,
        "AWS_SECRET_ACCESS_KEY": DEFAULT_KEY.secret_key,
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    with FakeBedrock() as server:
        yield server


def engine_for(fake: FakeBedrock, tmp_path: Path) -> ChatEngine:
    settings = ProviderSettings(
        id="bedrock", kind="bedrock", base_url=fake.url, options={"region": "us-east-1"}
    )
    return ChatEngine(Config(providers={"bedrock": settings}))


@pytest.mark.parametrize(
    ("model", "foundation"),
    [
        (CLAUDE, "anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-x-v1:0",
            "anthropic.claude-x-v1:0",
        ),
    ],
)
def test_counting_names_the_foundation_model(model: str, foundation: str) -> None:
    assert foundation_model(model) == foundation


async def test_counts_claude_input_exactly_through_count_tokens(
    fake: FakeBedrock, tmp_path: Path
) -> None:
    engine = engine_for(fake, tmp_path)
    try:
        counted = await engine.counter.count(PARAMS, engine.resolve(f"bedrock/{CLAUDE}"))
        again = await engine.counter.count(PARAMS, engine.resolve(f"bedrock/{CLAUDE}"))
    finally:
        await engine.aclose()
    assert fake.auth_failures == []
    [sent] = fake.requests  # the second count came from the cache
    assert sent.path.endswith("/count-tokens")
    assert model_id(sent) == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    converse = sent.json()["input"]["converse"]
    assert set(converse) == {"messages", "system", "toolConfig"}  # sampling is not input
    assert converse["system"] == [{"text": "Be brief."}]
    assert [m["role"] for m in converse["messages"]] == ["user", "assistant", "user"]
    assert (counted.input_tokens, counted.exact, counted.method) == (
        counted_tokens(converse),
        True,
        "provider",
    )
    assert again == counted


async def test_models_without_count_tokens_are_counted_locally(
    fake: FakeBedrock, tmp_path: Path
) -> None:
    engine = engine_for(fake, tmp_path)
    try:
        counted = await engine.counter.count(
            PARAMS, engine.resolve("bedrock/amazon.nova-micro-v1:0")
        )
    finally:
        await engine.aclose()
    assert fake.requests == [] and counted.exact is False and counted.input_tokens > 0


async def test_a_model_the_endpoint_refuses_is_not_asked_again(
    fake: FakeBedrock, tmp_path: Path
) -> None:
    fake.count_refusal = "The provided model doesn't support counting tokens."
    engine = engine_for(fake, tmp_path)
    target = engine.resolve(f"bedrock/{CLAUDE}")
    try:
        first = await engine.counter.count(PARAMS, target)
        other = PARAMS.model_copy(update={"system": "Be very brief."})
        second = await engine.counter.count(other, target)
    finally:
        await engine.aclose()
    assert len(fake.requests) == 1
    assert not first.exact and not second.exact


def test_parse_count_tokens_wants_input_tokens() -> None:
    adapter = BedrockAdapter()
    assert adapter.parse_count_tokens({"inputTokens": 42}) == 42
    for body in ({}, {"inputTokens": -1}, {"inputTokens": "42"}, []):
        with pytest.raises(Exception, match="inputTokens"):
            adapter.parse_count_tokens(body)
