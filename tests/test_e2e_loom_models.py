"""Loom's providers and models over LSP: aliases, bare names, capability and cost checks
before sending, default temperatures, the session budget, null assistant content and
failed tool results, all through the real server against loopback fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import Session, open_session

IMAGE = {"type": "image", "mediaType": "image/png", "data": "iVBORw0KGgo="}
TOOL = {"name": "read_file", "inputSchema": {"type": "object"}}


def loom_config(anthropic: FakeAnthropic, openai: FakeOpenAI, budget: float | None = None) -> str:
    # deepseek and bedrock point at the OpenAI fake: anything they sent would be seen there.
    lines = [
        "default_temperature = 0.3",
        *([f"session_budget_usd = {budget}"] if budget is not None else []),
        "[providers.anthropic]",
        f'base_url = "{anthropic.url}"',
        "default_temperature = 0.6",
        "[providers.openai]",
        f'base_url = "{openai.url}"',
        "[providers.deepseek]",
        f'base_url = "{openai.url}"',
        "[providers.bedrock]",
        f'base_url = "{openai.url}"',
        'region = "us-east-1"',
    ]
    return "\n".join(lines) + "\n"


def keys(anthropic: FakeAnthropic, openai: FakeOpenAI) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": anthropic.api_key, "OPENAI_API_KEY": openai.api_key}


async def refused(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(JsonRpcException) as caught:
        await session.request("switchboard/chat", params)
    data: dict[str, Any] = caught.value.data
    return data


def hi(model: str, **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **fields}


async def test_models_resolve_and_requests_are_checked_before_sending(tmp_path: Path) -> None:
    with FakeAnthropic() as anthropic, FakeOpenAI() as openai:
        config = loom_config(anthropic, openai)
        async with open_session(tmp_path, config, keys(anthropic, openai)) as session:
            # A bare name: the first provider with credentials, said in the result and the log.
            openai.enqueue_scenario(Scenario(text="done"))
            conversation = [
                {"role": "user", "content": "read a"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "toolUse", "id": "call_1", "name": "read_file", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "toolResult",
                            "toolUseId": "call_1",
                            "content": "no such file",
                            "isError": True,
                        }
                    ],
                },
                {"role": "assistant", "content": None},
                {"role": "user", "content": "try b"},
            ]
            result = await session.request(
                "switchboard/chat", {"model": "gpt-4o", "messages": conversation}
            )
            assert result["model"] == "openai/gpt-4o"
            assert any("resolved to 'openai/gpt-4o'" in w for w in result["warnings"])
            logged = [
                m.message
                for m in session.client.log_messages
                if m.type == lsp.MessageType.Warning and "resolved to 'openai/gpt-4o'" in m.message
            ]
            assert logged
            sent = openai.requests[-1].json()
            assert sent["model"] == "gpt-4o"
            assert sent["temperature"] == 0.3  # the config's default_temperature
            tool_message = next(m for m in sent["messages"] if m["role"] == "tool")
            assert tool_message["content"] == "Error: no such file"
            assert {"role": "assistant", "content": ""} in sent["messages"]

            # An alias, and the provider's own default temperature over the config's.
            anthropic.enqueue_scenario(Scenario(text="hello"))
            aliased = await session.request("switchboard/chat", hi("claude/claude-sonnet-4-5"))
            assert aliased["model"] == "anthropic/claude-sonnet-4-5"
            assert anthropic.requests[-1].json()["temperature"] == 0.6

            # History lists each call under the provider it went to, not what was written.
            history = await session.request("switchboard/history", {})
            models = {call["model"] for call in history["calls"]}
            assert {"openai/gpt-4o", "anthropic/claude-sonnet-4-5"} <= models
            assert not {"gpt-4o", "claude/claude-sonnet-4-5"} & models

            # A mistyped provider still gets the closest name.
            unknown = await refused(session, hi("gogle/gemini-2.5-flash"))
            assert unknown["code"] == "unknownProvider" and unknown["suggestion"] == "google"

            sent_before = len(openai.requests), len(anthropic.requests)
            image_turn = {"role": "user", "content": [{"type": "text", "text": "what?"}, IMAGE]}
            no_images = await refused(
                session, {"model": "deepseek/deepseek-v4-flash", "messages": [image_turn]}
            )
            assert no_images["code"] == "unsupported" and no_images["capability"] == "images"
            no_tools = await refused(session, hi("bedrock/us.deepseek.r1-v1:0", tools=[TOOL]))
            assert no_tools["code"] == "unsupported" and no_tools["capability"] == "tools"
            too_dear = await refused(
                session, hi("openai/gpt-4o", maxTokens=2_000, maxCostUsd=0.001)
            )
            assert too_dear["code"] == "costLimitExceeded"
            assert too_dear["limitUsd"] == 0.001
            assert too_dear["estimatedCostUsd"] > 0.02  # 2,000 output tokens at $10/M
            assert (len(openai.requests), len(anthropic.requests)) == sent_before


def budget_warnings(session: Session) -> list[str]:
    return [
        m.message
        for m in session.client.messages
        if m.type == lsp.MessageType.Warning and "budget" in m.message
    ]


async def test_the_session_budget_warns_at_80_percent_and_refuses_past_100(
    tmp_path: Path,
) -> None:
    with FakeAnthropic() as anthropic, FakeOpenAI() as openai:
        config = loom_config(anthropic, openai, budget=0.05)
        async with open_session(tmp_path, config, keys(anthropic, openai)) as session:
            # gpt-4o: $2.50 per M input, $10 per M output. 16,000 + 100 tokens: $0.041, 82%.
            openai.enqueue_scenario(Scenario(input_tokens=16_000, output_tokens=100))
            await session.request("switchboard/chat", hi("openai/gpt-4o"))
            assert len(budget_warnings(session)) == 1 and "82%" in budget_warnings(session)[0]

            openai.enqueue_scenario(Scenario(input_tokens=1_000, output_tokens=10))
            await session.request("switchboard/chat", hi("openai/gpt-4o"))
            assert len(budget_warnings(session)) == 1  # once per threshold

            openai.enqueue_scenario(Scenario(input_tokens=4_000, output_tokens=10))
            await session.request("switchboard/chat", hi("openai/gpt-4o"))
            warnings = budget_warnings(session)
            assert len(warnings) == 2 and "refused" in warnings[1]

            sent_before = len(openai.requests)
            over = await refused(session, hi("openai/gpt-4o"))
            assert over["code"] == "budgetExceeded"
            assert over["limitUsd"] == 0.05 and over["spentUsd"] >= 0.05
            assert len(openai.requests) == sent_before
            usage = await session.request("switchboard/usage", {})
            assert usage["session"]["requests"] == 3
