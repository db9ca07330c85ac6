"""A raw JSON-RPC client for the real server: bytes in on stdin, messages out of stdout.

For tests of framing and error answers, where a proper LSP client would refuse
to send what is being tested. Messages the server sends are read on a thread
and queued; `next_answer` waits for one with a deadline only so that a deaf
server fails the test instead of hanging it (no test asserts on time).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.lsp_harness import server_env, write_config

HANG_GUARD_S = 60.0


class ServerDeaf(AssertionError):
    pass


class RawServer:
    def __init__(
        self, tmp_path: Path, config_text: str = "", env_extra: dict[str, str] | None = None
    ) -> None:
        config = write_config(tmp_path / "config.toml", config_text)
        self.stderr_path = tmp_path / "server-stderr.txt"
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "switchboard.server", "--config", str(config), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=server_env(tmp_path / "data", env_extra),
        )
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next_id = 1000

    # ---- writing -----------------------------------------------------------

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.write(frame(json.dumps(message).encode()))

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def request(self, method: str, params: Any = None) -> int:
        """Sends a request (without params if they are None); its id."""
        message = {"jsonrpc": "2.0", "id": self.new_id(), "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self._next_id

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    # ---- reading -----------------------------------------------------------

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                length = None
                while True:
                    line = stdout.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                assert length is not None, "the server sent a message without Content-Length"
                self._messages.put(json.loads(stdout.read(length)))
        finally:
            self._messages.put(None)

    def next_message(self) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=HANG_GUARD_S)
        except queue.Empty:
            raise ServerDeaf(f"nothing from the server in {HANG_GUARD_S:.0f} s") from None
        if message is None:
            self._messages.put(None)
            raise ServerDeaf(f"the server closed stdout (exit code {self.process.poll()})")
        if "method" in message and "id" in message:  # a request from the server
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
        return message

    def next_answer(self) -> dict[str, Any]:
        """The next response (result or error), skipping notifications and server requests."""
        while True:
            message = self.next_message()
            if "method" not in message:
                return message

    def answer_to(self, request_id: int | str) -> dict[str, Any]:
        while True:
            message = self.next_answer()
            if message.get("id") == request_id:
                return message

    def initialize(self) -> dict[str, Any]:
        answer = self.answer_to(self.request("initialize", {"capabilities": {}}))
        self.notify("initialized", {})
        return answer

    def still_answers(self) -> bool:
        """A cheap request gets its result."""
        return "result" in self.answer_to(self.request("switchboard/usage", {}))

    def stderr_text(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def close(self) -> None:
        try:
            if self.process.poll() is None and self.process.stdin is not None:
                self.process.stdin.close()
                self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self._stderr.close()


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


@contextmanager
def raw_server(
    tmp_path: Path, config_text: str = "", env_extra: dict[str, str] | None = None
) -> Iterator[RawServer]:
    server = RawServer(tmp_path, config_text, env_extra)
    try:
        server.initialize()
        yield server
    finally:
        server.close()
