"""Local token counting: the packaged encodings match tiktoken's own, offline."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import tiktoken
from switchboard.protocol.chat import ImagePart, Message, TextPart, ToolSpec, ToolUsePart
from switchboard.providers.catalog import tokens
from switchboard.providers.catalog.tokens import (
    count_messages,
    count_text,
    encoding_name_for,
    get_encoding,
    load_encoding,
)

# The hashes tiktoken_ext/openai_public.py pins (also in shared/data/tiktoken/SHA256SUMS).
PINNED = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"

TEXTS = [
    "Hello, world!",
    "",
    " ",
    "I'm sure they'll've DONE it; we're (not) certain.",
    "def add(a: int, b: int) -> int:\n    return a + b\n\n\n",
    "The year 2026 had 12345678 tokens and 3.14159 pies.",
    "日本語のテキストと中文文本\uff0c还有한국어.",
    "emoji 🙂🚀 and combining e\u0301 accents, ΑΒΓ αβγ",
    "tabs\tand\r\nwindows\r\nnewlines   and   runs        of spaces",
    "a literal <|endoftext|> and <|endofprompt|> in user text",
    "https://example.com/path?query=1&x=y#frag",
    "supercalifragilisticexpialidocious " * 20,
]


def refuse_network(*_args: Any, **_kwargs: Any) -> Any:
    raise OSError("network access attempted in a test")


def block_network(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(socket.socket, "connect", refuse_network)
    patch.setattr(socket.socket, "connect_ex", refuse_network)
    patch.setattr(socket, "create_connection", refuse_network)
    patch.setattr(socket, "getaddrinfo", refuse_network)


def packaged_ranks(name: str) -> bytes:
    path = resources.files("switchboard.providers.catalog").joinpath(
        f"data/tiktoken/{name}.tiktoken.gz"
    )
    return gzip.decompress(path.read_bytes())


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tiktoken.Encoding]:
    """tiktoken's own encodings, built by tiktoken.get_encoding with no network.

    The rank files are put where tiktoken caches a download (named by the SHA-1
    of the URL), so tiktoken's own constructor, pattern, special tokens and
    pinned-hash check build the encoding.
    """
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name in PINNED:
        key = hashlib.sha1(TIKTOKEN_URL.format(name).encode()).hexdigest()
        (cache / key).write_bytes(packaged_ranks(name))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
        block_network(patch)
        return {name: tiktoken.get_encoding(name) for name in PINNED}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No sockets, and an empty tiktoken download cache."""
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(cache))
    block_network(monkeypatch)
    return cache


# ---- the packaged files and the loader ----------------------------------------


@pytest.mark.parametrize("name", sorted(PINNED))
def test_packaged_rank_files_match_the_pinned_hashes(name: str) -> None:
    assert hashlib.sha256(packaged_ranks(name)).hexdigest() == PINNED[name]


def test_network_is_really_blocked(offline: Path) -> None:
    with pytest.raises(OSError, match="network access"):
        socket.create_connection(("example.com", 443), timeout=1)
    with pytest.raises(OSError, match="network access"):
        socket.getaddrinfo("example.com", 443)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_packaged_loader_works_offline_and_leaves_tiktoken_cache_alone(
    name: str, offline: Path
) -> None:
    encoding = load_encoding(name)
    assert encoding.name == name
    assert encoding.encode_ordinary("Hello, world!")
    assert list(offline.iterdir()) == []


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="no packaged"):
        get_encoding("p50k_base")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_packaged_encoding_equals_tiktokens_own(
    name: str, reference: dict[str, tiktoken.Encoding]
) -> None:
    ours = get_encoding(name)
    theirs = reference[name]
    assert ours.n_vocab == theirs.n_vocab
    assert ours.max_token_value == theirs.max_token_value
    assert ours.special_tokens_set == theirs.special_tokens_set
    for text in TEXTS:
        assert ours.encode_ordinary(text) == theirs.encode_ordinary(text), text
        assert ours.encode(text, allowed_special="all") == theirs.encode(
            text, allowed_special="all"
        ), text


