"""Emacs eglot, in batch, against the real server: editors/emacs/switchboard.el, tested.

The test starts loopback fake providers and runs
`emacs --batch -L editors/emacs -l switchboard -l tests/emacs/eglot_chat.el`.
Eglot starts `switchboard serve` from the PATH exactly as switchboard.el configures it.
The elisp side only drives the editor and reports; the checks are here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from switchboard.providers.catalog.tokens import load_encoding

from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario
from tests.lsp_harness import REPO_ROOT, server_env

DRIVER = REPO_ROOT / "tests" / "emacs" / "eglot_chat.el"
PACKAGE_DIR = REPO_ROOT / "editors" / "emacs"
# Only a hung run is stopped; no assertion depends on speed.
RUN_TIMEOUT_S = 300
NOTES = "def add(a, b):\n    return a + b\n"
EDIT = "\ndef subtract(a, b):\n    return a - b\n"
EXPLAINED = "def add(a, b):\n    # The sum of a and b.\n    return a + b\n"


def find_emacs_with_eglot() -> tuple[str | None, str]:
    emacs = shutil.which("emacs")
    if emacs is None:
        return None, "emacs not found: apt-get install emacs-nox elpa-eglot"
    probe = subprocess.run(
        [emacs, "--batch", "--eval", "(progn (require 'eglot) (princ emacs-version))"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if probe.returncode != 0:
        return None, f"{emacs} has no eglot (apt-get install elpa-eglot): {probe.stderr[-300:]}"
    major = int(probe.stdout.split(".")[0])
    if major < 28:
        return None, f"{emacs} is Emacs {probe.stdout}; eglot needs 28+"
    return emacs, ""


EMACS, EMACS_MISSING = find_emacs_with_eglot()
# CI sets it, so that a missing Emacs fails this test instead of skipping it.
REQUIRE_EMACS = os.environ.get("SWITCHBOARD_REQUIRE_EMACS") == "1"
pytestmark = pytest.mark.skipif(EMACS is None and not REQUIRE_EMACS, reason=EMACS_MISSING)


def run_emacs(tmp_path: Path, config_text: str, env_extra: dict[str, str]) -> dict:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.py").write_text(NOTES, encoding="utf-8")
    config_file = tmp_path / "config.toml"
    config_file.write_text(config_text, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    env = server_env(tmp_path / "data", env_extra)
    env |= {
        "SWITCHBOARD_CONFIG": str(config_file),
        "SWITCHBOARD_TEST_WORK": str(work),
        # `switchboard` is found on the PATH, as the README's config expects.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "HOME": str(home),
    }
    assert EMACS is not None, EMACS_MISSING
    done = subprocess.run(
        [EMACS, "--batch", "-L", str(PACKAGE_DIR), "-l", "switchboard", "-l", str(DRIVER)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    report_file = work / "report.json"
    report = json.loads(report_file.read_text(encoding="utf-8")) if report_file.exists() else {}
    transcript = f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0 and "error" not in report, f"{report}\n{transcript}"
    return report


def test_switchboard_el_compiles_without_warnings(tmp_path: Path) -> None:
    assert EMACS is not None, EMACS_MISSING
    compiled = tmp_path / "switchboard.elc"
    source = PACKAGE_DIR / "switchboard.el"
    program = (
        "(progn (setq byte-compile-error-on-warn t)"
        f" (setq byte-compile-dest-file-function (lambda (_) {json.dumps(str(compiled))}))"
        f" (kill-emacs (if (byte-compile-file {json.dumps(str(source))}) 0 1)))"
    )
    done = subprocess.run(
        [EMACS, "--batch", "-L", str(PACKAGE_DIR), "--eval", program],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 0 and compiled.exists(), done.stderr


@pytest.mark.slow
def test_eglot_counts_chats_and_runs_a_code_action(tmp_path: Path) -> None:
    streamed = "Hello from the fake, in several pieces."
    asked = "Why did the token cross the context window?"
    with FakeOpenAI() as openai:
        openai.enqueue_scenario(
            Scenario(text=streamed, pieces=6, input_tokens=1200, output_tokens=80)
        )
        # Paced, so that the answer is still arriving while Emacs runs its timers.
        openai.enqueue_scenario(
            Scenario(text=asked, pieces=6, delay_s=0.1, input_tokens=300, output_tokens=20)
        )
        openai.enqueue_scenario(Scenario(text=f"```python\n{EXPLAINED}```", pieces=3))
        config = (
            f'default_model = "openai/gpt-4o-mini"\n[providers.openai]\nbase_url = "{openai.url}"\n'
        )
        report = run_emacs(tmp_path, config, {"OPENAI_API_KEY": openai.api_key})
        bodies = [r.json() for r in openai.requests if r.path.endswith("/chat/completions")]

    o200k = load_encoding("o200k_base")
    assert report["serverName"] == "switchboard"
    assert report["editedText"] == NOTES + EDIT
    assert report["countOpened"] == len(o200k.encode_ordinary(NOTES))
    assert report["countEdited"] == len(o200k.encode_ordinary(NOTES + EDIT))

    chat = report["chat"]
    assert chat["model"] == "openai/gpt-4o"
    assert "".join(part["text"] for part in chat["content"]) == streamed
    assert chat["usage"]["inputTokens"] == 1200 and chat["usage"]["outputTokens"] == 80
    assert chat["cost"]["totalUsd"] > 0
    # The answer also arrived as partial results, in more than one $/progress.
    events = [event for partial in report["partials"] for event in partial["events"]]
    assert len(report["partials"]) >= 2
    assert "".join(e["text"] for e in events if e["type"] == "text") == streamed

    first_usage, second_usage, third_usage = report["usageChanged"]
    assert first_usage["last"]["model"] == "openai/gpt-4o"
    assert first_usage["last"]["cost"]["totalUsd"] == pytest.approx(chat["cost"]["totalUsd"])
    assert second_usage["last"]["model"] == "openai/gpt-4o-mini"
    assert second_usage["session"]["requests"] == 2

    # switchboard-ask returned at once; the timer ran while the answer streamed in, and saw
    # part of it; the buffer ends with the answer's tokens and cost.
    ask = report["ask"]
    assert ask["returnedWhileStreaming"] is True
    header = "> Tell me a joke.\n\n"
    partial = [seen[len(header) :] for seen in ask["seenWhileStreaming"]]
    assert any(text and asked.startswith(text) and text != asked for text in partial), partial
    cost = second_usage["last"]["cost"]["totalUsd"]
    footer = f"[openai/gpt-4o-mini · 300 in · 20 out · ${cost:.4f}]"
    assert report["askBuffer"] == f"{header}{asked}\n\n{footer}\n\n"
    # The code action, run the way M-x eglot-code-actions runs it, rewrote the first function.
    assert report["codeActionTitles"] == [
        "Switchboard: explain with comments",
        "Switchboard: simplify",
    ]
    assert report["afterCodeAction"] == EXPLAINED + EDIT
    assert third_usage["session"]["requests"] == 3
    assert "def add(a, b):\n    return a + b\n" in bodies[2]["messages"][-1]["content"]

    assert [body["model"] for body in bodies] == ["gpt-4o", "gpt-4o-mini", "gpt-4o-mini"]
    assert bodies[0]["messages"] == [{"role": "user", "content": "Say hello."}]
    assert bodies[1]["messages"] == [{"role": "user", "content": "Tell me a joke."}]
