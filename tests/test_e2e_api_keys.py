"""setApiKey and signOut end to end: keys go to the (test) keyring, are checked, and never leak."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import open_session, provider_config

USER = [{"role": "user", "content": "hi"}]


async def test_set_key_then_chat_then_sign_out(
    tmp_path: Path, fake_openai: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    async with open_session(tmp_path, provider_config(openai_url=fake_openai.url)) as session:
        with pytest.raises(JsonRpcException) as before:
            await session.request("switchboard/chat", {"model": "openai/gpt-4o", "messages": USER})
        assert before.value.data["code"] == "authenticationFailed"

        answer = await session.request(
            "switchboard/setApiKey", {"provider": "openai", "apiKey": fake_openai.api_key}
        )
        assert answer["status"] == "signedIn" and answer["verified"] is True
        providers = await session.request("switchboard/providers", {})
        openai = next(p for p in providers["providers"] if p["id"] == "openai")
        assert openai["auth"]["status"] == "signedIn" and openai["auth"]["source"] == "keyring"

        fake_openai.enqueue_scenario(Scenario(text="Signed in."))
        result = await session.request(
            "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER}
        )
        assert result["content"][0]["text"] == "Signed in."
        assert fake_openai.requests[-1].headers["authorization"] == f"Bearer {fake_openai.api_key}"

        out = await session.request("switchboard/signOut", {"provider": "openai"})
        assert out["status"] == "signedOut"
        with pytest.raises(JsonRpcException) as after:
            await session.request("switchboard/chat", {"model": "openai/gpt-4o", "messages": USER})
        assert after.value.data["code"] == "authenticationFailed"
        messages = [m.message for m in session.client.messages]
        logs = [m.message for m in session.client.log_messages]
    keyring_file = tmp_path / "keyring.json"
    assert fake_openai.api_key not in keyring_file.read_text(), "signOut removed the key"
    captured = capfd.readouterr()
    for text in (*messages, *logs, captured.out, captured.err):
        assert fake_openai.api_key not in text
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert fake_openai.api_key.encode() not in path.read_bytes(), path


async def test_a_rejected_key_is_not_kept(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    async with open_session(tmp_path, provider_config(openai_url=fake_openai.url)) as session:
        good = await session.request(
            "switchboard/setApiKey", {"provider": "openai", "apiKey": fake_openai.api_key}
        )
        assert good["verified"] is True
        canary = "sk-test-wrongCanaryKey0123456789abcdef"
        bad = await session.request(
            "switchboard/setApiKey", {"provider": "openai", "apiKey": canary}
        )
        assert bad["status"] == "failed" and bad["verified"] is False
        assert canary not in bad["message"]
        fake_openai.enqueue_scenario(Scenario(text="Still the old key."))
        result = await session.request(
            "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER}
        )
        assert result["content"][0]["text"] == "Still the old key."


async def test_set_key_needs_a_known_provider_and_a_key(tmp_path: Path) -> None:
    async with open_session(tmp_path, "") as session:
        with pytest.raises(JsonRpcException) as unknown:
            await session.request(
                "switchboard/setApiKey", {"provider": "opnai", "apiKey": "sk-whatever-12345678"}
            )
        assert unknown.value.data["code"] == "unknownProvider"
        with pytest.raises(JsonRpcException) as empty:
            await session.request("switchboard/setApiKey", {"provider": "openai", "apiKey": ""})
        assert empty.value.code == -32602 and "apiKey" in str(empty.value)
