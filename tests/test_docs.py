"""The README and docs/ against the code: links that resolve, config examples that load
with no issue, and every config key, custom method, command and error code documented."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import kinds, option_keys
from switchboard.providers.catalog.completion_settings import KEYS as COMPLETION_KEYS
from switchboard.providers.config import PROVIDER_KEYS, TOP_LEVEL_KEYS, load_config
from switchboard.server.app import COMMANDS, CUSTOM_METHODS

from tests.lsp_harness import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = sorted((REPO_ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
#: a TOML block is a Switchboard config when its first setting is one of these
SETTINGS = "|".join(sorted(TOP_LEVEL_KEYS))
CONFIG_START = re.compile(rf"^(\[providers\.|\[completion\]|({SETTINGS})\s*=)")


def text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def all_docs() -> str:
    return "\n".join(text(page) for page in PAGES)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation gone, spaces to hyphens."""
    words = re.sub(r"[`*_]", "", heading.strip().lower())
    kept = "".join(c for c in words if c in " -" or unicodedata.category(c)[0] in "LN" or c == "_")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    body = FENCE.sub("", text(page))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", body, re.MULTILINE)}


def links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", text(page)))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert not broken, f"{page.name}: {broken}"


def test_the_readme_links_every_doc() -> None:
    linked = {target.partition("#")[0] for target in links(README)}
    assert {f"docs/{doc.name}" for doc in DOCS} <= linked


def config_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in PAGES:
        for match in FENCE.finditer(text(page)):
            indent, language, body = match.groups()
            body = "\n".join(line.removeprefix(indent) for line in body.splitlines())
            first = next(
                (line for line in body.splitlines() if line and not line.startswith("#")), ""
            )
            if language == "toml" and CONFIG_START.match(first):
                blocks.append((f"{page.name}: {first}", body))
    return blocks


@pytest.mark.parametrize(("where", "block"), config_blocks(), ids=lambda value: value[:60])
def test_every_config_example_loads_with_no_issue(tmp_path: Path, where: str, block: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(block, encoding="utf-8")
    config = load_config(path, frozenset(kinds()))
    assert config.issues == (), f"{where}: {[str(issue) for issue in config.issues]}"


def test_config_examples_were_found() -> None:
    found = {where.partition(":")[0] for where, _ in config_blocks()}
    assert {"README.md", "providers.md", "editors.md"} <= found


def test_every_config_key_is_documented() -> None:
    documented = all_docs()
    keys = {*TOP_LEVEL_KEYS, *PROVIDER_KEYS, *COMPLETION_KEYS}
    keys |= {key for kind in kinds() for key in option_keys(kind)}
    missing = sorted(key for key in keys if f"{key}" not in documented)
    assert not missing, f"config keys no page documents: {missing}"


def test_every_method_command_and_error_code_is_in_the_protocol_reference() -> None:
    protocol = text(REPO_ROOT / "docs" / "protocol.md")
    names = [*CUSTOM_METHODS, "switchboard/usageChanged", *COMMANDS]
    names += [code.value for code in ErrorCode]
    names += ["-32602", "-32700", "-32600", "-32601", "-32800", "-32803"]
    missing = [name for name in names if not re.search(f"`{re.escape(name)}[` ]", protocol)]
    assert not missing, f"missing from docs/protocol.md: {missing}"


def schema_properties(node: object) -> set[str]:
    if isinstance(node, list):
        return {name for item in node for name in schema_properties(item)}
    if not isinstance(node, dict):
        return set()
    names = set(node["properties"]) if isinstance(node.get("properties"), dict) else set()
    return names | {name for value in node.values() for name in schema_properties(value)}


def test_every_wire_field_is_in_the_protocol_reference() -> None:
    schema = json.loads((REPO_ROOT / "protocol" / "schema.json").read_text(encoding="utf-8"))
    protocol = text(REPO_ROOT / "docs" / "protocol.md")
    missing = sorted(name for name in schema_properties(schema) if name not in protocol)
    assert not missing, f"fields of protocol/schema.json missing from docs/protocol.md: {missing}"


def test_every_provider_kind_is_documented() -> None:
    providers = text(REPO_ROOT / "docs" / "providers.md")
    missing = [kind for kind in kinds() if f"`{kind}`" not in providers]
    assert not missing, f"kinds docs/providers.md does not name: {missing}"
