"""Provider plugins end to end: the real server over stdio, loopback fakes.

A TOML file written into the plugins directory while the server runs is chatted
through without a restart; a broken plugin is shown in window/showMessage while
every other provider keeps working; the example plugin package (Cohere, installed
through its entry point) streams text and tool calls.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import WORK_DONE_CLIENT
from tests.fakes.cohere import FakeCohere
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario, ToolCall
from tests.lsp_harness import Session, open_session, server_env, write_config
from tests.test_cli import run_cli

USER = [{"role": "user", "content": "Say hello."}]
ACME = """
id = "acme"
name = "Acme AI"
api = "openai-chat"
base_url = "{url}"
api_key_env = "ACME_API_KEY"
headers = {{ "X-Team" = "editors" }}
version = "2.1"

[[models]]
id = "{model}"
context_window = 64000
max_output_tokens = 4000
input_per_m_tok = 2.0
output_per_m_tok = 8.0
tools = true
"""


def text_of(result: dict) -> str:
    return "".join(p["text"] for p in result["content"] if p["type"] == "text")


@pytest.fixture
async def plugin_session(tmp_path: Path, fake_openai: FakeOpenAI) -> AsyncIterator[Session]:
    config = f'[providers.openai]\nbase_url = "{fake_openai.url}"\n'
    env = {"OPENAI_API_KEY": fake_openai.api_key, "ACME_API_KEY": fake_openai.api_key}
    async with open_session(tmp_path, config, env, capabilities=WORK_DONE_CLIENT) as session:
        yield session


def plugins_dir(session: Session) -> Path:
    return session.config_file.parent / "providers"


def write_plugin(session: Session, name: str, text: str) -> Path:
    directory = plugins_dir(session)
    directory.mkdir(exist_ok=True)
    path = directory / name
    # Written whole and then renamed in, as an editor saving the file would.
    temporary = directory / f".{name}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


async def chat(session: Session, model: str, token: str) -> dict:
    return await session.request(
        "switchboard/chat", {"model": model, "messages": USER, "partialResultToken": token}
    )


async def shown(session: Session, words: str) -> list[str]:
    """The showMessage texts holding `words` (a notification may trail the answer a little)."""
    for _ in range(100):
        found = [m.message for m in session.client.messages if words in m.message]
        if found:
            return found
        await asyncio.sleep(0.05)
    return []


async def test_a_toml_file_written_while_the_server_runs_is_chatted_through_without_restart(
    plugin_session: Session, fake_openai: FakeOpenAI
) -> None:
    session = plugin_session
    before = await session.request("switchboard/providers", {})
    assert "acme" not in {p["id"] for p in before["providers"]}

    write_plugin(session, "acme.toml", ACME.format(url=fake_openai.url, model="acme-large"))
    fake_openai.enqueue_scenario(
        Scenario(text="Hi from Acme.", input_tokens=1000, output_tokens=500)
    )
    result = await chat(session, "acme/acme-large", "one")
    assert text_of(result) == "Hi from Acme." and session.texts("one") == "Hi from Acme."
    assert result["cost"]["inputUsd"] == pytest.approx(1000 * 2.0 / 1e6)
    assert result["cost"]["outputUsd"] == pytest.approx(500 * 8.0 / 1e6)
    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.json()["model"] == "acme-large"
    assert sent.headers["x-team"] == "editors"

    providers = {
        p["id"]: p for p in (await session.request("switchboard/providers", {}))["providers"]
    }
    acme = providers["acme"]
    assert (acme["name"], acme["version"], acme["auth"]["status"]) == ("Acme AI", "2.1", "signedIn")
    assert acme["features"] == ["chat", "streaming", "tools"]
    assert providers["openai"]["version"] and "tools" in providers["openai"]["features"]
    models = (await session.request("switchboard/models", {"provider": "acme"}))["models"]
    assert [(m["id"], m["contextWindow"], m["pricing"]["outputPerMTok"]) for m in models] == [
        ("acme/acme-large", 64000, 8.0)
    ]

    # A change to the file (a renamed model) takes effect at the next request, too.
    write_plugin(session, "acme.toml", ACME.format(url=fake_openai.url, model="acme-xl"))
    fake_openai.enqueue_scenario(Scenario(text="Bigger now."))
    assert text_of(await chat(session, "acme/acme-xl", "two")) == "Bigger now."
    models = (await session.request("switchboard/models", {"provider": "acme"}))["models"]
    assert [m["id"] for m in models] == ["acme/acme-xl"]


async def test_a_broken_plugin_is_shown_and_every_other_provider_keeps_working(
    plugin_session: Session, fake_openai: FakeOpenAI
) -> None:
    session = plugin_session
    write_plugin(session, "acme.toml", ACME.format(url=fake_openai.url, model="acme-large"))
    fake_openai.enqueue_scenario(Scenario(text="Acme works."))
    assert text_of(await chat(session, "acme/acme-large", "a")) == "Acme works."

    broken = write_plugin(session, "broken.toml", 'id = "broken"\napi = "telex"\n')
    fake_openai.enqueue_scenario(Scenario(text="Still here."))
    assert text_of(await chat(session, "acme/acme-large", "b")) == "Still here."
    (message,) = await shown(session, "broken.toml")
    assert f"{broken}: api: 'telex' is not one of" in message

    # Now the working plugin breaks too: its provider goes, with a message; the rest stay.
    write_plugin(session, "acme.toml", "id = 'acme'\n[[models]\n")
    with pytest.raises(Exception, match="unknown provider 'acme'"):
        await chat(session, "acme/acme-large", "c")
    assert any("not valid TOML" in m for m in await shown(session, "acme.toml"))
    fake_openai.enqueue_scenario(Scenario(text="OpenAI is fine."))
    assert text_of(await chat(session, "openai/gpt-4o", "d")) == "OpenAI is fine."
    ids = {p["id"] for p in (await session.request("switchboard/providers", {}))["providers"]}
    assert {"openai", "anthropic"} <= ids and "acme" not in ids and "broken" not in ids


# ---- the example plugin package --------------------------------------------------------


def require_example() -> None:
    try:
        import switchboard_cohere  # noqa: F401
    except ImportError:
        if os.environ.get("SWITCHBOARD_REQUIRE_PLUGIN_EXAMPLE") == "1":
            pytest.fail(
                "SWITCHBOARD_REQUIRE_PLUGIN_EXAMPLE=1 but examples/provider-plugin is missing"
            )
        pytest.skip("the example plugin is not installed: pip install -e examples/provider-plugin")


async def test_the_example_plugin_chats_with_tool_calls_through_its_entry_point(
    tmp_path: Path,
) -> None:
    require_example()
    with FakeCohere() as fake:
        config = f'[providers.cohere]\nbase_url = "{fake.url}"\n'
        env = {"CO_API_KEY": fake.api_key}
        async with open_session(tmp_path, config, env, capabilities=WORK_DONE_CLIENT) as session:
            providers = (await session.request("switchboard/providers", {}))["providers"]
            cohere = next(p for p in providers if p["id"] == "cohere")
            assert (cohere["name"], cohere["version"]) == ("Cohere", "0.1.0")
            assert "tools" in cohere["features"] and cohere["auth"]["status"] == "signedIn"

            call = ToolCall(id="call_1", name="get_weather", input={"city": "Paris", "days": 2})
            fake.enqueue_scenario(
                Scenario(
                    text="",
                    thinking="I will look up the weather.",
                    tool_calls=[call],
                    stop="toolUse",
                    input_tokens=2000,
                    output_tokens=100,
                )
            )
            tools = [
                {
                    "name": "get_weather",
                    "description": "Weather forecast",
                    "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
                }
            ]
            first = await session.request(
                "switchboard/chat",
                {
                    "model": "cohere/command-a-03-2025",
                    "system": "Be brief.",
                    "messages": USER,
                    "tools": tools,
                    "partialResultToken": "t1",
                },
            )
            assert first["stopReason"] == "toolUse"
            uses = [p for p in first["content"] if p["type"] == "toolUse"]
            assert [(u["id"], u["name"], u["input"]) for u in uses] == [
                ("call_1", "get_weather", {"city": "Paris", "days": 2})
            ]
            assert first["cost"]["totalUsd"] == pytest.approx((2000 * 2.5 + 100 * 10.0) / 1e6)
            kinds = [e["type"] for e in session.events("t1")]
            assert "thinking" in kinds and "toolUseDelta" in kinds

            fake.enqueue_scenario(Scenario(text="It is sunny in Paris."))
            history = [
                *USER,
                {"role": "assistant", "content": first["content"]},
                {
                    "role": "user",
                    "content": [
                        {"type": "toolResult", "toolUseId": "call_1", "content": "sunny, 24C"}
                    ],
                },
            ]
            second = await session.request(
                "switchboard/chat",
                {
                    "model": "cohere/command-a-03-2025",
                    "system": "Be brief.",
                    "messages": history,
                    "tools": tools,
                },
            )
            assert text_of(second) == "It is sunny in Paris."
            sent = fake.chats()[-1].json()
            assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
            assert sent["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"
            assert sent["messages"][2]["tool_plan"] == "I will look up the weather."
            assert sent["messages"][3] == {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": "sunny, 24C",
            }
            assert sent["tools"][0]["function"]["parameters"]["properties"] == {
                "city": {"type": "string"}
            }


def test_doctor_lists_the_plugins_and_reports_a_broken_one(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", "")
    plugins = tmp_path / "providers"
    plugins.mkdir()
    (plugins / "acme.toml").write_text(
        ACME.format(url="https://api.acme.example/v1", model="acme-large"), encoding="utf-8"
    )
    (plugins / "broken.toml").write_text('id = "broken"\n', encoding="utf-8")
    done = run_cli(["--config", str(config), "doctor"], server_env(tmp_path / "data"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"and {plugins}" in done.stdout
    assert f"acme         2.1        {plugins / 'acme.toml'}" in done.stdout
    assert f"problem: {plugins / 'broken.toml'}: api: is required" in done.stdout
    assert "acme " in done.stdout.split("providers:", 1)[1]
