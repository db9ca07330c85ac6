"""Start-up time and idle memory of `switchboard serve`, next to a bare pygls server.

Start-up time is measured from spawning the process to receiving its answer
to `initialize`, over stdio, with the small hand-written JSON-RPC client
below (no pygls client, so that only the server is measured). Idle memory is
VmRSS about two seconds after `initialized`, once Switchboard has warmed up
in the background.

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.fakes.openai import FakeOpenAI  # noqa: E402

BARE_SERVER = (
    'from pygls.lsp.server import LanguageServer\nLanguageServer("bare", "1").start_io()\n'
)
INITIALIZE_PARAMS = {
    "processId": os.getpid(),
    "clientInfo": {"name": "switchboard-bench"},
    "rootUri": None,
    "capabilities": {},
}
STARTUP_TARGET = 1.1
BYTECODE_OFF = "PYTHONDONTWRITEBYTECODE"
#: the server that loads nothing until its first request
LEAN_FLAG = "--no-warm-up"
#: the first chat control's second provider, served by a second FakeOpenAI
SECOND_PROVIDER_MODEL = "deepseek/deepseek-v4-flash"
IDLE_RSS_TARGET = 1.2
FIRST_CHAT_TARGET = 1.5
WARM_CHATS = 5
CHAT_MESSAGES = [{"role": "user", "content": "Say hello."}]
IDLE_WAIT_S = 2.0


class ServerGone(RuntimeError):
    pass


class RpcProcess:
    """A language server subprocess spoken to over stdio with Content-Length framing."""

    def __init__(self, argv: list[str], env: dict[str, str], stderr_path: Path) -> None:
        self._stderr = stderr_path.open("wb")
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env
        )
        self._stdin = self.process.stdin
        self._stdout = self.process.stdout
        self._next_id = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        assert self._stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}, separators=(",", ":")).encode()
        self._stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self._stdin.flush()

    def request(self, method: str, params: Any) -> int:
        self._next_id += 1
        self.send({"id": self._next_id, "method": method, "params": params})
        return self._next_id

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def receive(self) -> dict[str, Any]:
        assert self._stdout is not None
        length = None
        while True:
            line = self._stdout.readline()
            if not line:
                raise ServerGone(f"the server closed stdout (exit code {self.process.poll()})")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise ServerGone("a message without Content-Length")
        message: dict[str, Any] = json.loads(self._stdout.read(length))
        return message

    def wait_response(
        self,
        request_id: int,
        on_message: Callable[[dict[str, Any]], None] | None = None,
        timeout_s: float = 120.0,
    ) -> dict[str, Any]:
        """Read until the answer to `request_id`, handing everything else to `on_message`."""
        watchdog = threading.Timer(timeout_s, self.process.kill)
        watchdog.start()
        try:
            while True:
                message = self.receive()
                if "method" not in message and message.get("id") == request_id:
                    if "error" in message:
                        raise RuntimeError(f"request {request_id} failed: {message['error']}")
                    return message
                if "method" in message and "id" in message:  # a request from the server
                    self.send({"id": message["id"], "result": None})
                if on_message is not None:
                    on_message(message)
        finally:
            watchdog.cancel()

    def initialize(self) -> dict[str, Any]:
        return self.wait_response(self.request("initialize", INITIALIZE_PARAMS), timeout_s=60)

    def shutdown(self) -> None:
        """shutdown + exit, then make sure the process is gone whatever happened."""
        try:
            if self.process.poll() is None:
                self.wait_response(self.request("shutdown", None), timeout_s=10)
                self.notify("exit", None)
                assert self._stdin is not None
                self._stdin.close()
                self.process.wait(timeout=5)
        except (OSError, ValueError, RuntimeError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for stream in (self._stdin, self._stdout, self._stderr):
                if stream is not None and not stream.closed:
                    stream.close()

    def cpu_s(self) -> float:
        """User + system CPU time the process has used so far (clock-tick resolution)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")


@contextmanager
def running(argv: list[str], env: dict[str, str], stderr_path: Path) -> Iterator[RpcProcess]:
    server = RpcProcess(argv, env, stderr_path)
    try:
        yield server
    except Exception:
        tail = stderr_path.read_text(errors="replace")[-2000:]
        if tail:
            print(f"--- stderr of {' '.join(argv)} ---\n{tail}", file=sys.stderr)
        raise
    finally:
        server.shutdown()


@dataclass
class Variant:
    name: str
    argv: list[str]


