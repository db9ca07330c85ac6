"""Tokenizers come from tiktoken's own definitions, load only when needed, never for an estimate."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken.model
import tiktoken_ext.openai_public as openai_public
from switchboard.protocol.chat import ChatParams, Message
from switchboard.providers.base import ProviderSettings
from switchboard.providers.catalog import tokens
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine

from tests.fakes.local import FakeLocal
from tests.fakes.openai import FakeOpenAI
from tests.fakes.scenario import Scenario

QUESTION = [Message(role="user", content="Summarize the design of a language server. " * 8)]


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """No encoding built yet in this process; every later build is listed."""
    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setattr(tokens, "_counters", {})
    built: list[str] = []
    real_load = tokens.load_encoding

    def listed_load(name: str) -> tiktoken.Encoding:
        built.append(name)
        return real_load(name)

    monkeypatch.setattr(tokens, "load_encoding", listed_load)
    yield built


# ---- tiktoken's own definitions ---------------------------------------------------


def test_the_model_map_is_tiktokens() -> None:
    counted = tokens.COUNTING_ENCODINGS
    for model, encoding in tiktoken.model.MODEL_TO_ENCODING.items():
        assert tokens.known_encoding(model) == (encoding if encoding in counted else None), model
    for prefix, encoding in tiktoken.model.MODEL_PREFIX_TO_ENCODING.items():
        model = prefix + "2031-01-01"
        assert tokens.known_encoding(model) == (encoding if encoding in counted else None), model


def test_the_encoding_is_built_from_tiktokens_constructor(loads: list[str]) -> None:
    # The pattern and special tokens tiktoken defines, read from its own module.
    source = Path(openai_public.__file__).read_text(encoding="utf-8")
    encoding = tokens.get_encoding("cl100k_base")
    assert encoding._pat_str in source
    assert encoding._special_tokens["<|endofprompt|>"] == 100276
    assert loads == ["cl100k_base"]


def test_a_constructor_calling_another_stays_offline() -> None:
    # o200k_harmony is o200k_base's ranks with more special tokens.
    harmony = tokens.load_encoding("o200k_harmony")
    assert "<|call|>" in harmony.special_tokens_set
    text = "tools <|call|> and text"
    assert harmony.encode_ordinary(text) == tokens.get_encoding("o200k_base").encode_ordinary(text)


def test_building_leaves_tiktoken_itself_unchanged() -> None:
    tokens.offline_constructors()
    assert openai_public.load_tiktoken_bpe is tiktoken.load.load_tiktoken_bpe
    assert tiktoken.load.load_tiktoken_bpe.__globals__["read_file_cached"] is (
        tiktoken.load.read_file_cached
    )


def test_a_rank_file_is_read_only_with_its_pinned_hash() -> None:
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    with pytest.raises(ValueError, match="pinned SHA-256"):
        tokens.read_packaged(url, "0" * 64)
    with pytest.raises(ValueError, match="pinned SHA-256"):
        tokens.read_packaged(url)
    with pytest.raises(ValueError, match="no packaged"):
        tokens.read_packaged(url.replace("cl100k_base", "r50k_base"), "0" * 64)


# ---- lazy, and only what is needed -----------------------------------------------


def test_a_count_loads_only_its_models_encoding(loads: list[str]) -> None:
    tokens.count_text("openai", "gpt-4", "hello")
    tokens.count_text("openai", "gpt-3.5-turbo", "hello")
    assert loads == ["cl100k_base"]
    assert tokens.is_loaded("cl100k_base") and not tokens.is_loaded("o200k_base")


def test_starting_the_runtime_loads_no_tokenizer(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from switchboard.server.app import create_server, _warm_up\n"
        f"server = create_server({str(tmp_path / 'absent.toml')!r})\n"
        "_warm_up(server)\n"
        "from switchboard.providers.catalog import tokens\n"
        "print(sorted(tokens._encodings), 'tiktoken' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["[]", "False"]


# ---- estimates never load a tokenizer --------------------------------------------


def test_an_estimate_is_compact_until_the_encoding_is_loaded(loads: list[str]) -> None:
    compact = tokens.estimate_messages("openai", "gpt-4o", QUESTION, system="Be brief.")
    assert (compact.exact, compact.method) == (False, tokens.COMPACT_METHOD)
    assert loads == []
    counted = tokens.count_messages("openai", "gpt-4o", QUESTION, system="Be brief.")
    # close to the tokenizer's count for English text
    assert 0.75 < compact.input_tokens / counted.input_tokens < 1.25
    assert tokens.estimate_messages("openai", "gpt-4o", QUESTION, system="Be brief.") == counted
    text = "A reply of a few words."
    assert tokens.estimate_text("openai", "gpt-4o", text) == tokens.count_text(
        "openai", "gpt-4o", text
    )


def test_a_compact_estimate_does_not_even_import_tiktoken() -> None:
    probe = (
        "import sys\n"
        "from switchboard.protocol.chat import Message\n"
        "from switchboard.providers.catalog import tokens\n"
        "m = [Message(role='user', content='hello there')]\n"
        "print(tokens.estimate_messages('openai', 'gpt-4o', m).method,"
        " tokens.estimate_text('anthropic', 'claude-x', 'hi').method, 'tiktoken' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == [tokens.COMPACT_METHOD, tokens.COMPACT_METHOD, "False"]


def test_the_compact_tally_counts_utf8_bytes() -> None:
    assert tokens.compact_tally("") == (0, False)
    assert tokens.compact_tally("abcd") == (1, False)
    assert tokens.compact_tally("abcde") == (2, False)
    assert tokens.compact_tally("日本") == (2, False)  # six bytes


async def test_a_chat_without_usage_is_estimated_without_loading(loads: list[str]) -> None:
    with FakeLocal(ollama=True, models=("llama3.2",)) as fake:
        fake.enqueue_scenario(Scenario(text="A reply long enough to count some tokens."))
        providers = {"ollama": ProviderSettings("ollama", "ollama", base_url=fake.url)}
        engine = ChatEngine(Config(providers=providers), environ={})
        try:
            result = await engine.chat(
                ChatParams(model="ollama/llama3.2", messages=QUESTION), _drop
            )
            await engine.settled()
        finally:
            await engine.aclose()
    assert result.usage.estimated and result.usage.input_tokens > 0
    reply = "A reply long enough to count some tokens."
    assert result.usage.output_tokens == tokens.compact_tally(reply).tokens
    assert loads == []


async def test_calibration_never_loads_a_tokenizer_and_uses_a_loaded_one(
    loads: list[str],
) -> None:
    with FakeOpenAI() as fake:
        providers = {"openai": ProviderSettings("openai", "openai", base_url=fake.url)}
        engine = ChatEngine(Config(providers=providers), environ={"OPENAI_API_KEY": fake.api_key})
        params = ChatParams(model="openai/gpt-4o", messages=QUESTION)
        try:
            fake.enqueue_scenario(Scenario(text="ok", input_tokens=100))
            await engine.chat(params, _drop)
            await engine.settled()
            assert loads == []
            assert engine.calibration.ratio("openai/gpt-4o") is None

            tokens.get_encoding("o200k_base")  # loaded for something that needed it
            fake.enqueue_scenario(Scenario(text="ok", input_tokens=100))
            await engine.chat(params, _drop)
            await engine.settled()
        finally:
            await engine.aclose()
    counted = tokens.count_messages("openai", "gpt-4o", QUESTION).input_tokens
    ratio = engine.calibration.ratio("openai/gpt-4o")
    assert ratio is not None and ratio.value == pytest.approx(100 / counted)
    assert loads == ["o200k_base"]


def _drop(_event: object) -> None:
    pass
