"""The frame parser on its own: bodies out of bytes, however they are cut and however broken."""

from __future__ import annotations

import json
import random

import pytest
from switchboard.server.framing import FrameParser, Problem


def body(request_id: int | str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "m", "params": {}}).encode()


def frame(data: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(data), data)


def bodies(frames: list[bytes | Problem]) -> list[bytes]:
    return [item for item in frames if isinstance(item, bytes)]


def problems(frames: list[bytes | Problem]) -> list[str]:
    return [item.text for item in frames if isinstance(item, Problem)]


def feed_in_pieces(data: bytes, seed: int) -> list[bytes | Problem]:
    parser, rng, found = FrameParser(), random.Random(seed), []
    position = 0
    while position < len(data):
        step = rng.choice([1, 2, 3, 7, 50, 1000])
        found += parser.feed(data[position : position + step])
        position += step
    return found + parser.close()


def test_well_formed_messages_come_out_whole_however_the_bytes_are_cut() -> None:
    stream = b"".join(frame(body(n)) for n in range(20))
    for seed in range(10):
        found = feed_in_pieces(stream, seed)
        assert bodies(found) == [body(n) for n in range(20)]
        assert problems(found) == []


@pytest.mark.parametrize(
    "header",
    [
        b"content-length: %d\r\n\r\n",
        b"Content-Length:%d\r\n\r\n",
        b"Content-Length:   %d  \r\n\r\n",
        b"Content-Length: %d\n\n",
        b"Content-Length: %d\r\n\n",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n",
        b"\r\n\r\nContent-Length: %d\r\n\r\n",
    ],
)
def test_lenient_headers(header: bytes) -> None:
    data = body("x")
    found = FrameParser().feed(header % len(data) + data)
    assert found == [data]


@pytest.mark.parametrize(
    "header",
    [
        b"Content-Length: abc\r\n\r\n",
        b"Content-Length: -5\r\n\r\n",
        b"Content-Length: \r\n\r\n",
        b"Content-Length: 99999999999999999999\r\n\r\n",
        b"Content-Type: application/json\r\n\r\n",
    ],
)
def test_without_a_usable_length_the_body_is_the_json_value_it_starts_with(header: bytes) -> None:
    stream = header + body(1) + frame(body(2))
    for seed in range(5):
        found = feed_in_pieces(stream, seed)
        assert bodies(found) == [body(1), body(2)]
        assert len(problems(found)) == 1


def test_a_length_too_large_ends_at_the_next_header() -> None:
    stream = b"Content-Length: %d\r\n\r\n" % (len(body(1)) + 500) + body(1) + frame(body(2))
    found = FrameParser().feed(stream)
    assert bodies(found) == [body(1), body(2)]
    assert "more than the body" in problems(found)[0]


def test_a_length_too_large_with_nothing_after_waits_for_idle() -> None:
    parser = FrameParser()
    assert parser.feed(b"Content-Length: 900\r\n\r\n" + body(1)) == []
    assert parser.waiting_for_body
    assert bodies(parser.idle()) == [body(1)]
    assert parser.feed(frame(body(2))) == [body(2)]


def test_a_slow_body_is_not_cut_short_by_idle() -> None:
    parser = FrameParser()
    data = body(1)
    assert parser.feed(frame(data)[:-5]) == []
    assert parser.idle() == []  # not yet JSON: keep waiting
    assert parser.feed(data[-5:]) == [data]


def test_a_header_inside_a_body_does_not_end_it() -> None:
    inner = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "m", "params": {"text": "}\r\n"}})
    tricky = inner.replace("}\\r\\n", "}\\r\\nContent-Length: 3\\r\\n").encode()
    parser = FrameParser()
    assert parser.feed(frame(tricky)[:-1]) == []
    assert parser.feed(frame(tricky)[-1:]) == [tricky]


def test_a_length_too_small_hands_on_the_truncated_body_and_resumes_at_the_next_header() -> None:
    stream = b"Content-Length: %d\r\n\r\n" % (len(body(1)) - 7) + body(1) + frame(body(2))
    found = FrameParser().feed(stream)
    assert bodies(found) == [body(1)[:-7], body(2)]
    assert len(problems(found)) == 1 and problems(found)[0].startswith("not a header")


def test_garbage_is_skipped_to_the_next_header() -> None:
    found = FrameParser().feed(b"\x00\xffgarbage: {]\r\nnot a header\r\n" + frame(body(1)))
    assert bodies(found) == [body(1)]
    assert problems(found)


def test_an_over_long_header_line_is_skipped_with_bounded_memory() -> None:
    parser = FrameParser(max_header_line=100)
    found = parser.feed(b"X-Long: ")
    for _ in range(1000):
        found += parser.feed(b"x" * 10_000)
        assert len(parser._buffer) < 20_000
    found += parser.feed(b"\r\n" + frame(body(1)))
    assert bodies(found) == [body(1)]
    assert problems(found) == ["a header line longer than 100 bytes: skipped"]


def test_a_body_that_is_not_json_without_a_length_is_handed_on_at_the_next_header() -> None:
    found = FrameParser().feed(b"Content-Length: x\r\n\r\nnot json at all" + frame(body(1)))
    assert bodies(found) == [b"not json at all", body(1)]


def test_the_end_of_the_stream_inside_a_message_is_reported() -> None:
    parser = FrameParser()
    parser.feed(b"Content-Length: 50\r\n\r\n{")
    assert problems(parser.close()) == ["the input ended inside a message (1 bytes)"]


def test_utf8_bodies_are_cut_by_bytes() -> None:
    data = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "m", "params": "é😀"}, ensure_ascii=False
    )
    encoded = data.encode()
    assert FrameParser().feed(frame(encoded) + frame(body(2))) == [encoded, body(2)]
    unframed = FrameParser().feed(b"Content-Length: ?\r\n\r\n" + encoded + frame(body(2)))
    assert bodies(unframed) == [encoded, body(2)]


def test_random_bytes_never_break_the_parser() -> None:
    rng = random.Random(11)
    for trial in range(200):
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        parser = FrameParser(max_header_line=64)
        parser.feed(noise)
        parser.idle()
        found = parser.feed(b"\r\n\r\n" + frame(body(trial)))
        found += parser.idle() + parser.feed(frame(body("after")))
        assert body("after") in bodies(found), noise


def test_a_message_stuck_behind_a_length_never_reached_is_freed_on_idle() -> None:
    parser = FrameParser()
    assert parser.feed(b"Content-Length: 100000\r\n\r\nnoise" + frame(body(1))) == []
    found = parser.idle()
    assert bodies(found) == [b"noise", body(1)]
    assert "never reached" in problems(found)[0]
    assert parser.feed(frame(body(2))) == [body(2)]


def test_a_bad_line_among_good_headers_is_ignored() -> None:
    data = body(1)
    found = FrameParser().feed(b"Content-Length: %d\r\nnot a header\r\n\r\n%s" % (len(data), data))
    assert bodies(found) == [data]
    assert problems(found) == ["not a header: 'not a header': ignored"]
