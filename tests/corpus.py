"""Where the recorded wire corpus lives, and how tests read it.

The corpus stays in ../shared (never copied into the project). Tests that
need it skip with a clear reason when it is absent; CI always has it.
"""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SWITCHBOARD_SHARED", REPO.parent / "shared"))
WIRE = SHARED / "corpus" / "wire"


def wire_dir(provider: str) -> Path:
    folder = WIRE / provider
    if not folder.is_dir():
        pytest.skip(f"wire corpus not found at {folder} (it lives in ../shared beside the repo)")
    return folder


def wire_files(provider: str, suffixes: tuple[str, ...]) -> list[Path]:
    """Every corpus file of a provider with one of the suffixes; empty list if no corpus."""
    folder = WIRE / provider
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(suffixes))


def body_bytes(path: Path) -> bytes:
    """The body as the client sees it after content decoding (gzip .bin files are inflated)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    return raw


def meta(path: Path) -> dict[str, Any] | None:
    sidecar = path.with_name(path.name.split(".")[0] + ".meta.json")
    return json.loads(sidecar.read_text()) if sidecar.exists() else None


def random_chunks(data: bytes, seed: int, low: int = 1, high: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        n = rng.randint(low, high)
        out.append(data[i : i + n])
        i += n
    return out
