"""`switchboard models` and `switchboard doctor`: plain-text reports for the terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable

from switchboard.protocol.catalog import ModelInfo
from switchboard.providers.adapters import kinds
from switchboard.providers.auth.credential_chains import CredentialChain
from switchboard.providers.auth.credential_store import CredentialStore
from switchboard.providers.auth.redact import redact
from switchboard.providers.catalog.calibration import FILE_NAME as CALIBRATION_FILE
from switchboard.providers.catalog.calibration import Calibration
from switchboard.providers.config import Config, apply_overrides, config_path, data_dir, load_config
from switchboard.providers.engine import ChatEngine
from switchboard.providers.errors import ProviderError

from .terminal_text import printable

#: how long `switchboard models` waits for the providers' lists (the server waits less)
MODELS_BUDGET_S = 10.0


def engine_for(config_file: str | None) -> tuple[ChatEngine, Config]:
    """The engine the server would build: the config file, the data dir, the credential store."""
    known = frozenset(kinds())
    path = config_path(config_file)
    config = apply_overrides(load_config(path, known), None, known)
    directory = data_dir()
    engine = ChatEngine(
        config,
        model_cache_dir=directory / "models",
        store=CredentialStore(directory),
        calibration=Calibration(directory / CALIBRATION_FILE),
    )
    return engine, config


def _tokens(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("M", 1_000_000), ("k", 1000)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def _price(value: float | None) -> str:
    return "-" if value is None else f"${value:g}"


def availability_mark(info: ModelInfo, checked: bool) -> str:
    """✓ usable, checked; ? not checked (credentials found, or a server that has not
    answered yet); blank: no credentials, refused ones, a server that is not running,
    or a model the provider does not list."""
    if not checked:
        return "?"
    return "✓" if info.available else " "


def print_models(config_file: str | None, out: Callable[[str], None] = print) -> int:
    """The catalog merged with each provider's list (cached), each model marked by what is
    known of its availability; a provider that does not answer within the budget shows `?`."""
    import asyncio

    engine, _ = engine_for(config_file)
    engine.models.budget_s = MODELS_BUDGET_S

    async def listed() -> list[tuple[ModelInfo, str]]:
        try:
            models = await engine.models.models()
            checked = {p: engine.models.checked(p) for p in {m.provider for m in models}}
            return [(info, availability_mark(info, checked[info.provider])) for info in models]
        finally:
            await engine.aclose()

    rows = [("", "model", "context", "max out", "in $/M", "out $/M", "cache r/w $/M")]
    for info, mark in asyncio.run(listed()):
        pricing = info.pricing
        rows.append(
            (
                mark + ("*" if info.is_default else " "),
                printable(info.id),
                _tokens(info.context_window),
                _tokens(info.max_output_tokens),
                _price(pricing.input_per_m_tok if pricing else None),
                _price(pricing.output_per_m_tok if pricing else None),
                "/".join(
                    _price(v)
                    for v in (
                        pricing.cache_read_per_m_tok if pricing else None,
                        pricing.cache_write_per_m_tok if pricing else None,
                    )
                ),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    out(
        "\n✓ available (credentials checked by the provider, or its server answered)"
        "   ? not checked   * default model"
    )
    return 0


def _chain(engine: ChatEngine, provider: str) -> CredentialChain | None:
    """The provider's cloud credential chain (AWS, Google), if it signs in through one."""
    try:
        authenticator = engine.authenticator(provider, engine.adapter(provider), None)
    except ProviderError:
        return None
    return authenticator if isinstance(authenticator, CredentialChain) else None


def print_doctor(config_file: str | None, out: Callable[[str], None] = print) -> int:
    """Every line passes redaction: a base_url may carry a password (`https://user:pw@host`)."""
    shown = out

    def redacted(line: str) -> None:
        shown(redact(line))

    out = redacted
    engine, config = engine_for(config_file)
    path = config_path(config_file)
    problems = 0
    out(f"config file: {path}" + ("" if path.exists() else " (not found: defaults apply)"))
    for issue in config.issues:
        problems += 1
        out(f"  problem: {issue}")
    out(f"data dir:    {data_dir()}")
    if engine.store is not None:
        out(f"keys stored in: {engine.store.describe()}")
        if engine.store.fallback:
            out(
                "  warning: no OS keyring works here, so signed-in keys are kept in that file "
                "(readable by you only); install and unlock a Secret Service (e.g. "
                "gnome-keyring) to use the OS keyring"
            )
    out(f"default model: {engine.default_model()}")
    out("providers:")
    for provider in engine.provider_ids():
        adapter = engine.adapter(provider)
        credential = engine.credential(provider)
        if credential is not None:
            state = f"credentials from {credential.source}"
        elif engine.settings(provider).oauth is not None:
            state = (
                "signed in (OAuth)"
                if engine.has_credentials(provider)
                else f"not signed in: switchboard login {provider}"
            )
        elif (chain := _chain(engine, provider)) is not None:
            found = chain.credentials_source()
            state = (
                f"credentials from {found} (checked on first use)"
                if found
                else "no credentials found on this machine (metadata servers not asked)"
            )
        elif engine.has_credentials(provider) and adapter.api_key_envs:
            state = "credentials from the provider's own chain (checked on first use)"
        elif adapter.api_key_envs:
            state = "no credentials (set " + " or ".join(adapter.api_key_envs) + ")"
        else:
            state = "no credentials needed"
        out(f"  {provider:<12} {engine.base_url(provider):<36} {state}")
    directory = engine.plugins.directory
    out(f"provider plugins (entry points, and {directory or 'no plugins directory'}):")
    for plugin in engine.plugins.providers().values():
        out(f"  {plugin.id:<12} {plugin.version or '-':<10} {plugin.origin}")
    for problem in engine.plugins.problems():
        problems += 1
        out(f"  problem: {problem}")
    out("tokenizers:")
    for name in ("o200k_base", "cl100k_base"):
        try:
            from switchboard.providers.catalog.tokens import get_encoding

            get_encoding(name)
            out(f"  {name}: ok (packaged)")
        except Exception as error:
            problems += 1
            out(f"  {name}: NOT AVAILABLE: {error}")
    if problems:
        print(f"{problems} problem(s) found", file=sys.stderr)
    return 1 if problems else 0
