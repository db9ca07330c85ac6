"""Compare the packaged model catalog with the providers' own model lists.

OpenRouter's `GET /api/v1/models` gives each model's limits and prices (USD
per token, as decimal strings); Copilot's `GET /models` gives limits and a
premium-request multiplier, no price. The script prints what differs from
the catalog (limits, prices, models one side lacks) and, with `--write`,
puts OpenRouter's current prices into its catalog file with today's date.

    python tools/check_catalog.py                      # both lists; Copilot only with a token
    python tools/check_catalog.py --source openrouter --write
    python tools/check_catalog.py --source copilot --list-new

Keys come from the environment, never from arguments: OPENROUTER_API_KEY
(optional: OpenRouter's list is public) and GITHUB_COPILOT_TOKEN (a GitHub
OAuth token of an account with Copilot, exchanged for a Copilot token).
The requests go through the server's own adapters, so a difference found
here is one the server sees too.

Exit status: 0 nothing differs, 1 something differs, 2 a list could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for
from switchboard.providers.auth.copilot_token import TOKEN_ENV as COPILOT_TOKEN_ENV
from switchboard.providers.base import Credential, ListedModel, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.transport import Timeouts, Transport

CATALOG_DIR = Path(__file__).resolve().parents[1] / "providers" / "catalog" / "data" / "catalog"
OPENROUTER_KEY_ENV = "OPENROUTER_API_KEY"
SOURCES = ("openrouter", "copilot")
RATES = (
    ("inputPerMTok", "input_per_m_tok"),
    ("outputPerMTok", "output_per_m_tok"),
    ("cacheReadPerMTok", "cache_read_per_m_tok"),
    ("cacheWritePerMTok", "cache_write_per_m_tok"),
)
LIMITS = (("contextWindow", "context_window"), ("maxOutputTokens", "max_output_tokens"))
LIST_TIMEOUTS = Timeouts(connect_s=10.0, headers_s=60.0, stall_s=60.0, total_s=120.0)
DESCRIPTION = "Compare the packaged model catalog with the providers' own model lists."


@dataclass(frozen=True)
class Difference:
    source: str
    model: str
    what: str

    def __str__(self) -> str:
        return f"{self.source} {self.model}: {self.what}"


# ---- reading the lists ---------------------------------------------------------------


async def fetch(
    transport: Transport,
    kind: str,
    settings: ProviderSettings,
    credential: Credential | None,
    environ: Mapping[str, str],
) -> list[ListedModel]:
    """A provider's model list, read and parsed by its adapter (and its token exchange)."""
    adapter = adapter_for(kind)
    request = adapter.models_request(settings, credential)
    if request is None:
        raise ProviderError(ErrorCode.AUTHENTICATION_FAILED, f"{kind}: no credential")

    async def fetch_json(request: Any) -> Any:
        return await transport.fetch_json(
            request, provider=kind, parse_error=adapter.parse_error, timeouts=LIST_TIMEOUTS
        )

    authenticator = adapter.authenticator(settings, credential, environ)
    if authenticator is not None:
        request = await authenticator.authorize(request, fetch_json)
    return adapter.parse_models(await fetch_json(request))


def openrouter_settings(base_url: str | None) -> ProviderSettings:
    return ProviderSettings(id="openrouter", kind="openrouter", base_url=base_url)


def copilot_settings(api_url: str | None, github_api_url: str | None) -> ProviderSettings:
    options = {"github_api_url": github_api_url} if github_api_url else {}
    return ProviderSettings(id="copilot", kind="copilot", base_url=api_url, options=options)


def env_credential(name: str, environ: Mapping[str, str]) -> Credential | None:
    secret = environ.get(name, "").strip()
    return Credential(secret=secret, source=f"env:{name}") if secret else None


# ---- comparing -------------------------------------------------------------------------


