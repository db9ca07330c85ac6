"""EventStreamFramer: AWS eventstream framing through botocore, fed in chunks of any size."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.chat import ErrorEvent, StopEvent
from switchboard.providers.adapters.bedrock import BedrockAdapter
from switchboard.providers.wire.eventstream import CorruptStream, EventMessage, EventStreamFramer

from tests.corpus import WIRE, random_chunks, wire_files
from tests.fakes.bedrock import encode_frame, event_frame

VECTORS = WIRE / "bedrock" / "eventstream-vectors"
STREAMS = [p for p in wire_files("bedrock", (".bin",)) if p.name.startswith("converse-stream-")]
SEEDS = (1, 2, 3, 7, 42)


def frame_all(*chunks: bytes) -> list[Any]:
    framer = EventStreamFramer()
    items: list[Any] = []
    for chunk in chunks:
        items += framer.feed(chunk)
    return items + framer.close()


def expected_vectors() -> dict[str, Any]:
    if not VECTORS.is_dir():
        pytest.skip(f"eventstream vectors not found at {VECTORS}")
    expected: dict[str, Any] = json.loads((VECTORS / "expected.json").read_text())
    return expected


def vector_params(valid: bool) -> list[Any]:
    if not VECTORS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="no eventstream vectors"))]
    expected = json.loads((VECTORS / "expected.json").read_text())
    return [
        pytest.param(name, id=name)
        for name, spec in expected.items()
        if spec.get("valid") is valid and (VECTORS / name).is_file()
    ]


def plain_header(value: Any) -> Any:
    """expected.json writes bytes (byte arrays, UUIDs) as {"bytes_b64": ...}."""
    if isinstance(value, bytes):
        return {"bytes_b64": base64.b64encode(value).decode()}
    return value


@pytest.mark.parametrize("name", vector_params(valid=True))
def test_valid_vectors_match_the_expected_headers_and_payload(name: str) -> None:
    spec = expected_vectors()[name]
    data = (VECTORS / name).read_bytes()
    assert len(data) == spec["total_length"]
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        items = frame_all(*chunks)
        assert len(items) == 1
        message = items[0]
        assert isinstance(message, EventMessage)
        assert {k: plain_header(v) for k, v in message.headers.items()} == spec["headers"]
        assert message.payload == base64.b64decode(spec["payload_b64"])


@pytest.mark.parametrize("name", vector_params(valid=False))
def test_invalid_vectors_give_one_corrupt_item_and_never_raise(name: str) -> None:
    spec = expected_vectors()[name]
    data = (VECTORS / name).read_bytes()
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        items = frame_all(*chunks)
        assert len(items) == 1, items
        assert isinstance(items[0], CorruptStream)
        assert spec["expect_error"] in items[0].error


def test_oversized_payload_length_is_reported_from_the_prelude_alone() -> None:
    spec = expected_vectors()["invalid_payload_length"]
    prelude = bytes.fromhex(spec["prelude_hex"])
    items = frame_all(prelude, b"\0" * 64)
    assert len(items) == 1 and isinstance(items[0], CorruptStream)
    assert spec["expect_error"] in items[0].error


def test_nothing_is_parsed_after_a_corrupt_frame() -> None:
    good = event_frame("messageStart", {"role": "assistant"})
    bad = bytearray(event_frame("contentBlockDelta", {"delta": {"text": "x"}}))
    bad[-1] ^= 0xFF
    framer = EventStreamFramer()
    items = framer.feed(good + bytes(bad) + good)
    assert [type(item) for item in items] == [EventMessage, CorruptStream]
    assert framer.feed(good) == []
    assert framer.close() == []


def test_close_inside_a_frame_reports_the_truncation() -> None:
    frame = event_frame("messageStart", {"role": "assistant"})
    framer = EventStreamFramer()
    assert framer.feed(frame + frame[:10]) == [EventMessage(*_parts(frame))]
    items = framer.close()
    assert len(items) == 1 and isinstance(items[0], CorruptStream)
    assert "10 bytes" in items[0].error


def test_close_after_whole_frames_adds_nothing() -> None:
    frame = event_frame("messageStop", {"stopReason": "end_turn"})
    framer = EventStreamFramer()
    assert len(framer.feed(frame)) == 1
    assert framer.close() == []
    assert EventStreamFramer().close() == []


def test_a_corrupt_frame_becomes_a_network_error_and_a_stop() -> None:
    adapter = BedrockAdapter()
    from tests.test_bedrock_adapter import target

    decoder = adapter.decoder(target())
    bad = bytearray(event_frame("messageStart", {"role": "assistant"}))
    bad[5] ^= 0x01
    events = [e for item in frame_all(bytes(bad)) for e in decoder.feed(item)] + decoder.close()
    assert isinstance(events[0], ErrorEvent) and events[0].code == "network"
    assert "ChecksumMismatch" in events[0].message
    assert events[-1] == StopEvent(reason="error")
    assert len(events) == 2


def test_random_bytes_never_raise() -> None:
    rng = random.Random(5)
    valid = event_frame("messageStart", {"role": "assistant"})
    for _ in range(300):
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
        data = valid + noise if rng.random() < 0.5 else noise
        items = frame_all(*random_chunks(data, rng.randrange(1000)))
        assert sum(isinstance(item, CorruptStream) for item in items) <= 1


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.name)
def test_recorded_streams_frame_the_same_at_random_boundaries(path: Path) -> None:
    data = path.read_bytes()
    whole = frame_all(data)
    assert whole and all(isinstance(item, EventMessage) for item in whole)
    assert whole[0].headers[":event-type"] == "messageStart"
    assert {item.message_type for item in whole} == {"event"}
    for seed in SEEDS:
        assert frame_all(*random_chunks(data, seed)) == whole
        assert frame_all(*random_chunks(data, seed, 50, 400)) == whole


@pytest.mark.parametrize(
    "name",
    ["converse-stream-text-then-tooluse.bin", "converse-stream-gptoss-empty-text-delta.bin"],
)
def test_recorded_streams_frame_the_same_split_at_every_byte(name: str) -> None:
    path = WIRE / "bedrock" / name
    if not path.is_file():
        pytest.skip(f"{path} not found")
    data = path.read_bytes()
    whole = frame_all(data)
    for cut in range(1, len(data)):
        assert frame_all(data[:cut], data[cut:]) == whole, cut
    assert frame_all(*(data[i : i + 1] for i in range(len(data)))) == whole


def test_frames_written_by_the_fake_round_trip() -> None:
    headers = {":event-type": "metadata", ":message-type": "event", "x-ünï": "välue"}
    payload = json.dumps({"usage": {"inputTokens": 1}}).encode()
    assert frame_all(encode_frame(headers, payload)) == [EventMessage(headers, payload)]


def _parts(frame: bytes) -> tuple[dict[str, Any], bytes]:
    (message,) = EventStreamFramer().feed(frame)
    assert isinstance(message, EventMessage)
    return message.headers, message.payload
