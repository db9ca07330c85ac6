"""The `[completion]` config table: which model completes code as you type, and how.

    [completion]
    model = "mistral/codestral-2508"   # default: see the server's choice of a fast model
    enabled = true
    mode = "line"                      # or "block"
    debounce_ms = 75                   # 0: no wait in the server
    max_tokens = 128
    block_max_lines = 12               # block mode stops after this many lines
    budget_unit = "chars"              # or "tokens"
    prefix_budget = 4000               # text before the cursor, in budget_unit
    suffix_budget = 1000               # text after the cursor
    snippets = 2                       # other open documents of the same language
    languages = { include = ["*"], exclude = ["markdown"] }   # or a list: includes only

Parsing never raises: each bad value is reported as (key, message) and the
default stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

CompletionMode = Literal["line", "block"]
BudgetUnit = Literal["chars", "tokens"]

MODES = ("line", "block")
BUDGET_UNITS = ("chars", "tokens")
#: integer keys: (default, smallest accepted, largest accepted)
NUMBERS: dict[str, tuple[int, int, int]] = {
    "debounce_ms": (75, 0, 5_000),
    "max_tokens": (128, 1, 4_096),
    "block_max_lines": (12, 1, 500),
    "prefix_budget": (4_000, 0, 1_000_000),
    "suffix_budget": (1_000, 0, 1_000_000),
    "snippets": (2, 0, 10),
}
KEYS = frozenset({"model", "enabled", "mode", "budget_unit", "languages", *NUMBERS})
ALL_LANGUAGES = "*"


@dataclass(frozen=True)
class CompletionSettings:
    model: str | None = None
    enabled: bool = True
    mode: CompletionMode = "line"
    debounce_ms: int = NUMBERS["debounce_ms"][0]
    max_tokens: int = NUMBERS["max_tokens"][0]
    block_max_lines: int = NUMBERS["block_max_lines"][0]
    budget_unit: BudgetUnit = "chars"
    prefix_budget: int = NUMBERS["prefix_budget"][0]
    suffix_budget: int = NUMBERS["suffix_budget"][0]
    snippets: int = NUMBERS["snippets"][0]
    include_languages: tuple[str, ...] = (ALL_LANGUAGES,)
    exclude_languages: tuple[str, ...] = field(default=())

    def covers(self, language: str | None) -> bool:
        """Whether documents of this language (an LSP languageId) get completions."""
        name = (language or "").lower()
        if name in self.exclude_languages:
            return False
        return ALL_LANGUAGES in self.include_languages or name in self.include_languages

    def as_table(self) -> dict[str, Any]:
        """The settings as a `[completion]` table, which `parse_completion_table` reads back."""
        table: dict[str, Any] = {
            "enabled": self.enabled,
            "mode": self.mode,
            "budget_unit": self.budget_unit,
            "languages": {
                "include": list(self.include_languages),
                "exclude": list(self.exclude_languages),
            },
            **{key: getattr(self, key) for key in NUMBERS},
        }
        if self.model is not None:
            table["model"] = self.model
        return table


def parse_completion_table(raw: Any) -> tuple[CompletionSettings, list[tuple[str, str]]]:
    """The settings in a `[completion]` table, and (key, message) for each value refused."""
    if not isinstance(raw, Mapping):
        return CompletionSettings(), [("completion", "'completion' must be a table")]
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            problems.append((key, f"unknown key 'completion.{key}'"))
        elif key == "model":
            if isinstance(value, str) and "/" in value.strip("/"):
                values[key] = value
            else:
                problems.append((key, "'completion.model' must be \"provider/model\""))
        elif key == "enabled":
            if isinstance(value, bool):
                values[key] = value
            else:
                problems.append((key, "'completion.enabled' must be true or false"))
        elif key in ("mode", "budget_unit"):
            allowed = MODES if key == "mode" else BUDGET_UNITS
            if value in allowed:
                values[key] = value
            else:
                choices = " or ".join(f'"{choice}"' for choice in allowed)
                problems.append((key, f"'completion.{key}' must be {choices}"))
        elif key in NUMBERS:
            _, least, most = NUMBERS[key]
            if isinstance(value, int) and not isinstance(value, bool) and least <= value <= most:
                values[key] = value
            else:
                problems.append(
                    (key, f"'completion.{key}' must be a whole number from {least} to {most}")
                )
        elif key == "languages":
            languages = _languages(value)
            if languages is None:
                problems.append(
                    (
                        key,
                        "'completion.languages' must be a list of language ids, or a table "
                        "with 'include' and 'exclude' lists",
                    )
                )
            else:
                values["include_languages"], values["exclude_languages"] = languages
    return CompletionSettings(**values), problems


def _languages(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    if _is_names(value):
        return _names(value), ()
    if not isinstance(value, Mapping) or not set(value) <= {"include", "exclude"}:
        return None
    include = value.get("include", [ALL_LANGUAGES])
    exclude = value.get("exclude", [])
    if not _is_names(include) or not _is_names(exclude):
        return None
    return _names(include), _names(exclude)


def _is_names(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


def _names(value: Any) -> tuple[str, ...]:
    return tuple(item.strip().lower() for item in value if item.strip())
