"""The TOML config, the editor's overrides on top, and where the files live."""

from __future__ import annotations

from pathlib import Path

import pytest
from switchboard.providers.base import ProviderSettings
from switchboard.providers.config import (
    Config,
    ConfigIssue,
    apply_overrides,
    config_path,
    data_dir,
    load_config,
)

KINDS = frozenset({"anthropic", "openai"})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def only_issue(config: Config) -> ConfigIssue:
    assert len(config.issues) == 1, config.issues
    return config.issues[0]


# ---- load_config ----------------------------------------------------------------------


def test_missing_file_is_an_empty_config_without_issues(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.toml", KINDS)
    assert config == Config(plugins_dir=tmp_path / "providers")
    assert config.issues == ()
    assert config.path is None


def test_valid_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
default_model = "anthropic/claude-sonnet-4-5"
fast_model = "openai/gpt-4o-mini"
log_level = "DEBUG"

[providers.anthropic]
api_key_env = "MY_ANTHROPIC_KEY"
timeout = 120

[providers.openai]
base_url = "http://127.0.0.1:8080/v1"
timeout = 2.5

[providers.openai.headers]
X-Team = "core"
""",
    )
    config = load_config(path, KINDS)
    assert config.issues == ()
    assert config.path == path
    assert config.default_model == "anthropic/claude-sonnet-4-5"
    assert config.fast_model == "openai/gpt-4o-mini"
    assert config.log_level == "debug"
    assert config.providers == {
        "anthropic": ProviderSettings(
            id="anthropic", kind="anthropic", api_key_env="MY_ANTHROPIC_KEY", timeout_s=120.0
        ),
        "openai": ProviderSettings(
            id="openai",
            kind="openai",
            base_url="http://127.0.0.1:8080/v1",
            timeout_s=2.5,
            headers={"X-Team": "core"},
        ),
    }


def test_custom_provider_with_a_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
[providers."local-llm"]
kind = "openai"
base_url = "http://127.0.0.1:11434/v1"
""",
    )
    config = load_config(path, KINDS)
    assert config.issues == ()
    assert config.providers["local-llm"] == ProviderSettings(
        id="local-llm", kind="openai", base_url="http://127.0.0.1:11434/v1"
    )


def test_invalid_toml_is_an_issue_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_model = "openai/gpt-4o"\n\nlog_level = = "info"\n')
    config = load_config(path, KINDS)
    issue = only_issue(config)
    assert issue.file == str(path)
    assert issue.line == 3
    assert issue.message.startswith("not valid TOML")
    assert str(issue).startswith(f"{path}:3: not valid TOML")
    assert config.providers == {}
    assert config.path == path


def test_file_that_is_not_utf8_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'default_model = "\xff"\n')
    issue = only_issue(load_config(path, KINDS))
    assert issue.file == str(path)
    assert issue.message.startswith("cannot read")


def test_unknown_top_level_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'default_model = "openai/gpt-4o"\ndefualt_model = "x/y"\n[providers.openai]\n',
    )
    config = load_config(path, KINDS)
    issue = only_issue(config)
    assert (issue.file, issue.line, issue.key) == (str(path), 2, "defualt_model")
    assert "unknown key 'defualt_model'" in issue.message
    # The rest of the file still applies.
    assert config.default_model == "openai/gpt-4o"
    assert set(config.providers) == {"openai"}


def test_unknown_top_level_table_points_at_its_header(tmp_path: Path) -> None:
    path = write(tmp_path, 'log_level = "info"\n\n[telemetry]\nenabled = true\n')
    issue = only_issue(load_config(path, KINDS))
    assert (issue.line, issue.key) == (3, "telemetry")


def test_unknown_provider_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
[providers.anthropic]
timeout = 30

