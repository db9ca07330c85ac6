"""Where a provider's credential comes from: one look-up every caller shares.

Order: the env var named in config (`api_key_env`), then the provider's
standard env vars. (The OS keyring and provider-specific chains extend this
same function.) Every secret found is registered with the redactor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .base import Credential, ProviderSettings
from .redact import register_secret


def find_credential(
    settings: ProviderSettings,
    standard_envs: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> Credential | None:
    env = os.environ if environ is None else environ
    names = (settings.api_key_env, *standard_envs) if settings.api_key_env else standard_envs
    for name in names:
        value = env.get(name, "").strip()
        if value:
            register_secret(value)
            return Credential(secret=value, source=f"env:{name}")
    return None


def credential_hint(settings: ProviderSettings, standard_envs: tuple[str, ...]) -> str:
    """Where the user can put a credential, for error messages (never the secret)."""
    names = [settings.api_key_env] if settings.api_key_env else list(standard_envs)
    return " or ".join(names) if names else "no key is needed"
