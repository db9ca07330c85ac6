"""Fixtures shared by the end-to-end tests: loopback provider fakes and an LSP session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.lsp_harness import NO_CLOUD_METADATA, Session, open_session, provider_config

os.environ.update(NO_CLOUD_METADATA)

WORK_DONE_CLIENT = lsp.ClientCapabilities(
    window=lsp.WindowClientCapabilities(work_done_progress=True)
)


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def fake_keys(anthropic: FakeAnthropic, openai: FakeOpenAI) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": anthropic.api_key, "OPENAI_API_KEY": openai.api_key}


@pytest.fixture
async def session(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> AsyncIterator[Session]:
    async with open_session(
        tmp_path,
        provider_config(fake_anthropic.url, fake_openai.url),
        fake_keys(fake_anthropic, fake_openai),
        capabilities=WORK_DONE_CLIENT,
    ) as opened:
        yield opened