[providers.openai]
base_url = "http://127.0.0.1:1/v1"
api_key = "sk-oops"
""",
    )
    config = load_config(path, KINDS)
    issue = only_issue(config)
    assert (issue.file, issue.line, issue.key) == (str(path), 6, "api_key")
    assert "providers.openai.api_key" in issue.message
    assert config.providers["openai"].base_url == "http://127.0.0.1:1/v1"


@pytest.mark.parametrize(
    ("line", "key", "message"),
    [
        ("timeout = -5", "timeout", "positive number"),
        ("timeout = 0", "timeout", "positive number"),
        ("timeout = true", "timeout", "positive number"),
        ('timeout = "30"', "timeout", "positive number"),
        ('base_url = ""', "base_url", "non-empty string"),
        ("api_key_env = 3", "api_key_env", "non-empty string"),
        ("headers = { X-Retries = 3 }", "headers", "table of strings"),
        ('headers = "X-A: b"', "headers", "table of strings"),
    ],
)
def test_wrong_types_in_a_provider(tmp_path: Path, line: str, key: str, message: str) -> None:
    path = write(tmp_path, f'[providers.openai]\nkind = "openai"\n\n{line}\n')
    config = load_config(path, KINDS)
    issue = only_issue(config)
    assert (issue.line, issue.key) == (4, key)
    assert message in issue.message
    # The provider still loads, without the bad value.
    settings = config.providers["openai"]
    assert settings.timeout_s is None
    assert settings.headers == {}


def test_header_sub_table_with_a_non_string_points_at_the_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[providers.openai]\n\n[providers.openai.headers]\nX-Retries = 3\n")
    issue = only_issue(load_config(path, KINDS))
    assert (issue.line, issue.key) == (3, "headers")


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('default_model = "gpt-4o"', "default_model", "provider/model"),
        ("fast_model = 4", "fast_model", "provider/model"),
        ('log_level = "loud"', "log_level", "log_level"),
        ('providers = "openai"', "providers", "must be a table"),
    ],
)
def test_wrong_types_at_top_level(tmp_path: Path, text: str, key: str, message: str) -> None:
    config = load_config(write(tmp_path, f"# comment\n{text}\n"), KINDS)
    issue = only_issue(config)
    assert (issue.line, issue.key) == (2, key)
    assert message in issue.message
    assert config.default_model is None
    assert config.log_level == "info"


def test_unknown_kind_points_at_the_kind_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.mine]\nbase_url = "http://h"\nkind = "telex"\n')
    config = load_config(path, KINDS)
    issue = only_issue(config)
    assert (issue.line, issue.key) == (3, "kind")
    assert "unknown kind 'telex'" in issue.message
    # Kinds that installed plugins add are listed too.
    assert "(known: anthropic, " in issue.message and ", openai" in issue.message
    assert config.providers == {}


def test_unknown_provider_name_without_kind_points_at_the_table(tmp_path: Path) -> None:
    path = write(tmp_path, 'log_level = "info"\n[providers.mystery]\nbase_url = "http://h"\n')
    issue = only_issue(load_config(path, KINDS))
    assert (issue.line, issue.key) == (2, "mystery")
    assert "unknown kind 'mystery'" in issue.message


def test_provider_that_is_not_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers]\nopenai = "yes"\n')
    config = load_config(path, KINDS)
    issue = only_issue(config)
    assert issue.key == "openai"
    assert config.providers == {}


@pytest.mark.parametrize("kind", ['["openai"]', "{ name = 'openai' }"])
def test_kind_that_is_not_a_string_is_an_issue(tmp_path: Path, kind: str) -> None:
    path = write(tmp_path, f"[providers.mine]\nkind = {kind}\n")
    issue = only_issue(load_config(path, KINDS))
    assert (issue.line, issue.key) == (2, "kind")


# ---- apply_overrides ------------------------------------------------------------------


def file_config(tmp_path: Path) -> Config:
    path = write(
        tmp_path,
        """\
default_model = "anthropic/claude-sonnet-4-5"
log_level = "warning"

