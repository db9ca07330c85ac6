"""Honest availability and the windows local servers report, through the CLI and over LSP.

A model is ✓ only when its provider's credentials were checked (it listed its
models) or its local server answered; `?` when credentials were found but not
checked. Bedrock and Vertex are signed out when neither the AWS nor the Google
chain has anything on this machine (env vars, config files, the ADC file);
no metadata server is asked. A local server's context window is the one it
reports: llama.cpp's `/props` n_ctx, Ollama's `/api/show` num_ctx or
`<arch>.context_length`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.local import FakeLocal
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import Session, open_session, server_env, write_config
from tests.test_cli import run_cli
from tests.test_e2e_copilot_local import closed_port


@pytest.fixture
def llamacpp() -> Iterator[FakeLocal]:
    with FakeLocal(models=("qwen3-0.6b",), n_ctx=512) as fake:
        yield fake


@pytest.fixture
def ollama() -> Iterator[FakeLocal]:
    with FakeLocal(models=("llama3.2", "qwen3:8b"), ollama=True, ollama_num_ctx=8192) as fake:
        yield fake


def local_config(openai: FakeOpenAI, llamacpp: FakeLocal, ollama: FakeLocal) -> str:
    return (
        f'[providers.openai]\nbase_url = "{openai.url}"\n'
        f'[providers.llamacpp]\nbase_url = "{llamacpp.url}"\n'
        f'[providers.ollama]\nbase_url = "{ollama.url}"\n'
        f'[providers.vllm]\nbase_url = "http://127.0.0.1:{closed_port()}/v1"\n'
        'models = ["llama3"]\n'
    )


def no_cloud_chains(tmp_path: Path) -> dict[str, str]:
    """A home with no ~/.aws and no gcloud: what the chains find is what a test puts there."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home)}


def table(stdout: str) -> dict[str, tuple[str, list[str]]]:
    """model id -> (its mark, the cells after the id)."""
    rows = {}
    for line in stdout.splitlines():
        cells = line[3:].split()
        if "/" in line and cells and "/" in cells[0]:
            rows[cells[0]] = (line[:1], cells[1:])
    return rows


def test_models_marks_what_was_checked(
    tmp_path: Path, fake_openai: FakeOpenAI, llamacpp: FakeLocal, ollama: FakeLocal
) -> None:
    config = write_config(tmp_path / "config.toml", local_config(fake_openai, llamacpp, ollama))
    env = server_env(
        tmp_path / "data", {"OPENAI_API_KEY": fake_openai.api_key, **no_cloud_chains(tmp_path)}
    )
    done = run_cli(["--config", str(config), "models"], env)
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    assert rows["openai/gpt-4o"][0] == "✓"  # the key listed the models
    assert rows["anthropic/claude-sonnet-4-5"][0] == " "  # no key
    assert rows["llamacpp/qwen3-0.6b"] == ("✓", rows["llamacpp/qwen3-0.6b"][1])
    assert rows["llamacpp/qwen3-0.6b"][1][0] == "512"  # the server's n_ctx, not 128k
    assert rows["ollama/llama3.2:latest"][0] == "✓"
    assert rows["ollama/llama3.2:latest"][1][0] == "8.19k"  # num_ctx
    assert rows["vllm/llama3"][0] == " "  # configured, but its server is not running
    bedrock = [mark for model, (mark, _) in rows.items() if model.startswith("bedrock/")]
    vertex = [mark for model, (mark, _) in rows.items() if model.startswith("vertex/")]
    assert bedrock and set(bedrock) == {" "}
    assert vertex and set(vertex) == {" "}
    assert "? not checked" in done.stdout


