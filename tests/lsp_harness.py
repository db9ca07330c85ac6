"""Drive the real `switchboard serve` over stdio with a pytest-lsp client.

The server runs as a subprocess exactly as an editor starts it, configured
through a TOML file that points every provider at a loopback fake, with
keys in the env vars and a private data dir.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
from switchboard.server.converter import make_converter


@dataclass
class Session:
    client: LanguageClient
    data_dir: Path
    config_file: Path
    env: dict[str, str]
    partials: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    notifications: list[tuple[str, Any]] = field(default_factory=list)

    async def request(self, method: str, params: Any, msg_id: str | None = None) -> Any:
        return await self.client.protocol.send_request_async(method, params, msg_id=msg_id)

    def events(self, token: Any) -> list[dict[str, Any]]:
        return [event for batch in self.partials.get(token, []) for event in batch["events"]]

    def texts(self, token: Any) -> str:
        return "".join(e["text"] for e in self.events(token) if e["type"] == "text")


def make_client(session_box: list[Session]) -> LanguageClient:
    client = LanguageClient(converter_factory=make_converter)
    converter = client.protocol._converter

    # lsprotocol takes any code action that carries a command for a Command; tell them apart
    # as VS Code and Helix do, by whether `command` is a string.
    def code_action_or_command(value: dict[str, Any], _: type) -> lsp.Command | lsp.CodeAction:
        is_command = isinstance(value.get("command"), str)
        return converter.structure(value, lsp.Command if is_command else lsp.CodeAction)

    converter.register_structure_hook(
        Union[lsp.Command, lsp.CodeAction],  # noqa: UP007 - the key lsprotocol registers
        code_action_or_command,
    )
    # Its own $/progress handler rejects partial results (no "kind"): this one takes both.
    register_lsp_features(
        client, {m: f for m, f in DEFAULT_CLIENT_FEATURES.items() if m != lsp.PROGRESS}
    )

    @client.feature(lsp.PROGRESS)
    def on_progress(ls: LanguageClient, params: lsp.ProgressParams) -> None:
        value = params.value
        session = session_box[0]
        if isinstance(value, dict) and "events" in value:
            session.partials.setdefault(params.token, []).append(value)
            return
        if isinstance(value, dict):
            kinds = {
                "begin": lsp.WorkDoneProgressBegin,
                "report": lsp.WorkDoneProgressReport,
                "end": lsp.WorkDoneProgressEnd,
            }
            structured = ls.protocol._converter.structure(value, kinds[value["kind"]])
            ls.progress_reports.setdefault(params.token, []).append(structured)

    @client.feature("switchboard/usageChanged")
    def on_usage(ls: LanguageClient, params: Any) -> None:
        session_box[0].notifications.append(("switchboard/usageChanged", params))

    return client


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def provider_config(anthropic_url: str | None = None, openai_url: str | None = None) -> str:
    lines = []
    if anthropic_url:
        lines += ["[providers.anthropic]", f'base_url = "{anthropic_url}"', ""]
    if openai_url:
        lines += ["[providers.openai]", f'base_url = "{openai_url}"', ""]
    return "\n".join(lines)


# The host's own credentials and settings never reach a test server.
PRIVATE_ENV_PREFIXES = (
    "SWITCHBOARD_",
    "AWS_",
    "GOOGLE_",
    "GCLOUD_",
    "CLOUDSDK_",
    "AZURE_",
    "GITHUB_",
)


REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_KEYRING_BACKEND = "tests.keyring_backend.FileKeyring"
TEST_KEYRING_ENV = "SWITCHBOARD_TEST_KEYRING"

# Credential chains would otherwise probe the cloud metadata addresses.
NO_CLOUD_METADATA = {"AWS_EC2_METADATA_DISABLED": "true", "NO_GCE_CHECK": "True"}


def server_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_API_KEY", "_TOKEN")) and not key.startswith(PRIVATE_ENV_PREFIXES)
    }
    env.update(NO_CLOUD_METADATA)
    env["SWITCHBOARD_DATA_DIR"] = str(data_dir)
    # Credential look-ups go to a test keyring file, never to the host's keyring.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHON_KEYRING_BACKEND"] = TEST_KEYRING_BACKEND
    env[TEST_KEYRING_ENV] = str(data_dir.parent / "keyring.json")
    # Nor to tokens the host's Copilot plugins keep in ~/.config/github-copilot.
    env["XDG_CONFIG_HOME"] = str(data_dir.parent / "xdg-config")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def serve_command(config_file: Path, *serve_args: str) -> list[str]:
    """`switchboard serve` with this config, as this interpreter runs it."""
    return [
        sys.executable,
        "-m",
        "switchboard.server",
        "--config",
        str(config_file),
        "serve",
        *serve_args,
    ]


@asynccontextmanager
async def open_session(
    tmp_path: Path,
    config_text: str,
    env_extra: dict[str, str] | None = None,
    capabilities: lsp.ClientCapabilities | None = None,
    initialization_options: Any = None,
    serve_args: Sequence[str] = (),
) -> AsyncIterator[Session]:
    data_dir = tmp_path / "data"
    config_file = write_config(tmp_path / "config.toml", config_text)
    env = server_env(data_dir, env_extra)
    box: list[Session] = []
    client = make_client(box)
    session = Session(client, data_dir, config_file, env)
    box.append(session)
    await client.start_io(*serve_command(config_file, *serve_args), env=env)
    await client.initialize_session(
        lsp.InitializeParams(
            capabilities=capabilities or lsp.ClientCapabilities(),
            initialization_options=initialization_options,
        )
    )
    try:
        yield session
    finally:
        try:
            await asyncio.wait_for(client.shutdown_session(), 10)
        finally:
            await client.stop()


@asynccontextmanager
async def initialized_server(
    tmp_path: Path, capabilities: lsp.ClientCapabilities | None = None
) -> AsyncIterator[tuple[LanguageClient, lsp.InitializeResult]]:
    """A server with an empty config, and its answer to `initialize`."""
    client = make_client([])
    config_file = write_config(tmp_path / "config.toml", "")
    await client.start_io(*serve_command(config_file), env=server_env(tmp_path / "data"))
    try:
        result = await client.initialize_session(
            lsp.InitializeParams(capabilities=capabilities or lsp.ClientCapabilities())
        )
        yield client, result
    finally:
        try:
            await asyncio.wait_for(client.shutdown_session(), 10)
        finally:
            await client.stop()
