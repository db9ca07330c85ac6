"""Memory under use: does the server grow with every chat, and how big does load make it?

Two figures, each from `switchboard serve` subprocesses talking to the asyncio fake of
bench/concurrency.py (an OpenAI chat-completions stream, in its own process):

  growth  VmRSS after 10 chats and after `--chats` (5,000 by default) sequential
          short chats, once without and once with a `requestId` (which the journal
          keeps for replay); goal: growth <= 2 MiB;
  load    the highest VmRSS seen during `--load-seconds` (60) of `--concurrent` (50)
          chats always in flight, each a 2-second stream of 40 deltas; goal <= 120 MB.

    python bench/memory.py [--chats 5000] [--concurrent 50] [--load-seconds 60] [--runs 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.concurrency import API_KEY, MODEL, FakeProcess, wait_until_idle  # noqa: E402
from bench.startup import RpcProcess, isolated_env, running  # noqa: E402

GROWTH_TARGET_MIB = 2.0
LOAD_TARGET_MB = 120.0
BASELINE_CHATS = 10
SETTLE_S = 1.0


def _server_argv(fake: FakeProcess, workdir: Path) -> tuple[list[str], dict[str, str]]:
    config = workdir / "config.toml"
    config.write_text(f'[providers.openai]\nbase_url = "{fake.url}/v1"\n', encoding="utf-8")
    env = {**isolated_env(workdir), "OPENAI_API_KEY": API_KEY}
    return [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"], env


def _chat_params(index: int, with_request_id: bool) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": f"openai/{MODEL}",
        "messages": [{"role": "user", "content": f"chat {index}"}],
        "partialResultToken": f"chat-{index}",
    }
    if with_request_id:
        params["requestId"] = f"bench-memory-{index}"
    return params


def _settled_rss_mib(server: RpcProcess) -> float:
    wait_until_idle(server)
    time.sleep(SETTLE_S)
    return server.rss_kib() / 1024


def growth(chats: int, with_request_id: bool, workdir: Path) -> tuple[float, float]:
    """VmRSS (MiB) after BASELINE_CHATS chats and after `chats` chats."""
    fake = FakeProcess(seconds=0.01, interval=0.01)
    try:
        argv, env = _server_argv(fake, workdir)
        with running(argv, env, workdir / "stderr.log") as server:
            server.initialize()
            server.notify("initialized", {})
            baseline = 0.0
            for index in range(chats):
                server.wait_response(
                    server.request("switchboard/chat", _chat_params(index, with_request_id))
                )
                if index + 1 == BASELINE_CHATS:
                    baseline = _settled_rss_mib(server)
            return baseline, _settled_rss_mib(server)
    finally:
        fake.stop()


def load(concurrent: int, seconds: float, workdir: Path) -> tuple[float, int, list[str]]:
    """The highest VmRSS (MB) while `concurrent` chats stay in flight for `seconds`, the
    chats completed, and the failures."""
    fake = FakeProcess(seconds=2.0, interval=0.05)
    try:
        argv, env = _server_argv(fake, workdir)
        with running(argv, env, workdir / "stderr.log") as server:
            server.initialize()
            server.notify("initialized", {})
            server.wait_response(server.request("switchboard/chat", _chat_params(0, False)))
            return _drive_load(server, concurrent, seconds)
    finally:
        fake.stop()


def _drive_load(
    server: RpcProcess, concurrent: int, seconds: float
) -> tuple[float, int, list[str]]:
    send_lock = threading.Lock()
    highest_kib = server.rss_kib()
    stop = threading.Event()

    def sample() -> None:
        nonlocal highest_kib
        while not stop.wait(0.25):
            try:
                highest_kib = max(highest_kib, server.rss_kib())
            except (OSError, RuntimeError):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent = 0
    in_flight: set[int] = set()

    def send_one() -> None:
        nonlocal sent
        sent += 1
        with send_lock:
            in_flight.add(server.request("switchboard/chat", _chat_params(sent, False)))

    deadline = time.monotonic() + seconds
    for _ in range(concurrent):
        send_one()
    completed, failed = 0, []
    watchdog = threading.Timer(seconds + 120, server.process.kill)
    watchdog.start()
    try:
        while in_flight:
            message = server.receive()
            if "method" in message:
                if "id" in message:  # a request from the server (work-done progress)
                    with send_lock:
                        server.send({"id": message["id"], "result": None})
                continue
            if message.get("id") not in in_flight:
                continue
            in_flight.discard(message["id"])
            if "error" in message:
                failed.append(str(message["error"].get("message")))
            else:
                completed += 1
            if time.monotonic() < deadline:
                send_one()
    finally:
        watchdog.cancel()
        stop.set()
        sampler.join()
    return highest_kib * 1024 / 1e6, completed, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=5000, help="sequential chats per server")
    parser.add_argument("--concurrent", type=int, default=50, help="chats in flight under load")
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    growths: dict[str, list[tuple[float, float]]] = {"without requestId": [], "with requestId": []}
    loads: list[tuple[float, int, list[str]]] = []
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-memory-") as temp:
        for run in range(args.runs):
            for label, with_id in (("without requestId", False), ("with requestId", True)):
                workdir = Path(temp) / f"growth-{run}-{with_id}"
                workdir.mkdir()
                growths[label].append(growth(args.chats, with_id, workdir))
            workdir = Path(temp) / f"load-{run}"
            workdir.mkdir()
            loads.append(load(args.concurrent, args.load_seconds, workdir))

    print(
        f"growth: VmRSS after {BASELINE_CHATS} and after {args.chats} chats, {args.runs} run(s)\n"
    )
    print(f"{'':<20}{'after 10 MiB':>14}{'after N MiB':>13}{'growth min':>12}{'median':>9}")
    for label, pairs in growths.items():
        grown = [after - before for before, after in pairs]
        print(
            f"{label:<20}{statistics.median(p[0] for p in pairs):>14.1f}"
            f"{statistics.median(p[1] for p in pairs):>13.1f}"
            f"{min(grown):>12.2f}{statistics.median(grown):>9.2f}"
        )
        verdict = "meets" if statistics.median(grown) <= GROWTH_TARGET_MIB else "MISSES"
        print(f"  {verdict} the <= {GROWTH_TARGET_MIB:g} MiB target")

    highest = [peak for peak, _, _ in loads]
    print(
        f"\nload: {args.concurrent} chats in flight for {args.load_seconds:g} s "
        f"(2-second streams of 40 deltas), {args.runs} run(s)"
    )
    for peak, completed, failed in loads:
        print(f"  peak VmRSS {peak:.1f} MB, {completed} chats completed, {len(failed)} failed")
        for failure in failed[:5]:
            print(f"    {failure}")
    verdict = "meets" if statistics.median(highest) <= LOAD_TARGET_MB else "MISSES"
    print(
        f"peak VmRSS min {min(highest):.1f} MB, median {statistics.median(highest):.1f} MB: "
        f"{verdict} the <= {LOAD_TARGET_MB:g} MB target"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
