"""Where Switchboard keeps the keys a user signs in with: the OS keyring, else a private file.

The keyring library picks the backend (PYTHON_KEYRING_BACKEND and the
keyringrc config included). When it has none that works (no Secret Service,
a headless box), the secrets go to a JSON file in the data dir that only the
user can read. Entries are per provider id and account: service
"switchboard", username "<provider>/<account>".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .redact import register_secret

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "switchboard"
DEFAULT_ACCOUNT = "default"
FALLBACK_DIR = "credentials"
FALLBACK_FILE = "credentials.json"
ACCOUNTS_FILE = "accounts.json"
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

logger = logging.getLogger("switchboard.credentials")


class CredentialStore:
    def __init__(self, data_dir: Path) -> None:
        self.directory = Path(data_dir) / FALLBACK_DIR
        self.fallback_path = self.directory / FALLBACK_FILE
        self._lock = threading.RLock()
        self._backend: KeyringBackend | None = None
        self._resolved = False

    # ---- the public face ---------------------------------------------------

    @property
    def fallback(self) -> bool:
        """True when no OS keyring backend works and secrets live in the private file."""
        return self._keyring() is None

    def describe(self) -> str:
        backend = self._keyring()
        if backend is None:
            return f"file {self.fallback_path} (0600; no OS keyring available)"
        return f"OS keyring ({_backend_name(backend)})"

    def get(self, provider: str, account: str = DEFAULT_ACCOUNT) -> str | None:
        found = self.lookup(provider, account)
        return found[0] if found else None

    def lookup(self, provider: str, account: str = DEFAULT_ACCOUNT) -> tuple[str, str] | None:
        """The secret and where it was: "keyring" or "file"."""
        username = _username(provider, account)
        secret = self._from_keyring("get", lambda kr: kr.get_password(SERVICE, username))
        if isinstance(secret, str) and secret:
            register_secret(secret)
            return secret, "keyring"
        # Also when the keyring works: a secret saved while it was failing is still here.
        secret = self._read_file().get(username)
        return (secret, "file") if secret else None

    def set(self, provider: str, secret: str, account: str = DEFAULT_ACCOUNT) -> None:
        if not secret:
            raise ValueError("an empty secret cannot be stored")
        register_secret(secret)
        username = _username(provider, account)
        done = self._from_keyring("set", lambda kr: kr.set_password(SERVICE, username, secret))
        if done is _FELL_BACK:
            with self._lock:
                secrets = self._read_file()
                secrets[username] = secret
                self._write_file(secrets)
        self._remember(username, present=True)
        logger.info("stored the credential of %s in %s", username, self.describe())

    def delete(self, provider: str, account: str = DEFAULT_ACCOUNT) -> bool:
        username = _username(provider, account)
        existed = self.get(provider, account) is not None
        if existed:
            self._delete_stored(username)
            logger.info("deleted the credential of %s from %s", username, self.describe())
        self._remember(username, present=False)
        return existed

    def accounts(self, provider: str) -> list[str]:
        """Accounts with a credential stored through Switchboard (names only, no look-up)."""
        prefix = f"{provider}/"
        names = self._read_private(ACCOUNTS_FILE).get("accounts", [])
        if self._keyring() is None:
            names = [*names, *self._read_file()]
        found = {n[len(prefix) :] for n in names if isinstance(n, str) and n.startswith(prefix)}
        return sorted(found)

    # ---- the keyring -------------------------------------------------------

    def _keyring(self) -> KeyringBackend | None:
        with self._lock:
            if not self._resolved:
                self._backend = _working_backend()
                self._resolved = True
                if self._backend is None:
                    logger.info("no OS keyring available; credentials go to %s", self.fallback_path)
                else:
                    logger.info("credentials are kept in %s", self.describe())
            return self._backend

    def _from_keyring(self, action: str, use: Callable[[KeyringBackend], Any]) -> Any:
        """`use(backend)`, or _FELL_BACK when the keyring does not work (from now on)."""
        from keyring.errors import KeyringError

        backend = self._keyring()
        if backend is None:
            return _FELL_BACK
        try:
            return use(backend)
        except KeyringError as error:
            with self._lock:
                self._backend = None
            logger.warning(
                "the OS keyring (%s) failed to %s a credential (%s); using %s from now on",
                _backend_name(backend),
                action,
                type(error).__name__,
                self.fallback_path,
            )
            return _FELL_BACK

    def _delete_stored(self, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        def delete(backend: KeyringBackend) -> None:
            with contextlib.suppress(PasswordDeleteError):
                backend.delete_password(SERVICE, username)

        self._from_keyring("delete", delete)
        with self._lock:
            secrets = self._read_file()
            if secrets.pop(username, None) is not None:
                self._write_file(secrets)

    # ---- the private files ---------------------------------------------------

    def _read_file(self) -> dict[str, str]:
        secrets = self._read_private(FALLBACK_FILE).get("secrets", {})
        if not isinstance(secrets, dict):
            return {}
        found = {k: v for k, v in secrets.items() if isinstance(k, str) and isinstance(v, str)}
        for secret in found.values():
            register_secret(secret)
        return found

    def _write_file(self, secrets: dict[str, str]) -> None:
        self._write_private(FALLBACK_FILE, {"secrets": secrets})

    def _remember(self, username: str, *, present: bool) -> None:
        with self._lock:
            names = set(self._read_private(ACCOUNTS_FILE).get("accounts", []))
            changed = (username not in names) if present else (username in names)
            if changed:
                names = names | {username} if present else names - {username}
                self._write_private(ACCOUNTS_FILE, {"accounts": sorted(names)})

    def _read_private(self, name: str) -> dict[str, Any]:
        path = self.directory / name
        try:
            _make_private(self.directory, PRIVATE_DIR)
            _make_private(path, PRIVATE_FILE)
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            logger.warning("cannot read %s (%s); treating it as empty", path, type(error).__name__)
            return {}
        return data if isinstance(data, dict) else {}

    def _write_private(self, name: str, data: dict[str, Any]) -> None:
        self.directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        _make_private(self.directory, PRIVATE_DIR)
        path = self.directory / name
        temporary = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, PRIVATE_FILE)  # the umask may only narrow; make it exact
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                fd = -1
                json.dump(data, out, indent=2, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise


class _FellBack:
    """The keyring did not answer: the file does."""


_FELL_BACK: Any = _FellBack()


def _username(provider: str, account: str) -> str:
    if not provider or "/" in provider:
        raise ValueError(f"not a provider id: {provider!r}")
    return f"{provider}/{account or DEFAULT_ACCOUNT}"


def _working_backend() -> KeyringBackend | None:
    """The keyring library's choice, unless it is one that cannot keep a secret."""
    try:
        import keyring
        from keyring.backends import chainer, fail, null

        backend = keyring.get_keyring()
    except Exception as error:  # a broken PYTHON_KEYRING_BACKEND, a failing plugin
        logger.warning("the OS keyring cannot be loaded (%s: %s)", type(error).__name__, error)
        return None
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def _backend_name(backend: KeyringBackend) -> str:
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend):
        return ", ".join(_backend_name(b) for b in backend.backends)
    name = type(backend).name
    return name.removesuffix(" Keyring") if name.endswith(" Keyring") else name


def _make_private(path: Path, mode: int) -> None:
    """Take group and other permissions away from an existing file or dir."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        if mode == PRIVATE_FILE:
            raise
        return
    if current & 0o077:
        os.chmod(path, mode)
        logger.warning("%s was readable by others; its permissions are now %o", path, mode)
