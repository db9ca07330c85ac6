"""What a server does between `initialized` and its first request, by default and with
`serve --no-warm-up`: observed from outside, through the journal the runtime opens."""

from __future__ import annotations

import asyncio
import time

from switchboard.server.journal_store import JournalStore

from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import open_session, provider_config

USER = [{"role": "user", "content": "hi"}]
#: longer than a warm-up takes on a loaded machine; the default server's test shows it
IDLE_S = 3.0


async def test_the_server_warms_up_after_initialized_and_contacts_no_provider(
    tmp_path, fake_openai: FakeOpenAI
) -> None:
    config = provider_config(openai_url=fake_openai.url)
    async with open_session(tmp_path, config, {"OPENAI_API_KEY": fake_openai.api_key}) as session:
        journal = session.data_dir / JournalStore.FILE
        deadline = time.monotonic() + IDLE_S
        while not journal.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert journal.exists(), "warm-up did not build the runtime"
        assert fake_openai.requests == []


async def test_without_warm_up_nothing_is_built_until_the_first_request(
    tmp_path, fake_openai: FakeOpenAI
) -> None:
    config = provider_config(openai_url=fake_openai.url)
    async with open_session(
        tmp_path, config, {"OPENAI_API_KEY": fake_openai.api_key}, serve_args=["--no-warm-up"]
    ) as session:
        journal = session.data_dir / JournalStore.FILE
        await asyncio.sleep(IDLE_S)
        assert not journal.exists()
        fake_openai.enqueue_scenario(Scenario(text="Hello, lean server."))
        result = await session.request(
            "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER}
        )
        assert "".join(p["text"] for p in result["content"] if p["type"] == "text") == (
            "Hello, lean server."
        )
        assert journal.exists()
        assert len(fake_openai.requests) == 1
