"""Reading an API key from the terminal without echo, or from a pipe without a word.

On a terminal the key is read with echo off (getpass). Piped in
(`printf '%s\\n' "$KEY" | switchboard set-key openai`), its first line is the
key: nothing is prompted or echoed, and getpass's "may be echoed" warning never
shows. With neither a terminal nor a key on stdin, `NoKeyInput` says what to do.
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO


class NoKeyInput(Exception):
    """There is no terminal to ask on, and stdin gave no key."""


def read_secret(prompt: str, stdin: TextIO | None = None) -> str:
    """The key, stripped; "" when the user entered nothing at the prompt."""
    stream = sys.stdin if stdin is None else stdin
    if stream is None or stream.closed:
        raise NoKeyInput
    if _is_terminal(stream):
        try:
            return getpass.getpass(prompt).strip()
        except EOFError:  # Ctrl-D at the prompt
            return ""
    line = stream.readline()
    if not line.strip():
        raise NoKeyInput
    return line.strip()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False