def test_get_encoding_builds_each_encoding_once_across_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tokens, "_encodings", {})
    built: list[str] = []
    real_load = tokens.load_encoding

    def counting_load(name: str) -> tiktoken.Encoding:
        built.append(name)
        return real_load(name)

    monkeypatch.setattr(tokens, "load_encoding", counting_load)
    start = threading.Barrier(8)
    results: list[tiktoken.Encoding] = []

    def worker() -> None:
        start.wait()
        results.append(get_encoding("cl100k_base"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["cl100k_base"]
    assert len({id(r) for r in results}) == 1


def test_importing_the_counting_modules_does_not_import_tiktoken() -> None:
    probe = (
        "import sys\n"
        "import switchboard.providers.catalog.tokens, switchboard.providers.catalog.models\n"
        "import switchboard.providers.catalog.pricing\n"
        "print('tiktoken' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


# ---- which encoding -------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o", "o200k_base"),
        ("openai", "gpt-4o-mini-2024-07-18", "o200k_base"),
        ("openai", "chatgpt-4o-latest", "o200k_base"),
        ("openai", "gpt-4.1", "o200k_base"),
        ("openai", "gpt-4.1-mini", "o200k_base"),
        ("openai", "gpt-5", "o200k_base"),
        ("openai", "gpt-5.1-codex", "o200k_base"),
        ("openai", "o1", "o200k_base"),
        ("openai", "o3", "o200k_base"),
        ("openai", "o4-mini", "o200k_base"),
        ("openai", "ft:gpt-4o-2024-08-06:acme::abc123", "o200k_base"),
        ("openai", "gpt-4", "cl100k_base"),
        ("openai", "gpt-4-turbo", "cl100k_base"),
        ("openai", "gpt-3.5-turbo", "cl100k_base"),
        ("openrouter", "openai/gpt-4o", "o200k_base"),
        ("openai", "gpt-6.2-sol", "o200k_base"),
        ("openai", "some-future-model", "o200k_base"),
        ("anthropic", "claude-sonnet-5-5", "cl100k_base"),
        ("openrouter", "anthropic/claude-x", "cl100k_base"),
    ],
)
def test_encoding_name_for(provider: str, model: str, expected: str) -> None:
    assert encoding_name_for(provider, model) == expected


# ---- counting -------------------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS)
def test_count_text_is_exact_for_openai_models(
    text: str, reference: dict[str, tiktoken.Encoding]
) -> None:
    o200k = count_text("openai", "gpt-4o", text)
    assert o200k.input_tokens == len(reference["o200k_base"].encode_ordinary(text))
    assert o200k.exact and o200k.method == "tiktoken:o200k_base"
    cl100k = count_text("openai", "gpt-4", text)
    assert cl100k.input_tokens == len(reference["cl100k_base"].encode_ordinary(text))
    assert cl100k.exact and cl100k.method == "tiktoken:cl100k_base"


def test_count_text_estimates_for_other_models(reference: dict[str, tiktoken.Encoding]) -> None:
    text = "Summarize this file in two sentences."
    claude = count_text("anthropic", "claude-sonnet-5-5", text)
    assert claude.input_tokens == len(reference["cl100k_base"].encode_ordinary(text))
    assert not claude.exact and claude.method == "estimate:cl100k_base"
    undocumented = count_text("openai", "gpt-6.2-sol", text)
    assert not undocumented.exact and undocumented.method == "estimate:o200k_base"


def openai_chat_tokens(encoding: tiktoken.Encoding, messages: list[dict[str, str]]) -> int:
    # The openai-cookbook rule: 3 tokens a message, its role and content, 3 to prime the reply.
    total = 3
    for message in messages:
        total += 3 + sum(len(encoding.encode(value)) for value in message.values())
    return total


def test_count_messages_follows_openais_chat_framing(
    reference: dict[str, tiktoken.Encoding],
) -> None:
    system = "You are a helpful assistant that answers in one line."
    messages = [
        Message(role="user", content="What is the capital of France?"),
        Message(role="assistant", content="Paris."),
        Message(role="user", content=[TextPart(text="And of Italy?")]),
    ]
    expected = openai_chat_tokens(
        reference["o200k_base"],
        [
            {"role": "system", "content": system},
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And of Italy?"},
        ],
    )
    counted = count_messages("openai", "gpt-4o", messages, system=system)
    assert counted.input_tokens == expected
    assert counted.exact and counted.method == "tiktoken:o200k_base"


def test_tool_definitions_make_the_count_approximate() -> None:
    messages = [Message(role="user", content="What's the weather in Oslo?")]
    tool = ToolSpec(
        name="get_weather",
        description="Current weather for a city",
        input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    plain = count_messages("openai", "gpt-4o", messages)
    with_tools = count_messages("openai", "gpt-4o", messages, tools=[tool])
    assert plain.exact
    assert not with_tools.exact and with_tools.method == "estimate:o200k_base"
    schema_tokens = len(get_encoding("o200k_base").encode_ordinary(json.dumps(tool.input_schema)))
    assert with_tools.input_tokens > plain.input_tokens + schema_tokens


def test_images_and_tool_calls_are_estimated() -> None:
    image = ImagePart(media_type="image/png", data="iVBORw0KGgo=")
    messages = [
        Message(role="user", content=[TextPart(text="What is this?"), image]),
        Message(
            role="assistant",
            content=[ToolUsePart(id="call_1", name="lookup", input={"q": "cat"})],
        ),
    ]
    counted = count_messages("openai", "gpt-4o", messages)
    assert not counted.exact
    assert counted.input_tokens > tokens.IMAGE_TOKENS_ESTIMATE


def test_other_providers_get_an_estimate_for_messages() -> None:
    messages = [Message(role="user", content="Hello there")]
    counted = count_messages("anthropic", "claude-haiku-5-5", messages, system="Be brief.")
    assert not counted.exact and counted.method == "estimate:cl100k_base"
    alone = count_text("anthropic", "claude-haiku-5-5", "Hello there")
    assert counted.input_tokens > alone.input_tokens