def listed_rates(listed: ListedModel) -> dict[str, float | int | None]:
    """OpenRouter's prices per million tokens, as the catalog writes them.

    A cache rate of 0 next to a paid input rate means "not priced apart"
    (cache writes of OpenAI models bill as input), so it is null, not free.
    """
    rates = {key: tidy(getattr(listed, attribute)) for key, attribute in RATES}
    if rates["inputPerMTok"]:
        for key in ("cacheReadPerMTok", "cacheWritePerMTok"):
            if rates[key] == 0:
                rates[key] = None
    return rates


def tidy(value: float | None) -> float | int | None:
    if value is None:
        return None
    rounded = round(value, 9)
    return int(rounded) if rounded == int(rounded) else rounded


def same(catalog: Any, provider: Any) -> bool:
    if catalog is None or provider is None:
        return catalog is provider
    return math.isclose(catalog, provider, rel_tol=1e-9, abs_tol=1e-12)


def by_name(entries: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: entry for entry in entries for name in (entry["id"], *entry.get("aliases", ()))}


def limit_differences(
    source: str, entry: dict[str, Any], reported: Sequence[tuple[str, int | None]]
) -> list[Difference]:
    return [
        Difference(source, entry["id"], f"{key} catalog {entry.get(key)} list {value}")
        for key, value in reported
        if value is not None and entry.get(key) != value
    ]


def missing(
    source: str, entries: Sequence[dict[str, Any]], listed: Mapping[str, ListedModel]
) -> list[Difference]:
    return [
        Difference(source, entry["id"], "in the catalog, not in the list")
        for entry in entries
        if not any(name in listed for name in (entry["id"], *entry.get("aliases", ())))
    ]


def compare_openrouter(
    entries: Sequence[dict[str, Any]], listed: Sequence[ListedModel]
) -> list[Difference]:
    names = {model.name: model for model in listed}
    found = missing("openrouter", entries, names)
    for entry in entries:
        model = names.get(entry["id"])
        if model is None:
            continue
        reported = [(key, getattr(model, attribute)) for key, attribute in LIMITS]
        found += limit_differences("openrouter", entry, reported)
        rates = listed_rates(model)
        if rates["inputPerMTok"] is None or rates["outputPerMTok"] is None:
            continue  # a variable-priced route: nothing to compare
        for key, _ in RATES:
            if not same(entry["pricing"].get(key), rates[key]):
                what = f"{key} catalog {entry['pricing'].get(key)} list {rates[key]}"
                found.append(Difference("openrouter", entry["id"], what))
    return found


def compare_copilot(
    entries: Sequence[dict[str, Any]], listed: Sequence[ListedModel]
) -> list[Difference]:
    names = {model.name: model for model in listed}
    # Copilot lists its inline-completion models apart from the chat models (type
    # "completion"), and the model list reads only the chat ones: those are not checked.
    chat_entries = [entry for entry in entries if not _completion_only(entry)]
    found = missing("copilot", chat_entries, names)
    for entry in chat_entries:
        model = names.get(entry["id"])
        if model is None:
            continue
        reported = [(key, getattr(model, attribute)) for key, attribute in LIMITS]
        reported.append(("maxInputTokens", model.notes.get("maxPromptTokens")))
        found += limit_differences("copilot", entry, reported)
    return found


def _completion_only(entry: dict[str, Any]) -> bool:
    capabilities = entry.get("capabilities", {})
    return bool(capabilities.get("fim")) and not capabilities.get("tools")


def new_models(entries: Sequence[dict[str, Any]], listed: Sequence[ListedModel]) -> list[str]:
    known = by_name(entries)
    return sorted(model.name for model in listed if model.name not in known)


def multiplier(model: ListedModel) -> str:
    value = model.notes.get("billingMultiplier")
    premium = model.notes.get("premium")
    shown = "not given" if value is None else f"{value:g}" if isinstance(value, float) else value
    return f"premium-request multiplier {shown}" + (", premium" if premium else "")


# ---- writing ----------------------------------------------------------------------------


