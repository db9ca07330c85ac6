"""A key a header cannot carry is refused before anything is stored.

A key pasted with a zero-width space or a smart quote was once stored, and every
later chat failed with -32603 UnicodeEncodeError. `Accounts.set_api_key` (the
editor's setApiKey and the CLI's set-key) now refuses it as invalid params
naming `apiKey`, and the message names the character, never the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.auth.credential_store import CredentialStore
from switchboard.providers.auth.signin import Accounts, unsendable_key_problem
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine

from tests.test_cli_accounts import keyring as stored_keys
from tests.test_cli_accounts import run_cli

GOOD = "sk-test-Kp3Vn8Qw2Lm5Rt7Yx0Zb4Hd6"
UNSENDABLE = {
    "zero-width space": (GOOD[:10] + "\u200b" + GOOD[10:], "U+200B (zero width space)", 11),
    "smart quote": ("\u201c" + GOOD + "\u201d", "U+201C (left double quotation mark)", 1),
    "line break inside": (GOOD[:5] + "\n" + GOOD[5:], "U+000A (a control character)", 6),
    "space inside": (GOOD[:5] + " " + GOOD[5:], "U+0020 (space)", 6),
    "non-breaking space": (GOOD + "\u00a0x", "U+00A0 (no-break space)", len(GOOD) + 1),
    "accented letter": ("clé-" + GOOD, "U+00E9", 3),
}


@pytest.fixture
def no_keyring() -> Iterator[None]:
    keyring.set_keyring(fail.Keyring())
    yield


@pytest.mark.parametrize("name", list(UNSENDABLE))
def test_the_problem_names_the_character_and_its_place_never_the_key(name: str) -> None:
    key, described, position = UNSENDABLE[name]
    problem = unsendable_key_problem(key)
    assert problem is not None
    assert described in problem
    assert f"character {position} " in problem
    assert GOOD not in problem and GOOD[:8] not in problem


def test_printable_ascii_keys_pass() -> None:
    for key in (GOOD, "AIzaSyA-0123456789_abcdefghijklmnopqrstu", "a.b~c+d/e=f!g"):
        assert unsendable_key_problem(key) is None


@pytest.mark.parametrize("name", list(UNSENDABLE))
async def test_set_api_key_refuses_before_storing_anything(
    tmp_path: Path, no_keyring: None, name: str
) -> None:
    store = CredentialStore(tmp_path / "data")
    store.set("openai", GOOD)
    engine = ChatEngine(Config(), environ={}, store=store)
    key = UNSENDABLE[name][0]
    with pytest.raises(InvalidParams) as refused:
        await Accounts(engine).set_api_key("openai", key)
    assert refused.value.field == "apiKey"
    assert str(refused.value).startswith("invalid params: apiKey: character")
    assert store.get("openai") == GOOD, "the previous key was replaced"
    assert key.encode() not in store.fallback_path.read_bytes()


async def test_the_cli_gives_the_same_refusal(tmp_path: Path) -> None:
    key = UNSENDABLE["zero-width space"][0]
    code, out, err = await run_cli(tmp_path, "", "set-key", "openai", stdin=key.encode() + b"\n")
    assert code == 2, (out, err)
    assert "the key was not stored: character 11 is U+200B (zero width space)" in out
    assert "openai/default" not in stored_keys(tmp_path)
    assert GOOD[:8] not in out + err
