"""Concurrency: many long streams at once through one server, against a loopback fake.

N chats (`--streams`, 256 by default) are sent at once to one `switchboard serve`
subprocess; each is an OpenAI chat-completions stream that lasts `--seconds` (30 by
default), one small delta every `--interval` seconds. It reports whether every stream
completed, and the first-token latency the server adds under that load: from the fake
writing a stream's first delta to this client reading that delta's `text` event, both
timed on the machine's one monotonic clock (p50, p95, max; goal p95 <= 20 ms).
The starts are spread over `--ramp` seconds (5 by default, about 50 new chats a
second), so the figure is the relay's latency with every stream open. `--ramp 0` sends
every chat at once: a stream's first token then also waits behind the setup of every
chat that arrived with it (a fraction of a millisecond each), which that figure shows.

The fake is an asyncio HTTP/1.1 server in its own process (this script with
--serve-fake), so that 256 open streams cost it one thread and no polling, and its
listen backlog takes 256 connects at once.

    python bench/concurrency.py [--streams 256] [--seconds 30] [--interval 0.2] [--ramp 5]
                                [--runs 1]
    python bench/concurrency.py --streams 64 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.startup import RpcProcess, isolated_env, percentile, running  # noqa: E402

MODEL = "gpt-4o"
API_KEY = "sk-bench-concurrency"
P95_TARGET_MS = 20.0
BACKLOG = 1024


# ---- the fake, in its own process ----------------------------------------------------


def _sse(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> bytes:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        chunk["usage"] = usage
    body = b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(body), body)


_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
_DONE_BODY = b"data: [DONE]\n\n"
_DONE = b"%x\r\n%s\r\n0\r\n\r\n" % (len(_DONE_BODY), _DONE_BODY)


class StreamingFake:
    """Answers each chat with a stream of `seconds / interval` deltas; notes when the first
    delta of each (named by the chat's user message) went out."""

    def __init__(self, seconds: float, interval: float) -> None:
        self.seconds = seconds
        self.interval = interval
        self.first_sent: dict[str, float] = {}

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                if method == "POST" and path.endswith("/chat/completions"):
                    await self._stream(json.loads(body), writer)
                else:
                    listing = {"object": "list", "data": [{"id": MODEL, "object": "model"}]}
                    payload = json.dumps(listing).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        b"content-length: %d\r\n\r\n%s" % (len(payload), payload)
                    )
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _stream(self, request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        name = str(request["messages"][-1]["content"])
        deltas = max(1, round(self.seconds / self.interval))
        self.first_sent[name] = time.monotonic()
        writer.write(_HEAD + _sse({"role": "assistant", "content": "w "}))
        await writer.drain()
        for _ in range(deltas - 1):
            await asyncio.sleep(self.interval)
            writer.write(_sse({"content": "w "}))
            await writer.drain()
        usage = {"prompt_tokens": 9, "completion_tokens": deltas, "total_tokens": 9 + deltas}
        writer.write(_sse({}, finish="stop") + _sse({}, usage=usage) + _DONE)
        await writer.drain()


async def _serve_fake(seconds: float, interval: float) -> None:
    fake = StreamingFake(seconds, interval)
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0, backlog=BACKLOG)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
    loop = asyncio.get_running_loop()
    # One line on stdin asks for the first-delta times; end of input stops the fake.
    while await loop.run_in_executor(None, sys.stdin.readline):
        print(json.dumps(fake.first_sent), flush=True)
    server.close()


