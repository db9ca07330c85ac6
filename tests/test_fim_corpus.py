"""Every recorded body in ../shared/corpus/fim goes through the decoder that would read it.

The test enumerates the folder, so a new file is covered with no code change,
and a file no decoder claims fails. The expected text, usage and finish
reason are read from the recorded JSON itself (the concatenated `text` or
`content` fields, the last usage object, the last finish reason) and
compared with what the decoder makes of the bytes, whole and cut at random
byte boundaries. Copilot's inline-completion stream, kept in the wire
corpus, is replayed the same way.

Ollama's native `/api/generate` bodies (ollama/) are not replayed:
Switchboard asks Ollama for fill-in-the-middle through its OpenAI-compatible
`/v1/completions` (the text-completion decoder below), never `/api/generate`,
so no decoder of the product reads NDJSON and one written only for these
files would test nothing that runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.chat import ChatEvent, StopEvent, TextEvent, UsageEvent
from switchboard.providers.adapters.copilot import CopilotAdapter
from switchboard.providers.adapters.fim_text import TextCompletionDecoder, decode_whole
from switchboard.providers.adapters.mistral import MistralAdapter
from switchboard.providers.base import ModelTarget
from switchboard.providers.catalog.models import Catalog
from switchboard.providers.wire.sse import SSEDecoder

from tests.corpus import SHARED, WIRE, random_chunks

FIM = SHARED / "corpus" / "fim"
NOT_BODIES = {"SOURCES.md", "SOURCES.tsv", "README.md"}
NOT_REPLAYED = {"ollama": "Switchboard calls Ollama's /v1/completions, never /api/generate"}
FINISH = {"stop": "endTurn", "length": "maxTokens", "content_filter": "contentFilter"}


def fim_files() -> list[Path]:
    if not FIM.is_dir():
        return []
    return sorted(
        path
        for path in FIM.rglob("*")
        if path.is_file()
        and path.name not in NOT_BODIES
        and not path.name.endswith((".meta.json", ".request.json"))
    )


FILES = fim_files()
requires_corpus = pytest.mark.skipif(
    not FILES, reason=f"FIM corpus not found at {FIM} (it lives in ../shared beside the repo)"
)


def _id(path: Path) -> str:
    return str(path.relative_to(FIM))


def mistral_target() -> ModelTarget:
    info = Catalog.load().resolve("mistral", "codestral-2508")
    return ModelTarget("mistral", "codestral-2508", info)


def decoder_for(path: Path) -> Any:
    folder = path.relative_to(FIM).parts[0]
    if folder == "openai-completions":
        return TextCompletionDecoder()
    if folder == "mistral-fim":
        return MistralAdapter().fim_decoder(mistral_target())
    pytest.fail(f"no decoder claims the FIM corpus folder {folder!r}")


def payloads(path: Path) -> list[dict[str, Any]]:
    """The recorded JSON objects, in order, read without any project code."""
    raw = path.read_text("utf-8")
    if path.name.endswith(".sse"):
        lines = [line[len("data: ") :] for line in raw.splitlines() if line.startswith("data: ")]
        return [json.loads(line) for line in lines if line != "[DONE]"]
    if path.name.endswith(".jsonl"):
        return [json.loads(line) for line in raw.splitlines() if line.strip()]
    return [json.loads(raw)]


def expected(path: Path) -> tuple[str, dict[str, int] | None, str | None]:
    text, usage, finish = "", None, None
    for payload in payloads(path):
        for choice in payload.get("choices") or []:
            part = choice.get("message") or choice.get("delta") or {}
            text += choice.get("text") or part.get("content") or ""
            finish = choice.get("finish_reason") or finish
        usage = payload.get("usage") or usage
    return text, usage, finish


def decode(path: Path, chunks: list[bytes] | None = None) -> list[ChatEvent]:
    decoder = decoder_for(path)
    if path.name.endswith(".sse"):
        framer = SSEDecoder()
        events: list[ChatEvent] = []
        for chunk in chunks if chunks is not None else [path.read_bytes()]:
            for wire_event in framer.feed(chunk):
                events += decoder.feed(wire_event)
        for wire_event in framer.close():
            events += decoder.feed(wire_event)
        return events + decoder.close()
    if path.name.endswith(".jsonl"):
        events = []
        for payload in payloads(path):
            events += decoder.feed_chunk(payload)
        return events + decoder.close()
    return decode_whole(decoder, payloads(path)[0])


def summary(events: list[ChatEvent]) -> tuple[str, UsageEvent | None, list[StopEvent]]:
    text = "".join(e.text for e in events if isinstance(e, TextEvent))
    usages = [e for e in events if isinstance(e, UsageEvent)]
    return text, usages[-1] if usages else None, [e for e in events if isinstance(e, StopEvent)]


@requires_corpus
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_fim_body_decodes_to_its_recorded_text_usage_and_finish(path: Path) -> None:
    folder = path.relative_to(FIM).parts[0]
    if folder in NOT_REPLAYED:
        pytest.skip(NOT_REPLAYED[folder])
    text, usage, finish = expected(path)
    got_text, got_usage, stops = summary(decode(path))
    assert got_text == text
    assert [stop.reason for stop in stops] == [FINISH[finish] if finish else "endTurn"]
    if usage is None:
        assert got_usage is None
    else:
        assert got_usage is not None
        assert (got_usage.input_tokens, got_usage.output_tokens) == (
            usage["prompt_tokens"],
            usage["completion_tokens"],
        )


@requires_corpus
@pytest.mark.parametrize("path", [p for p in FILES if p.suffix == ".sse"], ids=_id)
def test_streams_decode_the_same_at_any_byte_boundary(path: Path) -> None:
    whole = decode(path)
    data = path.read_bytes()
    for seed in range(5):
        assert decode(path, random_chunks(data, seed)) == whole


@requires_corpus
def test_only_the_ollama_folder_is_left_unreplayed() -> None:
    folders = {path.relative_to(FIM).parts[0] for path in FILES}
    assert set(NOT_REPLAYED) <= folders
    assert folders - set(NOT_REPLAYED) == {"openai-completions", "mistral-fim"}


def test_copilot_inline_completions_stream_replays() -> None:
    path = WIRE / "copilot" / "completions-stream-inline.sse"
    if not path.exists():
        pytest.skip(f"wire corpus not found at {path.parent} (it lives in ../shared)")
    data = path.read_bytes()
    lines = [line[6:] for line in data.decode().splitlines() if line.startswith("data: ")]
    recorded = [json.loads(line) for line in lines if line != "[DONE]"]
    text = "".join(c.get("text", "") for payload in recorded for c in payload["choices"])
    info = Catalog.load().resolve("copilot", "gpt-41-copilot")
    adapter = CopilotAdapter()
    for seed in (None, 1, 2, 3):
        decoder = adapter.fim_decoder(ModelTarget("copilot", "gpt-41-copilot", info))
        framer = SSEDecoder()
        events: list[ChatEvent] = []
        for chunk in [data] if seed is None else random_chunks(data, seed):
            for wire_event in framer.feed(chunk):
                events += decoder.feed(wire_event)
        events += decoder.close()
        got_text, usage, stops = summary(events)
        assert got_text == text == '  console.log("Hello, World!");'
        assert usage is None
        assert [stop.reason for stop in stops] == ["endTurn"]
