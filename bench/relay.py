"""Relay throughput: one long stream through Switchboard vs. consumed directly.

For each API (OpenAI chat completions, Anthropic messages), the same N-chunk stream
(from the loopback FakeOpenAI or FakeAnthropic) is read three ways:

  (a) through `switchboard/chat` of a `switchboard serve` subprocess, by a small
      JSON-RPC client reading its `$/progress` partial results and final answer
      (once with the journal of calls, once with `journal = false`, for its overhead);
  (b) with raw httpx in this process, parsing every `data:` line;
  (c) with the official SDK (openai, anthropic) in this process;
  (d) with no HTTP library: an asyncio Protocol on the socket that only undoes the
      chunked framing, parsing nothing: what any asyncio reader of this stream
      spends at least, per chunk, on receiving it (the floor of the CPU figure).

The fake runs in its own process by default, so that no consumer pays for the
fake's work under its GIL (`--fake-in-thread` runs it in a thread here instead).

    python bench/relay.py [--chunks 5000] [--runs 5] [--api openai|anthropic|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import anthropic  # noqa: E402
import httpx  # noqa: E402
import openai  # noqa: E402
from openai.types.chat import ChatCompletionMessageParam  # noqa: E402

from bench.startup import RpcProcess, isolated_env, running  # noqa: E402
from tests.fakes.anthropic import FakeAnthropic  # noqa: E402
from tests.fakes.openai import FakeOpenAI  # noqa: E402
from tests.fakes.scenario import Scenario  # noqa: E402

MODEL = "gpt-4o"
CLAUDE = "claude-sonnet-4-6"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
APIS = ("openai", "anthropic")
RAW_RATIO_TARGET = 1.3
CPU_PER_CHUNK_TARGET_US = 8.0


class Fake(Protocol):
    """FakeOpenAI and FakeAnthropic, each queueing N-chunk streams on request."""

    urls: dict[str, str]
    api_keys: dict[str, str]

    def enqueue_chunks(self, api: str, n: int, delay_s: float = 0.0) -> None: ...

    def stop(self) -> None: ...


class FakeInThread:
    def __init__(self) -> None:
        self._fakes = {"openai": FakeOpenAI().start(), "anthropic": FakeAnthropic().start()}
        self.urls = {api: fake.url for api, fake in self._fakes.items()}
        self.api_keys = {api: fake.api_key for api, fake in self._fakes.items()}

    def enqueue_chunks(self, api: str, n: int, delay_s: float = 0.0) -> None:
        # Both fakes stream the scenario's text in `pieces` deltas, "tok " each.
        self._fakes[api].enqueue_scenario(Scenario(text="tok " * n, pieces=n, delay_s=delay_s))

    def stop(self) -> None:
        for fake in self._fakes.values():
            fake.stop()


class FakeInProcess:
    """The fakes in a child process (this script with --serve-fake), driven by stdin lines."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin, self._stdout = self._process.stdin, self._process.stdout
        hello = json.loads(self._stdout.readline())
        self.urls, self.api_keys = hello["urls"], hello["api_keys"]

    def enqueue_chunks(self, api: str, n: int, delay_s: float = 0.0) -> None:
        self._stdin.write(f"{api} {n} {delay_s}\n")
        self._stdin.flush()
        if self._stdout.readline().strip() != "ok":
            raise RuntimeError("the fake process did not queue the reply")

    def stop(self) -> None:
        self._stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stdout.close()


def serve_fake() -> int:
    fakes = FakeInThread()
    try:
        print(json.dumps({"urls": fakes.urls, "api_keys": fakes.api_keys}), flush=True)
        for line in sys.stdin:
            api, count, delay_s = line.split()
            fakes.enqueue_chunks(api, int(count), float(delay_s))
            print("ok", flush=True)
    finally:
        fakes.stop()
    return 0


@dataclass
class Sample:
    total_s: float
    first_text_s: float | None
    cpu_s: float
    text: str
    notifications: int = 0
    events: int = 0


class Stopwatch:
    """Wall time to the first text and to the end, and CPU time of whoever does the work."""

    def __init__(self, cpu_clock: Callable[[], float] = time.process_time) -> None:
        self.cpu_clock = cpu_clock
        self.cpu_started = cpu_clock()
        self.started = time.perf_counter()
        self.first_text: float | None = None
        self.parts: list[str] = []

    def text(self, piece: str) -> None:
        if self.first_text is None:
            self.first_text = time.perf_counter() - self.started
        self.parts.append(piece)

    def sample(self, notifications: int = 0, events: int = 0) -> Sample:
        total = time.perf_counter() - self.started
        cpu = self.cpu_clock() - self.cpu_started
        return Sample(total, self.first_text, cpu, "".join(self.parts), notifications, events)