def write_openrouter(path: Path, listed: Sequence[ListedModel], today: date) -> list[str]:
    """Put OpenRouter's current prices into its catalog file; the ids whose entry changed."""
    data = json.loads(path.read_text("utf-8"))
    names = {model.name: model for model in listed}
    changed = []
    for entry in data["models"]:
        model = names.get(entry["id"])
        if model is None:
            continue
        rates = listed_rates(model)
        if rates["inputPerMTok"] is None or rates["outputPerMTok"] is None:
            continue
        pricing = entry["pricing"]
        before = dict(pricing)
        for key, _ in RATES:
            pricing[key] = rates[key]
        unpriced = [key for key, _ in RATES if rates[key] is None]
        if unpriced and not pricing.get("note"):
            pricing["note"] = f"OpenRouter's model list gives no {' or '.join(unpriced)}"
        pricing["checked"] = today.isoformat()
        if pricing != before:
            changed.append(entry["id"])
    write_json(path, data)
    index = path.parent.parent / "catalog.json"
    if index.exists():
        catalog = json.loads(index.read_text("utf-8"))
        if catalog.get("checked", "") < today.isoformat():
            catalog["checked"] = today.isoformat()
            write_json(index, catalog)
    return changed


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


# ---- the script ------------------------------------------------------------------------


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--source", choices=SOURCES, action="append", help="default: both")
    parser.add_argument("--catalog-dir", type=Path, default=CATALOG_DIR)
    parser.add_argument("--openrouter-url", help="default https://openrouter.ai/api/v1")
    parser.add_argument("--copilot-url", help="Copilot's API; default: what the exchange names")
    parser.add_argument("--github-api-url", help="for the token exchange; default api.github.com")
    parser.add_argument("--list-new", action="store_true", help="name listed models not in it")
    parser.add_argument("--write", action="store_true", help="update OpenRouter's prices")
    parser.add_argument("--date", type=date.fromisoformat, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def check(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    chosen = args.source or list(SOURCES)
    transport = Transport()
    status = 0
    try:
        for source in chosen:
            entries = json.loads((args.catalog_dir / f"{source}.json").read_text("utf-8"))
            if source == "openrouter":
                settings = openrouter_settings(args.openrouter_url)
                credential = env_credential(OPENROUTER_KEY_ENV, environ)
            else:
                settings = copilot_settings(args.copilot_url, args.github_api_url)
                credential = env_credential(COPILOT_TOKEN_ENV, environ)
                if credential is None:
                    print(f"copilot: skipped; set {COPILOT_TOKEN_ENV} to check it")
                    status = max(status, 2 if args.source else 0)
                    continue
            try:
                listed = await fetch(transport, source, settings, credential, environ)
            except ProviderError as error:
                print(f"{source}: the model list could not be read: {error.message}")
                status = 2
                continue
            status = max(status, report(source, entries["models"], listed, args))
    finally:
        await transport.aclose()
    return status


def report(
    source: str,
    entries: Sequence[dict[str, Any]],
    listed: Sequence[ListedModel],
    args: argparse.Namespace,
) -> int:
    compare = compare_openrouter if source == "openrouter" else compare_copilot
    differences = compare(entries, listed)
    for difference in differences:
        print(difference)
    fresh = new_models(entries, listed)
    named = {model.name: model for model in listed}
    if source == "copilot":
        for entry in entries:
            if entry["id"] in named:
                print(f"copilot {entry['id']}: {multiplier(named[entry['id']])}")
    if fresh and (args.list_new or source == "copilot"):
        for name in fresh:
            extra = f" ({multiplier(named[name])})" if source == "copilot" else ""
            print(f"{source} {name}: listed, not in the catalog{extra}")
    elif fresh:
        print(f"{source}: {len(fresh)} listed models are not in the catalog (--list-new: which)")
    print(f"{source}: {len(listed)} listed, {len(differences)} differences")
    if args.write and source == "openrouter":
        path = args.catalog_dir / "openrouter.json"
        changed = write_openrouter(path, listed, args.date or date.today())
        print(f"openrouter: wrote {path} ({len(changed)} entries changed)")
    return 1 if differences else 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = arguments(argv)
    return asyncio.run(check(args, os.environ if environ is None else environ))


if __name__ == "__main__":
    sys.exit(main())
