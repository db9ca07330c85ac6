"""Local token counting with tiktoken, from rank files shipped in the package.

Encodings are built by tiktoken's own constructors (``tiktoken_ext.openai_public``:
pattern, special tokens, rank-file location and pinned SHA-256) and parsed by
``tiktoken.load.load_tiktoken_bpe``; only the place the rank file is read from
is swapped, for ``data/tiktoken/<file>.gz`` in this package, checked against
the hash the constructor pins. Nothing is ever downloaded. Which model uses
which encoding is tiktoken's own map (``tiktoken.model``). Counts are exact for
the OpenAI models tiktoken maps; for every other model they are estimates.
Texts are counted chunk by chunk through one shared cache per encoding (see
text_counting.py), which also bounds the time any text can take.

tiktoken is imported, and an encoding's ranks loaded (~76 MiB for
o200k_base), on the first count that needs that encoding, never at start-up.
Where an estimate is enough (`estimate_messages`, `estimate_text`) and the
encoding is not loaded yet, a compact count from the UTF-8 size stands in.
"""

from __future__ import annotations

import gzip
import json
import math
import threading
import types
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
# The compact count: about four UTF-8 bytes a token for English text and code
# in both encodings (CJK text runs closer to three).
COMPACT_BYTES_PER_TOKEN = 4
COMPACT_METHOD = "estimate:compact"

#: Encodings whose pre-tokenizer text_counting.py has proved safe to cut.
SPLITTABLE_ENCODINGS = frozenset({CL100K_BASE, O200K_BASE})
#: Encodings counted with: a model tiktoken maps elsewhere is estimated with one of these.
COUNTING_ENCODINGS = SPLITTABLE_ENCODINGS


@dataclass(frozen=True)
class TokenCount:
    input_tokens: int
    exact: bool
    method: str


_encodings: dict[str, tiktoken.Encoding] = {}
_encodings_lock = threading.Lock()


def known_encoding(model: str) -> str | None:
    """The encoding tiktoken maps an OpenAI model to, if it is one counted here.

    A routed name such as ``openai/gpt-4o`` counts by its last segment.
    """
    from tiktoken.model import encoding_name_for_model

    name = model.rsplit("/", 1)[-1].lower()
    try:
        encoding = encoding_name_for_model(name)
    except KeyError:
        return None
    return encoding if encoding in COUNTING_ENCODINGS else None


def encoding_name_for(provider: str, model: str) -> str:
    """The encoding used to count for a model: its own, or the closest estimate."""
    known = known_encoding(model)
    if known is not None:
        return known
    return O200K_BASE if provider == "openai" else CL100K_BASE


def is_loaded(name: str) -> bool:
    """Whether an encoding is built already (counting with it costs no load)."""
    return name in _encodings


def counts_without_loading(provider: str, model: str) -> bool:
    """Whether the model's encoding is built already (tiktoken is not even imported if none is)."""
    return bool(_encodings) and is_loaded(encoding_name_for(provider, model))


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
    """Build an encoding with tiktoken's own constructor, fed the packaged rank file."""
    import tiktoken

    constructor = offline_constructors().get(name)
    if constructor is None:
        raise ValueError(f"tiktoken defines no encoding {name!r}")
    return tiktoken.Encoding(**constructor())


def offline_constructors() -> Mapping[str, Callable[[], dict[str, Any]]]:
    """tiktoken_ext.openai_public's constructors, reading rank files from this package.

    Each constructor and the tiktoken.load functions it calls are the
    installed ones, rebound to a namespace where ``read_file_cached`` (the
    one place tiktoken downloads and caches) reads the packaged file instead.
    tiktoken's download cache and the process's globals are left alone.
    """
    import tiktoken.load
    import tiktoken_ext.openai_public as openai_public

    loaders = {
        name: _rebound(getattr(tiktoken.load, name), read_file_cached=read_packaged)
        for name in ("load_tiktoken_bpe", "data_gym_to_mergeable_bpe_ranks")
    }
    namespace = dict(vars(openai_public), **loaders)
    constructors = {}
    for name, constructor in openai_public.ENCODING_CONSTRUCTORS.items():
        # rebound in the shared namespace, so that one constructor calling
        # another (o200k_harmony calls o200k_base) stays offline too
        namespace[constructor.__name__] = constructors[name] = _in_namespace(constructor, namespace)
    return constructors


