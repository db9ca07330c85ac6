"""The parts of completion-as-you-type that need no server: the `[completion]` table, the
context within its budgets, the typing-through cache, block mode's cut, the coalesced
usage notices and the choice of a default model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from switchboard.protocol.validation import InvalidParams
from switchboard.providers.base import ProviderSettings
from switchboard.providers.catalog.completion_settings import (
    CompletionSettings,
    parse_completion_table,
)
from switchboard.providers.config import Config, apply_overrides, load_config
from switchboard.providers.engine import ChatEngine
from switchboard.server.completion import end_of_block, stop_sequences
from switchboard.server.completion_cache import WINDOW, SuggestionCache
from switchboard.server.completion_context import (
    OtherDocument,
    completion_request,
    cursor_at,
    relative_path,
)
from switchboard.server.completion_model import default_completion_model
from switchboard.server.recent_edits import Edit
from switchboard.server.usage import CoalescedNotices

KINDS = frozenset({"mistral", "anthropic", "deepseek", "ollama", "openai"})

# ---- the [completion] table ------------------------------------------------------------


def test_the_table_is_read_from_the_file_with_each_bad_value_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[completion]\n"
        'model = "mistral/codestral-2508"\n'
        'mode = "block"\n'
        "debounce_ms = 0\n"
        "max_tokens = 0\n"
        'languages = { include = ["Python", "rust"], exclude = ["markdown"] }\n'
        "colour = 1\n",
        encoding="utf-8",
    )
    config = load_config(path, KINDS)
    settings = config.completion
    assert (settings.model, settings.mode, settings.debounce_ms) == (
        "mistral/codestral-2508",
        "block",
        0,
    )
    assert settings.max_tokens == 128  # refused, so the default stays
    assert settings.covers("python") and settings.covers("rust")
    assert not settings.covers("markdown") and not settings.covers("go")
    assert {(issue.key, issue.line) for issue in config.issues} == {
        ("max_tokens", 5),
        ("colour", 7),
    }


def test_editor_settings_change_single_keys_in_camel_case() -> None:
    file_config = Config(completion=CompletionSettings(model="mistral/codestral-2508"))
    changed = apply_overrides(
        file_config, {"completion": {"debounceMs": 10, "budgetUnit": "tokens"}}, KINDS
    )
    settings = changed.completion
    assert (settings.model, settings.debounce_ms, settings.budget_unit) == (
        "mistral/codestral-2508",
        10,
        "tokens",
    )
    again = apply_overrides(changed, {"completion": {"languages": ["lua"]}}, KINDS)
    assert again.completion.include_languages == ("lua",) and again.completion.debounce_ms == 10


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"model": "codestral"}, "model"),
        ({"mode": "paragraph"}, "mode"),
        ({"enabled": "yes"}, "enabled"),
        ({"debounce_ms": -1}, "debounce_ms"),
        ({"languages": {"only": ["x"]}}, "languages"),
        ({"budget_unit": "lines"}, "budget_unit"),
    ],
)
def test_bad_values_name_their_key(table: dict[str, object], key: str) -> None:
    settings, problems = parse_completion_table(table)
    assert settings == CompletionSettings()
    assert [problem_key for problem_key, _ in problems] == [key]


# ---- the context -----------------------------------------------------------------------


def test_the_cursor_is_placed_by_the_negotiated_encoding() -> None:
    text = 'x = "😋"\ny = 1\n'
    in_utf16 = cursor_at("u", text, 0, 8, "utf-16", "python", None)
    in_utf8 = cursor_at("u", text, 0, 10, "utf-8", "python", None)
    assert in_utf16.prefix == in_utf8.prefix == 'x = "😋"'
    with pytest.raises(InvalidParams) as raised:
        cursor_at("u", text, 9, 0, "utf-16", "python", None)
    assert raised.value.field == "position"


def test_prefix_and_suffix_are_whole_lines_within_their_budgets() -> None:
    lines = [f"line {n:03}\n" for n in range(100)]  # 9 characters each
    text = "".join(lines)
    cursor = cursor_at("u", text, 50, 4, "utf-16", "python", "a.py")
    settings = CompletionSettings(prefix_budget=40, suffix_budget=30, snippets=0)
    request = completion_request(cursor, settings)
    assert request.prefix == "line 047\nline 048\nline 049\nline"
    assert request.suffix == " 050\nline 051\nline 052\n"
    assert (request.path, request.language, request.max_tokens) == ("a.py", "python", 128)


def test_a_token_budget_is_measured_by_the_given_counter() -> None:
    text = "".join(f"word{n} " * 5 + "\n" for n in range(200))
    cursor = cursor_at("u", text, 200, 0, "utf-16", "python", None)
    settings = CompletionSettings(budget_unit="tokens", prefix_budget=50, snippets=0)
    request = completion_request(cursor, settings, measure=lambda t: len(t.split()))
    assert 40 <= len(request.prefix.split()) <= 50
    assert request.prefix.startswith("word") and request.prefix.endswith("\n")


def test_snippets_of_recently_edited_documents_fill_the_unused_budget() -> None:
    cursor = cursor_at("file:///a.py", "import b\n", 1, 0, "utf-16", "python", "a.py")
    others = [
        OtherDocument("file:///b.py", "def helper():\n    return 1\n", "b.py", Edit("b", 1)),
        OtherDocument("file:///c.py", "X = 1\n", "c.py", Edit("c", 0)),
    ]
    request = completion_request(cursor, CompletionSettings(snippets=1), others=others)
    assert request.prefix == ("# From b.py:\n# def helper():\n#     return 1\n#\nimport b\n")
    tight = completion_request(
        cursor, CompletionSettings(snippets=2, prefix_budget=20), others=others
    )
    assert tight.prefix == "import b\n"


def test_paths_are_shown_from_the_workspace_root() -> None:
    assert relative_path("/work/src/a.py", "/work") == "src/a.py"
    assert relative_path("/elsewhere/a.py", "/work") == "a.py"
    assert relative_path("/work/a.py", None) == "a.py"


# ---- the cache and block mode ----------------------------------------------------------


def test_the_cache_serves_only_while_the_typing_follows_the_suggestion() -> None:
    cache = SuggestionCache()
    prefix, suffix = "x" * (WINDOW * 3) + "\n    ", "\nprint()\n"
    cache.store("u", prefix, suffix, "return a + b")
    assert cache.lookup("u", prefix, suffix) == "return a + b"
    assert cache.lookup("u", prefix + "ret", suffix) == "urn a + b"
    assert cache.lookup("u", prefix + "rex", suffix) is None
    assert cache.lookup("u", prefix + "return a + b", suffix) is None  # typed it all
    assert cache.lookup("u", prefix + "ret", suffix + "#") is None  # the suffix changed
    assert cache.lookup("u", "y" + prefix[1:] + "ret", suffix) == "urn a + b"  # far away
    assert cache.lookup("u", prefix[:-1] + "  ret", suffix) is None  # near the cursor
    assert cache.lookup("v", prefix + "ret", suffix) is None


def test_block_mode_ends_at_a_blank_line_before_a_dedent_or_at_its_line_limit() -> None:
    text = "if x:\n        y()\n\n        z()\n\n    w()\n\nmore()"
    assert end_of_block(text, "    ", 20) == "if x:\n        y()\n\n        z()\n\n    w()"
    assert end_of_block(text, "        ", 20) == "if x:\n        y()\n\n        z()"
    assert end_of_block(text, "    ", 2) == "if x:\n        y()"
    assert end_of_block("a\n\nb\n", "", 20) == "a\n\nb"


# ---- usage notices ---------------------------------------------------------------------


async def test_usage_notices_are_sent_at_most_once_per_interval_with_the_newest() -> None:
    now = [100.0]
    sent: list[int] = []
    notices = CoalescedNotices(sent.append, interval_s=0.05, clock=lambda: now[0])
    notices.offer(1)
    now[0] += 0.01
    notices.offer(2)
    notices.offer(3)
    assert sent == [1]
    now[0] += 0.05
    await asyncio.sleep(0.1)
    assert sent == [1, 3]
    now[0] += 0.1
    notices.offer(4)  # the interval has passed since 3
    assert sent == [1, 3, 4]


# ---- the default model -----------------------------------------------------------------


def engine_with(providers: dict[str, ProviderSettings], environ: dict[str, str]) -> ChatEngine:
    return ChatEngine(Config(providers=providers), environ=environ)


def test_the_default_model_prefers_a_provider_that_fills_in_the_middle() -> None:
    anthropic_and_mistral = {"ANTHROPIC_API_KEY": "a", "MISTRAL_API_KEY": "m"}
    assert default_completion_model(engine_with({}, anthropic_and_mistral)) == (
        "mistral/codestral-2508"
    )
    assert default_completion_model(engine_with({}, {"DEEPSEEK_API_KEY": "d"})) == (
        "deepseek/deepseek-v4-flash"
    )
    assert default_completion_model(engine_with({}, {"ANTHROPIC_API_KEY": "a"})) == (
        "anthropic/claude-haiku-5-5"
    )
    local = {"box": ProviderSettings("box", "ollama", options={"models": ["qwen2.5-coder:7b"]})}
    assert default_completion_model(engine_with(local, {"ANTHROPIC_API_KEY": "a"})) == (
        "box/qwen2.5-coder:7b"
    )


def test_stop_sequences_follow_the_mode_and_the_rest_of_the_line() -> None:
    in_the_middle = cursor_at("u", "print()\n", 0, 6, "utf-16", "python", None)
    at_the_end = cursor_at("u", "x = 1\ny = \n", 1, 4, "utf-16", "python", None)
    assert stop_sequences(in_the_middle, "line") == ("\n",)
    assert stop_sequences(at_the_end, "line") == ()
    assert stop_sequences(at_the_end, "block") == ("\n\n\n",)
