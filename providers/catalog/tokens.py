"""Local token counting with tiktoken, from rank files shipped in the package.

Nothing is ever downloaded: the BPE ranks of cl100k_base and o200k_base are
read from ``data/tiktoken/*.tiktoken.gz`` and checked against the SHA-256 that
tiktoken itself pins for them. Counts are exact for OpenAI models whose
encoding tiktoken documents; for every other model they are estimates.
Texts are counted chunk by chunk through one shared cache per encoding (see
text_counting.py), which also bounds the time any text can take.
tiktoken is imported on first use, not at start-up.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from switchboard.protocol.chat import (
    ImagePart,
    Message,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
)

from .text_counting import ChunkedCounter, Tally

if TYPE_CHECKING:
    import tiktoken

O200K_BASE = "o200k_base"
CL100K_BASE = "cl100k_base"

# OpenAI's chat format: each message is framed by 3 tokens, and the reply is
# primed with 3 more (openai-cookbook "How to count tokens with tiktoken").
TOKENS_PER_MESSAGE = 3
REPLY_PRIMING_TOKENS = 3
# An image's real cost depends on its size and detail; this is a 1024x1024
# high-detail image at OpenAI (85 + 4 tiles x 170).
IMAGE_TOKENS_ESTIMATE = 765

#: Encodings whose pre-tokenizer text_counting.py has proved safe to cut (the packaged ones).
SPLITTABLE_ENCODINGS = frozenset({CL100K_BASE, O200K_BASE})

_O_SERIES = re.compile(r"o[134](-|$)")


@dataclass(frozen=True)
class TokenCount:
    input_tokens: int
    exact: bool
    method: str


@dataclass(frozen=True)
class _RankFile:
    sha256: str
    pat_str: str
    special_tokens: Mapping[str, int]


# pat_str and special tokens as tiktoken_ext/openai_public.py defines them.
_RANK_FILES: Mapping[str, _RankFile] = {
    CL100K_BASE: _RankFile(
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str=(
            r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|"""
            r""" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
        ),
        special_tokens={
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    O200K_BASE: _RankFile(
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str="|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*"""
                r"""[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"""
                r"""[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        special_tokens={"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
}

_encodings: dict[str, tiktoken.Encoding] = {}
_encodings_lock = threading.Lock()


def known_encoding(model: str) -> str | None:
    """The encoding tiktoken documents for an OpenAI model, or None if it documents none.

    A routed name such as ``openai/gpt-4o`` counts by its last segment.
    """
    name = model.rsplit("/", 1)[-1].lower().removeprefix("ft:")
    if name.startswith(("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5")):
        return O200K_BASE
    if _O_SERIES.match(name):
        return O200K_BASE
    if name.startswith(("gpt-4", "gpt-3.5", "gpt-35")):
        return CL100K_BASE
    return None


def encoding_name_for(provider: str, model: str) -> str:
    """The encoding used to count for a model: its own, or the closest estimate."""
    known = known_encoding(model)
    if known is not None:
        return known
    return O200K_BASE if provider == "openai" else CL100K_BASE


def get_encoding(name: str) -> tiktoken.Encoding:
    """A packaged encoding, built once per process (thread-safe)."""
    encoding = _encodings.get(name)
    if encoding is None:
        with _encodings_lock:
            encoding = _encodings.get(name)
            if encoding is None:
                encoding = load_encoding(name)
                _encodings[name] = encoding
    return encoding


def load_encoding(name: str) -> tiktoken.Encoding:
    """Build an encoding from its packaged rank file, checking tiktoken's pinned hash."""
    spec = _RANK_FILES.get(name)
    if spec is None:
        raise ValueError(f"no packaged tiktoken rank file for {name!r}")
    import tiktoken

    packaged = resources.files("switchboard.providers.catalog").joinpath(
        f"data/tiktoken/{name}.tiktoken.gz"
    )
    data = gzip.decompress(packaged.read_bytes())
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        raise ValueError(f"the packaged {name} rank file does not match its pinned SHA-256")
    return tiktoken.Encoding(
        name=name,
        pat_str=spec.pat_str,
        mergeable_ranks=_parse_ranks(data),
        special_tokens=dict(spec.special_tokens),
    )


