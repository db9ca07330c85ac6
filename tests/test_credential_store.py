"""The credential store through the real keyring API: test backend, fallback file, env choice."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.compat import properties
from keyring.errors import KeyringLocked
from switchboard.providers.auth.credential_store import SERVICE, CredentialStore

from tests.keyring_backend import KEYRING_ENV, FileKeyring
from tests.lsp_harness import REPO_ROOT, server_env

CANARY = "sk-canary-Zq8vN3pLr7Tw1Yb5Kd9Hs2Mx"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def test_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "keyring.json"
    monkeypatch.setenv(KEYRING_ENV, str(path))
    keyring.set_keyring(FileKeyring())
    yield path
    keyring.set_keyring(fail.Keyring())


@pytest.fixture
def no_keyring() -> Iterator[None]:
    keyring.set_keyring(fail.Keyring())
    yield


class LockedKeyring(KeyringBackend):
    """A keyring that is there but refuses every use, like a locked Secret Service."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("only set explicitly by the tests")

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the collection is locked")


def test_round_trip_through_the_keyring(test_keyring: Path, tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "data")
    assert store.get("openai") is None
    store.set("openai", CANARY)
    store.set("openai", "sk-second-account-0000000000", account="work")
    store.set("anthropic", "sk-ant-other-provider-00000000")

    assert store.get("openai") == CANARY
    assert store.lookup("openai") == (CANARY, "keyring")
    assert keyring.get_password(SERVICE, "openai/default") == CANARY
    assert keyring.get_password(SERVICE, "openai/work") == "sk-second-account-0000000000"
    assert json.loads(test_keyring.read_text())[SERVICE]["anthropic/default"].startswith("sk-ant")
    assert store.accounts("openai") == ["default", "work"]
    assert not store.fallback
    assert store.describe() == "OS keyring (keyring backend FileKeyring)"
    assert not (tmp_path / "data" / "credentials" / "credentials.json").exists()

    assert store.delete("openai") is True
    assert store.delete("openai") is False
    assert store.get("openai") is None
    assert keyring.get_password(SERVICE, "openai/default") is None
    assert store.accounts("openai") == ["work"]
    assert CredentialStore(tmp_path / "data").get("openai", "work") is not None


@pytest.mark.usefixtures("no_keyring")
def test_falls_back_to_a_private_file_without_a_keyring(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "data")
    assert store.fallback
    store.set("openrouter", CANARY)

    folder = tmp_path / "data" / "credentials"
    file = folder / "credentials.json"
    assert mode_of(folder) == 0o700
    assert mode_of(file) == 0o600
    assert json.loads(file.read_text())["secrets"] == {"openrouter/default": CANARY}
    assert store.describe() == f"file {file} (0600; no OS keyring available)"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []

    again = CredentialStore(tmp_path / "data")
    assert again.lookup("openrouter") == (CANARY, "file")
    assert again.accounts("openrouter") == ["default"]
    assert again.delete("openrouter") is True
    assert again.get("openrouter") is None
    assert json.loads(file.read_text())["secrets"] == {}


@pytest.mark.usefixtures("no_keyring")
def test_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        CredentialStore(tmp_path / "data").set("xai", CANARY)
    finally:
        os.umask(previous)
    folder = tmp_path / "data" / "credentials"
    assert mode_of(folder) == 0o700
    assert mode_of(folder / "credentials.json") == 0o600


