"""`switchboard login | logout | set-key` as a user runs them, against loopback fakes."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.github import FakeGitHub
from tests.fakes.oauth import FakeAuthServer
from tests.fakes.openai import FakeOpenAI
from tests.lsp_harness import server_env, write_config


def keyring(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "keyring.json"
    return json.loads(path.read_text()).get("switchboard", {}) if path.exists() else {}


async def run_cli(
    tmp_path: Path, config: str, *args: str, stdin: bytes = b"", on_line: Any = None
) -> tuple[int, str, str]:
    config_file = write_config(tmp_path / "config.toml", config)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard.server",
        "--config",
        str(config_file),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=server_env(tmp_path / "data"),
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(stdin)
    process.stdin.close()
    lines = []
    while line := await asyncio.wait_for(process.stdout.readline(), 30):
        text = line.decode()
        lines.append(text)
        if on_line is not None:
            await on_line(text)
    stderr = await process.stderr.read() if process.stderr else b""
    return await process.wait(), "".join(lines), stderr.decode()


async def test_login_with_the_device_flow_then_logout(tmp_path: Path) -> None:
    with FakeGitHub(("pending", "success"), interval=1) as github:
        config = f'[providers.copilot]\ngithub_url = "{github.url}"\n'
        code, out, err = await run_cli(tmp_path, config, "login", "copilot", "--no-browser")
        assert code == 0, (out, err)
        assert f"{github.url}/login/device" in out and github.user_code in out
        assert "copilot: signedIn" in out
        (token,) = github.issued_tokens
        assert keyring(tmp_path)["copilot/default"] == token
        assert token not in out + err

        code, out, _ = await run_cli(tmp_path, config, "logout", "copilot")
        assert code == 0 and "signed out of copilot" in out
        assert "copilot/default" not in keyring(tmp_path)


async def test_login_refused_says_so(tmp_path: Path) -> None:
    with FakeGitHub(("denied",), interval=1) as github:
        config = f'[providers.copilot]\ngithub_url = "{github.url}"\n'
        code, out, _ = await run_cli(tmp_path, config, "login", "copilot", "--no-browser")
    assert code == 1 and "refused" in out
    assert "copilot/default" not in keyring(tmp_path)


async def test_login_in_the_browser_prints_the_address(tmp_path: Path) -> None:
    with FakeAuthServer() as auth:
        browser = httpx.AsyncClient(timeout=10)
        config = (
            "[providers.corp]\n"
            'kind = "openai-compatible"\n'
            'base_url = "http://127.0.0.1:9/v1"\n'
            "[providers.corp.oauth]\n"
            f'authorize_url = "{auth.authorize_url}"\n'
            f'token_url = "{auth.token_url}"\n'
            f'client_id = "{auth.client_id}"\n'
        )

        async def approve(line: str) -> None:
            if line.strip().startswith(auth.authorize_url):
                page = await browser.get(line.strip(), follow_redirects=True)
                assert page.status_code == 200

        try:
            code, out, err = await run_cli(
                tmp_path, config, "login", "corp", "--no-browser", on_line=approve
            )
        finally:
            await browser.aclose()
    assert code == 0, (out, err)
    assert "corp: signedIn" in out
    record = json.loads(keyring(tmp_path)["corp/oauth"])
    assert record["access_token"] == auth.access_tokens[0]


async def test_set_key_reads_stdin_checks_and_never_echoes(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        config = f'[providers.openai]\nbase_url = "{fake.url}"\n'
        code, out, err = await run_cli(
            tmp_path, config, "set-key", "openai", stdin=fake.api_key.encode() + b"\n"
        )
        assert code == 0, (out, err)
        assert "openai: signedIn" in out
        assert keyring(tmp_path)["openai/default"] == fake.api_key
        assert fake.api_key not in out + err

        canary = "sk-test-rejectedCanary0123456789abcdef"
        code, out, err = await run_cli(
            tmp_path, config, "set-key", "openai", stdin=canary.encode() + b"\n"
        )
        assert code == 1 and "rejected" in out
        assert canary not in out + err
        assert keyring(tmp_path)["openai/default"] == fake.api_key


async def test_unknown_provider_is_a_clear_error(tmp_path: Path) -> None:
    code, out, _ = await run_cli(tmp_path, "", "login", "copilt")
    assert code == 2 and "did you mean 'copilot'" in out


async def test_login_to_a_key_provider_asks_for_the_key(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        config = f'[providers.openai]\nbase_url = "{fake.url}"\n'
        code, out, err = await run_cli(
            tmp_path, config, "login", "openai", stdin=fake.api_key.encode() + b"\n"
        )
    assert code == 0, (out, err)
    assert "openai signs in with an API key" in out and "openai: signedIn" in out
    assert keyring(tmp_path)["openai/default"] == fake.api_key


async def test_set_key_with_no_terminal_and_no_key_is_one_clear_line(tmp_path: Path) -> None:
    for command in (("set-key", "openai"), ("login", "anthropic")):
        code, out, err = await run_cli(tmp_path, "", *command)
        assert code == 2, (out, err)
        assert err == ""
        provider = command[1]
        assert out.splitlines()[-1] == (
            f"error: no API key for {provider}: there is no terminal to ask on and stdin gave "
            f"none; run this in a terminal, or pipe the key in: "
            f"printf '%s\\n' \"$KEY\" | switchboard set-key {provider}"
        )
        assert f"{provider}/default" not in keyring(tmp_path)


async def test_a_piped_key_is_read_without_prompt_or_warning(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        config = f'[providers.openai]\nbase_url = "{fake.url}"\n'
        code, out, err = await run_cli(
            tmp_path, config, "set-key", "openai", stdin=fake.api_key.encode() + b"\n"
        )
    assert code == 0, (out, err)
    (line,) = out.splitlines()
    assert line.startswith("openai: signedIn")
    assert err == "", "no prompt and no getpass warning"


def test_on_a_terminal_the_key_is_not_echoed(tmp_path: Path) -> None:
    """A real pseudo-terminal: the prompt shows, the typed key does not."""
    import os
    import pty
    import subprocess

    with FakeOpenAI() as fake:
        config = write_config(
            tmp_path / "config.toml", f'[providers.openai]\nbase_url = "{fake.url}"\n'
        )
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "switchboard.server",
                "--config",
                str(config),
                "set-key",
                "openai",
            ],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=server_env(tmp_path / "data"),
            start_new_session=True,
        )
        os.close(follower)
        seen = b""
        try:
            while b"(not shown): " not in seen:
                seen += _read_some(leader)
            os.write(leader, fake.api_key.encode() + b"\r")
            while True:
                chunk = _read_some(leader)
                if not chunk:
                    break
                seen += chunk
        finally:
            os.close(leader)
            code = process.wait(30)
    shown = seen.decode(errors="replace")
    assert code == 0, shown
    assert "openai: signedIn" in shown
    assert fake.api_key not in shown
    assert keyring(tmp_path)["openai/default"] == fake.api_key


def _read_some(fd: int) -> bytes:
    """What the terminal shows next; b"" once the program has closed it."""
    import os
    import select

    ready, _, _ = select.select([fd], [], [], 30)
    assert ready, "the program printed nothing for 30 s"
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: every process holding the terminal has exited
        return b""
