"""The configuration: a TOML file, overridden by the editor's settings.

Loading never raises. A file that does not parse, or a key nobody knows,
becomes a ConfigIssue naming the file, line and key; the rest of the file
still applies, so the server starts and reports the issue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .adapters import option_keys
from .adapters.plugins import plugin_kinds
from .auth.oauth_config import parse_oauth_table
from .base import ProviderSettings
from .catalog.completion_settings import CompletionSettings, parse_completion_table
from .paths import PLUGINS_FOLDER, config_path, data_dir, default_plugins_dir

__all__ = ["Config", "ConfigIssue", "apply_overrides", "config_path", "data_dir", "load_config"]

TOP_LEVEL_KEYS = frozenset(
    {
        "default_model",
        "fast_model",
        "providers",
        "log_level",
        "journal",
        "journal_retention_days",
        "journal_max_mb",
        "shutdown_grace",
        "completion",
        "plugins_dir",
        "default_temperature",
        "session_budget_usd",
    }
)
#: the journal's and shutdown's keys: (default, smallest accepted value)
DURABILITY_NUMBERS = {
    "journal_retention_days": (30.0, 0.0),
    "journal_max_mb": (200.0, 1.0),
    "shutdown_grace": (2.0, 0.0),
}
#: `[providers.NAME]` keys for the transport's limits, each to the limit it sets.
TIMEOUT_KEYS = {
    "connect_timeout": "connect",
    "headers_timeout": "headers",
    "stall_timeout": "stall",
    "total_timeout": "total",
}
PROVIDER_KEYS = frozenset(
    {
        "kind",
        "base_url",
        "api_key_env",
        "timeout",
        "headers",
        "oauth",
        "max_connections",
        "default_temperature",
        *TIMEOUT_KEYS,
    }
)
LOG_LEVELS = frozenset({"debug", "info", "warning", "error"})


@dataclass(frozen=True)
class ConfigIssue:
    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = self.file or "settings"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Config:
    default_model: str | None = None
    fast_model: str | None = None
    log_level: str = "info"
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    journal: bool = True
    journal_retention_days: float = DURABILITY_NUMBERS["journal_retention_days"][0]
    journal_max_mb: float = DURABILITY_NUMBERS["journal_max_mb"][0]
    shutdown_grace: float = DURABILITY_NUMBERS["shutdown_grace"][0]
    completion: CompletionSettings = field(default_factory=CompletionSettings)
    #: a chat's temperature when it names none; a provider's own `default_temperature` wins
    default_temperature: float | None = None
    #: USD the session may spend: a warning at 80%, every request refused from 100%
    session_budget_usd: float | None = None
    #: where provider plugins (`*.toml`, `*.py`) are found; None: entry points only
    plugins_dir: Path | None = None
    path: Path | None = None
    issues: tuple[ConfigIssue, ...] = ()


def load_config(path: Path, known_kinds: frozenset[str]) -> Config:
    """The config in `path` (a missing file is an empty config, not an issue)."""
    import tomllib

    plugins = default_plugins_dir(path)
    if not path.exists():
        return Config(path=None, plugins_dir=plugins)
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        issue = ConfigIssue(f"cannot read: {error}", str(path))
        return Config(path=path, plugins_dir=plugins, issues=(issue,))
    except tomllib.TOMLDecodeError as error:
        line = _decode_error_line(str(error))
        issue = ConfigIssue(f"not valid TOML: {error}", str(path), line)
        return Config(path=path, plugins_dir=plugins, issues=(issue,))
    locate = _Locator(str(path), text)
    config = _build(raw, known_kinds, locate, path.parent)
    return replace(config, path=path)


def apply_overrides(
    config: Config, overrides: Mapping[str, Any] | None, known_kinds: frozenset[str]
) -> Config:
    """The editor's settings (same keys as the file, as JSON) on top of the file's."""
    if not overrides:
        return config
    merged = _as_raw(config)
    for key, value in _snake_keys(overrides).items():
        if key == "providers" and isinstance(value, Mapping):
            providers = merged.setdefault("providers", {})
            for name, table in value.items():
                if isinstance(table, Mapping):
                    merged_table = providers.setdefault(name, {})
                    oauth = merged_table.get("oauth")
                    merged_table.update(table)
                    if isinstance(oauth, Mapping) and isinstance(table.get("oauth"), Mapping):
                        merged_table["oauth"] = {**oauth, **table["oauth"]}
                else:
                    providers[name] = table
        elif key == "completion" and isinstance(value, Mapping):
            merged["completion"] = {**merged.get("completion", {}), **value}
        elif value is not None:
            merged[key] = value
    rebuilt = _build(merged, known_kinds, _Locator(None, ""))
    return replace(rebuilt, path=config.path, issues=config.issues + rebuilt.issues)


def _build(
    raw: Mapping[str, Any],
    known_kinds: frozenset[str],
    locate: _Locator,
    config_dir: Path | None = None,
) -> Config:
    issues: list[ConfigIssue] = []
    values: dict[str, Any] = {}
    if config_dir is not None:
        values["plugins_dir"] = config_dir / PLUGINS_FOLDER
    for key, value in raw.items():
        if key not in TOP_LEVEL_KEYS:
            issues.append(locate.issue(f"unknown key '{key}'", (), key))
        elif key == "plugins_dir":
            if isinstance(value, str) and value.strip():
                values[key] = (config_dir or Path()) / Path(value).expanduser()
            else:
                issues.append(locate.issue("'plugins_dir' must be a directory path", (), key))
        elif key in ("default_model", "fast_model"):
            if isinstance(value, str) and "/" in value:
                values[key] = value
            else:
                issues.append(locate.issue(f"'{key}' must be \"provider/model\"", (), key))
        elif key == "log_level":
            if isinstance(value, str) and value.lower() in LOG_LEVELS:
                values[key] = value.lower()
            else:
                issues.append(
                    locate.issue(f"'log_level' must be one of {sorted(LOG_LEVELS)}", (), key)
                )
        elif key == "journal":
            if isinstance(value, bool):
                values[key] = value
            else:
                issues.append(locate.issue("'journal' must be true or false", (), key))
        elif key in DURABILITY_NUMBERS:
            least = DURABILITY_NUMBERS[key][1]
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= least:
                values[key] = float(value)
            else:
                issues.append(locate.issue(f"'{key}' must be a number >= {least:g}", (), key))
        elif key in ("default_temperature", "session_budget_usd"):
            if _non_negative_number(value):
                values[key] = float(value)
            else:
                issues.append(locate.issue(f"'{key}' must be a number >= 0", (), key))
        elif key == "completion":
            values[key], problems = parse_completion_table(value)
            for problem_key, message in problems:
                issues.append(locate.issue(message, (key,), problem_key))
    providers: dict[str, ProviderSettings] = {}
    tables = raw.get("providers", {})
    if not isinstance(tables, Mapping):
        issues.append(locate.issue("'providers' must be a table", (), "providers"))
        tables = {}
    for name, table in tables.items():
        settings = _provider(name, table, known_kinds, values.get("plugins_dir"), locate, issues)
        if settings is not None:
            providers[name] = settings
    return Config(providers=providers, issues=tuple(issues), **values)


def _provider(
    name: str,
    table: Any,
    known_kinds: frozenset[str],
    plugins_dir: Path | None,
    locate: _Locator,
    issues: list[ConfigIssue],
) -> ProviderSettings | None:
    section = ("providers", name)
    if not isinstance(table, Mapping):
        issues.append(locate.issue(f"'providers.{name}' must be a table", (), name))
        return None
    kind = table.get("kind", name)
    if not isinstance(kind, str) or (
        kind not in known_kinds and kind not in plugin_kinds(plugins_dir)
    ):
        # Plugins are looked for only here, when a kind is not built in.
        known = ", ".join(sorted({*known_kinds, *plugin_kinds(plugins_dir)}))
        issues.append(
            locate.issue(
                f"provider '{name}' has unknown kind '{kind}' (known: {known})",
                section if "kind" in table else ("providers",),
                "kind" if "kind" in table else name,
            )
        )
        return None
    fields: dict[str, Any] = {}
    options: dict[str, Any] = {}
    timeouts: dict[str, float] = {}
    kind_options = option_keys(kind)
    for key, value in table.items():
        if key in kind_options:
            options[key] = value
        elif key not in PROVIDER_KEYS:
            issues.append(locate.issue(f"unknown key 'providers.{name}.{key}'", section, key))
        elif key == "timeout" or key in TIMEOUT_KEYS:
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                if key == "timeout":
                    fields["timeout_s"] = float(value)
                else:
                    timeouts[TIMEOUT_KEYS[key]] = float(value)
            else:
                issues.append(
                    locate.issue(f"'{key}' must be a positive number of seconds", section, key)
                )
        elif key == "max_connections":
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                fields["max_connections"] = value
            else:
                issues.append(
                    locate.issue("'max_connections' must be a positive whole number", section, key)
                )
        elif key == "default_temperature":
            if _non_negative_number(value):
                fields[key] = float(value)
            else:
                issues.append(locate.issue(f"'{key}' must be a number >= 0", section, key))
        elif key == "headers":
            if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
                fields["headers"] = dict(value)
            else:
                issues.append(locate.issue("'headers' must be a table of strings", section, key))
        elif key == "oauth":
            oauth, problems = parse_oauth_table(value)
            for problem_key, message in problems:
                issues.append(locate.issue(message, (*section, "oauth"), problem_key))
            if oauth is not None:
                fields["oauth"] = oauth
        elif key in ("base_url", "api_key_env"):
            if isinstance(value, str) and value:
                fields[key] = value
            else:
                issues.append(locate.issue(f"'{key}' must be a non-empty string", section, key))
    return ProviderSettings(id=name, kind=kind, options=options, timeouts=timeouts, **fields)


def _as_raw(config: Config) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "log_level": config.log_level,
        "journal": config.journal,
        **{key: getattr(config, key) for key in DURABILITY_NUMBERS},
        "completion": config.completion.as_table(),
    }
    if config.default_model:
        raw["default_model"] = config.default_model
    if config.fast_model:
        raw["fast_model"] = config.fast_model
    if config.plugins_dir is not None:
        raw["plugins_dir"] = str(config.plugins_dir)
    for key in ("default_temperature", "session_budget_usd"):
        if getattr(config, key) is not None:
            raw[key] = getattr(config, key)
    providers: dict[str, Any] = {}
    for name, settings in config.providers.items():
        table: dict[str, Any] = {"kind": settings.kind, "headers": dict(settings.headers)}
        if settings.base_url:
            table["base_url"] = settings.base_url
        if settings.api_key_env:
            table["api_key_env"] = settings.api_key_env
        if settings.timeout_s:
            table["timeout"] = settings.timeout_s
        for key, limit in TIMEOUT_KEYS.items():
            if limit in settings.timeouts:
                table[key] = settings.timeouts[limit]
        if settings.max_connections is not None:
            table["max_connections"] = settings.max_connections
        if settings.default_temperature is not None:
            table["default_temperature"] = settings.default_temperature
        if settings.oauth is not None:
            table["oauth"] = settings.oauth.as_table()
        table.update(settings.options)
        providers[name] = table
    raw["providers"] = providers
    return raw


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake_keys(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Editors send camelCase; provider names inside `providers` stay as they are."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        snake = _CAMEL_BOUNDARY.sub(r"_\1", key).lower()
        if snake == "providers" and isinstance(value, Mapping):
            value = {
                name: _snake_keys(table)
                if isinstance(table, Mapping) and name != "headers"
                else table
                for name, table in value.items()
            }
        elif snake == "completion" and isinstance(value, Mapping):
            value = {_CAMEL_BOUNDARY.sub(r"_\1", k).lower(): v for k, v in value.items()}
        elif snake == "oauth" and isinstance(value, Mapping):
            value = {
                _CAMEL_BOUNDARY.sub(r"_\1", k).lower() if k != "params" else k: v
                for k, v in value.items()
            }
        out[snake] = value
    return out


def _non_negative_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _decode_error_line(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


class _Locator:
    """Finds the line of a key in the TOML text, for messages that point at it."""

    def __init__(self, file: str | None, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()

    def issue(self, message: str, section: tuple[str, ...], key: str) -> ConfigIssue:
        return ConfigIssue(message, self.file, self._line_of(section, key), key)

    def _line_of(self, section: tuple[str, ...], key: str) -> int | None:
        current: tuple[str, ...] = ()
        key_pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number, line in enumerate(self.lines, start=1):
            header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
            if header:
                current = tuple(part.strip().strip("\"'") for part in header.group(1).split("."))
                if current[: len(section) + 1] == (*section, key):
                    return number
                continue
            if current == section and key_pattern.match(line):
                return number
        return None
