"""One loopback fake per provider kind, the config that points a server at all of them,
and the environment that carries their credentials: shared by the tests that run the
same thing through every provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.azure import FakeAzure
from tests.fakes.bedrock import DEFAULT_KEY, FakeBedrock
from tests.fakes.copilot import FakeCopilot
from tests.fakes.gemini import FakeGemini, service_account_info
from tests.fakes.local import FakeLocal
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_responses import FakeOpenAIResponses
from tests.fakes.openrouter import FakeOpenRouter, FakeXAI

OPENAI_CHAT_KEY_ENV = "OPENAI_CHAT_KEY"
OLLAMA_KEY_ENV = "OLLAMA_KEY"


@dataclass
class Fakes:
    anthropic: FakeAnthropic
    openai_chat: FakeOpenAI
    openai: FakeOpenAIResponses
    gemini: FakeGemini
    bedrock: FakeBedrock
    azure: FakeAzure
    xai: FakeXAI
    openrouter: FakeOpenRouter
    copilot: FakeCopilot
    ollama: FakeLocal


@contextmanager
def running_fakes(ollama_key: str | None = None) -> Iterator[Fakes]:
    with ExitStack() as stack:
        yield Fakes(
            anthropic=stack.enter_context(FakeAnthropic()),
            openai_chat=stack.enter_context(FakeOpenAI()),
            openai=stack.enter_context(FakeOpenAIResponses()),
            gemini=stack.enter_context(FakeGemini()),
            bedrock=stack.enter_context(FakeBedrock()),
            azure=stack.enter_context(FakeAzure()),
            xai=stack.enter_context(FakeXAI()),
            openrouter=stack.enter_context(FakeOpenRouter()),
            copilot=stack.enter_context(FakeCopilot()),
            ollama=stack.enter_context(
                FakeLocal(ollama=True, models=("llama3.2",), api_key=ollama_key)
            ),
        )


def config_for(fakes: Fakes, key_file: Path) -> str:
    """Every provider at its fake; `openai-chat` is a second provider of kind openai."""
    return f"""
[providers.anthropic]
base_url = "{fakes.anthropic.url}"

[providers.openai]
base_url = "{fakes.openai.url}"

[providers.openai-chat]
kind = "openai"
base_url = "{fakes.openai_chat.url}"
api_key_env = "{OPENAI_CHAT_KEY_ENV}"

[providers.gemini]
base_url = "{fakes.gemini.url}/v1beta"

[providers.vertex]
base_url = "{fakes.gemini.url}/v1"
project = "proj-e2e"
location = "us-east5"
credentials_file = "{key_file}"

[providers.bedrock]
base_url = "{fakes.bedrock.url}"
region = "us-east-1"

[providers.azure]
base_url = "{fakes.azure.url}"

[providers.xai]
base_url = "{fakes.xai.url}"

[providers.openrouter]
base_url = "{fakes.openrouter.url}"

[providers.copilot]
base_url = "{fakes.copilot.url}"
github_api_url = "{fakes.copilot.url}"

[providers.ollama]
base_url = "{fakes.ollama.url}"
api_key_env = "{OLLAMA_KEY_ENV}"
"""


def server_env_for(tmp_path: Path, fakes: Fakes) -> tuple[Path, dict[str, str]]:
    """The Vertex service-account file written into tmp_path, and every credential."""
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(service_account_info(fakes.gemini, project="proj-e2e")))
    return key_file, {
        "ANTHROPIC_API_KEY": fakes.anthropic.api_key,
        "OPENAI_API_KEY": fakes.openai.api_key,
        OPENAI_CHAT_KEY_ENV: fakes.openai_chat.api_key,
        "GEMINI_API_KEY": fakes.gemini.api_key,
        "AWS_ACCESS_KEY_ID": DEFAULT_KEY.access_key,
        "AWS_SECRET_ACCESS_KEY": DEFAULT_KEY.secret_key,
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AZURE_OPENAI_API_KEY": fakes.azure.api_key,
        "XAI_API_KEY": fakes.xai.api_key,
        "OPENROUTER_API_KEY": fakes.openrouter.api_key,
        "GITHUB_COPILOT_TOKEN": fakes.copilot.github_token,
        OLLAMA_KEY_ENV: fakes.ollama.api_key or "",
    }
