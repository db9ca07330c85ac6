"""A real keyring backend for tests: secrets in the JSON file that $SWITCHBOARD_TEST_KEYRING names.

Selected with PYTHON_KEYRING_BACKEND=tests.keyring_backend.FileKeyring (the
LSP harness sets both), so the test process and a server subprocess share
one keyring and neither touches the host's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

KEYRING_ENV = "SWITCHBOARD_TEST_KEYRING"


class FileKeyring(KeyringBackend):
    """{"<service>": {"<username>": "<password>"}} in one JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self._path = path

    @properties.classproperty
    def priority(cls) -> float:
        if not os.environ.get(KEYRING_ENV):
            raise RuntimeError(f"{KEYRING_ENV} is not set")
        return 20

    @property
    def path(self) -> Path:
        if self._path is not None:
            return self._path
        named = os.environ.get(KEYRING_ENV)
        if not named:
            raise RuntimeError(f"{KEYRING_ENV} is not set")
        return Path(named)

    def get_password(self, service: str, username: str) -> str | None:
        value = self._load().get(service, {}).get(username)
        return value if isinstance(value, str) else None

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if username not in data.get(service, {}):
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}")
        del data[service][username]
        self._save(data)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(temporary, self.path)
