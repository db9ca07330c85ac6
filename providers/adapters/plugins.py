"""Provider discovery: entry points in `switchboard.providers`, and the plugins directory.

Nothing is scanned or imported until a provider that is not built in is asked
for (`providers()`): start-up and chats with built-in providers pay nothing.
Entry points are read once; the directory is compared with what was read
before (names, mtimes and sizes, one `scandir`) at every `providers()`, and
only a new or changed file is read again, so an edit takes effect at the next
request with no restart. A plugin that cannot be used becomes a PluginProblem
naming its file or entry point; every other provider stays.

The directory holds `*.toml` declarations (providers/adapters/declared.py) and
`*.py` modules whose `provider` is a ProviderPlugin subclass or instance
(providers/adapters/contract.py). Names starting with `_` or `.` are skipped.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base import Adapter
from . import kinds

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from ..catalog.models import Catalog
    from .contract import PluginModel
    from .declared import DeclaredProvider

logger = logging.getLogger("switchboard.plugins")

ENTRY_POINT_GROUP = "switchboard.providers"
MODULE_PREFIX = "switchboard_plugins"
FILE_SUFFIXES = (".toml", ".py")
FALLBACK_OUTPUT_TOKENS = 4096


@dataclass(frozen=True)
class PluginProblem:
    """A plugin that cannot be used, and why (the message names its file or entry point)."""

    source: str
    message: str

    def __str__(self) -> str:
        return (
            self.message
            if self.message.startswith(self.source)
            else f"{self.source}: {self.message}"
        )


@dataclass(frozen=True)
class PluginProvider:
    """A provider a plugin adds, ready for the engine: its adapter and its models."""

    id: str
    display_name: str
    version: str | None
    features: tuple[str, ...]
    origin: str
    listed: bool
    adapter: Adapter
    #: its models in the packaged catalog files' shape, for Catalog.with_providers
    catalog: Mapping[str, Any]


Found = PluginProvider | PluginProblem
_Stamp = tuple[int, int]


class PluginRegistry:
    def __init__(
        self,
        directory: Path | None,
        entry_points: Callable[[], Iterable[EntryPoint]] | None = None,
        builtin: frozenset[str] = frozenset(),
    ) -> None:
        self.directory = directory
        self._entry_points = entry_points or _installed_entry_points
        self._builtin = builtin
        self._lock = threading.Lock()
        self._from_entry_points: list[Found] | None = None
        self._files: dict[str, tuple[_Stamp, Found]] = {}
        self._providers: dict[str, PluginProvider] = {}
        self._problems: tuple[PluginProblem, ...] = ()
        self._catalogs: tuple[int, Catalog, Catalog] | None = None
        #: bumped whenever the set of providers or problems changes
        self.generation = 0

    @property
    def loaded(self) -> bool:
        return self._from_entry_points is not None

    def providers(self) -> Mapping[str, PluginProvider]:
        """The plugin providers as of now: the directory is checked for changes first."""
        self.refresh()
        return self._providers

    def known(self) -> Mapping[str, PluginProvider]:
        """The providers as last read (read once if never), without checking the directory."""
        if not self.loaded:
            self.refresh()
        return self._providers

    def problems(self) -> tuple[PluginProblem, ...]:
        """The plugins that cannot be used, as of now (the directory is checked first)."""
        self.refresh()
        return self._problems

    @property
    def last_problems(self) -> tuple[PluginProblem, ...]:
        """The problems as last read, without reading anything."""
        return self._problems

    def refresh(self) -> None:
        with self._lock:
            changed = False
            if self._from_entry_points is None:
                self._from_entry_points = list(self._load_entry_points())
                changed = True
            changed = self._scan_directory() or changed
            if changed:
                self._rebuild()

    def catalog_over(self, base: Catalog) -> Catalog:
        """`base` with the plugins' models; `base` itself until a plugin was asked for."""
        if not self.loaded or not self._providers:
            return base
        cached = self._catalogs
        if cached is not None and cached[0] == self.generation and cached[1] is base:
            return cached[2]
        merged = base.with_providers({p.id: p.catalog for p in self._providers.values()})
        self._catalogs = (self.generation, base, merged)
        return merged

    # ---- reading ---------------------------------------------------------------

    def _load_entry_points(self) -> Iterable[Found]:
        try:
            found = list(self._entry_points())
        except Exception as error:
            logger.exception("cannot read the entry points")
            yield PluginProblem(ENTRY_POINT_GROUP, f"cannot read the entry points: {error}")
            return
        for entry_point in found:
            dist = getattr(entry_point, "dist", None)
            label = f"entry point '{entry_point.name}'"
            if dist is not None:
                label += f" ({dist.name} {dist.version})"
            try:
                loaded = entry_point.load()
            except Exception as error:
                yield PluginProblem(
                    label, f"{label}: cannot import: {type(error).__name__}: {error}"
                )
                continue
            yield _from_plugin_object(loaded, label)

    def _scan_directory(self) -> bool:
        """Read new and changed files; True when anything differs from the last scan."""
        stamps: dict[str, _Stamp] = {}
        directory = self.directory
        if directory is not None:
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        name = entry.name
                        if name.startswith(("_", ".")) or not name.endswith(FILE_SUFFIXES):
                            continue
                        try:
                            stat = entry.stat()
                        except OSError:
                            continue
                        stamps[name] = (stat.st_mtime_ns, stat.st_size)
            except (FileNotFoundError, NotADirectoryError):
                pass
            except OSError as error:
                logger.warning("cannot read the plugins directory %s: %s", directory, error)
        if stamps.keys() == self._files.keys() and all(
            self._files[name][0] == stamp for name, stamp in stamps.items()
        ):
            return False
        files: dict[str, tuple[_Stamp, Found]] = {}
        for name in sorted(stamps):
            known = self._files.get(name)
            if known is not None and known[0] == stamps[name]:
                files[name] = known
            else:
                assert directory is not None
                files[name] = (stamps[name], _read_file(directory / name))
        for name in self._files.keys() - files.keys():
            sys.modules.pop(_module_name(name), None)
        self._files = files
        return True

    def _rebuild(self) -> None:
        providers: dict[str, PluginProvider] = {}
        problems: list[PluginProblem] = []
        found = [*(self._from_entry_points or ()), *(item for _, item in self._files.values())]
        for item in found:
            if isinstance(item, PluginProblem):
                problems.append(item)
            elif item.id in self._builtin:
                problems.append(
                    PluginProblem(item.origin, f"'{item.id}' is a built-in provider id: rename it")
                )
            elif item.id in providers:
                first = providers[item.id].origin
                problems.append(
                    PluginProblem(
                        item.origin, f"provider id '{item.id}' is already used by {first}"
                    )
                )
            else:
                providers[item.id] = item
        for problem in problems:
            logger.warning("provider plugin: %s", problem)
        self._providers = providers
        self._problems = tuple(problems)
        self.generation += 1


