"""Where a provider's credential comes from: one look-up every caller shares.

Order: the env var named in config (`api_key_env`), the provider's standard
env vars, the credential store (OS keyring, else the private file; entries
per provider id), then what the adapter finds elsewhere (the token another
Copilot client keeps). Every secret found is registered with the redactor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..base import Adapter, Credential, ProviderSettings
from .redact import register_secret

if TYPE_CHECKING:
    from .credential_store import CredentialStore


def find_credential(
    settings: ProviderSettings,
    standard_envs: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
    store: CredentialStore | None = None,
    adapter: Adapter | None = None,
) -> Credential | None:
    env = os.environ if environ is None else environ
    names = (settings.api_key_env, *standard_envs) if settings.api_key_env else standard_envs
    for name in names:
        value = env.get(name, "").strip()
        if value:
            register_secret(value)
            return Credential(secret=value, source=f"env:{name}")
    if store is not None:
        stored = store.lookup(settings.id)
        if stored is not None:
            secret, where = stored
            register_secret(secret)
            return Credential(secret=secret, source=where)
    if adapter is not None:
        found = adapter.external_credential(settings, env)
        if found is not None:
            register_secret(found.secret)
            return found
    return None


def credential_hint(settings: ProviderSettings, standard_envs: tuple[str, ...]) -> str:
    """Where the user can put a credential, for error messages (never the secret)."""
    names = [settings.api_key_env] if settings.api_key_env else list(standard_envs)
    return " or ".join(names) if names else "no key is needed"
