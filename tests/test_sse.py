"""SSEDecoder: WHATWG event-stream framing, fed in chunks of any size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from switchboard.providers.wire.sse import SSEDecoder, SSEEvent

from tests.corpus import WIRE, body_bytes, random_chunks


def decode(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.close()


def byte_by_byte(data: bytes) -> list[SSEEvent]:
    return decode(*(data[i : i + 1] for i in range(len(data))))


def test_lf_framing_gives_one_event_per_blank_line() -> None:
    events = decode(b"data: one\n\ndata: two\n\n")
    assert events == [SSEEvent("message", "one"), SSEEvent("message", "two")]


def test_crlf_framing() -> None:
    events = decode(b"event: ping\r\ndata: one\r\n\r\ndata: two\r\n\r\n")
    assert events == [SSEEvent("ping", "one"), SSEEvent("message", "two")]


def test_lone_cr_framing() -> None:
    events = decode(b"data: one\r\rdata: two\r\r")
    assert events == [SSEEvent("message", "one"), SSEEvent("message", "two")]


def test_crlf_split_across_feeds_counts_once() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: one\r") == []
    # The LF completing the CRLF must not be read as a second (blank) line.
    assert decoder.feed(b"\ndata: more\r") == []
    assert decoder.feed(b"\n\r") == [SSEEvent("message", "one\nmore")]
    assert decoder.feed(b"\n") == []
    assert decoder.close() == []


def test_two_crs_split_across_feeds_are_two_line_ends() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\rdata: y\n\n") == [SSEEvent("message", "x"), SSEEvent("message", "y")]


def test_feeding_empty_chunks_changes_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n\n") == [SSEEvent("message", "a")]


def test_comment_lines_are_dropped() -> None:
    body = b": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: {}\n\n"
    assert decode(body) == [SSEEvent("message", "{}")]


def test_comment_between_data_lines_does_not_end_the_event() -> None:
    assert decode(b"data: a\n: keep-alive\ndata: b\n\n") == [SSEEvent("message", "a\nb")]


def test_event_name_applies_to_one_event_only() -> None:
    body = b"event: content_block_delta\ndata: 1\n\ndata: 2\n\n"
    assert decode(body) == [SSEEvent("content_block_delta", "1"), SSEEvent("message", "2")]


def test_event_name_without_data_is_discarded() -> None:
    assert decode(b"event: lonely\n\ndata: x\n\n") == [SSEEvent("message", "x")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert decode(b'data: {\ndata:   "a": 1\ndata: }\n\n') == [
        SSEEvent("message", '{\n  "a": 1\n}')
    ]


def test_only_one_leading_space_is_stripped_and_trailing_spaces_kept() -> None:
    events = decode(b"data:  two spaces  \n\ndata:none \n\nevent:  name \ndata: x\n\n")
    assert [(e.event, e.data) for e in events] == [
        ("message", " two spaces  "),
        ("message", "none "),
        (" name ", "x"),
    ]


def test_data_without_colon_is_an_empty_data_line() -> None:
    assert decode(b"data\n\n") == [SSEEvent("message", "")]
    assert decode(b"data\ndata\n\n") == [SSEEvent("message", "\n")]


def test_empty_data_lines_are_kept() -> None:
    assert decode(b"data:\n\n") == [SSEEvent("message", "")]
    assert decode(b"data: a\ndata:\ndata: b\n\n") == [SSEEvent("message", "a\n\nb")]


def test_value_may_contain_colons() -> None:
    assert decode(b'data: {"url": "http://x"}\n\n') == [SSEEvent("message", '{"url": "http://x"}')]


def test_unknown_fields_and_wrong_case_are_ignored() -> None:
    assert decode(b"retry: 100\nData: nope\nfoo: bar\ndata: yes\n\n") == [
        SSEEvent("message", "yes")
    ]


def test_bom_at_start_is_skipped() -> None:
    assert decode(b"\xef\xbb\xbfdata: x\n\n") == [SSEEvent("message", "x")]
    assert decode(b"\xef\xbb", b"\xbfevent: e\ndata: y\n\n") == [SSEEvent("e", "y")]


def test_bom_later_in_the_stream_is_not_skipped() -> None:
    # Only the stream's first bytes may be a BOM; later it makes the field name unknown.
    assert decode(b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n") == [
        SSEEvent("message", "a"),
        SSEEvent("message", "c"),
    ]


def test_close_yields_an_event_without_final_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: first\n\nevent: last\ndata: tail\n") == [
        SSEEvent("message", "first")
    ]
    assert decoder.close() == [SSEEvent("last", "tail")]


def test_close_yields_an_event_whose_last_line_has_no_newline() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\ndata: b") == []
    assert decoder.close() == [SSEEvent("message", "a\nb")]


def test_close_with_nothing_pending_yields_nothing() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n: trailing comment")
    assert decoder.close() == []


def test_id_field_is_kept_and_carries_to_later_events() -> None:
    events = decode(b"id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n")
    assert [(e.data, e.id) for e in events] == [("a", "7"), ("b", "7"), ("c", "8")]


def test_id_containing_nul_is_ignored() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: x\x00y\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


def test_no_id_means_none() -> None:
    assert decode(b"data: a\n\n")[0].id is None


MULTIBYTE = (
    "data: h\u00e9llo \u4e16\u754c \U0001f600\n\nevent: \u00fcber\ndata: \u2028x\n\n".encode()
)


def test_multibyte_utf8_is_decoded() -> None:
    assert decode(MULTIBYTE) == [
        SSEEvent("message", "h\u00e9llo \u4e16\u754c \U0001f600"),
        SSEEvent("\u00fcber", "\u2028x"),
    ]


@pytest.mark.parametrize("cut", range(len(MULTIBYTE) + 1))
def test_any_single_chunk_boundary_gives_the_same_events(cut: int) -> None:
    assert decode(MULTIBYTE[:cut], MULTIBYTE[cut:]) == decode(MULTIBYTE)


def test_byte_by_byte_equals_whole_for_every_line_ending() -> None:
    for ending in (b"\n", b"\r\n", b"\r"):
        body = MULTIBYTE.replace(b"\n", ending)
        assert byte_by_byte(body) == decode(body) == decode(MULTIBYTE)


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: a\xffb\n\n") == [SSEEvent("message", "a\ufffdb")]


# ---- the recorded corpus -------------------------------------------------------------

NO_CORPUS = f"wire corpus not found at {WIRE} (it lives in ../shared beside the repo)"


def corpus_bodies() -> list[object]:
    if not WIRE.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS))]
    sse = sorted(WIRE.glob("*/*.sse"))
    gzipped = sorted(p for p in WIRE.glob("*/*.bin") if p.read_bytes()[:2] == b"\x1f\x8b")
    files = sse + gzipped
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no .sse files under {WIRE}"))]
    return [pytest.param(path, id=f"{path.parent.name}/{path.name}") for path in files]


@pytest.mark.parametrize("path", corpus_bodies())
def test_corpus_chunking_never_changes_the_events(path: Path) -> None:
    data = body_bytes(path)
    whole = decode(data)
    assert whole, f"{path.name} decoded to no events"
    for seed in range(5):
        assert decode(*random_chunks(data, seed)) == whole, f"seed {seed}"
    assert byte_by_byte(data) == whole


@pytest.mark.parametrize("path", corpus_bodies())
def test_corpus_events_carry_whole_json_payloads(path: Path) -> None:
    # Real providers send one JSON document per event (OpenAI ends with [DONE]):
    # a framing mistake would cut or glue documents.
    for event in decode(body_bytes(path)):
        if event.data != "[DONE]":
            json.loads(event.data)
        assert "\r" not in event.data
        assert not event.event.startswith(" ")


def test_gzip_corpus_body_is_inflated_to_sse() -> None:
    path = WIRE / "anthropic" / "stream-gzip-content-encoding.bin"
    if not path.exists():
        pytest.skip(f"{path} not found (the corpus lives in ../shared beside the repo)")
    events = decode(body_bytes(path))
    assert events[0].event == "message_start"
    assert events[-1].event == "message_stop"
