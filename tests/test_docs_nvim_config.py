"""The Neovim config the docs give for using the server without the plugin, run as written
in a real headless Neovim: it must attach one client to every filetype."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lsp_harness import REPO_ROOT, server_env
from tests.test_nvim_plugin import find_nvim

NVIM, NVIM_MISSING = find_nvim()
REQUIRE_NVIM = os.environ.get("SWITCHBOARD_REQUIRE_NVIM") == "1"
pytestmark = pytest.mark.skipif(NVIM is None and not REQUIRE_NVIM, reason=NVIM_MISSING)
RUN_TIMEOUT_S = 120

# Opens a Python and a Markdown file once Neovim is up, waits for the server on each,
# and writes what it saw to $REPORT. The wait only bounds a server that never comes.
DRIVER = """
vim.api.nvim_create_autocmd("VimEnter", { nested = true, callback = function()
  local seen = {}
  for _, name in ipairs({ "notes.py", "notes.md" }) do
    vim.cmd.edit(name)
    local attached = vim.wait(20000, function()
      local client = vim.lsp.get_clients({ name = "switchboard", bufnr = 0 })[1]
      return client ~= nil and client.initialized == true
    end, 50)
    seen[#seen + 1] = { filetype = vim.bo.filetype, attached = attached }
  end
  local clients = vim.lsp.get_clients({ name = "switchboard" })
  local report = { buffers = seen, clients = #clients }
  if clients[1] then
    report.serverName = (clients[1].server_info or {}).name
    report.initOptions = clients[1].config.init_options
  end
  vim.fn.writefile({ vim.json.encode(report) }, os.getenv("REPORT"))
  vim.cmd("qall!")
end })
"""


def lua_block(page: Path, anchor: str) -> str:
    for block in re.findall(r"```lua\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL):
        if anchor in block:
            return block
    raise AssertionError(f"{page.name} has no lua block with {anchor!r}")


def run_config(tmp_path: Path, config_lua: str) -> dict:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    (work / "notes.md").write_text("# Notes\n", encoding="utf-8")
    init = tmp_path / "init.lua"
    init.write_text(config_lua + DRIVER, encoding="utf-8")
    report = tmp_path / "report.json"
    env = server_env(tmp_path / "data", {})
    env |= {
        "REPORT": str(report),
        # `switchboard` is found on the PATH, as the docs' config expects.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }
    assert NVIM is not None, NVIM_MISSING
    done = subprocess.run(
        [NVIM, "--headless", "-i", "NONE", "-u", str(init)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert report.exists(), f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    result: dict = json.loads(report.read_text(encoding="utf-8"))
    return result


def test_the_editors_doc_config_attaches_to_every_filetype(tmp_path: Path) -> None:
    config = lua_block(REPO_ROOT / "docs" / "editors.md", 'vim.lsp.config("switchboard"')
    report = run_config(tmp_path, config)
    assert report["buffers"] == [
        {"filetype": "python", "attached": True},
        {"filetype": "markdown", "attached": True},
    ]
    assert report["clients"] == 1
    assert report["serverName"] == "switchboard"
    assert report["initOptions"] == {"defaultModel": "anthropic/claude-sonnet-4-5"}


def test_the_readme_one_line_config_attaches_too(tmp_path: Path) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"`(vim\.lsp\.config\(\"switchboard\".*?\))`", readme)
    assert found, "the README's Neovim section has no vim.lsp.config one-liner"
    report = run_config(tmp_path, f'{found.group(1)}\nvim.lsp.enable("switchboard")\n')
    assert [buffer["attached"] for buffer in report["buffers"]] == [True, True]
    assert report["clients"] == 1