class FakeProcess:
    def __init__(self, seconds: float, interval: float) -> None:
        argv = [sys.executable, __file__, "--serve-fake", f"--seconds={seconds}"]
        self._process = subprocess.Popen(
            [*argv, f"--interval={interval}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin, self._stdout = self._process.stdin, self._process.stdout
        self.url = json.loads(self._stdout.readline())["url"]

    def first_sent(self) -> dict[str, float]:
        self._stdin.write("times\n")
        self._stdin.flush()
        times: dict[str, float] = json.loads(self._stdout.readline())
        return times

    def stop(self) -> None:
        self._stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


# ---- the client ------------------------------------------------------------------------


@dataclass
class RunResult:
    completed: int
    failed: list[str]
    queued: int
    latencies_ms: list[float]
    wall_s: float


def run_once(
    streams: int, seconds: float, interval: float, ramp_s: float, workdir: Path
) -> RunResult:
    fake = FakeProcess(seconds, interval)
    try:
        config = workdir / "config.toml"
        config.write_text(f'[providers.openai]\nbase_url = "{fake.url}/v1"\n', encoding="utf-8")
        env = {**isolated_env(workdir), "OPENAI_API_KEY": API_KEY}
        argv = [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"]
        with running(argv, env, workdir / "stderr.log") as server:
            server.initialize()
            server.notify("initialized", {})
            # One short chat first: the load is measured on a warm server, not its first chat.
            warm = {"model": f"openai/{MODEL}", "messages": [{"role": "user", "content": "warm"}]}
            server.wait_response(server.request("switchboard/chat", warm), timeout_s=seconds + 60)
            wait_until_idle(server)
            return _drive(server, fake, streams, seconds, ramp_s)
    finally:
        fake.stop()


def wait_until_idle(server: RpcProcess, timeout_s: float = 15.0) -> None:
    """Until the server's CPU time stops growing: background work the warm-up chat set off
    (a tokenizer loading) would otherwise compete with the load being measured."""
    deadline = time.monotonic() + timeout_s
    before = server.cpu_s()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = server.cpu_s()
        if now - before < 0.01:
            return
        before = now


def _drive(
    server: RpcProcess, fake: FakeProcess, streams: int, seconds: float, ramp_s: float
) -> RunResult:
    first_read: dict[str, float] = {}
    queued: set[str] = set()
    by_id: dict[int, str] = {}
    send_lock = threading.Lock()

    def send_all() -> None:
        for index in range(streams):
            name = f"stream-{index}"
            params = {
                "model": f"openai/{MODEL}",
                "messages": [{"role": "user", "content": name}],
                "partialResultToken": name,
            }
            with send_lock:
                by_id[server.request("switchboard/chat", params)] = name
            if ramp_s:
                time.sleep(ramp_s / streams)

    started = time.perf_counter()
    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    watchdog = threading.Timer(seconds * 3 + ramp_s + 120, server.process.kill)
    watchdog.start()
    completed, failed = 0, []
    try:
        while completed + len(failed) < streams:
            message = server.receive()
            method = message.get("method")
            if method == "$/progress":
                token = message["params"]["token"]
                for event in message["params"]["value"].get("events", ()):
                    if event["type"] == "text" and token not in first_read:
                        first_read[token] = time.monotonic()
                    elif event["type"] == "queued":
                        queued.add(token)
            elif method is not None:
                if "id" in message:
                    with send_lock:
                        server.send({"id": message["id"], "result": None})
            elif message.get("id") in by_id:
                if "error" in message:
                    failed.append(f"{by_id[message['id']]}: {message['error'].get('message')}")
                else:
                    completed += 1
    finally:
        watchdog.cancel()
    wall = time.perf_counter() - started
    sent = fake.first_sent()
    latencies = [(first_read[n] - sent[n]) * 1e3 for n in first_read if n in sent]
    return RunResult(completed, failed, len(queued), latencies, wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each stream")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between deltas")
    parser.add_argument(
        "--ramp", type=float, default=5.0, help="spread the starts over this many seconds"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        asyncio.run(_serve_fake(args.seconds, args.interval))
        return 0

    print(
        f"{args.streams} concurrent {args.seconds:g}-second streams "
        f"(a delta every {args.interval:g} s, started over {args.ramp:g} s) "
        f"through one server, {args.runs} run(s)"
    )
    p95s: list[float] = []
    all_complete = True
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="sb-concurrency-") as tmp:
            result = run_once(args.streams, args.seconds, args.interval, args.ramp, Path(tmp))
        lat = result.latencies_ms
        p50, p95 = statistics.median(lat), percentile(lat, 0.95)
        p95s.append(p95)
        all_complete &= result.completed == args.streams
        print(
            f"run {run}: {result.completed}/{args.streams} complete in {result.wall_s:.1f} s, "
            f"{result.queued} queued; first-token latency added: p50 {p50:.1f} ms, "
            f"p95 {p95:.1f} ms, max {max(lat):.1f} ms ({len(lat)} streams timed)"
        )
        for failure in result.failed[:5]:
            print(f"  failed: {failure}")
    verdict = "meets" if all_complete and statistics.median(p95s) <= P95_TARGET_MS else "MISSES"
    summary = f"min {min(p95s):.1f} / median {statistics.median(p95s):.1f} ms"
    print(
        f"all complete: {all_complete}; p95 {summary}; "
        f"{verdict} the goal (all complete, p95 <= {P95_TARGET_MS:g} ms)"
    )
    return 0 if all_complete else 1


if __name__ == "__main__":
    sys.exit(main())
