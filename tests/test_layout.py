"""The layout keeps its promises: arrows point down, and no import goes round in a circle.

The graph is read from the source with `ast`, so an import inside a function or
under `TYPE_CHECKING` counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {
    "protocol": "switchboard.protocol",
    "providers": "switchboard.providers",
    "server": "switchboard.server",
}
ROOMS = ("adapters", "auth", "catalog", "wire")
MOST_TOP_MODULES = 6

P = "switchboard.providers"


@dataclass(frozen=True)
class Rule:
    """Modules under `importer` may not import anything under one of `forbidden`."""

    importer: str
    forbidden: tuple[str, ...]
    why: str


RULES = (
    Rule("switchboard.protocol", ("switchboard.providers", "switchboard.server"), "the contract"),
    Rule("switchboard.providers", ("switchboard.server", "pygls", "lsprotocol"), "no LSP"),
    Rule(
        f"{P}.wire",
        (f"{P}.auth", f"{P}.catalog", f"{P}.adapters", f"{P}.engine", f"{P}.config", f"{P}.paths"),
        "wire moves bytes and takes only base and errors from the top",
    ),
    Rule(
        f"{P}.auth",
        (f"{P}.catalog", f"{P}.adapters", f"{P}.engine", f"{P}.config"),
        "auth sits below the adapters and the engine",
    ),
    Rule(
        f"{P}.catalog",
        (f"{P}.auth", f"{P}.adapters", f"{P}.engine", f"{P}.config"),
        "catalog sits below the adapters and the engine",
    ),
    Rule(f"{P}.adapters", (f"{P}.engine",), "the engine runs the adapters, not the reverse"),
)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def find_modules(folders: Mapping[str, str], root: Path) -> dict[str, tuple[Path, bool]]:
    """Every module's dotted name, with its file and whether it is a package."""
    found: dict[str, tuple[Path, bool]] = {}
    for folder, package in folders.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            found[".".join([package, *parts])] = (path, is_package)
    return found


def imported_names(tree: ast.AST, package: str) -> Iterable[str]:
    """Every dotted name an import statement anywhere in the tree brings in."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(modules: Mapping[str, tuple[Path, bool]]) -> dict[str, set[str]]:
    """module -> the modules it imports: known modules, or outside names as written."""
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for imported in imported_names(tree, package):
            target = imported
            while target and target not in modules and target.startswith("switchboard."):
                target = target.rpartition(".")[0]
            if target == "switchboard":
                continue
            # A module importing its own package's __init__ is not an edge of the graph.
            if target and target != name and not _under(name, target):
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start] & graph.keys())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child] & graph.keys()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def broken_rules(graph: Mapping[str, set[str]], rules: Iterable[Rule]) -> list[str]:
    broken = []
    for rule in rules:
        for importer, targets in sorted(graph.items()):
            if not _under(importer, rule.importer):
                continue
            for target in sorted(targets):
                if any(_under(target, forbidden) for forbidden in rule.forbidden):
                    broken.append(f"{importer} imports {target} ({rule.why})")
    return broken


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(find_modules(FOLDERS, ROOT))


def test_no_import_circle(graph: dict[str, set[str]]) -> None:
    for package in [*FOLDERS.values(), *(f"{P}.{room}" for room in ROOMS)]:
        assert any(_under(name, package) and name != package for name in graph), package
    assert cycles(graph) == []


def test_every_arrow_points_down(graph: dict[str, set[str]]) -> None:
    assert broken_rules(graph, RULES) == []


def test_providers_top_is_small_and_has_four_rooms() -> None:
    top = ROOT / "providers"
    modules = sorted(p.name for p in top.glob("*.py") if p.name != "__init__.py")
    rooms = sorted(p.name for p in top.iterdir() if (p / "__init__.py").is_file())
    assert len(modules) <= MOST_TOP_MODULES, modules
    assert rooms == sorted(ROOMS)


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_says_what_it_holds_and_may_import(room: str) -> None:
    tree = ast.parse((ROOT / "providers" / room / "__init__.py").read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring, f"providers/{room}/__init__.py needs a docstring"
    if room != "adapters":
        assert "May import" in docstring


# ---- the checker itself -----------------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> None:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


def _toy_graph(tmp_path: Path, files: Mapping[str, str]) -> dict[str, set[str]]:
    _write(tmp_path, files)
    return import_graph(find_modules({"providers": P}, tmp_path))


def test_checker_catches_a_forbidden_edge_hidden_in_a_function(tmp_path: Path) -> None:
    graph = _toy_graph(
        tmp_path,
        {
            "providers/__init__.py": "",
            "providers/engine.py": "from .wire.sse import decode\n",
            "providers/wire/__init__.py": "",
            "providers/wire/sse.py": (
                "def decode():\n    from ..engine import run  # upward\n    return run\n"
            ),
        },
    )
    assert broken_rules(graph, RULES) == [
        f"{P}.wire.sse imports {P}.engine "
        "(wire moves bytes and takes only base and errors from the top)"
    ]
    assert cycles(graph) == [[f"{P}.engine", f"{P}.wire.sse"]]


def test_checker_catches_a_circle_through_type_checking_imports(tmp_path: Path) -> None:
    graph = _toy_graph(
        tmp_path,
        {
            "providers/__init__.py": "",
            "providers/a.py": "from .b import x\n",
            "providers/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from switchboard.providers import c\n",
            "providers/c.py": "import switchboard.providers.a\n",
        },
    )
    assert cycles(graph) == [[f"{P}.a", f"{P}.b", f"{P}.c"]]
    assert broken_rules(graph, RULES) == []


def test_checker_passes_a_clean_downward_graph(tmp_path: Path) -> None:
    graph = _toy_graph(
        tmp_path,
        {
            "providers/__init__.py": "",
            "providers/engine.py": "from .adapters import x\nfrom .catalog.models import m\n",
            "providers/adapters/__init__.py": "from ..wire import http\n",
            "providers/catalog/__init__.py": "",
            "providers/catalog/models.py": "from ..base import B\nfrom . import pricing\n",
            "providers/catalog/pricing.py": "",
            "providers/base.py": "",
            "providers/wire/__init__.py": "",
            "providers/wire/http.py": "from ..errors import E\n",
            "providers/errors.py": "",
        },
    )
    assert cycles(graph) == []
    assert broken_rules(graph, RULES) == []
    assert graph[f"{P}.catalog.models"] == {f"{P}.base", f"{P}.catalog.pricing"}
