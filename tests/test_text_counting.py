"""Chunked and incremental token counts equal tiktoken's count of the whole text."""

from __future__ import annotations

import random
import re
from functools import cache
from itertools import pairwise

import pytest
import tiktoken
from switchboard.protocol.chat import Message
from switchboard.providers.catalog.text_counting import (
    MAX_CHUNK_CHARS,
    ChunkedCounter,
    IncrementalCount,
    cut_points,
    is_cut,
)
from switchboard.providers.catalog.tokens import count_messages, count_text, load_encoding

ENCODINGS = ["cl100k_base", "o200k_base"]
# Short strings whose mixes reach the corners of both pre-tokenizer patterns.
PIECES = [
    *["\n", "\r\n", "\r", "\n\n", " ", "  ", "\t", "    ", "\n/", "\n ", "\n'", "\n1"],
    *["/", "//", "'s", "'S", "'ll", "'", ";", "{", "}", "(", ")", "#", "*", "-", '"', ".x"],
    *["a", "Z", "x ", "Hello", " world", "camelCase", "it's", "s ", "b  "],
    *["1", "123", "12345", "\u0660", "\u2167", "é", "ß", "日本", "😀", "\u0301"],
    *["\u2028", "\u00a0", "\x85", "\u3000", "\x0b", "\x0c", "\x1c", "\ud83d", "\ude00"],
    *["<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>"],
]
# Unicode's White_Space property (PropList.txt), which the Rust regex's \s uses.
WHITE_SPACE = [
    *map(chr, range(0x09, 0x0E)),
    *["\x20", "\x85", "\xa0", "\u1680", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"],
    *map(chr, range(0x2000, 0x200B)),
]


@cache
def encoding(name: str) -> tiktoken.Encoding:
    return load_encoding(name)


def whole(name: str, text: str) -> int:
    return len(encoding(name).encode_ordinary(text))


def random_text(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, pieces)))


def source_like(rng: random.Random, size: int, newline: str = "\n") -> str:
    words = ["def", "return", "self", "value", "for", "in", "if", "None", "print", "ünïcode"]
    tails = ["", "(", ")", ":", ".x", "_1", " = 42", ", ", "  # note", " // c", "'s"]
    lines: list[str] = []
    while sum(map(len, lines)) < size:
        indent = rng.choice(["", "    ", "        ", "\t", "  "])
        body = " ".join(rng.choice(words) + rng.choice(tails) for _ in range(rng.randint(0, 9)))
        lines.append(indent + body + rng.choice(["", "", "   ", " \t"]) + newline)
        if rng.random() < 0.05:
            lines.append(newline * rng.randint(1, 4) + " " * rng.randint(0, 40))
    return "".join(lines)


def summed_at(name: str, text: str, cuts: list[int]) -> int:
    edges = [0, *sorted(cuts), len(text)]
    return sum(whole(name, text[a:b]) for a, b in pairwise(edges))


def cuts_of(text: str) -> list[int]:
    return [p for p in range(1, len(text)) if is_cut(text, p)]


@pytest.mark.parametrize("name", ENCODINGS)
def test_cutting_anywhere_the_rule_allows_keeps_the_count_exact(name: str) -> None:
    rng = random.Random(f"cuts-{name}")
    for _ in range(3000):
        text = random_text(rng, 60)
        cuts = cuts_of(text)
        chosen = rng.sample(cuts, k=rng.randint(0, len(cuts)))
        assert summed_at(name, text, chosen) == whole(name, text), (text, chosen)


@pytest.mark.parametrize("name", ENCODINGS)
def test_every_allowed_cut_of_source_like_texts_is_exact(name: str) -> None:
    rng = random.Random(f"source-{name}")
    for newline in ("\n", "\r\n", "\r"):
        for _ in range(20):
            text = source_like(rng, 1500, newline)
            assert summed_at(name, text, cuts_of(text)) == whole(name, text)


