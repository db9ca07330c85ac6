"""Completion latency: what `switchboard serve` adds to a completion, and how fast it lets go.

A `switchboard serve` subprocess is driven over stdio by a hand-written JSON-RPC client
(bench/startup.py's RpcProcess), with `debounce_ms = 0`, against loopback fakes running
in this process: FakeMistral's Codestral FIM endpoint and FakeAnthropic (the chat
fallback). It prints:

  - added latency, p50 and p95: the time from sending `textDocument/inlineCompletion`
    to its answer, minus the upstream's own time to first token (the same request's
    first streamed bytes, read with httpx straight from the fake over a kept-alive
    connection); for FIM and for the chat fallback. Each request types a character
    that the last suggestion does not start with, so none is served from the cache.
  - typing-through cache hit: the round trip of a request whose typing follows the
    last suggestion (no provider call);
  - cancel to close: from sending the request that supersedes a slow streaming one to
    the fake seeing that stream's connection closed (the fake polls every 5 ms).

    python bench/complete.py [--runs 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from bench.startup import RpcProcess, isolated_env, running  # noqa: E402
from tests.fakes.anthropic import FakeAnthropic  # noqa: E402
from tests.fakes.mistral import FakeMistral  # noqa: E402
from tests.fakes.scenario import Scenario  # noqa: E402

URI = "file:///bench/calc.py"
PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))\n"
SLOW = "return a + b" + "".join(f" + {n}" for n in range(40)) + "\n"
TARGETS = {"added_p50_ms": 5.0, "cache_hit_ms": 2.0, "cancel_to_close_ms": 50.0}


class Editor:
    """One open document in the server, typed into at the end of its prefix."""

    def __init__(self, server: RpcProcess) -> None:
        self.server = server
        self.prefix = PREFIX
        self.version = 1
        server.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": URI,
                    "languageId": "python",
                    "version": 1,
                    "text": PREFIX + SUFFIX,
                }
            },
        )

    @property
    def cursor(self) -> dict[str, int]:
        line = self.prefix.count("\n")
        return {"line": line, "character": len(self.prefix) - self.prefix.rfind("\n") - 1}

    def type(self, text: str) -> None:
        at = self.cursor
        self.version += 1
        self.prefix += text
        self.server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": URI, "version": self.version},
                "contentChanges": [{"range": {"start": at, "end": at}, "text": text}],
            },
        )

    def send_complete(self) -> int:
        return self.server.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": URI},
                "position": self.cursor,
                "context": {"triggerKind": 2},
            },
        )

    def complete(self) -> tuple[float, list[str]]:
        started = time.perf_counter()
        answer = self.server.wait_response(self.send_complete())
        elapsed = time.perf_counter() - started
        return elapsed, [item["insertText"] for item in answer["result"]["items"]]


def config_text(mistral: FakeMistral, anthropic: FakeAnthropic, model: str) -> str:
    return "\n".join(
        [
            "[providers.mistral]",
            f'base_url = "{mistral.url}/v1"',
            "[providers.anthropic]",
            f'base_url = "{anthropic.url}"',
            "[completion]",
            f'model = "{model}"',
            "debounce_ms = 0",
            "snippets = 0",
            "",
        ]
    )


def upstream_first_bytes(
    client: httpx.Client, url: str, headers: dict[str, str], body: dict[str, Any]
) -> float:
    started = time.perf_counter()
    with client.stream("POST", url, headers=headers, json=body) as response:
        for _ in response.iter_raw():
            return time.perf_counter() - started
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def run_route(
    name: str,
    model: str,
    runs: int,
    mistral: FakeMistral,
    anthropic: FakeAnthropic,
    direct: Callable[[httpx.Client], float],
    enqueue: Callable[[Scenario], None],
    workdir: Path,
) -> dict[str, float]:
    slug = name.split()[0].lower()
    config = workdir / f"{slug}.toml"
    config.write_text(config_text(mistral, anthropic, model), encoding="utf-8")
    env = isolated_env(workdir)
    env.update({"MISTRAL_API_KEY": mistral.api_key, "ANTHROPIC_API_KEY": anthropic.api_key})
    argv = [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"]
    through: list[float] = []
    upstream: list[float] = []
    hits: list[float] = []
    with running(argv, env, workdir / f"{slug}.stderr") as server, httpx.Client() as client:
        server.initialize()
        server.notify("initialized", {})
        editor = Editor(server)
        for index in range(runs + 5):
            enqueue(Scenario(text="return a + b", pieces=2))
            upstream_s = direct(client)
            editor.type("#")  # a suggestion never starts with it: no cache hit
            enqueue(Scenario(text="return a + b", pieces=2))
            elapsed, texts = editor.complete()
            if texts != ["return a + b"]:
                raise RuntimeError(f"{name}: unexpected answer {texts}")
            editor.type("re")  # typing through the suggestion
            hit_s, hit = editor.complete()
            if hit != ["turn a + b"]:
                raise RuntimeError(f"{name}: the cache did not answer: {hit}")
            if index >= 5:  # the first ones warm up imports and connections
                through.append(elapsed)
                upstream.append(upstream_s)
                hits.append(hit_s)
    added = [t - u for t, u in zip(through, upstream, strict=True)]
    print(f"{name}:")
    print(f"  upstream first bytes   p50 {ms(percentile(upstream, 0.5))}")
    print(f"  through the server     p50 {ms(percentile(through, 0.5))}")
    print(
        f"  added by the server    p50 {ms(percentile(added, 0.5))}"
        f"   p95 {ms(percentile(added, 0.95))}"
    )
    print(f"  typing-through hit     p50 {ms(statistics.median(hits))}   max {ms(max(hits))}")
    return {"added_p50": percentile(added, 0.5), "hit_p50": statistics.median(hits)}


def run_cancel(
    runs: int, mistral: FakeMistral, anthropic: FakeAnthropic, workdir: Path
) -> list[float]:
    config = workdir / "cancel.toml"
    config.write_text(config_text(mistral, anthropic, "mistral/codestral-2508"), encoding="utf-8")
    env = isolated_env(workdir)
    env.update({"MISTRAL_API_KEY": mistral.api_key})
    argv = [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"]
    closes: list[float] = []
    with running(argv, env, workdir / "cancel.stderr") as server:
        server.initialize()
        server.notify("initialized", {})
        editor = Editor(server)
        for _ in range(runs):
            mistral.scenarios.clear()
            mistral.disconnects.clear()
            started = len(mistral.streams_started)
            mistral.enqueue_scenario(Scenario(text=SLOW, pieces=40, delay_s=0.05))
            editor.type("#")
            slow = editor.send_complete()
            deadline = time.monotonic() + 10
            while len(mistral.streams_started) == started and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(0.02)  # a few pieces on their way
            mistral.enqueue_scenario(Scenario(text="return a + b"))
            editor.type("#")
            superseded_at = time.monotonic()
            newer = editor.send_complete()
            server.wait_response(slow)
            server.wait_response(newer)
            deadline = time.monotonic() + 5
            while not mistral.disconnects and time.monotonic() < deadline:
                time.sleep(0.001)
            if mistral.disconnects:
                closes.append(mistral.disconnects[0] - superseded_at)
    print("superseded request:")
    if closes:
        print(
            f"  cancel to upstream closed  p50 {ms(statistics.median(closes))}"
            f"   max {ms(max(closes))}   ({len(closes)}/{runs} seen closed)"
        )
    return closes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--cancel-runs", type=int, default=15)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as temporary,
        FakeMistral() as mistral,
        FakeAnthropic() as anthropic,
    ):
        workdir = Path(temporary)
        fim_body = {
            "model": "codestral-2508",
            "prompt": PREFIX,
            "suffix": SUFFIX,
            "stream": True,
            "max_tokens": 128,
        }
        chat_body = {
            "model": "claude-haiku-5-5",
            "max_tokens": 128,
            "stream": True,
            "messages": [{"role": "user", "content": PREFIX}],
        }

        def fim_direct(client: httpx.Client) -> float:
            headers = {"authorization": f"Bearer {mistral.api_key}"}
            return upstream_first_bytes(
                client, f"{mistral.url}/v1/fim/completions", headers, fim_body
            )

        def chat_direct(client: httpx.Client) -> float:
            headers = {"x-api-key": anthropic.api_key, "anthropic-version": "2023-06-01"}
            return upstream_first_bytes(client, f"{anthropic.url}/v1/messages", headers, chat_body)

        fim = run_route(
            "FIM (mistral/codestral-2508)",
            "mistral/codestral-2508",
            args.runs,
            mistral,
            anthropic,
            fim_direct,
            mistral.enqueue_scenario,
            workdir,
        )
        chat = run_route(
            "chat fallback (anthropic/claude-haiku-5-5)",
            "anthropic/claude-haiku-5-5",
            args.runs,
            mistral,
            anthropic,
            chat_direct,
            anthropic.enqueue_scenario,
            workdir,
        )
        closes = run_cancel(args.cancel_runs, mistral, anthropic, workdir)
    print("targets:")
    added = f"FIM {ms(fim['added_p50'])}, chat {ms(chat['added_p50'])}"
    print(f"  added p50 <= {TARGETS['added_p50_ms']:g} ms: {added}")
    hit = ms(max(fim["hit_p50"], chat["hit_p50"]))
    print(f"  cache hit <= {TARGETS['cache_hit_ms']:g} ms: {hit}")
    if closes:
        print(f"  upstream closed <= {TARGETS['cancel_to_close_ms']:g} ms: {ms(max(closes))} (max)")


if __name__ == "__main__":
    main()
