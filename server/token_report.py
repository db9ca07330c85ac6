"""`switchboard tokens FILE [-m MODEL]`: a file's token count, how exact it is, and its cost."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from switchboard.protocol.chat import Usage
from switchboard.providers.catalog.tokens import count_text
from switchboard.providers.errors import ProviderError

from .reports import engine_for

STDIN = "-"


class _Unreadable(Exception):
    pass


def print_token_count(
    file: str,
    model: str | None,
    config_file: str | None,
    out: Callable[[str], None] = print,
) -> int:
    """Count FILE ("-" for stdin) for a model; 0 on success, 2 when the file or model is wrong."""
    try:
        text = _read_text(file)
    except _Unreadable as problem:
        print(f"switchboard tokens: {problem}", file=sys.stderr)
        return 2
    engine, _ = engine_for(config_file)
    try:
        target = engine.resolve(model)
        kind = engine.settings(target.provider).kind
    except ProviderError as error:
        print(f"switchboard tokens: {error.code}: {error.message}", file=sys.stderr)
        if error.suggestion:
            print(f"  {error.suggestion}", file=sys.stderr)
        return 2
    counted = count_text(kind, target.model, text)
    cost = engine.cost(target, Usage(input_tokens=counted.input_tokens))
    name = "stdin" if file == STDIN else file
    out(f"{name}: {counted.input_tokens} tokens for {target.id}")
    if counted.exact:
        out(f"  exact: yes ({counted.method})")
    else:
        out(f"  exact: no, an estimate ({counted.method}); the provider's tokenizer may differ")
    if cost is None:
        out("  input cost: unknown (no price for this model)")
    else:
        out(f"  input cost: ${_usd(cost.input_usd)}")
    return 0


def _usd(amount: float) -> str:
    return f"{amount:.9f}".rstrip("0").rstrip(".")


def _read_text(file: str) -> str:
    try:
        data = sys.stdin.buffer.read() if file == STDIN else Path(file).read_bytes()
    except FileNotFoundError:
        raise _Unreadable(f"no such file: {file}") from None
    except IsADirectoryError:
        raise _Unreadable(f"{file} is a directory, not a file") from None
    except OSError as error:
        raise _Unreadable(f"cannot read {file}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Unreadable(f"{file} is not UTF-8 text (byte {error.start})") from None