def test_the_rule_is_not_looser_than_it_must_be() -> None:
    """The checks above can fail: cutting before "/" or whitespace after "\\n" changes counts."""

    def cut_changes_count(name: str, before: str, after: str) -> bool:
        return whole(name, before) + whole(name, after) != whole(name, before + after)

    assert cut_changes_count("o200k_base", "}\n", "//")
    for name in ENCODINGS:
        assert cut_changes_count(name, "a\n", "\n b")
    assert not is_cut("}\n//", 2) and not is_cut("a\n\n b", 2)
    assert is_cut("x;\ny", 3) and is_cut("ab cd", 2) and not is_cut("a1 cd", 2)


def test_python_whitespace_covers_the_regex_whitespace() -> None:
    # A character the Rust regex calls whitespace must never be taken for a safe cut.
    assert all(re.fullmatch(r"\s", char) for char in WHITE_SPACE)
    for char in WHITE_SPACE:
        assert not is_cut(f"a\n{char}b", 2)


@pytest.mark.parametrize("name", ENCODINGS)
def test_chunked_counts_equal_tiktoken(name: str) -> None:
    rng = random.Random(f"chunked-{name}")
    for target in (1, 7, 64, 4096):
        counter = ChunkedCounter(encoding(name), splittable=True, target=target)
        for _ in range(30):
            text = random_text(rng, 300) if rng.random() < 0.5 else source_like(rng, 3000)
            assert counter.count(text) == whole(name, text)


def test_chunks_are_near_the_target_size_and_cover_the_text() -> None:
    text = source_like(random.Random(1), 200_000)
    ends = cut_points(text, 0, len(text), 4096)
    sizes = [b - a for a, b in pairwise([0, *ends])]
    assert ends[-1] == len(text)
    assert all(is_cut(text, end) for end in ends)
    assert 40 <= len(ends) <= 50
    assert max(sizes[:-1]) < 4096 + 400


def test_a_text_without_cuts_is_one_chunk() -> None:
    text = "[1,2,3]" * 2000
    assert cut_points(text, 0, len(text), 100) == [len(text)]


def test_special_token_markers_count_as_ordinary_text() -> None:
    text = "a <|endoftext|> b\n<|endofprompt|> c"
    counted = count_text("openai", "gpt-4o", text)
    assert counted.input_tokens == whole("o200k_base", text)
    assert counted.exact and counted.method == "tiktoken:o200k_base"
    estimated = count_text("anthropic", "claude-sonnet-4-5", text)
    assert estimated.input_tokens == whole("cl100k_base", text)
    assert not estimated.exact and estimated.method == "estimate:cl100k_base"


class SpyEncoder:
    """The real encoding, recording every text it is asked to tokenize."""

    def __init__(self, name: str) -> None:
        self._encoding = encoding(name)
        self.texts: list[str] = []

    def encode_ordinary(self, text: str) -> list[int]:
        self.texts.append(text)
        return self._encoding.encode_ordinary(text)

    def take_chars(self) -> int:
        chars = sum(map(len, self.texts))
        self.texts.clear()
        return chars


def edit(text: str, at: int, remove: int, insert: str) -> str:
    return text[:at] + insert + text[at + remove :]


@pytest.mark.parametrize("name", ENCODINGS)
def test_a_one_character_edit_tokenizes_only_the_chunk_it_touches(name: str) -> None:
    spy = SpyEncoder(name)
    document = IncrementalCount(ChunkedCounter(spy, splittable=True))
    text = source_like(random.Random(2), 300_000)
    assert document.count(text) == whole(name, text)
    assert spy.take_chars() == len(text)

    assert document.count(text) == whole(name, text)
    assert spy.take_chars() == 0, "the same text is not tokenized again"

    rng = random.Random(3)
    for _ in range(50):
        at = rng.randrange(len(text))
        text = edit(text, at, rng.choice([0, 1]), rng.choice(["", "x", " ", "\n", "/", "é"]))
        assert document.count(text) == whole(name, text)
        assert spy.take_chars() <= 3 * 4096 + 1000


