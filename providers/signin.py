"""Signing in and out: keys into the credential store, checked; sign-in flows tracked by id.

No LSP here: the server maps its methods onto these, the CLI calls them directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from switchboard.protocol.errors import ErrorCode

from .base import Credential
from .errors import ProviderError
from .redact import redact, register_secret
from .transport import Timeouts

if TYPE_CHECKING:
    from .engine import ChatEngine

logger = logging.getLogger("switchboard.signin")

CHECK_TIMEOUTS = Timeouts(connect_s=5.0, read_s=15.0)
REJECTED = frozenset({ErrorCode.AUTHENTICATION_FAILED, ErrorCode.PERMISSION_DENIED})


@dataclass(frozen=True)
class KeyCheck:
    status: Literal["signedIn", "failed"]
    verified: bool | None
    message: str | None = None


class Accounts:
    def __init__(self, engine: ChatEngine) -> None:
        self._engine = engine

    async def set_api_key(self, provider: str, api_key: str) -> KeyCheck:
        """Store the key, then check it with the provider's cheapest authenticated call.

        A key the provider rejects is not kept (any previous key stays); a key
        that cannot be checked (offline, no list endpoint) is kept, unverified.
        """
        engine = self._engine
        engine.settings(provider)  # an unknown provider fails here, before anything is stored
        store = engine.store
        if store is None:
            raise ProviderError(ErrorCode.UNSUPPORTED, "signing in needs a credential store")
        key = api_key.strip()
        register_secret(key)
        previous = store.get(provider)
        store.set(provider, key)
        engine.forget_credentials(provider)
        try:
            verified = await self._check(provider, Credential(secret=key, source="keyring"))
        except ProviderError as error:
            if error.code in REJECTED:
                self._restore(provider, previous)
                return KeyCheck("failed", False, f"{provider} rejected the key: {error.message}")
            message = f"stored, but could not be checked: {redact(error.message)}"
            return KeyCheck("signedIn", None, message)
        where = store.describe()
        if verified is None:
            return KeyCheck("signedIn", None, f"stored in {where}; {provider} has no check")
        return KeyCheck("signedIn", True, f"stored in {where}")

    def sign_out(self, provider: str) -> str | None:
        """Forget the stored key; says where a credential still comes from, if one does."""
        engine = self._engine
        engine.settings(provider)
        if engine.store is not None:
            engine.store.delete(provider)
        engine.forget_credentials(provider)
        remaining = engine.credential(provider)
        return remaining.source if remaining is not None else None

    def _restore(self, provider: str, previous: str | None) -> None:
        store = self._engine.store
        assert store is not None
        if previous is None:
            store.delete(provider)
        else:
            store.set(provider, previous)
        self._engine.forget_credentials(provider)

    async def _check(self, provider: str, credential: Credential) -> bool | None:
        engine = self._engine
        adapter = engine.adapter(provider)
        settings = engine.settings(provider)
        request = adapter.models_request(settings, credential)
        if request is None:
            return None
        request = await engine.authorize(provider, adapter, credential, request)
        await engine.transport.fetch_json(
            request, provider=provider, parse_error=adapter.parse_error, timeouts=CHECK_TIMEOUTS
        )
        return True