def _installed_entry_points() -> Iterable[EntryPoint]:
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def _module_name(file_name: str) -> str:
    stem = "".join(c if c.isalnum() else "_" for c in Path(file_name).stem)
    return f"{MODULE_PREFIX}.{stem}"


def _read_file(path: Path) -> Found:
    if path.suffix == ".toml":
        return _read_declaration(path)
    return _read_module(path)


def _read_declaration(path: Path) -> Found:
    from .declared import DeclarationError, read_declaration

    try:
        declared = read_declaration(path)
    except DeclarationError as error:
        return PluginProblem(str(path), str(error))
    return _declared_provider(declared)


def _declared_provider(declared: DeclaredProvider) -> Found:
    from .declared import TRANSLATORS
    from .plugged import declared_adapter

    origin = str(declared.file)
    try:
        adapter = declared_adapter(declared)
    except Exception as error:
        return PluginProblem(origin, f"{origin}: api: cannot load the translator: {error}")
    features = ["chat", "streaming"]
    features += [
        f for f in ("tools", "images", "fim") if any(getattr(m, f) for m in declared.models)
    ]
    return PluginProvider(
        id=declared.id,
        display_name=declared.name,
        version=declared.version,
        features=tuple(features),
        origin=origin,
        listed=True,
        adapter=adapter,
        catalog=catalog_data(declared.name, declared.models, TRANSLATORS[declared.api][1], origin),
    )


def _read_module(path: Path) -> Found:
    """A plugin module, executed fresh from its source (no bytecode cache: an edit within
    the same second must not run the old code)."""
    origin = str(path)
    name = _module_name(path.name)
    try:
        source = path.read_bytes()
        module = types.ModuleType(name)
        module.__file__ = origin
        sys.modules.setdefault(MODULE_PREFIX, types.ModuleType(MODULE_PREFIX))
        sys.modules[name] = module
        exec(compile(source, origin, "exec"), module.__dict__)
    except Exception as error:
        sys.modules.pop(name, None)
        return PluginProblem(origin, f"{origin}: cannot load: {type(error).__name__}: {error}")
    loaded = getattr(module, "provider", None)
    if loaded is None:
        return PluginProblem(
            origin, f"{origin}: provider: the module defines no `provider` (a ProviderPlugin)"
        )
    return _from_plugin_object(loaded, origin)