def read_packaged(blobpath: str, expected_hash: str | None = None) -> bytes:
    """The packaged copy of a tiktoken rank file, checked against its pinned SHA-256."""
    from tiktoken.load import check_hash

    file_name = blobpath.rsplit("/", 1)[-1]
    packaged = resources.files("switchboard.providers.catalog").joinpath(
        f"data/tiktoken/{file_name}.gz"
    )
    if not packaged.is_file():
        raise ValueError(f"no packaged tiktoken rank file for {file_name!r}")
    data = gzip.decompress(packaged.read_bytes())
    if expected_hash is None or not check_hash(data, expected_hash):
        raise ValueError(f"the packaged {file_name} does not match its pinned SHA-256")
    return data


def _rebound(function: Any, **names: Any) -> Any:
    return _in_namespace(function, dict(function.__globals__, **names))


def _in_namespace(function: Any, namespace: dict[str, Any]) -> Any:
    rebound = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )
    rebound.__kwdefaults__ = function.__kwdefaults__
    return rebound


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
    counter = _framed(counter_for(name).tally, messages, system, tools)
    exact = counter.exact and known_encoding(model) is not None
    return TokenCount(counter.tokens + REPLY_PRIMING_TOKENS, exact, method_name(name, exact))


def estimate_messages(
    provider: str,
    model: str,
    messages: Sequence[Message],
    system: str | None = None,
    tools: Sequence[ToolSpec] | None = None,
) -> TokenCount:
    """`count_messages` if the model's encoding is loaded, else a compact count.

    For estimates taken while or after a chat streams, which must not load
    a tokenizer's ranks for it.
    """
    if counts_without_loading(provider, model):
        return count_messages(provider, model, messages, system, tools)
    counter = _framed(compact_tally, messages, system, tools)
    return TokenCount(counter.tokens + REPLY_PRIMING_TOKENS, False, COMPACT_METHOD)


def estimate_text(provider: str, model: str, text: str) -> TokenCount:
    """`count_text` if the model's encoding is loaded, else a compact count."""
    if counts_without_loading(provider, model):
        return count_text(provider, model, text)
    return TokenCount(compact_tally(text).tokens, False, COMPACT_METHOD)


def compact_tally(text: str) -> Tally:
    """Tokens in a text from its UTF-8 size, without a tokenizer (never exact)."""
    return Tally(math.ceil(len(text.encode()) / COMPACT_BYTES_PER_TOKEN), False)


def _framed(
    tally: Callable[[str], Tally],
    messages: Sequence[Message],
    system: str | None,
    tools: Sequence[ToolSpec] | None,
) -> _Counter:
    counter = _Counter(tally)
    if system:
        counter.message("system", [TextPart(text=system)])
    for message in messages:
        counter.message(message.role, message.parts())
    for tool in tools or ():
        counter.tool(tool)
    return counter


class _Counter:
    def __init__(self, tally: Callable[[str], Tally]) -> None:
        self._tally = tally
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
            written = (part.raw_input or "") if part.input is None else json.dumps(part.input)
            self.tokens += self._text(part.name) + self._text(written)
        elif isinstance(part, ToolResultPart):
            content = part.content
            for inner in [TextPart(text=content)] if isinstance(content, str) else content:
                self._part(inner)
        elif isinstance(part, ThinkingPart):
            self.tokens += self._text(part.text)
        # redacted thinking is opaque ciphertext: its token cost is unknowable here

    def _text(self, text: str) -> int:
        tally = self._tally(text)
        self.exact = self.exact and tally.exact
        return tally.tokens


def method_name(name: str, exact: bool) -> str:
    return f"tiktoken:{name}" if exact else f"estimate:{name}"