@pytest.mark.usefixtures("no_keyring")
def test_permissions_of_an_existing_file_are_fixed(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "credentials"
    folder.mkdir(parents=True)
    file = folder / "credentials.json"
    file.write_text(json.dumps({"secrets": {"gemini/default": CANARY}}))
    os.chmod(folder, 0o755)
    os.chmod(file, 0o644)

    assert CredentialStore(tmp_path / "data").get("gemini") == CANARY
    assert mode_of(folder) == 0o700
    assert mode_of(file) == 0o600


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_backends_that_cannot_keep_a_secret_mean_fallback(
    tmp_path: Path, backend: KeyringBackend
) -> None:
    keyring.set_keyring(backend)
    try:
        store = CredentialStore(tmp_path / "data")
        assert store.fallback
        store.set("openai", CANARY)
        assert store.lookup("openai") == (CANARY, "file")
    finally:
        keyring.set_keyring(fail.Keyring())


def test_a_keyring_error_on_use_falls_back_to_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keyring.set_keyring(LockedKeyring())
    caplog.set_level(logging.DEBUG)
    try:
        store = CredentialStore(tmp_path / "data")
        assert not store.fallback
        assert store.get("openai") is None  # the locked keyring raised; the file is empty
        assert store.fallback
        store.set("openai", CANARY)
        assert store.lookup("openai") == (CANARY, "file")
        assert "credentials.json" in store.describe()
    finally:
        keyring.set_keyring(fail.Keyring())
    assert "KeyringLocked" in caplog.text
    assert CANARY not in caplog.text


def test_a_secret_saved_in_the_file_is_found_once_the_keyring_works(
    test_keyring: Path, tmp_path: Path
) -> None:
    keyring.set_keyring(fail.Keyring())
    CredentialStore(tmp_path / "data").set("openai", CANARY)
    keyring.set_keyring(FileKeyring())
    store = CredentialStore(tmp_path / "data")
    assert not store.fallback
    assert store.lookup("openai") == (CANARY, "file")
    assert store.delete("openai") is True
    assert store.get("openai") is None


def test_no_secret_reaches_the_logs(
    test_keyring: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = CredentialStore(tmp_path / "data")
    store.set("openai", CANARY)
    store.get("openai")
    store.delete("openai")
    keyring.set_keyring(fail.Keyring())
    fallback = CredentialStore(tmp_path / "data2")
    fallback.set("openai", CANARY)
    fallback.get("openai")
    fallback.delete("openai")

    assert "openai/default" in caplog.text  # where things go is logged ...
    assert "credentials.json" in caplog.text
    assert CANARY not in caplog.text  # ... the secret is not
    assert CANARY not in repr(store) + str(store)


def store_in_subprocess(tmp_path: Path, backend: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import sys; from pathlib import Path\n"
        "from switchboard.providers.auth.credential_store import CredentialStore\n"
        "store = CredentialStore(Path(sys.argv[1]))\n"
        "store.set('openai', sys.argv[2])\n"
        "print(store.describe())\n"
    )
    env = server_env(tmp_path / "data", {"PYTHON_KEYRING_BACKEND": backend})
    return subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data"), CANARY],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_keyring_backend_is_honoured_in_a_subprocess(tmp_path: Path) -> None:
    done = store_in_subprocess(tmp_path, "tests.keyring_backend.FileKeyring")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OS keyring (keyring backend FileKeyring)"
    assert json.loads((tmp_path / "keyring.json").read_text()) == {
        SERVICE: {"openai/default": CANARY}
    }
    assert not (tmp_path / "data" / "credentials" / "credentials.json").exists()
    assert str(REPO_ROOT) in server_env(tmp_path)["PYTHONPATH"]


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", "no_such_module.Keyring"])
def test_subprocess_without_a_working_backend_uses_the_file(tmp_path: Path, backend: str) -> None:
    done = store_in_subprocess(tmp_path, backend)
    assert done.returncode == 0, done.stderr
    file = tmp_path / "data" / "credentials" / "credentials.json"
    assert done.stdout.strip() == f"file {file} (0600; no OS keyring available)"
    assert json.loads(file.read_text())["secrets"] == {"openai/default": CANARY}
    assert not (tmp_path / "keyring.json").exists()


def test_provider_ids_cannot_escape_their_entry(test_keyring: Path, tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "data")
    with pytest.raises(ValueError):
        store.set("openai/evil", CANARY)
    with pytest.raises(ValueError):
        store.set("openai", "")
