"""The editor-facing model fields end to end, over LSP against the real server: cache
anchors within the model's limit, one-hour cache writes priced apart, unparseable tool
input kept, the catalog's cache configuration and tool input format, provider icons,
OpenRouter's reasoning details as an event, and the OAuth callback in the sign-in result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pygls.exceptions import JsonRpcException
from switchboard.providers.catalog.models import default_catalog

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.oauth import FakeAuthServer
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openrouter import FakeOpenRouter
from tests.fakes.scenario import Scenario
from tests.lsp_harness import Session, open_session, provider_config

MODEL = "claude-sonnet-4-5"
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
BIG_TOOL = {"name": "search", "description": "Searches the code. " * 2000}
BROKEN_INPUT = '{"query": "cache anch'
INVALID_PARAMS = -32602


def sse(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **payload})}\n\n".encode()


def answer_with_broken_tool_and_hour_writes() -> bytes:
    """An Anthropic stream: 1,000 tokens read from the cache, 3,000 written (2,000 of them
    for an hour), then a tool call whose input the model never finished."""
    usage = {
        "input_tokens": 50,
        "output_tokens": 1,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    }
    message = {"id": "msg_e2e", "type": "message", "role": "assistant", "model": MODEL}
    tool = {"type": "tool_use", "id": "toolu_e2e", "name": "search", "input": {}}
    return b"".join(
        [
            sse("message_start", {"message": {**message, "content": [], "usage": usage}}),
            sse("content_block_start", {"index": 0, "content_block": tool}),
            sse(
                "content_block_delta",
                {"index": 0, "delta": {"type": "input_json_delta", "partial_json": BROKEN_INPUT}},
            ),
            sse("content_block_stop", {"index": 0}),
            sse(
                "message_delta",
                {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 12}},
            ),
            sse("message_stop", {}),
        ]
    )


def cached_turns(count: int) -> list[dict[str, Any]]:
    first: list[dict[str, Any]] = [
        {"type": "text", "text": "turn 0"},
        {"type": "image", "mediaType": "image/png", "data": PIXEL, "width": 1, "height": 1},
    ]
    turns: list[dict[str, Any]] = [{"role": "user", "content": first, "cache": True}]
    for i in range(1, count):
        turns.append(
            {"role": "assistant" if i % 2 else "user", "content": f"turn {i}", "cache": True}
        )
    return turns


def anchors(body: dict[str, Any]) -> list[str]:
    found = [f"tool {t['name']}" for t in body.get("tools", []) if "cache_control" in t]
    for message in body["messages"]:
        found += [
            f"{b['type']} {b.get('text')}" for b in message["content"] if "cache_control" in b
        ]
    return found


async def test_cache_anchors_hour_writes_and_broken_tool_input_over_lsp(tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        config = provider_config(anthropic_url=fake.url)
        async with open_session(tmp_path, config, {"ANTHROPIC_API_KEY": fake.api_key}) as session:
            # Seven cached turns and cacheable tools: the fake, like the API, refuses more
            # than four anchors, so the answer itself shows the limit was kept.
            fake.enqueue_replay(answer_with_broken_tool_and_hour_writes())
            result = await session.request(
                "switchboard/chat",
                {
                    "model": f"anthropic/{MODEL}",
                    "messages": cached_turns(7),
                    "tools": [BIG_TOOL],
                    "partialResultToken": "chat",
                },
            )
            sent = fake.requests[-1].json()
            assert anchors(sent) == ["text turn 3", "text turn 4", "text turn 5", "text turn 6"]
            assert sent["messages"][0]["content"][1]["type"] == "image"

            assert result["stopReason"] == "toolUse"
            [kept] = [p for p in result["content"] if p["type"] == "toolUse"]
            assert kept["id"] == "toolu_e2e" and kept["input"] is None
            assert kept["rawInput"] == BROKEN_INPUT and kept["parseError"]
            streamed = [e["type"] for e in session.events("chat")]
            assert "toolUseJsonParseError" in streamed

            usage = result["usage"]
            assert usage["cacheCreationInputTokens"] == 3000
            assert usage["cacheCreationOneHourInputTokens"] == 2000
            info = default_catalog().get("anthropic", MODEL)
            assert info is not None and info.pricing is not None
            rates = info.pricing
            assert rates.cache_write_1h_per_m_tok is not None
            expected_cache = (
                1000 * (rates.cache_read_per_m_tok or 0)
                + 1000 * (rates.cache_write_per_m_tok or 0)
                + 2000 * rates.cache_write_1h_per_m_tok
            ) / 1_000_000
            assert result["cost"]["cacheUsd"] == pytest.approx(expected_cache)

            # Fewer cached turns leave room for the tool definitions' own anchor; the tool
            # result names its tool.
            fake.enqueue_scenario(Scenario(text="done"))
            follow_up = [
                *cached_turns(1),
                {"role": "assistant", "content": [{**kept, "input": None}]},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "toolResult",
                            "toolUseId": "toolu_e2e",
                            "toolName": "search",
                            "content": "no hits",
                        }
                    ],
                },
            ]
            await session.request(
                "switchboard/chat",
                {"model": f"anthropic/{MODEL}", "messages": follow_up, "tools": [BIG_TOOL]},
            )
            sent = fake.requests[-1].json()
            assert anchors(sent) == ["tool search", "image None"]
            assert sent["messages"][1]["content"][0]["input"] == {}

            requests_before = len(fake.requests)
            flat = {"type": "image", "mediaType": "image/png", "data": PIXEL, "width": 0}
            with pytest.raises(JsonRpcException) as refused:
                await session.request(
                    "switchboard/chat",
                    {
                        "model": f"anthropic/{MODEL}",
                        "messages": [{"role": "user", "content": [flat]}],
                    },
                )
            assert refused.value.code == INVALID_PARAMS
            assert refused.value.data["field"].endswith("width")
            assert len(fake.requests) == requests_before

            await check_catalog_fields(session)


async def check_catalog_fields(session: Session) -> None:
    listed = await session.request("switchboard/models", {"provider": "anthropic"})
    claude = next(m for m in listed["models"] if m["id"] == f"anthropic/{MODEL}")
    assert claude["cacheConfiguration"] == {
        "maxCacheAnchors": 4,
        "cacheTools": True,
        "minCacheableTokens": 1024,
    }
    assert claude["capabilities"]["toolInputFormat"] == "jsonSchema"
    assert claude["pricing"]["cacheWrite1hPerMTok"] > claude["pricing"]["cacheWritePerMTok"]
    everything = await session.request("switchboard/models", {})
    gemini = [m for m in everything["models"] if m["provider"] == "gemini"]
    assert gemini and all(m["capabilities"]["toolInputFormat"] == "simplified" for m in gemini)
    assert all("cacheConfiguration" not in m for m in gemini)
    providers = await session.request("switchboard/providers", {})
    icons = {p["id"]: p["icon"] for p in providers["providers"]}
    assert icons["anthropic"] == "anthropic"
    assert all(isinstance(icon, str) and icon for icon in icons.values())


async def test_openrouter_reasoning_details_stream_as_an_event(tmp_path: Path) -> None:
    with FakeOpenRouter() as router:
        config = f'[providers.openrouter]\nbase_url = "{router.url}"\n'
        env = {"OPENROUTER_API_KEY": router.api_key}
        async with open_session(tmp_path, config, env) as session:
            router.enqueue_scenario(Scenario(thinking="Let me think.", text="Answer."))
            result = await session.request(
                "switchboard/chat",
                {
                    "model": "openrouter/anthropic/claude-sonnet-4.5",
                    "messages": [{"role": "user", "content": "hi"}],
                    "thinking": {"budgetTokens": 1024},
                    "partialResultToken": "think",
                },
            )
            events = session.events("think")
            [details] = [e for e in events if e["type"] == "reasoningDetails"]
            assert details["details"][0]["type"] == "reasoning.text"
            assert details["details"][0]["text"] == "Let me think."
            assert details["details"][0]["signature"] == router.signature
            [thinking] = [p for p in result["content"] if p["type"] == "thinking"]
            assert json.loads(thinking["signature"]) == details["details"]


async def test_oauth_sign_in_result_gives_the_callback_url_and_port(tmp_path: Path) -> None:
    with FakeAuthServer() as auth, FakeOpenAI() as api:
        api.accepted_tokens = auth.access_tokens
        async with (
            open_session(tmp_path, auth.provider_config(api.url)) as session,
            httpx.AsyncClient(timeout=10) as browser,
        ):
            pending = await session.request("switchboard/signIn", {"provider": "corp"})
            assert pending["status"] == "pending"
            redirect = parse_qs(urlsplit(pending["authUrl"]).query)["redirect_uri"][0]
            assert pending["callbackUrl"] == redirect
            assert pending["callbackPort"] == urlsplit(redirect).port
            page = await browser.get(pending["authUrl"], follow_redirects=True)
            assert page.status_code == 200
            done = await session.request(
                "switchboard/signInComplete", {"flowId": pending["flowId"]}
            )
            assert done["status"] == "signedIn"
            assert "callbackPort" not in done