# ---- (a) through the language server ----------------------------------------------


def cpu_clock_of(server: RpcProcess) -> Callable[[], float]:
    """CPU seconds of every thread of the server, in nanoseconds where Linux tells them
    (/proc/PID/task/*/schedstat); clock ticks (10 ms) otherwise."""
    tasks = Path(f"/proc/{server.pid}/task")

    def schedstat_s() -> float:
        total = 0
        for task in tasks.iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that just ended
        return total / 1e9

    return schedstat_s if (tasks / str(server.pid) / "schedstat").exists() else server.cpu_s


class SwitchboardRelay:
    def __init__(self, server: RpcProcess, api: str) -> None:
        self.server = server
        self.model = f"openai/{MODEL}" if api == "openai" else f"anthropic/{CLAUDE}"
        self.chats = 0
        self.cpu_clock = cpu_clock_of(server)

    def chat(self) -> Sample:
        self.chats += 1
        token = f"bench-{self.chats}"
        params = {"model": self.model, "messages": MESSAGES, "partialResultToken": token}
        notifications = events_seen = 0
        watch = Stopwatch(cpu_clock=self.cpu_clock)

        def on_message(message: dict[str, Any]) -> None:
            nonlocal notifications, events_seen
            progress = message.get("params") if message.get("method") == "$/progress" else None
            if not progress or progress.get("token") != token:
                return
            events = progress["value"].get("events")
            if events is None:
                return
            notifications += 1
            events_seen += len(events)
            for event in events:
                if event["type"] == "text":
                    watch.text(event["text"])

        response = self.server.wait_response(
            self.server.request("switchboard/chat", params), on_message
        )
        sample = watch.sample(notifications, events_seen)
        result_text = "".join(
            part["text"] for part in response["result"]["content"] if part["type"] == "text"
        )
        if result_text != sample.text:
            raise AssertionError("the streamed text differs from the result's text")
        return sample


