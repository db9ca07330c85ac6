"""Bad input stays out, over the real server: unsendable keys, path-climbing model ids.

- setApiKey once stored a key with a zero-width space or a smart quote, and every later
  chat failed with -32603 UnicodeEncodeError. Now: -32602 naming `apiKey`, nothing stored.
- `gemini/../../../v1/messages` once reached another path of the provider's host with
  the key attached. Now: -32602 naming `model`, and no request leaves; a model id with
  a slash reaches the provider as one encoded path segment.
- The config's `log_level` was ignored; here it is `warning`, so the info line of an
  invalid-params answer is not in the log file while the warning of a failed chat is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.fakes.gemini import FakeGemini
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import open_session

USER = [{"role": "user", "content": "hi"}]
INVALID_PARAMS = -32602


def config(openai: FakeOpenAI, gemini: FakeGemini) -> str:
    return (
        'log_level = "warning"\n'
        f'[providers.openai]\nbase_url = "{openai.url}"\n'
        f'[providers.gemini]\nbase_url = "{gemini.url}/v1beta"\n'
    )


async def test_unsendable_keys_and_climbing_model_ids_are_refused(
    tmp_path: Path, fake_openai: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    bad_keys = [
        fake_openai.api_key[:12] + "\u200b" + fake_openai.api_key[12:],
        "\u201c" + fake_openai.api_key + "\u201d",
        fake_openai.api_key[:12] + "\n" + fake_openai.api_key[12:],
    ]
    with FakeGemini() as gemini:
        env = {"GEMINI_API_KEY": gemini.api_key}
        async with open_session(tmp_path, config(fake_openai, gemini), env) as session:
            good = await session.request(
                "switchboard/setApiKey", {"provider": "openai", "apiKey": fake_openai.api_key}
            )
            assert good["status"] == "signedIn"
            for bad in bad_keys:
                with pytest.raises(JsonRpcException) as refused:
                    await session.request(
                        "switchboard/setApiKey", {"provider": "openai", "apiKey": bad}
                    )
                assert refused.value.code == INVALID_PARAMS
                assert refused.value.data == {"field": "apiKey"}
                assert "apiKey: character" in refused.value.message
                assert fake_openai.api_key[12:] not in refused.value.message
            # The good key is still the one in use.
            fake_openai.enqueue_scenario(Scenario(text="Still the good key."))
            result = await session.request(
                "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER}
            )
            assert result["content"][0]["text"] == "Still the good key."

            for method in ("switchboard/chat", "switchboard/countTokens"):
                with pytest.raises(JsonRpcException) as climbing:
                    await session.request(
                        method, {"model": "gemini/../../../v1/messages", "messages": USER}
                    )
                assert climbing.value.code == INVALID_PARAMS
                assert climbing.value.data == {"field": "model"}
            assert gemini.requests == [], "a request left for a malformed model id"

            gemini.enqueue_scenario(Scenario(text="Tuned."))
            tuned = await session.request(
                "switchboard/chat", {"model": "gemini/tunedModels/mine", "messages": USER}
            )
            assert tuned["content"][0]["text"] == "Tuned."
            [sent] = gemini.requests
            assert sent.path.startswith("/v1beta/models/tunedModels%2Fmine:streamGenerateContent")

            with pytest.raises(JsonRpcException) as unknown:
                # A bare name resolves through the catalog; one nobody serves is unknown.
                await session.request(
                    "switchboard/chat", {"model": "no-such-model", "messages": USER}
                )
            assert unknown.value.data["code"] == "unknownModel"

    stored = json.loads((tmp_path / "keyring.json").read_text())
    assert json.dumps(stored).count(fake_openai.api_key) == 1
    for bad in bad_keys:
        assert json.dumps(bad)[1:-1] not in json.dumps(stored)
    captured = capfd.readouterr()
    assert fake_openai.api_key not in captured.out + captured.err

    log = (session.data_dir / "logs" / "switchboard.log").read_text(encoding="utf-8")
    assert "chat failed: unknownModel" in log
    assert "invalid params" not in log, "an info line was logged under log_level = warning"
