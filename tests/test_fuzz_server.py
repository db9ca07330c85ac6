"""Fuzzing the real server over stdio: random params to every method, random bytes into the framing.

Every request gets a JSON-RPC result or error, and the server answers afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from tests.raw_client import RawServer, frame, raw_server

#: These end the server; they are tested elsewhere.
ENDING = {lsp.SHUTDOWN, lsp.EXIT}
FIELD_NAMES = [
    *["model", "text", "messages", "system", "role", "content", "textDocument", "uri"],
    *["range", "start", "end", "line", "character", "command", "arguments", "provider"],
    *["flowId", "requestId", "capabilities", "context", "diagnostics", "settings", "limit"],
    *["id", "version", "languageId", "contentChanges", "type", "value", "token", "event"],
]


def served_methods() -> list[str]:
    from switchboard.server.app import CUSTOM_METHODS, create_server

    features = create_server().protocol.fm
    methods = {*CUSTOM_METHODS, *features.features, *features.builtin_features}
    return sorted(methods - ENDING | {lsp.CANCEL_REQUEST})


METHODS = served_methods()

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=16,
)
params_strategy = (
    st.none() | json_values | st.dictionaries(st.sampled_from(FIELD_NAMES), json_values)
)


def is_notification(method: str) -> bool:
    types = lsp.METHOD_TO_TYPES.get(method)
    return types is not None and types[1] is None  # no result type


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    with raw_server(tmp_path_factory.mktemp("fuzz")) as started:
        yield started
        assert started.process.poll() is None, started.stderr_text()[-2000:]


def assert_is_answer(answer: dict[str, Any]) -> None:
    assert answer.get("jsonrpc") == "2.0"
    if "error" in answer:
        error = answer["error"]
        assert isinstance(error["code"], int) and isinstance(error["message"], str), answer
    else:
        assert "result" in answer, answer


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(method=st.sampled_from(METHODS), params=params_strategy, omit=st.booleans())
def test_random_params_to_every_method_get_an_answer(
    server: RawServer, method: str, params: Any, omit: bool
) -> None:
    message = {"jsonrpc": "2.0", "method": method}
    if not (omit and params is None):
        message["params"] = params
    if is_notification(method):
        server.send(message)
    else:
        request_id = server.new_id()
        server.send({**message, "id": request_id})
        assert_is_answer(server.answer_to(request_id))
    assert server.still_answers()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(
    noise=st.binary(max_size=400)
    | st.lists(
        st.sampled_from(
            [
                b"Content-Length: ",
                b"content-length:",
                b"12",
                b"-5",
                b"abc",
                b"\r\n",
                b"\n",
                b"{",
                b"}",
                b'"jsonrpc": "2.0"',
                b'"id": 1',
                b":",
                b",",
                b"\x00",
                b"\xff",
                b"[",
                b"]",
            ]
        ),
        max_size=30,
    ).map(b"".join)
)
def test_random_bytes_into_the_framing_leave_the_server_answering(
    server: RawServer, noise: bytes
) -> None:
    server.write(noise)
    ping = server.request("switchboard/usage", {})
    while True:
        answer = server.next_answer()
        assert_is_answer(answer)
        if answer.get("id") == ping:
            assert "result" in answer
            break


def test_a_random_body_in_a_good_frame_is_answered_or_ignored(server: RawServer) -> None:
    """The shapes most likely to slip through: valid JSON that is almost a request."""
    for body in [
        {"jsonrpc": "2.0", "id": 1, "method": "switchboard/usage", "params": {}, "extra": [1]},
        {"jsonrpc": "2.0", "id": "x", "result": None},
        {"jsonrpc": "2.0", "id": 99, "error": {"code": 1, "message": "from the client"}},
        {"jsonrpc": "2.0", "id": 98, "error": "not an error object"},
        {"jsonrpc": "2.0", "method": "switchboard/usage", "params": {"jsonrpc": "2.0"}},
    ]:
        server.write(frame(json.dumps(body).encode()))
    assert server.still_answers()
