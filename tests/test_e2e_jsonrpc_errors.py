"""Malformed framing and bad JSON-RPC, written as raw bytes to the real server's stdin.

Each case once left the server alive but deaf, or dropped a request without
an answer. Now every request gets a JSON-RPC answer, framing damage is
repaired (with a line on stderr), and the server answers afterwards.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from tests.lsp_harness import server_env
from tests.raw_client import RawServer, frame, raw_server

USAGE = {"jsonrpc": "2.0", "method": "switchboard/usage", "params": {}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    with raw_server(tmp_path_factory.mktemp("jsonrpc-errors")) as started:
        yield started


def usage_body(request_id: int | str) -> bytes:
    return json.dumps({**USAGE, "id": request_id}).encode()


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert "error" in answer, answer
    error: dict[str, Any] = answer["error"]
    return error


# ---- framing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("lower-case header name", b"content-length: %d\r\n\r\n"),
        ("upper-case header name", b"CONTENT-LENGTH: %d\r\n\r\n"),
        ("no space after the colon", b"Content-Length:%d\r\n\r\n"),
        ("LF-only line endings", b"Content-Length: %d\n\n"),
        ("a Content-Type first", b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"),
    ],
)
def test_lenient_headers_are_understood(server: RawServer, name: str, header: bytes) -> None:
    body = usage_body(name)
    server.write(header % len(body) + body)
    assert "result" in server.answer_to(name)


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("Content-Length abc", b"Content-Length: abc\r\n\r\n"),
        ("Content-Length -5", b"Content-Length: -5\r\n\r\n"),
        ("no Content-Length", b"Content-Type: application/json\r\n\r\n"),
        ("an absurd Content-Length", b"Content-Length: 99999999999999999999\r\n\r\n"),
    ],
)
def test_a_request_without_a_usable_length_is_still_answered(
    server: RawServer, name: str, header: bytes
) -> None:
    server.write(header + usage_body(name) + frame(usage_body(f"{name}, next")))
    assert "result" in server.answer_to(name)
    assert "result" in server.answer_to(f"{name}, next")
    assert "Content-Length" in server.stderr_text()


def test_a_content_length_too_large_ends_at_the_next_header(server: RawServer) -> None:
    body = usage_body("too large")
    server.write(b"Content-Length: %d\r\n\r\n" % (len(body) + 200) + body)
    server.write(frame(usage_body("after too large")))
    assert "result" in server.answer_to("too large")
    assert "result" in server.answer_to("after too large")


def test_a_content_length_too_large_with_nothing_after_is_answered(server: RawServer) -> None:
    body = usage_body("too large, alone")
    server.write(b"Content-Length: %d\r\n\r\n" % (len(body) + 200) + body)
    assert "result" in server.answer_to("too large, alone")
    assert server.still_answers()


def test_a_content_length_too_small_gets_a_parse_error_then_the_server_goes_on(
    server: RawServer,
) -> None:
    body = usage_body("too small")
    server.write(b"Content-Length: %d\r\n\r\n" % (len(body) - 10) + body)
    server.write(frame(usage_body("after too small")))
    answer = server.next_answer()
    assert answer["id"] is None and error_of(answer)["code"] == -32700
    assert "result" in server.answer_to("after too small")


def test_garbage_between_messages_is_skipped(server: RawServer) -> None:
    server.write(b"hello there\r\n\x00\xff{]]\r\n" + frame(usage_body("after garbage")))
    assert "result" in server.answer_to("after garbage")
    assert "not a header" in server.stderr_text()


def test_a_64_mib_header_line_is_an_error_not_an_exit(server: RawServer) -> None:
    server.write(b"X-Padding: " + b"x" * (64 * 1024 * 1024) + b"\r\n")
    server.write(frame(usage_body("after a huge header")))
    assert "result" in server.answer_to("after a huge header")
    assert server.process.poll() is None
    assert "header line longer than" in server.stderr_text()


# ---- JSON-RPC envelopes --------------------------------------------------------------


def test_a_body_that_is_not_json_gets_a_parse_error_with_id_null(server: RawServer) -> None:
    server.write(frame(b'{"jsonrpc": "2.0", "id": 1, "method": '))
    answer = server.next_answer()
    assert answer["id"] is None and error_of(answer)["code"] == -32700
    server.write(frame(b"\xff\xfe not even text"))
    assert error_of(server.next_answer())["code"] == -32700
    assert server.still_answers()


@pytest.mark.parametrize(
    ("body", "answer_id"),
    [
        (b"[]", None),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "switchboard/usage"}]', None),
        (b'"a string"', None),
        (b"42", None),
        (b"null", None),
        (b'{"jsonrpc": "2.0", "id": "no method"}', "no method"),
        (b'{"jsonrpc": "2.0", "id": 1.5, "method": "switchboard/usage"}', None),
        (b'{"jsonrpc": "2.0", "id": true, "method": "switchboard/usage"}', None),
        (b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "switchboard/usage"}', None),
        (b'{"jsonrpc": "1.0", "id": "old", "method": "switchboard/usage"}', "old"),
        (b'{"id": "unversioned", "method": "switchboard/usage"}', "unversioned"),
        (b'{"jsonrpc": "2.0", "id": "method 5", "method": 5}', "method 5"),
    ],
)
def test_a_body_that_is_not_a_request_gets_invalid_request(
    server: RawServer, body: bytes, answer_id: Any
) -> None:
    server.write(frame(body))
    answer = server.next_answer()
    assert answer["id"] == answer_id
    assert error_of(answer)["code"] == -32600
    assert server.still_answers()


def test_an_unknown_method_is_method_not_found(server: RawServer) -> None:
    answer = server.answer_to(server.request("switchboard/noSuchMethod", {}))
    assert error_of(answer)["code"] == -32601
    assert "switchboard/noSuchMethod" in error_of(answer)["message"]
    for unregistered in ("textDocument/hover", "textDocument/definition", "$/noSuchRequest"):
        assert error_of(server.answer_to(server.request(unregistered, {})))["code"] == -32601


def test_unknown_notifications_get_no_answer(server: RawServer) -> None:
    server.notify("$/someExtension", {"x": 1})
    server.notify("switchboard/noSuchNotification", {})
    ping = server.request("switchboard/usage", {})
    assert server.next_answer()["id"] == ping  # nothing was sent back for the notifications


# ---- params of the standard methods ----------------------------------------------------


def code_action_params(**changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "textDocument": {"uri": "file:///tmp/x.py"},
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
        "context": {"diagnostics": []},
    }
    params.update(changes)
    return params


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        (
            "textDocument/codeAction",
            code_action_params(range={"start": {"line": "x", "character": 0}}),
            "range.start.line",
        ),
        ("textDocument/codeAction", code_action_params(context=[]), "context.diagnostics"),
        ("textDocument/codeAction", {"textDocument": {"uri": "file:///x"}}, "range"),
        ("workspace/executeCommand", {"command": ["switchboard.signIn"]}, "command"),
        ("workspace/executeCommand", {"command": "switchboard.nope"}, "command"),
        ("workspace/executeCommand", {}, "command"),
        ("initialize", {"capabilities": 3}, "capabilities"),
        ("switchboard/countTokens", {"model": 5, "text": "x"}, "model"),
    ],
)
def test_ill_typed_params_get_invalid_params_naming_the_field(
    server: RawServer, method: str, params: Any, field: str
) -> None:
    error = error_of(server.answer_to(server.request(method, params)))
    assert error["code"] == -32602, error
    assert error["data"]["field"] == field, error
    assert field.rsplit(".", 1)[-1] in error["message"]


@pytest.mark.parametrize("params", [5, "text", True])
def test_params_that_are_not_structured_get_invalid_params(server: RawServer, params: Any) -> None:
    error = error_of(server.answer_to(server.request("textDocument/codeAction", params)))
    assert error["code"] == -32602 and error["data"]["field"] == "params"


def test_a_notification_sent_with_an_id_gets_invalid_request(server: RawServer) -> None:
    document = {"uri": "file:///x", "languageId": "python", "version": 1, "text": ""}
    request = server.request("textDocument/didOpen", {"textDocument": document})
    assert error_of(server.answer_to(request))["code"] == -32600


def test_an_ill_typed_notification_is_dropped_and_the_server_goes_on(server: RawServer) -> None:
    server.notify("textDocument/didOpen", {"textDocument": {"uri": 5, "version": "one"}})
    server.notify("textDocument/didChange", [1, 2, 3])
    assert server.still_answers()


def test_tcp_mode_reads_with_the_same_framing(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard.server", "serve", "--tcp", f"127.0.0.1:{port}"],
        env=server_env(tmp_path / "data"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        connection = connect(port)
        with connection, connection.makefile("rb") as answers:
            initialize = (
                b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
            )
            connection.sendall(b"content-length:%d\n\n%s" % (len(initialize), initialize))
            connection.sendall(frame(b"not json") + frame(usage_body("over tcp")))
            received = [read_message(answers) for _ in range(3)]
        assert [message["id"] for message in received] == [1, None, "over tcp"]
        assert error_of(received[1])["code"] == -32700
    finally:
        process.kill()
        process.wait(10)


def connect(port: int) -> socket.socket:
    for _ in range(400):  # until the server listens (a hang guard, not a timing check)
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=60)
        except ConnectionRefusedError:
            time.sleep(0.05)
    raise AssertionError("the TCP server never listened")


def read_message(stream: BinaryIO) -> dict[str, Any]:
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def test_stdin_and_stdout_that_are_files_work_too(tmp_path: Path) -> None:
    """Not pipes: stdin is read on a thread, stdout written directly, same framing."""
    requests = tmp_path / "in.bin"
    initialize = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
    requests.write_bytes(frame(initialize) + b"Content-Length: abc\n\n" + usage_body("from a file"))
    answers = tmp_path / "out.bin"
    with requests.open("rb") as stdin, answers.open("wb") as stdout:
        subprocess.run(
            [sys.executable, "-m", "switchboard.server", "serve"],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            env=server_env(tmp_path / "data"),
            timeout=60,
            check=False,
        )
    with answers.open("rb") as written:
        received = [read_message(written) for _ in range(2)]
    assert [message["id"] for message in received] == [1, "from a file"]
    assert "result" in received[1]