_counters: dict[str, ChunkedCounter] = {}
_counters_lock = threading.Lock()


def counter_for(encoding_name: str) -> ChunkedCounter:
    """The process's shared counter (and chunk cache) for a packaged encoding."""
    counter = _counters.get(encoding_name)
    if counter is None:
        with _counters_lock:
            counter = _counters.get(encoding_name)
            if counter is None:
                counter = ChunkedCounter(
                    get_encoding(encoding_name), encoding_name in SPLITTABLE_ENCODINGS
                )
                _counters[encoding_name] = counter
    return counter


def count_for_model(
    provider: str, model: str, tally_of: Callable[[ChunkedCounter, str], Tally]
) -> TokenCount:
    """A TokenCount for a model: `tally_of(counter, encoding_name)` counts with its encoding."""
    name = encoding_name_for(provider, model)
    tally = tally_of(counter_for(name), name)
    exact = tally.exact and known_encoding(model) is not None
    return TokenCount(tally.tokens, exact, method_name(name, exact))


def count_text(provider: str, model: str, text: str) -> TokenCount:
    """Tokens in plain text (special-token markers in it count as ordinary text)."""
    return count_for_model(provider, model, lambda counter, _: counter.tally(text))


def count_messages(
    provider: str,
    model: str,
    messages: Sequence[Message],
    system: str | None = None,
    tools: Sequence[ToolSpec] | None = None,
) -> TokenCount:
    """Input tokens of a chat request, counted the way OpenAI frames chat messages.

    Exact only for an OpenAI model with plain-text messages and no tools;
    images, tool calls, tool results and tool definitions make it an estimate.
    """
    name = encoding_name_for(provider, model)
    counter = _Counter(counter_for(name))
    if system:
        counter.message("system", [TextPart(text=system)])
    for message in messages:
        counter.message(message.role, message.parts())
    for tool in tools or ():
        counter.tool(tool)
    total = counter.tokens + REPLY_PRIMING_TOKENS
    exact = counter.exact and known_encoding(model) is not None
    return TokenCount(total, exact, method_name(name, exact))


class _Counter:
    def __init__(self, chunked: ChunkedCounter) -> None:
        self._chunked = chunked
        self.tokens = 0
        self.exact = True

    def message(self, role: str, parts: Sequence[Any]) -> None:
        self.tokens += TOKENS_PER_MESSAGE + self._text(role)
        if len(parts) > 1:
            self.exact = False
        for part in parts:
            self._part(part)

    def tool(self, tool: ToolSpec) -> None:
        self.exact = False
        definition = {
            "name": tool.name,
            "description": tool.description or "",
            "parameters": tool.input_schema,
        }
        self.tokens += self._text(json.dumps(definition, ensure_ascii=False))

    def _part(self, part: Any) -> None:
        if isinstance(part, TextPart):
            self.tokens += self._text(part.text)
            return
        self.exact = False
        if isinstance(part, ImagePart):
            self.tokens += IMAGE_TOKENS_ESTIMATE
        elif isinstance(part, ToolUsePart):
            self.tokens += self._text(part.name) + self._text(json.dumps(part.input))
        elif isinstance(part, ToolResultPart):
            content = part.content
            for inner in [TextPart(text=content)] if isinstance(content, str) else content:
                self._part(inner)
        elif isinstance(part, ThinkingPart):
            self.tokens += self._text(part.text)
        # redacted thinking is opaque ciphertext: its token cost is unknowable here

    def _text(self, text: str) -> int:
        tally = self._chunked.tally(text)
        self.exact = self.exact and tally.exact
        return tally.tokens


def _parse_ranks(data: bytes) -> dict[bytes, int]:
    # The same "<base64 token> <rank>" lines tiktoken.load.load_tiktoken_bpe
    # reads, parsed from memory so that tiktoken's download cache is never touched.
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def method_name(name: str, exact: bool) -> str:
    return f"tiktoken:{name}" if exact else f"estimate:{name}"
