"""Every recorded body in ../shared/corpus/wire goes through the parser that would read it.

The test enumerates the folder: a new file is covered with no code change,
and a file whose folder or extension no parser claims fails, not skips.
Each stream decodes whole and at random byte boundaries to the same events
with exactly one stop at the end; each error body maps to a normalized code
with a message; nothing raises out of a parser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.chat import StopEvent
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for
from switchboard.providers.auth import github_oauth
from switchboard.providers.base import Adapter, ModelTarget
from switchboard.providers.catalog.models import Catalog
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.framing import framer_for
from switchboard.providers.wire.sse import SSEEvent

from tests.corpus import WIRE, body_bytes, meta, random_chunks

NOT_BODIES = {"SOURCES.md", "SOURCES.tsv", "README.md", "expected.json"}


@dataclass(frozen=True)
class Route:
    kind: str
    model: str
    api: str | None = None


FOLDERS: dict[str, Route] = {
    "anthropic": Route("anthropic", "claude-sonnet-4-5"),
    "openai-chat": Route("openai", "gpt-4o"),
    "openai-compat": Route("openai-compatible", "claude-sonnet-4-5"),
    "openai-responses": Route("openai", "gpt-4o", api="responses"),
    "azure": Route("azure", "gpt-4o"),
    "bedrock": Route("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
    "copilot": Route("copilot", "gpt-4o-mini"),
    "gemini": Route("gemini", "gemini-2.5-flash"),
    "vertex": Route("vertex", "gemini-2.5-flash"),
    "xai": Route("xai", "grok-4"),
    "openrouter": Route("openrouter", "anthropic/claude-sonnet-4.5"),
}


def corpus_files() -> list[Path]:
    if not WIRE.is_dir():
        return []
    return sorted(
        path
        for path in WIRE.rglob("*")
        if path.is_file() and path.name not in NOT_BODIES and not path.name.endswith(".meta.json")
    )


def _id(path: Path) -> str:
    return str(path.relative_to(WIRE))


FILES = corpus_files()
requires_corpus = pytest.mark.skipif(
    not FILES, reason=f"wire corpus not found at {WIRE} (it lives in ../shared beside the repo)"
)


def route_for(path: Path) -> Route:
    folder = path.relative_to(WIRE).parts[0]
    route = FOLDERS.get(folder)
    if route is None:
        pytest.fail(f"no parser claims the corpus folder {folder!r}: add it to FOLDERS")
    if "responses" in path.name:
        # Azure, Copilot, OpenRouter and xAI also serve OpenAI's Responses API.
        return Route("openai", route.model, api="responses")
    return route


def adapter_and_target(route: Route) -> tuple[Adapter, ModelTarget]:
    adapter = adapter_for(route.kind, route.api)
    info = Catalog.load().resolve(route.kind, route.model, quiet=True)
    return adapter, ModelTarget(provider=route.kind, model=route.model, info=info)


def decode_stream(path: Path, chunks: Callable[[bytes], list[bytes]]) -> list[Any]:
    adapter, target = adapter_and_target(route_for(path))
    decoder = adapter.decoder(target)
    events: list[Any] = []
    if path.name.endswith(".chunks.jsonl"):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                events += decoder.feed(SSEEvent(event="message", data=line))
        return events + decoder.close()
    framer = framer_for(adapter.framing)
    for piece in chunks(body_bytes(path)):
        for wire_event in framer.feed(piece):
            events += decoder.feed(wire_event)
    for wire_event in framer.close():
        events += decoder.feed(wire_event)
    return events + decoder.close()


def is_error_body(path: Path) -> bool:
    recorded = meta(path)
    status = recorded and recorded.get("response", {}).get("status", {}).get("code")
    return path.name.startswith("error-") or (isinstance(status, int) and status >= 400)


def error_status(path: Path) -> int:
    recorded = meta(path)
    status = recorded and recorded.get("response", {}).get("status", {}).get("code")
    if isinstance(status, int):
        return status
    digits = path.name.split("-")[1]
    return int(digits) if digits.isdigit() else 400


def assert_one_stop_at_the_end(events: list[Any]) -> None:
    stops = [e for e in events if isinstance(e, StopEvent)]
    assert len(stops) == 1, f"expected exactly one stop, got {stops}"
    assert isinstance(events[-1], StopEvent)


STREAM_SUFFIXES = (".sse", ".bin", ".chunks.jsonl")


@requires_corpus
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_every_corpus_file_parses(path: Path) -> None:
    folder = path.relative_to(WIRE).parts[0]
    if folder == "github-device-flow":
        check_github_oauth(path)
    elif path.parent.name == "eventstream-vectors":
        check_eventstream_vector(path)
    elif path.name.endswith(STREAM_SUFFIXES):
        whole = decode_stream(path, lambda body: [body])
        assert_one_stop_at_the_end(whole)
        if not path.name.endswith(".chunks.jsonl"):
            for seed in range(3):
                split = decode_stream(path, lambda body, s=seed: random_chunks(body, s))
                assert split == whole, f"split at random boundaries (seed {seed}) decoded otherwise"
    elif path.name.endswith(".json") and is_error_body(path):
        adapter, _ = adapter_and_target(route_for(path))
        error = adapter.parse_error(error_status(path), {}, path.read_bytes())
        assert isinstance(error, ProviderError)
        assert ErrorCode(error.code) and error.message.strip()
    elif path.name.endswith(".json"):
        adapter, target = adapter_and_target(route_for(path))
        events = adapter.decode_body(json.loads(path.read_bytes()), target)
        assert_one_stop_at_the_end(events)
    else:
        pytest.fail(f"no parser claims {_id(path)}: teach this test its format")


def check_github_oauth(path: Path) -> None:
    body = path.read_bytes()
    answer = github_oauth.parse_answer(body)
    assert answer, "the answer parsed to nothing"
    if "error" in answer and answer["error"] not in ("authorization_pending", "slow_down"):
        with pytest.raises(github_oauth.GitHubOAuthError) as raised:
            github_oauth.poll(body, 5)
        assert raised.value.code == answer["error"]
    elif path.name.startswith("device-code"):
        code = github_oauth.device_code(body)
        assert code.user_code and code.interval > 0 and code.expires_in > 0
    elif path.name.startswith("poll-"):
        outcome = github_oauth.poll(body, 5)
        assert isinstance(outcome, github_oauth.Pending) and outcome.interval >= 5
    else:
        token = github_oauth.access_token(body)
        assert token.token and token.token_type.lower() == "bearer"


def check_eventstream_vector(path: Path) -> None:
    expected = json.loads((path.parent / "expected.json").read_text())[path.name]
    framer = framer_for("eventstream")
    messages = framer.feed(path.read_bytes()) + framer.close()
    if expected["valid"]:
        assert len(messages) == 1
        assert getattr(messages[0], "error", None) is None
    else:
        assert all(getattr(m, "error", None) is not None for m in messages), messages


def test_the_corpus_is_found_in_ci() -> None:
    """CI always has ../shared: an empty corpus there would silently cover nothing."""
    import os

    if os.environ.get("CI") and not FILES:
        pytest.fail(f"CI has no wire corpus at {WIRE}")
