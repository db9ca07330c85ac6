"""Streams past a provider's `max_connections`, over the real server.

The 65th concurrent stream once failed after about 92 s as "timed out connecting": it
had waited for a slot in a shared pool of 64. Now each provider has its own limit; a
chat that finds every connection busy says so with a `queued` event and goes through
when one frees up, and one whose wait outlasts its total limit fails naming the full
pool, the provider and the limit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from tests.fakes.anthropic import FakeAnthropic
from tests.lsp_harness import Session, open_session
from tests.test_e2e_timeouts import anthropic_stream

USER = [{"role": "user", "content": "hi"}]
MODEL = "anthropic/claude-sonnet-4-5"
WORDS = ["one ", "two ", "three ", "four"]


def enqueue_slow_stream(fake: FakeAnthropic, delay_s: float) -> None:
    body = anthropic_stream(WORDS)
    pieces = len(WORDS) + 2
    fake.enqueue_replay(body, chunk_size=len(body) // pieces + 1, delay_s=delay_s)


async def chat(session: Session, token: str) -> Any:
    params = {"model": MODEL, "messages": USER, "partialResultToken": token}
    return await session.request("switchboard/chat", params)


def queued(session: Session, token: str) -> list[dict[str, Any]]:
    return [e for e in session.events(token) if e["type"] == "queued"]


async def test_streams_past_the_limit_wait_their_turn_and_all_complete(
    tmp_path: Path, fake_anthropic: FakeAnthropic
) -> None:
    config = f'[providers.anthropic]\nbase_url = "{fake_anthropic.url}"\nmax_connections = 2\n'
    keys = {"ANTHROPIC_API_KEY": fake_anthropic.api_key}
    async with open_session(tmp_path, config, keys) as session:
        for _ in range(5):
            enqueue_slow_stream(fake_anthropic, delay_s=0.4)
        tokens = [f"c{i}" for i in range(5)]
        results = await asyncio.gather(*(chat(session, token) for token in tokens))

    assert [r["content"][0]["text"] for r in results] == ["".join(WORDS)] * 5
    waited = [token for token in tokens if queued(session, token)]
    assert len(waited) == 3
    for token in waited:
        events = session.events(token)
        (event,) = queued(session, token)
        assert event["provider"] == "anthropic" and event["limit"] == 2
        assert 1 <= event["position"] <= 3
        assert events.index(event) < [e["type"] for e in events].index("started")
        assert session.texts(token) == "".join(WORDS)
    assert not [e for t in tokens for e in session.events(t) if e["type"] == "retry"]


async def test_a_wait_past_the_total_limit_fails_naming_the_full_pool(
    tmp_path: Path, fake_anthropic: FakeAnthropic
) -> None:
    config = f'[providers.anthropic]\nbase_url = "{fake_anthropic.url}"\nmax_connections = 1\n'
    keys = {"ANTHROPIC_API_KEY": fake_anthropic.api_key}
    async with open_session(tmp_path, config, keys) as session:
        enqueue_slow_stream(fake_anthropic, delay_s=0.8)
        holder = asyncio.create_task(chat(session, "holder"))
        while not session.events("holder"):
            await asyncio.sleep(0.02)
        # The holder keeps its own total limit; the next chat gets a short one.
        settings = {"providers": {"anthropic": {"totalTimeout": 0.5}}}
        session.client.workspace_did_change_configuration(
            lsp.DidChangeConfigurationParams(settings={"switchboard": settings})
        )
        with pytest.raises(JsonRpcException) as failed:
            await chat(session, "waiter")
        result = await holder

    assert result["content"][0]["text"] == "".join(WORDS)
    error = failed.value
    assert error.data["code"] == "timeout" and error.data["provider"] == "anthropic"
    assert "anthropic: the connection pool was full" in error.message
    assert "max_connections = 1" in error.message and "0.5 s" in error.message
    assert "max_connections" in error.data["suggestion"]
    assert "connect" not in error.message.replace("connection", "")
    (event,) = queued(session, "waiter")
    assert event == {"type": "queued", "provider": "anthropic", "position": 1, "limit": 1}
    assert sum(1 for r in fake_anthropic.requests if r.path.startswith("/v1/messages")) == 1