def _from_plugin_object(loaded: Any, origin: str) -> Found:
    """A ProviderPlugin subclass or instance, checked: a PluginProvider or the problem."""
    from .contract import FEATURES, ProviderPlugin
    from .declared import PROVIDER_ID, DeclarationError, parse_model
    from .plugged import plugin_adapter

    try:
        plugin = loaded() if isinstance(loaded, type) else loaded
    except Exception as error:
        return PluginProblem(origin, f"{origin}: cannot create: {type(error).__name__}: {error}")
    if not isinstance(plugin, ProviderPlugin):
        return PluginProblem(origin, f"{origin}: is not a ProviderPlugin ({type(plugin).__name__})")

    def problem(key: str, message: str) -> PluginProblem:
        return PluginProblem(origin, f"{origin}: {key}: {message}")

    for key in ("id", "name", "version", "base_url"):
        value = getattr(plugin, key, None)
        if not isinstance(value, str) or not value:
            return problem(key, "must be a non-empty string")
    if not PROVIDER_ID.fullmatch(plugin.id):
        return problem("id", "may hold only letters, digits, '_', '.' and '-' (at most 64)")
    if not plugin.base_url.startswith(("https://", "http://")):
        return problem("base_url", "must be an http(s) URL")
    envs = plugin.api_key_env
    if isinstance(envs, str) or not all(isinstance(env, str) for env in envs):
        return problem("api_key_env", "must be a tuple of environment variable names")
    unknown = sorted(set(plugin.features) - FEATURES)
    if unknown:
        return problem("features", f"unknown {unknown} (known: {', '.join(sorted(FEATURES))})")
    if plugin.framing not in ("sse", "eventstream"):
        return problem("framing", "must be 'sse' or 'eventstream'")
    models = getattr(plugin, "models", ())
    if not models:
        return problem("models", "needs at least one PluginModel")
    try:
        checked = tuple(
            parse_model(_model_fields(model), f"models[{n}]", _raiser(origin))
            for n, model in enumerate(models)
        )
    except DeclarationError as error:
        return PluginProblem(origin, str(error))
    try:
        adapter = plugin_adapter(plugin)
    except Exception as error:
        return PluginProblem(origin, f"{origin}: cannot build its adapter: {error}")
    return PluginProvider(
        id=plugin.id,
        display_name=plugin.name,
        version=plugin.version,
        features=tuple(plugin.features),
        origin=origin,
        listed=not plugin.needs_config,
        adapter=adapter,
        catalog=catalog_data(plugin.name, checked, "chat", origin),
    )


def _model_fields(model: PluginModel) -> Mapping[str, Any]:
    from .contract import PluginModel

    if not isinstance(model, PluginModel):
        return {"id": None}
    return {key: value for key, value in asdict(model).items() if value is not None}


def _raiser(origin: str) -> Callable[[str | None, str], Exception]:
    from .declared import DeclarationError

    def fail(key: str | None, message: str) -> Exception:
        return DeclarationError(Path(origin), key, message)

    return fail


def catalog_data(
    display_name: str, models: Iterable[PluginModel], api: str, origin: str
) -> dict[str, Any]:
    """A plugin's models in the shape of a packaged `data/catalog/<provider>.json`."""
    entries = [
        {
            "id": model.id,
            "name": model.name or model.id,
            "contextWindow": model.context_window,
            "maxInputTokens": None,
            "maxOutputTokens": model.max_output_tokens,
            "capabilities": {"tools": model.tools, "images": model.images, "fim": model.fim},
            "pricing": (
                {"inputPerMTok": model.input_per_m_tok, "outputPerMTok": model.output_per_m_tok}
                if model.input_per_m_tok is not None and model.output_per_m_tok is not None
                else None
            ),
            "api": api,
            "status": "active",
            "specSource": origin,
        }
        for model in models
    ]
    first = entries[0]
    return {
        "name": display_name,
        "defaultModel": first["id"],
        "defaultFastModel": first["id"],
        "fallback": {
            "contextWindow": first["contextWindow"],
            "maxOutputTokens": first["maxOutputTokens"] or FALLBACK_OUTPUT_TOKENS,
        },
        "models": entries,
    }


_registries: dict[Path | None, PluginRegistry] = {}
_registries_lock = threading.Lock()


def registry_for(directory: Path | None) -> PluginRegistry:
    """The one registry per plugins directory, shared by the config check and the engine."""
    with _registries_lock:
        registry = _registries.get(directory)
        if registry is None:
            registry = PluginRegistry(directory, builtin=frozenset(kinds()))
            _registries[directory] = registry
        return registry


def plugin_kinds(directory: Path | None) -> frozenset[str]:
    """The kinds plugins add, for a config table's `kind` (reads the plugins on first call)."""
    return frozenset(registry_for(directory).providers())