[providers.openai]
base_url = "http://file/v1"
timeout = 10
headers = { X-From = "file" }
""",
    )
    config = load_config(path, KINDS)
    assert config.issues == ()
    return config


def test_no_overrides_is_the_same_config(tmp_path: Path) -> None:
    config = file_config(tmp_path)
    assert apply_overrides(config, None, KINDS) is config
    assert apply_overrides(config, {}, KINDS) is config


def test_camel_case_overrides_win_over_the_file(tmp_path: Path) -> None:
    config = apply_overrides(
        file_config(tmp_path),
        {"defaultModel": "openai/gpt-4o", "fastModel": "openai/gpt-4o-mini", "logLevel": "error"},
        KINDS,
    )
    assert config.issues == ()
    assert config.default_model == "openai/gpt-4o"
    assert config.fast_model == "openai/gpt-4o-mini"
    assert config.log_level == "error"
    assert config.path == tmp_path / "config.toml"
    # What the overrides did not touch stays as the file had it.
    assert config.providers["openai"] == ProviderSettings(
        id="openai",
        kind="openai",
        base_url="http://file/v1",
        timeout_s=10.0,
        headers={"X-From": "file"},
    )


def test_nested_provider_overrides_merge_key_by_key(tmp_path: Path) -> None:
    config = apply_overrides(
        file_config(tmp_path),
        {
            "providers": {
                "openai": {"baseUrl": "http://editor/v1", "headers": {"X-Custom-Header": "e"}},
                "my-gateway": {"kind": "anthropic", "apiKeyEnv": "GATEWAY_KEY"},
            }
        },
        KINDS,
    )
    assert config.issues == ()
    openai = config.providers["openai"]
    assert openai.base_url == "http://editor/v1"
    assert openai.timeout_s == 10.0
    # Header names are sent as written, never snake_cased.
    assert openai.headers == {"X-Custom-Header": "e"}
    assert config.providers["my-gateway"] == ProviderSettings(
        id="my-gateway", kind="anthropic", api_key_env="GATEWAY_KEY"
    )
    assert config.default_model == "anthropic/claude-sonnet-4-5"


def test_null_override_leaves_the_file_value(tmp_path: Path) -> None:
    config = apply_overrides(file_config(tmp_path), {"defaultModel": None}, KINDS)
    assert config.default_model == "anthropic/claude-sonnet-4-5"


def test_override_issues_have_no_file_and_keep_file_issues(tmp_path: Path) -> None:
    path = write(tmp_path, 'log_level = "info"\nmystery = 1\n')
    loaded = load_config(path, KINDS)
    config = apply_overrides(
        loaded,
        {"defaultModel": "no-slash", "providers": {"openai": {"timeout": -1}}},
        KINDS,
    )
    file_issue, *override_issues = config.issues
    assert (file_issue.file, file_issue.line, file_issue.key) == (str(path), 2, "mystery")
    assert sorted(i.key or "" for i in override_issues) == ["default_model", "timeout"]
    for issue in override_issues:
        assert issue.file is None
        assert issue.line is None
        assert str(issue).startswith("settings: ")
    assert config.default_model is None
    assert config.providers["openai"].timeout_s is None


# ---- where the files live -------------------------------------------------------------


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SWITCHBOARD_CONFIG", raising=False)
    assert config_path() == tmp_path / "xdg" / "switchboard" / "config.toml"
    monkeypatch.setenv("SWITCHBOARD_CONFIG", str(tmp_path / "env.toml"))
    assert config_path() == tmp_path / "env.toml"
    assert config_path(tmp_path / "flag.toml") == tmp_path / "flag.toml"
    assert config_path(str(tmp_path / "flag.toml")) == tmp_path / "flag.toml"


def test_config_path_expands_the_home_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SWITCHBOARD_CONFIG", "~/env.toml")
    assert config_path() == tmp_path / "env.toml"
    assert config_path("~/flag.toml") == tmp_path / "flag.toml"


def test_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("SWITCHBOARD_DATA_DIR", raising=False)
    assert data_dir() == tmp_path / "xdg-data" / "switchboard"
    assert not data_dir().exists(), "data_dir() must not create the directory"
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"
