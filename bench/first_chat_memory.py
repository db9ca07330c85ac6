"""Memory of a fresh server's first chat: does anything load a tokenizer for it?

A `switchboard serve` subprocess talks to the loopback FakeOpenAI (in this
process). VmRSS is read when it is idle (2 s after `initialized`), then after
one short `openai/gpt-4o` chat once the background work that follows a chat
(the calibration of the input estimate) has had time to finish, then after a
`switchboard/countTokens` request for the same model, which does need the
o200k_base tokenizer. The first chat should cost a few MiB, the count the
tokenizer's ~76 MiB.

    python bench/first_chat_memory.py [--runs 3] [--settle 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.startup import IDLE_WAIT_S, RpcProcess, isolated_env, running  # noqa: E402
from tests.fakes.openai import FakeOpenAI  # noqa: E402

MODEL = "openai/gpt-4o"
MESSAGES = [{"role": "user", "content": "Summarize the design of a language server. " * 20}]
STAGES = ("idle", "after first chat", "after countTokens")


def settled_rss(server: RpcProcess, settle_s: float) -> int:
    """The highest VmRSS (KiB) seen over `settle_s`, so late background work is caught."""
    highest = server.rss_kib()
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        time.sleep(0.1)
        highest = max(highest, server.rss_kib())
    return highest


def one_run(fake: FakeOpenAI, workdir: Path, settle_s: float) -> list[int]:
    config = workdir / "config.toml"
    config.write_text(f'[providers.openai]\nbase_url = "{fake.url}"\n', encoding="utf-8")
    argv = [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"]
    env = {**isolated_env(workdir), "OPENAI_API_KEY": fake.api_key}
    with running(argv, env, workdir / "stderr.log") as server:
        server.initialize()
        server.notify("initialized", {})
        time.sleep(IDLE_WAIT_S)
        idle = server.rss_kib()
        server.wait_response(
            server.request("switchboard/chat", {"model": MODEL, "messages": MESSAGES})
        )
        after_chat = settled_rss(server, settle_s)
        server.wait_response(
            server.request("switchboard/countTokens", {"model": MODEL, "messages": MESSAGES})
        )
        after_count = settled_rss(server, settle_s)
    return [idle, after_chat, after_count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to watch VmRSS")
    args = parser.parse_args()
    runs: list[list[int]] = []
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        for number in range(args.runs):
            workdir = Path(tmp) / f"run{number}"
            workdir.mkdir()
            runs.append(one_run(fake, workdir, args.settle))
    print(f"VmRSS of `switchboard serve` (MiB), min / median of {args.runs} runs\n")
    for index, stage in enumerate(STAGES):
        values = [run[index] / 1024 for run in runs]
        growth = [(run[index] - run[0]) / 1024 for run in runs]
        print(
            f"  {stage:<20} {min(values):7.1f} / {statistics.median(values):7.1f}"
            f"   (+{min(growth):.1f} / +{statistics.median(growth):.1f} over idle)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