@pytest.mark.parametrize("name", ENCODINGS)
def test_random_edits_keep_counts_and_ranges_exact(name: str) -> None:
    rng = random.Random(f"edits-{name}")
    for trial in range(150):
        counter = ChunkedCounter(encoding(name), splittable=True, target=rng.choice([8, 50, 400]))
        document = IncrementalCount(counter)
        text = source_like(rng, rng.randint(0, 4000)) if trial % 2 else random_text(rng, 400)
        for _ in range(12):
            at = rng.randint(0, len(text))
            removed = rng.randint(0, 30)
            text = edit(text, at, removed, random_text(rng, 4))
            assert document.count(text) == whole(name, text)
            start = rng.randint(0, len(text))
            end = rng.randint(start, len(text))
            assert document.count_span(text, start, end) == whole(name, text[start:end])


def test_counts_are_shared_between_texts_through_the_cache() -> None:
    spy = SpyEncoder("o200k_base")
    counter = ChunkedCounter(spy, splittable=True)
    text = source_like(random.Random(4), 50_000)
    IncrementalCount(counter).count(text)
    spy.take_chars()
    assert IncrementalCount(counter).count(text) == whole("o200k_base", text)
    assert spy.take_chars() == 0


def test_the_cache_stays_within_its_size() -> None:
    spy = SpyEncoder("o200k_base")
    counter = ChunkedCounter(spy, splittable=True, target=1000, cache_chars=5000)
    first = source_like(random.Random(5), 20_000)
    counter.count(first)
    spy.take_chars()
    counter.count(source_like(random.Random(6), 20_000))
    spy.take_chars()
    counter.count(first)
    assert spy.take_chars() >= len(first) - 6000, "the first text's chunks were evicted"


def test_an_encoding_without_a_proof_is_counted_whole() -> None:
    spy = SpyEncoder("cl100k_base")
    document = IncrementalCount(ChunkedCounter(spy, splittable=False))
    text = source_like(random.Random(7), 20_000)
    assert document.count(text) == whole("cl100k_base", text)
    assert spy.texts == [text]
    text = edit(text, 10_000, 1, "Q")
    assert document.count(text) == whole("cl100k_base", text)
    assert spy.texts[-1] == text
    assert document.count_span(text, 5, 900) == whole("cl100k_base", text[5:900])


# ---- pathological texts: one huge pre-tokenizer piece ------------------------------


@pytest.mark.parametrize("text", ["a" * 100_000, "é" * 70_000, " " * 90_000, "!" * 80_000])
def test_a_text_with_no_safe_cut_is_cut_anyway_and_marked_an_estimate(text: str) -> None:
    spy = SpyEncoder("o200k_base")
    counter = ChunkedCounter(spy, splittable=True)
    tally = counter.tally(text)
    assert not tally.exact
    assert max(map(len, spy.texts)) <= MAX_CHUNK_CHARS
    # Cut into equal pieces, the count is close to the whole text's.
    assert abs(tally.tokens - whole("o200k_base", text)) <= len(text) // MAX_CHUNK_CHARS + 2


def test_ordinary_text_and_code_are_never_cut_unsafely() -> None:
    text = source_like(random.Random(8), 300_000)
    tally = ChunkedCounter(encoding("cl100k_base"), splittable=True).tally(text)
    assert tally == (whole("cl100k_base", text), True)


def test_an_unsafe_cut_makes_documents_spans_and_messages_estimates() -> None:
    text = "intro line\n" + "a" * (3 * MAX_CHUNK_CHARS) + "\nlast line\n"
    document = IncrementalCount(ChunkedCounter(encoding("o200k_base"), splittable=True))
    assert not document.tally(text).exact
    assert not document.tally_span(text, 0, 5).exact
    assert not count_text("openai", "gpt-4o", text).exact
    counted = count_messages("openai", "gpt-4o", [Message(role="user", content=text)])
    assert not counted.exact and counted.method == "estimate:o200k_base"
    short = count_messages("openai", "gpt-4o", [Message(role="user", content="hi")])
    assert short.exact


def test_a_ten_megabyte_run_of_one_letter_is_counted() -> None:
    counted = count_text("openai", "gpt-4o", "a" * 10_000_000)
    assert not counted.exact and counted.method == "estimate:o200k_base"
    assert 1_000_000 <= counted.input_tokens <= 1_500_000