def test_credentials_found_but_not_checked_are_a_question_mark(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    """AWS keys in the env, and a Bedrock endpoint that does not answer: not ✓, not blank."""
    config = write_config(
        tmp_path / "config.toml",
        f'[providers.bedrock]\nregion = "us-east-1"\n'
        f'base_url = "http://127.0.0.1:{closed_port()}"\n',
    )
    env = server_env(
        tmp_path / "data",
        {
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLEEXAMPLE12",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIEXAMPLEKEYEXAMPLEKEY0123456",
            **no_cloud_chains(tmp_path),
        },
    )
    done = run_cli(["--config", str(config), "models"], env)
    assert done.returncode == 0, done.stderr
    marks = {
        mark for model, (mark, _) in table(done.stdout).items() if model.startswith("bedrock/")
    }
    assert marks == {"?"}
    assert "wJalrXUtnFEMI" not in done.stdout + done.stderr


# ---- over LSP: what the editors read ------------------------------------------------


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


async def providers_and_models(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
    providers = await session.request("switchboard/providers", {})
    models = await session.request("switchboard/models", {})
    return by_id(providers["providers"]), by_id(models["models"])


async def test_clouds_with_nothing_on_this_machine_are_signed_out(tmp_path: Path) -> None:
    async with open_session(tmp_path, "", no_cloud_chains(tmp_path)) as session:
        providers, models = await providers_and_models(session)
    assert providers["bedrock"]["auth"]["status"] == "signedOut"
    assert providers["vertex"]["auth"]["status"] == "signedOut"
    cloud = [m for m in models.values() if m["provider"] in ("bedrock", "vertex")]
    assert cloud and not any(m["available"] for m in cloud)


async def test_clouds_sign_in_from_their_files(tmp_path: Path) -> None:
    """A profile in AWS_CONFIG_FILE that runs a credential process; gcloud's ADC file."""
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(
        "[profile work]\nregion = eu-west-1\ncredential_process = /bin/false\n", "utf-8"
    )
    gcloud = tmp_path / "gcloud"
    gcloud.mkdir()
    (gcloud / "application_default_credentials.json").write_text(
        '{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}',
        "utf-8",
    )
    env = {
        **no_cloud_chains(tmp_path),
        "AWS_CONFIG_FILE": str(aws_config),
        "AWS_PROFILE": "work",
        "CLOUDSDK_CONFIG": str(gcloud),
    }
    async with open_session(tmp_path, "", env) as session:
        providers, _ = await providers_and_models(session)
    assert providers["bedrock"]["auth"]["status"] == "signedIn"
    assert providers["vertex"]["auth"]["status"] == "signedIn"
    # Where each chain found them, for checkhealth and the pickers to say.
    assert "work" in providers["bedrock"]["auth"]["source"]
    assert "application_default_credentials" in providers["vertex"]["auth"]["source"]


async def test_local_windows_come_from_the_servers(
    tmp_path: Path, fake_openai: FakeOpenAI, llamacpp: FakeLocal
) -> None:
    with FakeLocal(models=("llama3.2",), ollama=True, ollama_context_length=32768) as ollama:
        config = local_config(fake_openai, llamacpp, ollama)
        async with open_session(tmp_path, config, no_cloud_chains(tmp_path)) as session:
            models = await listed_once_answered(session, "llamacpp", "ollama")
            llamacpp.enqueue_scenario(Scenario(text="Short.", input_tokens=20, output_tokens=2))
            await session.request(
                "switchboard/chat",
                {"model": "llamacpp/qwen3-0.6b", "messages": [{"role": "user", "content": "hi"}]},
            )
        shows = [r for r in ollama.requests if r.path == "/api/show"]
    assert models["llamacpp/qwen3-0.6b"]["contextWindow"] == 512
    assert models["llamacpp/qwen3-0.6b"]["available"] is True
    # no num_ctx in its parameters: the model's own llama.context_length
    assert models["ollama/llama3.2:latest"]["contextWindow"] == 32768
    assert [r.json() for r in shows] == [{"model": "llama3.2:latest"}]
    assert models["vllm/llama3"]["available"] is False
    sent = llamacpp.chats()[-1].json()
    assert 0 < sent["max_tokens"] < 512  # the answer fits what is left of the 512 window


async def listed_once_answered(session: Session, *providers: str) -> dict[str, Any]:
    """The server answers `switchboard/models` within its budget and keeps listing after it;
    asked again, it has each server's answer."""
    for _ in range(50):
        models = by_id((await session.request("switchboard/models", {}))["models"])
        if all(
            any(m["available"] for m in models.values() if m["provider"] == p) for p in providers
        ):
            return models
    raise AssertionError(f"{providers} never answered their model lists")
