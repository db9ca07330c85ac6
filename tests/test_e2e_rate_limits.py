"""The Plue wrapper's asks, over the real server: a chat's own `timeout`, the message
`name`, queueing behind a 429's Retry-After, and Bedrock's exact token counts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.bedrock import DEFAULT_KEY, FakeBedrock, counted_tokens, model_id
from tests.fakes.http import Reply
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import Session, open_session

OPENAI = "openai/gpt-4o"
CLAUDE_ON_BEDROCK = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
LIMITED = {"error": {"message": "Rate limit reached for gpt-4o", "type": "requests"}}


def config(openai: FakeOpenAI, bedrock: FakeBedrock) -> str:
    return (
        f'[providers.openai]\nbase_url = "{openai.url}"\n\n'
        f'[providers.bedrock]\nbase_url = "{bedrock.url}"\nregion = "us-east-1"\n'
    )


def env(tmp_path: Path, openai: FakeOpenAI) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": openai.api_key,
        "AWS_ACCESS_KEY_ID": DEFAULT_KEY.access_key,
        "AWS_SECRET_ACCESS_KEY": DEFAULT_KEY.secret_key,
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
    }


def chats_sent(fake: FakeOpenAI) -> int:
    return sum(request.path.endswith("/chat/completions") for request in fake.requests)


async def first_event(session: Session, token: str, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            for event in session.events(token):
                if event["type"] == kind:
                    return event
            await asyncio.sleep(0.01)


async def test_timeout_name_retry_after_queue_and_bedrock_counts(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    with FakeBedrock() as bedrock:
        async with open_session(
            tmp_path, config(fake_openai, bedrock), env(tmp_path, fake_openai)
        ) as session:
            # The message name reaches OpenAI Chat.
            await session.request(
                "switchboard/chat",
                {"model": OPENAI, "messages": [{"role": "user", "content": "hi", "name": "ada"}]},
            )
            sent = fake_openai.requests[-1].json()["messages"]
            assert sent == [{"role": "user", "content": "hi", "name": "ada"}]

            # A chat's own timeout bounds the whole request, and says which limit fired.
            fake_openai.enqueue_scenario(Scenario(text="a b c d e f", pieces=6, delay_s=0.3))
            with pytest.raises(JsonRpcException) as timed_out:
                await session.request(
                    "switchboard/chat",
                    {"model": OPENAI, "messages": [{"role": "user", "content": "x"}], "timeout": 0},
                )
            assert timed_out.value.code == -32602 and "timeout" in timed_out.value.message
            with pytest.raises(JsonRpcException) as slow:
                await session.request(
                    "switchboard/chat",
                    {
                        "model": OPENAI,
                        "messages": [{"role": "user", "content": "hi"}],
                        "timeout": 0.5,
                    },
                )
            assert slow.value.data["code"] == "timeout"
            assert "the request's timeout = 0.5" in slow.value.message

            # A 429's Retry-After holds every chat to that provider, not only the refused one.
            before = chats_sent(fake_openai)
            fake_openai.enqueue(Reply.json(LIMITED, 429, {"retry-after-ms": "800"}))
            message = [{"role": "user", "content": "hi"}]
            refused = asyncio.create_task(
                session.request(
                    "switchboard/chat",
                    {"model": OPENAI, "messages": message, "partialResultToken": "a"},
                )
            )
            retry = await first_event(session, "a", "retry")
            held = asyncio.create_task(
                session.request(
                    "switchboard/chat",
                    {"model": OPENAI, "messages": message, "partialResultToken": "b"},
                )
            )
            queued = await first_event(session, "b", "queued")
            assert chats_sent(fake_openai) == before + 1  # only the refused one went out
            assert retry["delayMs"] == 800
            assert queued["provider"] == "openai" and 0 < queued["retryAfterMs"] <= 800
            results = await asyncio.gather(refused, held)
            assert [r["stopReason"] for r in results] == ["endTurn", "endTurn"]
            assert chats_sent(fake_openai) == before + 3
            assert [e["type"] for e in session.events("b")][:2] == ["queued", "started"]
            assert "queued" not in [e["type"] for e in session.events("a")]

            # Bedrock counts Claude's input exactly with CountTokens.
            counted = await session.request(
                "switchboard/countTokens",
                {"model": CLAUDE_ON_BEDROCK, "messages": [{"role": "user", "content": "hi"}]},
            )
    [converse] = bedrock.counted
    assert model_id(bedrock.requests[-1]) == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert bedrock.auth_failures == []
    assert counted["exact"] is True and counted["method"] == "provider"
    assert counted["inputTokens"] == counted_tokens(converse)
    assert json.dumps(converse).count("hi") == 1