def isolated_env(workdir: Path) -> dict[str, str]:
    """The caller's environment with Switchboard's data dir and config kept in `workdir`,
    and Python's own bytecode caching: an installed package has its .pyc files, so a
    PYTHONDONTWRITEBYTECODE in the caller's environment (some sandboxes set it) would have
    every start compile Switchboard's modules from source, as no user's install does."""
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)
    environ = {key: value for key, value in os.environ.items() if key != BYTECODE_OFF}
    return {**environ, "SWITCHBOARD_DATA_DIR": str(data_dir)}


def console_script() -> str | None:
    """The `switchboard` command on PATH, else the one beside this interpreter."""
    found = shutil.which("switchboard")
    if found:
        return found
    beside = Path(sys.executable).parent / "switchboard"
    return str(beside) if beside.exists() else None


def variants(workdir: Path) -> list[Variant]:
    config = workdir / "config.toml"
    config.write_text("", encoding="utf-8")
    bare = workdir / "bare_server.py"
    bare.write_text(BARE_SERVER, encoding="utf-8")
    python_m = [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"]
    found = [Variant("switchboard (python -m)", python_m)]
    script = console_script()
    if script is not None:
        found.append(Variant("switchboard (script)", [script, "--config", str(config), "serve"]))
    found.append(Variant(f"switchboard {LEAN_FLAG}", [*python_m, LEAN_FLAG]))
    found.append(Variant("bare pygls", [sys.executable, str(bare)]))
    return found


def time_to_initialize(variant: Variant, env: dict[str, str], workdir: Path) -> float:
    started = time.perf_counter()
    with running(variant.argv, env, workdir / "stderr.log") as server:
        server.initialize()
        return time.perf_counter() - started


def idle_rss(variant: Variant, env: dict[str, str], workdir: Path) -> tuple[int, int]:
    """VmRSS (KiB) right after `initialize`, and IDLE_WAIT_S after `initialized`."""
    with running(variant.argv, env, workdir / "stderr.log") as server:
        server.initialize()
        at_initialize = server.rss_kib()
        server.notify("initialized", {})
        time.sleep(IDLE_WAIT_S)
        return at_initialize, server.rss_kib()


@dataclass
class ChatTimes:
    """Seconds: a fresh server's first chat, the median of its next chats, and two controls,
    each after the same idle as the first: one more chat (what idling alone costs a warm
    server), and a first chat with a second provider (what its new connection adds)."""

    first: float
    warm: float
    after_idle: float
    new_connection: float


def first_and_warm_chat(
    workdir: Path, fakes: tuple[FakeOpenAI, FakeOpenAI], serve_args: tuple[str, ...] = ()
) -> ChatTimes:
    """A fresh server's first chat (sent once it has idled IDLE_WAIT_S after `initialized`,
    as an editor's first request would be), its next chats, and the two controls."""
    openai, other = fakes
    config = workdir / "chat-config.toml"
    config.write_text(
        f'[providers.openai]\nbase_url = "{openai.url}"\n'
        f'[providers.deepseek]\nbase_url = "{other.url}"\n',
        encoding="utf-8",
    )
    argv = [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"]
    argv += serve_args
    keys = {"OPENAI_API_KEY": openai.api_key, "DEEPSEEK_API_KEY": other.api_key}
    env = {**isolated_env(workdir), **keys}

    def timed_chat(server: RpcProcess, model: str = "openai/gpt-4o") -> float:
        started = time.perf_counter()
        params = {"model": model, "messages": CHAT_MESSAGES}
        server.wait_response(server.request("switchboard/chat", params))
        return time.perf_counter() - started

    with running(argv, env, workdir / "stderr.log") as server:
        server.initialize()
        server.notify("initialized", {})
        time.sleep(IDLE_WAIT_S)
        first = timed_chat(server)
        warm = statistics.median(timed_chat(server) for _ in range(WARM_CHATS))
        time.sleep(IDLE_WAIT_S)
        after_idle = timed_chat(server)
        time.sleep(IDLE_WAIT_S)
        new_connection = timed_chat(server, SECOND_PROVIDER_MODEL)
    return ChatTimes(first, warm, after_idle, new_connection)


def report_first_chat(runs: list[ChatTimes]) -> None:
    print(f"{'':<30}{'min ms':>9}{'median ms':>11}")
    for label, field in (
        ("first chat", "first"),
        ("warm chat", "warm"),
        (f"warm server, after {IDLE_WAIT_S:g} s idle", "after_idle"),
        ("  ... to a second provider", "new_connection"),
    ):
        values = [getattr(run, field) * 1e3 for run in runs]
        print(f"{label:<30}{min(values):>9.1f}{statistics.median(values):>11.1f}")
    ratios = [run.first / run.warm for run in runs]
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio <= FIRST_CHAT_TARGET else "MISSES"
    print(
        f"first chat / warm chat: min {min(ratios):.2f}x, median {ratio:.2f}x, "
        f"{verdict} the <= {FIRST_CHAT_TARGET}x target"
    )
    idle = statistics.median(run.after_idle / run.warm for run in runs)
    print(f"(control) a warm server's chat after the same idle / warm chat: median {idle:.2f}x")
    added = [(run.new_connection - run.after_idle) * 1e3 for run in runs]
    print(
        "(control) a new connection, after the same idle: median "
        f"{statistics.median(added):+.1f} ms over a chat on a kept-alive one"
    )
    alike = [run.first / run.after_idle for run in runs]
    print(
        "first chat / a warm server's chat after the same idle: "
        f"min {min(alike):.2f}x, median {statistics.median(alike):.2f}x"
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def report_startup(times: dict[str, list[float]], bare: str) -> None:
    print(f"{'server':<26}{'median ms':>11}{'min ms':>9}{'p10 ms':>9}{'p90 ms':>9}{'vs bare':>9}")
    bare_median = statistics.median(times[bare])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<26}{median * 1e3:>11.1f}{min(values) * 1e3:>9.1f}"
            f"{percentile(values, 0.1) * 1e3:>9.1f}"
            f"{percentile(values, 0.9) * 1e3:>9.1f}{median / bare_median:>8.2f}x"
        )
    for name in times:
        if name != bare:
            ratio = statistics.median(times[name]) / bare_median
            verdict = "meets" if ratio <= STARTUP_TARGET else "MISSES"
            print(
                f"{name}: {ratio:.2f}x the bare server, {verdict} the <= {STARTUP_TARGET}x target"
            )


def report_rss(rss: dict[str, tuple[int, int]], bare: str) -> None:
    print(f"{'server':<26}{'at initialize':>15}{f'idle (+{IDLE_WAIT_S:g} s)':>16}{'vs bare':>9}")
    bare_idle = rss[bare][1]
    for name, (at_initialize, idle) in rss.items():
        print(
            f"{name:<26}{at_initialize / 1024:>12.1f} MB{idle / 1024:>13.1f} MB"
            f"{idle / bare_idle:>8.2f}x"
        )
    for name, (_, idle) in rss.items():
        if name != bare:
            ratio = idle / bare_idle
            verdict = "meets" if ratio <= IDLE_RSS_TARGET else "MISSES"
            print(
                f"{name}: idle {ratio:.2f}x the bare server, "
                f"{verdict} the <= {IDLE_RSS_TARGET}x target"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per server")
    parser.add_argument("--rss-runs", type=int, default=3, help="idle-memory runs per server")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as temp:
        workdir = Path(temp)
        env = isolated_env(workdir)
        servers = variants(workdir)
        bare = servers[-1].name
        print(f"python {sys.version.split()[0]} at {sys.executable}")
        print(f"start-up: spawn -> initialize answered, {args.runs} alternating runs")
        print("(one untimed run of each first, to warm the OS file cache)\n")
        for server in servers:
            time_to_initialize(server, env, workdir)
        times: dict[str, list[float]] = {server.name: [] for server in servers}
        for _ in range(args.runs):
            for server in servers:
                times[server.name].append(time_to_initialize(server, env, workdir))
        report_startup(times, bare)

        print(f"\nidle memory: VmRSS, median of {args.rss_runs} runs\n")
        samples: dict[str, list[tuple[int, int]]] = {server.name: [] for server in servers}
        for _ in range(args.rss_runs):
            for server in servers:
                samples[server.name].append(idle_rss(server, env, workdir))
        rss = {
            name: (
                int(statistics.median(s[0] for s in values)),
                int(statistics.median(s[1] for s in values)),
            )
            for name, values in samples.items()
        }
        report_rss(rss, bare)

        with FakeOpenAI() as fake, FakeOpenAI() as second:
            for label, serve_args in (("", ()), (f" {LEAN_FLAG}", (LEAN_FLAG,))):
                print(f"\nfirst chat of `switchboard serve{label}`: a fresh server's first chat")
                print(f"vs its next {WARM_CHATS}, over {args.rss_runs} servers (FakeOpenAI)\n")
                runs: list[ChatTimes] = []
                for number in range(args.rss_runs):
                    chat_dir = workdir / f"chat{number}{label.strip()}"
                    chat_dir.mkdir()
                    runs.append(first_and_warm_chat(chat_dir, (fake, second), serve_args))
                report_first_chat(runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
