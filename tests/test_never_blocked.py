"""A huge input is counted off the event loop: a cheap request sent after it is answered first.

Ordering, not timing: before, counting 10 MB of one letter held the event
loop for 20 s, and the cheap request's answer came after the count's. The
latency figure is in bench/responsive.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.raw_client import RawServer, raw_server

HUGE = "a" * 10_000_000
MODEL = "openai/gpt-4o"


def answered_in_order(server: RawServer, big: int) -> list[Any]:
    ping = server.request("switchboard/usage", {})
    first, second = server.next_answer(), server.next_answer()
    assert [first["id"], second["id"]] == [ping, big], "the cheap request waited for the count"
    assert "result" in first
    return [first, second]


@pytest.fixture
def server(tmp_path: Path) -> Any:
    with raw_server(tmp_path) as started:
        yield started


def test_counting_ten_megabytes_of_text_does_not_hold_up_a_ping(server: RawServer) -> None:
    big = server.request("switchboard/countTokens", {"model": MODEL, "text": HUGE})
    _, counted = answered_in_order(server, big)
    result = counted["result"]
    assert result["inputTokens"] > 1_000_000
    assert result["exact"] is False and result["method"] == "estimate:o200k_base"


def test_counting_ten_megabytes_of_messages_does_not_hold_up_a_ping(server: RawServer) -> None:
    messages = [{"role": "user", "content": HUGE}]
    big = server.request("switchboard/countTokens", {"model": MODEL, "messages": messages})
    _, counted = answered_in_order(server, big)
    assert counted["result"]["inputTokens"] > 1_000_000
    assert counted["result"]["exact"] is False


def test_counting_a_ten_megabyte_document_does_not_hold_up_a_ping(server: RawServer) -> None:
    uri = "file:///tmp/huge.txt"
    document = {"uri": uri, "languageId": "plaintext", "version": 1, "text": HUGE}
    server.notify("textDocument/didOpen", {"textDocument": document})
    big = server.request("switchboard/countTokens", {"model": MODEL, "textDocument": {"uri": uri}})
    _, counted = answered_in_order(server, big)
    assert counted["result"]["inputTokens"] > 1_000_000


def test_a_ten_megabyte_chat_gets_context_length_exceeded(tmp_path: Path) -> None:
    """Its input estimate is counted (off the event loop: see bench/responsive.py) and refused.

    No ordering check here: the chat awaits its journal entry before the estimate,
    so a ping sent after it is answered first whether or not the estimate blocks.
    """
    config = '[providers.openai]\nbase_url = "http://127.0.0.1:9/v1"\n'
    with raw_server(tmp_path, config, {"OPENAI_API_KEY": "sk-never-sent"}) as server:
        messages = [{"role": "user", "content": HUGE}]
        refused = server.answer_to(
            server.request("switchboard/chat", {"model": MODEL, "messages": messages})
        )
        assert refused["error"]["data"]["code"] == "contextLengthExceeded"
        assert server.still_answers()
