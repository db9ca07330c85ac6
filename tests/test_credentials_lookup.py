"""Where a credential is found, in order: env vars, the store, what Copilot's plugins keep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from switchboard.providers.adapters.copilot import CopilotAdapter
from switchboard.providers.adapters.openai_chat import OpenAIChatAdapter
from switchboard.providers.auth.copilot_apps import (
    CopilotAppToken,
    config_dir,
    find_app_token,
    host_of,
    parse_entries,
)
from switchboard.providers.auth.credential_store import SERVICE, CredentialStore
from switchboard.providers.auth.credentials import find_credential
from switchboard.providers.auth.redact import MASK, redact
from switchboard.providers.base import ProviderSettings
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine

from tests.conftest import WORK_DONE_CLIENT
from tests.fakes.openai import FakeOpenAI
from tests.keyring_backend import KEYRING_ENV, FileKeyring
from tests.lsp_harness import open_session, provider_config

APP_ID = "Iv1.b507a08c87ecfe98"
COPILOT = ProviderSettings(id="copilot", kind="copilot")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CredentialStore]:
    monkeypatch.setenv(KEYRING_ENV, str(tmp_path / "keyring.json"))
    keyring.set_keyring(FileKeyring())
    yield CredentialStore(tmp_path / "data")
    keyring.set_keyring(fail.Keyring())


def write_copilot_file(config_home: Path, name: str, data: object) -> None:
    folder = config_home / "github-copilot"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


def apps_entry(user: str, token: str) -> dict[str, str]:
    return {"user": user, "oauth_token": token, "githubAppId": APP_ID}


def test_env_beats_keyring_beats_apps_json(store: CredentialStore, tmp_path: Path) -> None:
    config_home = tmp_path / "xdg"
    write_copilot_file(
        config_home,
        "apps.json",
        {f"github.com:{APP_ID}": apps_entry("me", "gho_apps0000000000000000000000000000")},
    )
    store.set("copilot", "gho_keyring000000000000000000000000")
    environ = {"XDG_CONFIG_HOME": str(config_home), "GITHUB_COPILOT_TOKEN": "gho_env00000000000000"}
    adapter = CopilotAdapter()

    def found() -> tuple[str, str] | None:
        credential = find_credential(COPILOT, adapter.api_key_envs, environ, store, adapter)
        return (credential.secret, credential.source) if credential else None

    assert found() == ("gho_env00000000000000", "env:GITHUB_COPILOT_TOKEN")
    del environ["GITHUB_COPILOT_TOKEN"]
    assert found() == ("gho_keyring000000000000000000000000", "keyring")
    store.delete("copilot")
    assert found() == ("gho_apps0000000000000000000000000000", "github-copilot:apps.json")
    (config_home / "github-copilot" / "apps.json").unlink()
    assert found() is None


def test_configured_env_var_comes_first_and_old_callers_still_work(
    store: CredentialStore,
) -> None:
    settings = ProviderSettings(id="openai", kind="openai", api_key_env="MY_KEY")
    environ = {"MY_KEY": "sk-mine-000000", "OPENAI_API_KEY": "sk-standard-000000"}
    found = find_credential(settings, ("OPENAI_API_KEY",), environ)
    assert found is not None and found.source == "env:MY_KEY"
    store.set("openai", "sk-stored-000000")
    found = find_credential(settings, ("OPENAI_API_KEY",), {}, store)
    assert found is not None and (found.secret, found.source) == ("sk-stored-000000", "keyring")
    assert find_credential(settings, ("OPENAI_API_KEY",), {}) is None


def test_store_entries_are_per_provider_id(store: CredentialStore, tmp_path: Path) -> None:
    work = ProviderSettings(id="work", kind="openai")
    home = ProviderSettings(id="home", kind="openai")
    store.set("work", "sk-work-key-000000")
    store.set("home", "sk-home-key-000000")
    config = Config(providers={"work": work, "home": home})
    engine = ChatEngine(config, environ={}, store=store, model_cache_dir=tmp_path / "models")
    work_key, home_key = engine.credential("work"), engine.credential("home")
    assert work_key is not None and work_key.secret == "sk-work-key-000000"
    assert home_key is not None and home_key.secret == "sk-home-key-000000"
    assert engine.has_credentials("work")
    assert ChatEngine(config, environ={}).credential("work") is None  # no store: env only


def test_a_stored_secret_is_redacted(store: CredentialStore) -> None:
    secret = "plain-looking-stored-value-42"
    store.set("local", secret)
    CredentialStore(store.directory.parent).get("local")
    assert redact(f"failed with {secret}") == f"failed with {MASK}"


def test_file_fallback_source_is_file(tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    store = CredentialStore(tmp_path / "data")
    store.set("openai", "sk-in-the-file-000000")
    found = find_credential(ProviderSettings(id="openai", kind="openai"), (), {}, store)
    assert found is not None and found.source == "file"


# ---- apps.json and hosts.json ------------------------------------------------


def test_parse_apps_json_shape() -> None:
    data = {
        f"github.com:{APP_ID}": apps_entry("octocat", "gho_one"),
        "corp.ghe.com:Iv1.0123": apps_entry("worker", "gho_two"),
        "broken:x": {"user": "nobody"},
        "not-an-object": "gho_three",
    }
    assert parse_entries(data, "apps.json") == [
        CopilotAppToken("github.com", "octocat", "gho_one", "apps.json"),
        CopilotAppToken("corp.ghe.com", "worker", "gho_two", "apps.json"),
    ]


def test_parse_hosts_json_shape() -> None:
    data = {"github.com": {"user": "octocat", "oauth_token": "gho_hosts"}}
    assert parse_entries(data, "hosts.json") == [
        CopilotAppToken("github.com", "octocat", "gho_hosts", "hosts.json")
    ]
    assert parse_entries(["not", "an", "object"], "hosts.json") == []
    assert "gho_hosts" not in repr(parse_entries(data, "hosts.json"))


def test_config_dir_honours_xdg_config_home_else_home(tmp_path: Path) -> None:
    assert config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "github-copilot"
    assert config_dir({"HOME": str(tmp_path)}) == tmp_path / ".config" / "github-copilot"


def test_apps_json_wins_over_hosts_json_and_hosts_json_fills_in(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    write_copilot_file(
        tmp_path, "hosts.json", {"github.com": {"user": "a", "oauth_token": "gho_h"}}
    )
    found = find_app_token(environ)
    assert found is not None and (found.token, found.file) == ("gho_h", "hosts.json")
    write_copilot_file(tmp_path, "apps.json", {f"github.com:{APP_ID}": apps_entry("a", "gho_a")})
    found = find_app_token(environ)
    assert found is not None and (found.token, found.file) == ("gho_a", "apps.json")


def test_enterprise_host_picks_its_own_entry(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    write_copilot_file(
        tmp_path,
        "apps.json",
        {
            f"github.com:{APP_ID}": apps_entry("public", "gho_public"),
            f"corp.ghe.com:{APP_ID}": apps_entry("corp", "gho_corp"),
        },
    )
    assert host_of("https://Corp.ghe.com/") == "corp.ghe.com"
    public = find_app_token(environ)
    corp = find_app_token(environ, "https://corp.ghe.com/")
    assert public is not None and public.token == "gho_public"
    assert corp is not None and corp.user == "corp"
    assert find_app_token(environ, "other.ghe.com") is None

    settings = ProviderSettings(
        id="work", kind="copilot", options={"enterprise_host": "corp.ghe.com"}
    )
    credential = CopilotAdapter().external_credential(settings, environ)
    assert credential is not None
    assert (credential.secret, credential.source) == ("gho_corp", "github-copilot:apps.json")


def test_unreadable_copilot_files_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "github-copilot"
    folder.mkdir()
    (folder / "apps.json").write_text("{not json", encoding="utf-8")
    (folder / "hosts.json").write_text('{"github.com": {"user": "u", "oauth_token": "gho_ok"}}')
    found = find_app_token({"XDG_CONFIG_HOME": str(tmp_path)})
    assert found is not None and found.file == "hosts.json"


def test_other_adapters_find_nothing_elsewhere(tmp_path: Path) -> None:
    write_copilot_file(tmp_path, "apps.json", {f"github.com:{APP_ID}": apps_entry("a", "gho_a")})
    settings = ProviderSettings(id="openai", kind="openai")
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert OpenAIChatAdapter().external_credential(settings, environ) is None


# ---- end to end: the server finds the key in the keyring ---------------------


async def test_server_uses_a_key_from_the_keyring(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        FileKeyring(tmp_path / "keyring.json").set_password(SERVICE, "openai/default", fake.api_key)
        async with open_session(
            tmp_path, provider_config(openai_url=fake.url), {}, capabilities=WORK_DONE_CLIENT
        ) as session:
            result = await session.request(
                "switchboard/chat",
                {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
            )
    assert result["stopReason"] == "endTurn"
    chats = [r for r in fake.requests if r.method == "POST"]
    assert [r.headers["authorization"] for r in chats] == [f"Bearer {fake.api_key}"]
    assert not (tmp_path / "data" / "credentials" / "credentials.json").exists()
