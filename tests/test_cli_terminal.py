"""`switchboard chat` as a terminal program: a real subprocess against loopback fakes.

Its stderr carries our lines only (no pygls noise), what the model sends is
escaped before it reaches the terminal, and a server that is not running is
named with its address.
"""

from __future__ import annotations

from pathlib import Path

from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import provider_config, server_env, write_config
from tests.test_cli import run_cli
from tests.test_e2e_copilot_local import closed_port


def openai_setup(tmp_path: Path, fake: FakeOpenAI) -> tuple[Path, dict[str, str]]:
    config = write_config(tmp_path / "config.toml", provider_config(None, fake.url))
    return config, server_env(tmp_path / "data", {"OPENAI_API_KEY": fake.api_key})


def test_a_chat_leaves_only_the_summary_on_stderr(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """The server sends switchboard/usageChanged on every chat; the CLI takes it quietly."""
    config, env = openai_setup(tmp_path, fake_openai)
    fake_openai.enqueue_scenario(Scenario(text="Quiet.", input_tokens=5, output_tokens=2))
    done = run_cli(["--config", str(config), "chat", "hi", "-m", "openai/gpt-4o"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Quiet.\n"
    (line,) = done.stderr.splitlines()
    assert line.startswith("openai/gpt-4o: 5 in, 2 out · $")


def test_control_characters_from_the_model_are_escaped(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    config, env = openai_setup(tmp_path, fake_openai)
    answer = "red \x1b[31mALERT\x1b[0m\x07 title\x1b]0;pwned\x07\r\nnext\tline\rover\x9b2J"
    fake_openai.enqueue_scenario(Scenario(text=answer, pieces=7))
    done = run_cli(["--config", str(config), "chat", "hi", "-m", "openai/gpt-4o"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "red \\x1b[31mALERT\\x1b[0m\\x07 title\\x1b]0;pwned\\x07\nnext\tline\\rover\\x9b2J\n"
    )
    assert "\x1b" not in done.stdout + done.stderr


def local_down(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    config = write_config(
        tmp_path / "config.toml",
        f'[providers.ollama]\nbase_url = "{url}"\nmodels = ["llama3.2"]\n',
    )
    return config, server_env(tmp_path / "data"), url


def test_a_local_server_that_is_not_running_is_named(tmp_path: Path) -> None:
    config, env, url = local_down(tmp_path)
    done = run_cli(["--config", str(config), "chat", "hi", "-m", "ollama/llama3.2"], env)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert (
        f"error: network: ollama: network error: cannot connect to {url}/chat/completions"
        in (lines[-2])
    )
    root = url.removesuffix("/v1")
    assert lines[-1] == (
        f"  check that the server at {root} is running, or set base_url in [providers.ollama]"
    )
    assert not any("Ignoring" in line or line.startswith("switchboard log:") for line in lines)


def test_verbose_shows_the_server_log_messages(tmp_path: Path) -> None:
    """A failed chat makes the server log (window/logMessage): shown with -v, else not."""
    config, env, _ = local_down(tmp_path)
    done = run_cli(["--config", str(config), "chat", "hi", "-v", "-m", "ollama/llama3.2"], env)
    assert done.returncode == 1
    assert "switchboard log: switchboard.server: chat failed: network:" in done.stderr
    assert "Ignoring" not in done.stderr


def test_max_tokens_has_help(tmp_path: Path) -> None:
    done = run_cli(["chat", "--help"], server_env(tmp_path / "data"))
    assert done.returncode == 0
    words = " ".join(done.stdout.split())
    assert "--max-tokens N cap the answer at N tokens (default: as many as the model" in words


def test_history_escapes_what_the_model_said(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """The journal keeps the answer as it came; `switchboard history` prints it escaped."""
    config, env = openai_setup(tmp_path, fake_openai)
    fake_openai.enqueue_scenario(Scenario(text="kept \x1b]0;title\x07 safe"))
    done = run_cli(["--config", str(config), "chat", "hi", "-m", "openai/gpt-4o"], env)
    assert done.returncode == 0, done.stderr
    table = run_cli(["history"], env)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[-1].endswith("kept \\x1b]0;title\\x07 safe")
    call_id = table.stdout.splitlines()[-1].split()[-4]
    shown = run_cli(["history", "show", call_id], env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.rstrip().endswith("kept \\x1b]0;title\\x07 safe")
    assert "\x1b" not in table.stdout + shown.stdout


def test_on_a_terminal_only_our_own_styling_is_raw(tmp_path: Path) -> None:
    """A real pseudo-terminal: thinking is dimmed by us, and every ESC the model sent, in its
    thinking or its text, arrives escaped."""
    import os
    import pty
    import re
    import subprocess

    from tests.fakes.local import FakeLocal
    from tests.test_cli import CLI
    from tests.test_cli_accounts import _read_some

    with FakeLocal(models=("qwen3",)) as local:
        local.enqueue_scenario(
            Scenario(text="answer \x1b[31mred\x1b[0m", thinking="plan \x1b[5mblink", pieces=3)
        )
        config = write_config(
            tmp_path / "config.toml", f'[providers.box]\nkind = "vllm"\nbase_url = "{local.url}"\n'
        )
        leader, follower = pty.openpty()
        process = subprocess.Popen(
            [*CLI, "--config", str(config), "chat", "hi", "-m", "box/qwen3"],
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=subprocess.PIPE,
            env=server_env(tmp_path / "data"),
        )
        os.close(follower)
        seen = b""
        try:
            while chunk := _read_some(leader):
                seen += chunk
        finally:
            os.close(leader)
            code = process.wait(30)
    shown = seen.decode()
    assert code == 0, shown
    raw = re.findall(r"\x1b\[[0-9;]*m", shown)
    assert raw and set(raw) == {"\x1b[2m", "\x1b[0m"}, raw
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown).replace("\r\n", "\n")
    assert plain == "plan \\x1b[5mblinkanswer \\x1b[31mred\\x1b[0m\n"