def switchboard_command(
    fake: Fake, workdir: Path, journal: bool = True
) -> tuple[list[str], dict[str, str]]:
    config = workdir / "config.toml"
    top = "" if journal else "journal = false\n"
    # Like the official SDKs: OpenAI's base URL ends in /v1, Anthropic's does not.
    config.write_text(
        top
        + f'[providers.openai]\nbase_url = "{fake.urls["openai"]}"\n'
        + f'[providers.anthropic]\nbase_url = "{fake.urls["anthropic"]}"\n',
        encoding="utf-8",
    )
    argv = [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"]
    env = {
        **isolated_env(workdir),
        "OPENAI_API_KEY": fake.api_keys["openai"],
        "ANTHROPIC_API_KEY": fake.api_keys["anthropic"],
    }
    return argv, env


# ---- (b) raw httpx and (c) the openai SDK, in this process ------------------------


async def httpx_chat(client: httpx.AsyncClient, fake: Fake, api: str) -> Sample:
    """Every `data:` line parsed, its text deltas kept: the least a client can do."""
    if api == "openai":
        url = fake.urls["openai"] + "/chat/completions"
        headers = {"Authorization": f"Bearer {fake.api_keys['openai']}"}
        body: dict[str, Any] = {
            "model": MODEL,
            "messages": MESSAGES,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    else:
        url = fake.urls["anthropic"] + "/v1/messages"
        headers = {"x-api-key": fake.api_keys["anthropic"], "anthropic-version": "2023-06-01"}
        body = {"model": CLAUDE, "messages": MESSAGES, "max_tokens": 8192, "stream": True}
    watch = Stopwatch()
    async with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            data = json.loads(payload)
            if api == "openai":
                for choice in data["choices"]:
                    content = choice["delta"].get("content")
                    if content:
                        watch.text(content)
            elif data["type"] == "content_block_delta" and data["delta"]["type"] == "text_delta":
                watch.text(data["delta"]["text"])
    return watch.sample()


async def openai_sdk_chat(client: openai.AsyncOpenAI) -> Sample:
    watch = Stopwatch()
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                watch.text(choice.delta.content)
    return watch.sample()


async def anthropic_sdk_chat(client: anthropic.AsyncAnthropic) -> Sample:
    watch = Stopwatch()
    async with client.messages.stream(
        model=CLAUDE, max_tokens=8192, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        async for text in stream.text_stream:
            watch.text(text)
    return watch.sample()


# ---- (d) the floor: no HTTP library, nothing parsed ---------------------------------


class _Receiver(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> None:
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def more(self) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        await self.waiter


async def floor_chat(fake: Fake, api: str) -> Sample:
    """One request written by hand on a fresh connection, and its chunked body undone:
    `events` counts the chunks, of which the caller checks there are at least the text's."""
    base = httpx.URL(fake.urls[api])
    if api == "openai":
        path, auth = base.raw_path.decode() + "/chat/completions", "authorization: Bearer "
        body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    else:
        path, auth = "/v1/messages", "anthropic-version: 2023-06-01\r\nx-api-key: "
        body = {"model": CLAUDE, "messages": MESSAGES, "max_tokens": 8192, "stream": True}
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {base.host}:{base.port}\r\n{auth}{fake.api_keys[api]}"
        f"\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
    )
    watch = Stopwatch()
    loop = asyncio.get_running_loop()
    transport, receiver = await loop.create_connection(_Receiver, base.host, base.port)
    try:
        transport.write(head.encode() + payload)
        buffer = receiver.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            await receiver.more()
        del buffer[: end + 4]
        received = 0
        while True:
            start = 0
            while (line_end := buffer.find(b"\r\n", start)) >= 0:
                size = int(bytes(buffer[start:line_end]).split(b";")[0], 16)
                chunk_end = line_end + 2 + size
                if len(buffer) < chunk_end + 2:
                    break
                if size == 0:
                    return watch.sample(events=received)
                received += 1
                start = chunk_end + 2
            del buffer[:start]
            await receiver.more()
    finally:
        transport.close()


# ---- the benchmark -----------------------------------------------------------------

SWITCHBOARD, HTTPX, SDK = "switchboard/chat (LSP)", "raw httpx", "official SDK"
FLOOR = "floor: asyncio, no HTTP lib"
UNJOURNALED = "  ... with journal = false"


async def measure(
    fake: Fake,
    api: str,
    relay: SwitchboardRelay,
    unjournaled: SwitchboardRelay,
    chunks: int,
    runs: int,
) -> dict[str, list[Sample]]:
    expected = "tok " * chunks
    samples: dict[str, list[Sample]] = {
        SWITCHBOARD: [],
        UNJOURNALED: [],
        HTTPX: [],
        SDK: [],
        FLOOR: [],
    }
    async with (
        httpx.AsyncClient(timeout=60) as http_client,
        openai.AsyncOpenAI(
            base_url=fake.urls["openai"], api_key=fake.api_keys["openai"], max_retries=0
        ) as openai_sdk,
        anthropic.AsyncAnthropic(
            base_url=fake.urls["anthropic"], api_key=fake.api_keys["anthropic"], max_retries=0
        ) as anthropic_sdk,
    ):
        ways: dict[str, Callable[[], Awaitable[Sample]]] = {
            SWITCHBOARD: relay_in_loop(relay),
            UNJOURNALED: relay_in_loop(unjournaled),
            HTTPX: lambda: httpx_chat(http_client, fake, api),
            SDK: (
                (lambda: openai_sdk_chat(openai_sdk))
                if api == "openai"
                else (lambda: anthropic_sdk_chat(anthropic_sdk))
            ),
            FLOOR: lambda: floor_chat(fake, api),
        }
        for round_number in range(runs + 1):  # round 0 warms up imports and connections
            order = list(ways.items())
            if round_number % 2:  # the first way of a round runs slower: take turns
                order[0], order[1] = order[1], order[0]
            for name, chat in order:
                fake.enqueue_chunks(api, chunks)
                sample = await chat()
                if name == FLOOR:
                    if sample.events < chunks:
                        raise AssertionError(f"{name}: {sample.events} of {chunks} chunks")
                elif sample.text != expected:
                    raise AssertionError(f"{name}: the text differs from what the fake sent")
                if round_number:
                    samples[name].append(sample)
    return samples


def relay_in_loop(relay: SwitchboardRelay) -> Callable[[], Awaitable[Sample]]:
    """(a) blocks on the server's stdout; nothing else runs on this loop meanwhile."""

    async def chat() -> Sample:
        return relay.chat()

    return chat


def report(
    api: str, samples: dict[str, list[Sample]], chunks: int, runs: int, fake_in_thread: bool
) -> None:
    def median_ms(name: str, field: str) -> float:
        return statistics.median(getattr(s, field) for s in samples[name]) * 1e3

    def best_ms(name: str, field: str) -> float:
        return min(getattr(s, field) for s in samples[name]) * 1e3

    print(f"== {api}: {chunks} chunks, median of {runs} runs (after one warm-up round)\n")
    print(f"{'method':<26}{'median ms':>11}{'min ms':>9}{'max ms':>9}{'vs httpx':>10}{'CPU ms':>9}")
    raw_median = median_ms(HTTPX, "total_s")
    for name, taken in samples.items():
        totals = [s.total_s * 1e3 for s in taken]
        median = median_ms(name, "total_s")
        print(
            f"{name:<26}{median:>11.1f}{min(totals):>9.1f}{max(totals):>9.1f}"
            f"{median / raw_median:>9.2f}x{median_ms(name, 'cpu_s'):>9.0f}"
        )
    who = "this process, fake included" if fake_in_thread else "this process"
    print(f"(CPU ms: the server process alone for {SWITCHBOARD}, {who} for the others)")

    print("\ntime to the first text event (median ms):")
    for name in (SWITCHBOARD, SDK):
        firsts = [s.first_text_s for s in samples[name] if s.first_text_s is not None]
        print(f"  {name:<24}{statistics.median(firsts) * 1e3:>9.1f}")
    notifications = [s.notifications for s in samples[SWITCHBOARD]]
    events = sorted({s.events for s in samples[SWITCHBOARD]})
    print(f"\n$/progress notifications per chat: {notifications}, carrying {events} events")
    print("streamed text == result text == the fake's text: checked, every run")

    ratios = sorted(
        mine.total_s / raw.total_s
        for mine, raw in zip(samples[SWITCHBOARD], samples[HTTPX], strict=True)
    )
    ratio = median_ms(SWITCHBOARD, "total_s") / raw_median
    verdict = "meets" if ratio <= RAW_RATIO_TARGET else "MISSES"
    print(
        f"switchboard/chat vs raw httpx: median {ratio:.2f}x, best {min(ratios):.2f}x of the "
        f"same round ({verdict} the <= {RAW_RATIO_TARGET}x target)"
    )
    per_chunk = [s.cpu_s / chunks * 1e6 for s in samples[SWITCHBOARD]]
    cpu_us = statistics.median(per_chunk)
    verdict = "meets" if cpu_us <= CPU_PER_CHUNK_TARGET_US else "MISSES"
    print(
        f"server CPU per chunk: median {cpu_us:.1f} us, min {min(per_chunk):.1f} us "
        f"({verdict} the <= {CPU_PER_CHUNK_TARGET_US:g} us target)"
    )
    for name in (HTTPX, FLOOR):
        spent = [s.cpu_s / chunks * 1e6 for s in samples[name]]
        print(
            f"  same run, CPU per chunk of {name}: median {statistics.median(spent):.1f} us,"
            f" min {min(spent):.1f} us"
        )
    wall = median_ms(SWITCHBOARD, "total_s") / median_ms(UNJOURNALED, "total_s") - 1
    best = best_ms(SWITCHBOARD, "total_s") / best_ms(UNJOURNALED, "total_s") - 1
    cpu = median_ms(SWITCHBOARD, "cpu_s") / median_ms(UNJOURNALED, "cpu_s") - 1
    verdict = "meets" if cpu <= 0.05 else "MISSES"
    print(
        f"journal overhead (journal on vs journal = false): {cpu:+.1%} median server CPU"
        f" ({verdict} the <= 5% target); wall time {wall:+.1%} median, {best:+.1%} best\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5000, help="text chunks in the stream")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each method")
    parser.add_argument("--api", choices=[*APIS, "both"], default="both")
    parser.add_argument(
        "--fake-in-thread", action="store_true", help="run the fakes in a thread of this process"
    )
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        return serve_fake()

    fake: Fake = FakeInThread() if args.fake_in_thread else FakeInProcess()
    where = "a thread of this process" if args.fake_in_thread else "their own process"
    print(
        f"python {sys.version.split()[0]}, httpx {httpx.__version__}, "
        f"openai {openai.__version__}, anthropic {anthropic.__version__}"
    )
    print(f"fakes at {fake.urls}, running in {where}\n")
    apis = APIS if args.api == "both" else (args.api,)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="switchboard-bench-") as temp,
            tempfile.TemporaryDirectory(prefix="switchboard-bench-nojournal-") as other,
        ):
            workdir, plain_dir = Path(temp), Path(other)
            argv, env = switchboard_command(fake, workdir)
            plain_argv, plain_env = switchboard_command(fake, plain_dir, journal=False)
            with (
                running(argv, env, workdir / "stderr.log") as server,
                running(plain_argv, plain_env, plain_dir / "stderr.log") as plain,
            ):
                for started in (server, plain):
                    started.initialize()
                    started.notify("initialized", {})
                for api in apis:
                    relay = SwitchboardRelay(server, api)
                    unjournaled = SwitchboardRelay(plain, api)
                    samples = asyncio.run(
                        measure(fake, api, relay, unjournaled, args.chunks, args.runs)
                    )
                    report(api, samples, args.chunks, args.runs, args.fake_in_thread)
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
