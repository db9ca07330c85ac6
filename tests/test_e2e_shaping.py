"""Shaping and calibration through the real server: nothing oversized is sent, estimates learn."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import open_session

MODEL = "box/box-model"


def box_config(fake: FakeOpenAI, window: int = 2_000) -> str:
    return (
        "[providers.box]\n"
        'kind = "openai-compatible"\n'
        f'base_url = "{fake.url}"\n'
        'api_key_env = "BOX_KEY"\n'
        'models = ["box-model"]\n'
        f"context_window = {window}\n"
    )


async def test_an_input_over_the_window_is_refused_before_sending(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        env = {"BOX_KEY": fake.api_key}
        async with open_session(tmp_path, box_config(fake), env) as session:
            long = "word " * 5_000
            with pytest.raises(JsonRpcException) as refused:
                await session.request(
                    "switchboard/chat",
                    {"model": MODEL, "messages": [{"role": "user", "content": long}]},
                )
            assert refused.value.data["code"] == "contextLengthExceeded"
            assert "2,000" in str(refused.value)
            assert not [r for r in fake.requests if r.path.endswith("/chat/completions")]

            fake.enqueue_scenario(Scenario(text="fits"))
            result = await session.request(
                "switchboard/chat",
                {
                    "model": MODEL,
                    "messages": [{"role": "user", "content": "word " * 1_000}],
                    "maxTokens": 1_500,
                    "temperature": 3.5,
                },
            )
        body = fake.requests[-1].json()
        # ~1,000 tokens of input + 10% leave about 900 of the 2,000-token window.
        assert 700 < body["max_tokens"] < 1_000
        assert body["temperature"] == 2.0
        warnings = " ".join(result["warnings"])
        assert "maxTokens 1,500 lowered" in warnings and "temperature 3.5" in warnings


async def test_estimates_follow_the_billed_input(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Summarize the design of a language server. " * 20}]
    with FakeOpenAI() as fake:
        env = {"BOX_KEY": fake.api_key}
        async with open_session(tmp_path, box_config(fake, 100_000), env) as session:
            before = await session.request(
                "switchboard/countTokens", {"model": MODEL, "messages": messages}
            )
            assert before["exact"] is False
            billed = round(before["inputTokens"] * 1.1)
            for _ in range(3):
                fake.enqueue_scenario(Scenario(text="ok", input_tokens=billed))
                await session.request("switchboard/chat", {"model": MODEL, "messages": messages})

            deadline = asyncio.get_running_loop().time() + 10
            while True:
                after = await session.request(
                    "switchboard/countTokens", {"model": MODEL, "messages": messages}
                )
                if "calibrated" in after["method"] or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.1)
        assert after["exact"] is False and "calibrated" in after["method"]
        assert abs(after["inputTokens"] - billed) <= 1
    saved = json.loads((tmp_path / "data" / "calibration.json").read_text())
    ratio = saved["models"][MODEL]
    assert ratio["samples"] == 3 and ratio["ratio"] == pytest.approx(1.1, abs=0.01)
