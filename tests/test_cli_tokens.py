"""`switchboard tokens FILE [-m MODEL]`: the count, its exactness, and the input cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from switchboard.providers.catalog.tokens import load_encoding

from tests.lsp_harness import server_env, write_config
from tests.test_cli import run_cli

TEXT = "def greet(name):\n    return f'héllo {name} 😀'\n<|endoftext|>\n"


@pytest.fixture
def cli(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    config = write_config(tmp_path / "config.toml", "")
    return ["--config", str(config), "tokens"], server_env(tmp_path / "data")


def test_counts_a_file_exactly_with_its_input_cost(
    tmp_path: Path, cli: tuple[list[str], dict[str, str]]
) -> None:
    args, env = cli
    source = tmp_path / "greet.py"
    source.write_text(TEXT, encoding="utf-8")
    done = run_cli([*args, str(source), "-m", "openai/gpt-4o"], env)
    assert done.returncode == 0, done.stderr
    tokens = len(load_encoding("o200k_base").encode_ordinary(TEXT))
    lines = done.stdout.splitlines()
    assert lines[0] == f"{source}: {tokens} tokens for openai/gpt-4o"
    assert lines[1] == "  exact: yes (tiktoken:o200k_base)"
    # gpt-4o's catalog input price is $2.50 per million tokens.
    cost = f"{tokens * 2.5 / 1e6:.9f}".rstrip("0")
    assert lines[2] == f"  input cost: ${cost}"


def test_an_estimate_says_so(tmp_path: Path, cli: tuple[list[str], dict[str, str]]) -> None:
    args, env = cli
    source = tmp_path / "notes.md"
    source.write_bytes(TEXT.replace("\n", "\r\n").encode())
    done = run_cli([*args, str(source), "--model", "anthropic/claude-sonnet-4-5"], env)
    assert done.returncode == 0, done.stderr
    tokens = len(load_encoding("cl100k_base").encode_ordinary(TEXT.replace("\n", "\r\n")))
    assert f": {tokens} tokens for anthropic/claude-sonnet-4-5" in done.stdout
    assert "exact: no, an estimate (estimate:cl100k_base)" in done.stdout
    assert "input cost: $" in done.stdout


def test_reads_stdin_and_says_when_there_is_no_price(
    cli: tuple[list[str], dict[str, str]],
) -> None:
    args, env = cli
    done = subprocess.run(
        [sys.executable, "-m", "switchboard.server", *args, "-", "-m", "openai/gpt-brand-new"],
        input="hello there",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stdin: 2 tokens for openai/gpt-brand-new\n")
    assert "input cost: unknown (no price for this model)" in done.stdout


def test_a_missing_file_exits_2_with_a_clear_message(
    tmp_path: Path, cli: tuple[list[str], dict[str, str]]
) -> None:
    args, env = cli
    missing = tmp_path / "nowhere.txt"
    done = run_cli([*args, str(missing)], env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == f"switchboard tokens: no such file: {missing}"


def test_unreadable_inputs_and_unknown_models_exit_2(
    tmp_path: Path, cli: tuple[list[str], dict[str, str]]
) -> None:
    args, env = cli
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"ok\xff\xfe")
    done = run_cli([*args, str(binary)], env)
    assert done.returncode == 2 and "is not UTF-8 text" in done.stderr
    done = run_cli([*args, str(tmp_path)], env)
    assert done.returncode == 2 and "is a directory" in done.stderr
    text = tmp_path / "a.txt"
    text.write_text("a")
    done = run_cli([*args, str(text), "-m", "nosuch/model"], env)
    assert done.returncode == 2 and "unknownProvider" in done.stderr
