"""The `switchboard` command: chat through the real server, models, doctor."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import provider_config, server_env, write_config

CLI = [sys.executable, "-m", "switchboard.server"]


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def setup(
    tmp_path: Path, anthropic: FakeAnthropic, openai: FakeOpenAI
) -> tuple[Path, dict[str, str]]:
    config = write_config(tmp_path / "config.toml", provider_config(anthropic.url, openai.url))
    env = server_env(
        tmp_path / "data",
        {"ANTHROPIC_API_KEY": anthropic.api_key, "OPENAI_API_KEY": openai.api_key},
    )
    return config, env


def test_chat_prints_the_stream_then_tokens_and_cost(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    config, env = setup(tmp_path, fake_anthropic, fake_openai)
    fake_openai.enqueue_scenario(
        Scenario(text="Terminal says hi.", input_tokens=30, output_tokens=6)
    )
    done = run_cli(["--config", str(config), "chat", "hello", "-m", "openai/gpt-4o"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Terminal says hi.\n"
    assert "openai/gpt-4o: 30 in, 6 out · $" in done.stderr
    sent = fake_openai.requests[-1].json()
    assert sent["messages"][-1]["content"] == "hello"


def test_chat_error_is_clear(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    config, env = setup(tmp_path, fake_anthropic, fake_openai)
    done = run_cli(["--config", str(config), "chat", "hello", "-m", "nope/model"], env)
    assert done.returncode == 1
    assert "unknownProvider" in done.stderr


def test_ctrl_c_cancels_cleanly(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    config, env = setup(tmp_path, fake_anthropic, fake_openai)
    fake_openai.enqueue_chunks(3000, delay_s=0.02)
    process = subprocess.Popen(
        [*CLI, "--config", str(config), "chat", "go on", "-m", "openai/gpt-4o"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.read(5)
    assert first
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "cancelled" in err
    assert fake_openai.wait_for_disconnect(5) is not None


def test_models_marks_credentials(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    config, env = setup(tmp_path, fake_anthropic, fake_openai)
    del env["ANTHROPIC_API_KEY"]
    done = run_cli(["--config", str(config), "models"], env)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[-6]: line for line in done.stdout.splitlines() if "/" in line}
    assert rows["openai/gpt-4o"].startswith("✓")
    assert not rows["anthropic/claude-sonnet-4-5"].startswith("✓")
    assert "$2.5" in rows["openai/gpt-4o"]


def test_doctor_names_sources_never_secrets(
    tmp_path: Path, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI
) -> None:
    config, env = setup(tmp_path, fake_anthropic, fake_openai)
    done = run_cli(["--config", str(config), "doctor"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"config file: {config}" in done.stdout
    assert "credentials from env:OPENAI_API_KEY" in done.stdout
    assert "o200k_base: ok" in done.stdout
    assert fake_openai.api_key not in done.stdout + done.stderr
    assert fake_anthropic.api_key not in done.stdout + done.stderr


def test_doctor_reports_config_problems(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", 'default_model = "openai/gpt-4o"\nbogus = 1\n')
    done = run_cli(["--config", str(config), "doctor"], server_env(tmp_path / "data"))
    assert done.returncode == 1
    assert f"{config}:2: unknown key 'bogus'" in done.stdout


def test_serve_starts_quickly_and_answers_initialize(tmp_path: Path) -> None:
    """Not a timing test: the server answers initialize with stdout carrying only protocol."""
    process = subprocess.Popen(
        [*CLI, "serve"],
        env=server_env(tmp_path / "data"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
    process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    process.stdin.flush()
    header = process.stdout.readline()
    assert header.startswith(b"Content-Length: ")
    process.kill()
    process.wait(10)


def test_serve_over_tcp(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [*CLI, "serve", "--tcp", f"127.0.0.1:{port}"],
        env=server_env(tmp_path / "data"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "the TCP server never listened"
                time.sleep(0.05)
        with connection:
            body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
            connection.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            answer = b""
            while b'"capabilities"' not in answer:
                chunk = connection.recv(65536)
                assert chunk, "connection closed before the initialize answer"
                answer += chunk
    finally:
        process.kill()
        process.wait(10)
