"""`default_temperature` and `session_budget_usd` in the config, and the temperature's
precedence: the request's, then the provider's default, then the config's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from switchboard.protocol.chat import ChatParams
from switchboard.providers.adapters import kinds
from switchboard.providers.config import Config, apply_overrides, load_config
from switchboard.providers.engine import ChatEngine

KINDS = frozenset(kinds())
KEYS = {
    "OPENAI_API_KEY": "sk-test-abcdefghijklmnopqrstuvwxyz0123",
    "ANTHROPIC_API_KEY": "sk-ant-test-abcdefghijklmnopqrstuvwxyz",
}


def written(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, KINDS)


def test_the_keys_are_read_at_the_top_and_per_provider(tmp_path: Path) -> None:
    config = written(
        tmp_path,
        "default_temperature = 0.2\n"
        "session_budget_usd = 5\n"
        "[providers.anthropic]\n"
        "default_temperature = 0.7\n",
    )
    assert config.issues == ()
    assert config.default_temperature == 0.2
    assert config.session_budget_usd == 5.0
    assert config.providers["anthropic"].default_temperature == 0.7


def test_bad_values_are_issues_naming_the_key_and_line(tmp_path: Path) -> None:
    config = written(
        tmp_path,
        'default_temperature = "warm"\nsession_budget_usd = -1\n'
        "[providers.openai]\ndefault_temperature = true\n",
    )
    found = {(issue.key, issue.line) for issue in config.issues}
    assert found == {
        ("default_temperature", 1),
        ("session_budget_usd", 2),
        ("default_temperature", 4),
    }
    assert config.default_temperature is None and config.session_budget_usd is None


def test_editor_settings_set_them_in_camel_case(tmp_path: Path) -> None:
    base = written(tmp_path, "default_temperature = 0.2\n")
    merged = apply_overrides(
        base,
        {
            "sessionBudgetUsd": 2.5,
            "providers": {"openai": {"defaultTemperature": 0.9}},
        },
        KINDS,
    )
    assert merged.issues == ()
    assert merged.default_temperature == 0.2 and merged.session_budget_usd == 2.5
    assert merged.providers["openai"].default_temperature == 0.9
    # And they survive another round of settings.
    again = apply_overrides(merged, {"logLevel": "debug"}, KINDS)
    assert again.providers["openai"].default_temperature == 0.9
    assert again.session_budget_usd == 2.5


def sent_temperature(config: Config, model: str, **fields: Any) -> float | None:
    params = ChatParams.model_validate(
        {"model": model, "messages": [{"role": "user", "content": "hi"}], **fields}
    )
    run = ChatEngine(config, environ=KEYS).prepare(params)
    return run._params.temperature


def test_the_request_then_the_provider_then_the_config(tmp_path: Path) -> None:
    config = written(
        tmp_path, "default_temperature = 0.2\n[providers.anthropic]\ndefault_temperature = 0.7\n"
    )
    assert sent_temperature(config, "anthropic/claude-sonnet-4-5") == 0.7
    assert sent_temperature(config, "openai/gpt-4o") == 0.2
    assert sent_temperature(config, "anthropic/claude-sonnet-4-5", temperature=0.0) == 0.0
    assert sent_temperature(Config(), "openai/gpt-4o") is None


def test_a_default_outside_the_provider_range_is_clamped_like_any_temperature(
    tmp_path: Path,
) -> None:
    config = written(tmp_path, "default_temperature = 1.8\n")
    assert sent_temperature(config, "anthropic/claude-sonnet-4-5") == 1.0
    assert sent_temperature(config, "openai/gpt-4o") == 1.8
