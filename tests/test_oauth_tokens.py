"""Config-declared OAuth: the `oauth` table, and stored tokens refreshed by the authenticator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import keyring
import pytest
from keyring.backends import fail
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.auth.credential_store import CredentialStore
from switchboard.providers.auth.oauth_config import OAuthSettings, parse_oauth_table
from switchboard.providers.auth.oauth_tokens import (
    OAuthAuthenticator,
    TokenRecord,
    store_record,
    stored_record,
)
from switchboard.providers.config import apply_overrides, load_config
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.http import HttpRequest

from tests.fakes.oauth import FakeAuthServer
from tests.keyring_backend import KEYRING_ENV, FileKeyring

KINDS = frozenset({"openai-compatible", "openai"})


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CredentialStore]:
    monkeypatch.setenv(KEYRING_ENV, str(tmp_path / "keyring.json"))
    keyring.set_keyring(FileKeyring())
    yield CredentialStore(tmp_path / "data")
    keyring.set_keyring(fail.Keyring())


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def fetcher(client: httpx.AsyncClient) -> Any:
    async def fetch_json(request: HttpRequest) -> Any:
        response = await client.request(
            request.method, request.url, headers=request.headers, content=request.body()
        )
        if response.status_code >= 400:
            raise ProviderError(ErrorCode.INVALID_REQUEST, f"HTTP {response.status_code}")
        return response.json()

    return fetch_json


def settings_for(auth: FakeAuthServer) -> OAuthSettings:
    return OAuthSettings(auth.authorize_url, auth.token_url, auth.client_id, ("chat",))


def issue(auth: FakeAuthServer) -> TokenRecord:
    """Tokens as a finished sign-in leaves them: issued by the fake, expiring in an hour."""
    access, refresh = "at-initial-0123456789", "rt-initial-0123456789"
    auth.access_tokens.append(access)
    auth.refresh_tokens.add(refresh)
    return TokenRecord(access, refresh, 1_000_000.0 + 3600)


# ---- the config table ------------------------------------------------------------


def test_oauth_table_in_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[providers.corp]\n"
        'kind = "openai-compatible"\n'
        "[providers.corp.oauth]\n"
        'authorize_url = "https://login.example.com/authorize"\n'
        'token_url = "https://login.example.com/token"\n'
        'client_id = "abc"\n'
        'scopes = "read chat"\n'
        "timeout = 60\n"
        'params = { audience = "api" }\n'
    )
    config = load_config(path, KINDS)
    assert not config.issues
    oauth = config.providers["corp"].oauth
    assert oauth == OAuthSettings(
        "https://login.example.com/authorize",
        "https://login.example.com/token",
        "abc",
        ("read", "chat"),
        timeout_s=60.0,
        params={"audience": "api"},
    )
    # Editor settings in camelCase reach the same table, and the table survives a round trip.
    merged = apply_overrides(
        config, {"providers": {"corp": {"oauth": {"clientId": "xyz", **_urls()}}}}, KINDS
    )
    assert merged.providers["corp"].oauth is not None
    assert merged.providers["corp"].oauth.client_id == "xyz"
    assert merged.providers["corp"].oauth.scopes == ("read", "chat")


def _urls() -> dict[str, str]:
    return {
        "authorizeUrl": "https://login.example.com/authorize",
        "tokenUrl": "https://login.example.com/token",
    }


def test_oauth_table_problems_are_named() -> None:
    settings, problems = parse_oauth_table(
        {"authorize_url": "login.example.com", "client_id": "", "scopes": [1], "colour": "red"}
    )
    assert settings is None
    keys = {key for key, _ in problems}
    assert keys == {"authorize_url", "token_url", "client_id", "scopes", "colour"}
    assert parse_oauth_table("yes") == (None, [("oauth", "'oauth' must be a table")])


def test_config_issue_points_at_the_oauth_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[providers.corp]\nkind = "openai-compatible"\n[providers.corp.oauth]\n'
        'authorize_url = "https://a.example/x"\ntoken_url = "nope"\nclient_id = "c"\n'
    )
    config = load_config(path, KINDS)
    (issue,) = config.issues
    assert issue.key == "token_url" and issue.line == 5
    assert config.providers["corp"].oauth is None


# ---- the stored record and the authenticator -----------------------------------------


def test_record_round_trips_through_the_store(store: CredentialStore) -> None:
    record = TokenRecord("at-abc-0123456789", "rt-def-0123456789", 123.0)
    store_record(store, "corp", record)
    assert stored_record(store, "corp") == record
    assert store.get("corp") is None, "the plain key slot stays free"
    store.set("corp", "not json", "oauth")
    assert stored_record(store, "corp") is None


async def test_refresh_before_expiry_and_after_invalidate(store: CredentialStore) -> None:
    with FakeAuthServer() as auth:
        store_record(store, "corp", issue(auth))
        clock = Clock()
        authenticator = OAuthAuthenticator("corp", settings_for(auth), store, {}, clock=clock)
        async with httpx.AsyncClient() as client:
            fetch = fetcher(client)
            request = HttpRequest(
                "POST", "http://127.0.0.1:9/v1/chat", headers={"authorization": "x"}
            )
            first = await authenticator.authorize(request, fetch)
            assert first.headers == {"Authorization": "Bearer at-initial-0123456789"}
            clock.now += 3600 - 30  # inside the expiry margin
            second = await authenticator.authorize(request, fetch)
            assert second.headers["Authorization"] == f"Bearer {auth.access_tokens[1]}"
            saved = stored_record(store, "corp")
            assert saved is not None and saved.access_token == auth.access_tokens[1]
            assert saved.refresh_token in auth.refresh_tokens, "the rotated refresh token is kept"
            authenticator.invalidate()
            third = await authenticator.authorize(request, fetch)
            assert third.headers["Authorization"] == f"Bearer {auth.access_tokens[2]}"
        refreshes = [r for r in auth.requests if r.path.endswith("/oauth/token")]
        assert len(refreshes) == 2


async def test_a_refused_refresh_asks_to_sign_in_again(store: CredentialStore) -> None:
    with FakeAuthServer() as auth:
        store_record(store, "corp", TokenRecord("at-old-0123456789", "rt-unknown-012345", 0.0))
        authenticator = OAuthAuthenticator("corp", settings_for(auth), store, {})
        async with httpx.AsyncClient() as client:
            with pytest.raises(ProviderError) as refused:
                await authenticator.authorize(HttpRequest("GET", "http://x"), fetcher(client))
    assert refused.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert refused.value.suggestion == "sign in again: switchboard login corp"
    assert "rt-unknown" not in str(refused.value)


async def test_no_refresh_token_means_signed_out_when_expired(store: CredentialStore) -> None:
    with FakeAuthServer() as auth:
        store_record(store, "corp", TokenRecord("at-old-0123456789", None, 10.0))
        authenticator = OAuthAuthenticator("corp", settings_for(auth), store, {})
        async with httpx.AsyncClient() as client:
            with pytest.raises(ProviderError) as expired:
                await authenticator.authorize(HttpRequest("GET", "http://x"), fetcher(client))
    assert "expired" in expired.value.message
    assert not [r for r in auth.requests if r.path.endswith("/oauth/token")]


def test_not_signed_in_has_no_authenticator(store: CredentialStore) -> None:
    auth = OAuthSettings("https://a.example/x", "https://a.example/t", "c")
    assert not OAuthAuthenticator("corp", auth, store, {}).signed_in
    store_record(store, "corp", TokenRecord("at-new-0123456789"))
    assert OAuthAuthenticator("corp", auth, store, {}).signed_in
    assert json.loads(store.get("corp", "oauth") or "{}")["expires_at"] is None
