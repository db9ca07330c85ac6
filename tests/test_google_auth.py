"""Google OAuth tokens for Vertex: a service-account file against the fake's token endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.auth.google_auth import GoogleAuthenticator
from switchboard.providers.auth.redact import redact
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.http import HttpRequest

from tests.fakes.gemini import FakeGemini, service_account_info

REQUEST = HttpRequest("POST", "https://example.invalid/x", headers={"content-type": "a/b"})


async def no_fetch(request: HttpRequest) -> Any:
    raise AssertionError("google-auth makes its own token request")


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


def key_file(tmp_path: Path, info: dict[str, Any]) -> str:
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(info))
    return str(path)


async def test_a_service_account_token_is_fetched_once_and_reused(
    fake: FakeGemini, tmp_path: Path
) -> None:
    auth = GoogleAuthenticator("vertex", key_file(tmp_path, service_account_info(fake)))
    first = await auth.authorize(REQUEST, no_fetch)
    second = await auth.authorize(REQUEST, no_fetch)
    token = fake.issued_tokens[0]
    assert first.headers == {"content-type": "a/b", "authorization": f"Bearer {token}"}
    assert second.headers["authorization"] == f"Bearer {token}"
    assert REQUEST.headers == {"content-type": "a/b"}  # the original request is untouched
    assert len(fake.token_requests) == 1
    claims = fake.token_requests[0]["claims"]
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    assert claims["iss"] == "switchboard@switchboard-test.iam.gserviceaccount.com"
    assert redact(f"token={token}") == "token=[REDACTED]"
    assert token not in repr(auth)


async def test_invalidate_forces_a_fresh_token(fake: FakeGemini, tmp_path: Path) -> None:
    auth = GoogleAuthenticator("vertex", key_file(tmp_path, service_account_info(fake)))
    await auth.authorize(REQUEST, no_fetch)
    auth.invalidate()
    again = await auth.authorize(REQUEST, no_fetch)
    assert len(fake.issued_tokens) == 2
    assert again.headers["authorization"] == f"Bearer {fake.issued_tokens[1]}"


async def test_a_token_about_to_expire_is_refreshed(fake: FakeGemini, tmp_path: Path) -> None:
    fake.token_lifetime_s = 120  # inside the refresh margin: never worth reusing
    auth = GoogleAuthenticator("vertex", key_file(tmp_path, service_account_info(fake)))
    await auth.authorize(REQUEST, no_fetch)
    await auth.authorize(REQUEST, no_fetch)
    assert len(fake.token_requests) == 2


async def test_a_refused_signature_is_an_authentication_failure(
    fake: FakeGemini, tmp_path: Path
) -> None:
    info = service_account_info(fake)
    fake.trusted_keys.clear()
    service_account_info(fake)  # the endpoint now trusts only another key
    auth = GoogleAuthenticator("vertex", key_file(tmp_path, info))
    with pytest.raises(ProviderError) as caught:
        await auth.authorize(REQUEST, no_fetch)
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "Invalid JWT Signature" in caught.value.message
    assert "PRIVATE KEY" not in caught.value.message


async def test_a_missing_file_is_an_authentication_failure(tmp_path: Path) -> None:
    auth = GoogleAuthenticator("vertex", str(tmp_path / "nope.json"))
    with pytest.raises(ProviderError) as caught:
        await auth.authorize(REQUEST, no_fetch)
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "nope.json" in caught.value.message
    assert caught.value.suggestion and "GOOGLE_APPLICATION_CREDENTIALS" in caught.value.suggestion


async def test_an_unreachable_token_endpoint_is_a_network_failure(
    fake: FakeGemini, tmp_path: Path
) -> None:
    info = {**service_account_info(fake), "token_uri": "http://127.0.0.1:1/token"}
    auth = GoogleAuthenticator("vertex", key_file(tmp_path, info))
    with pytest.raises(ProviderError) as caught:
        await auth.authorize(REQUEST, no_fetch)
    assert caught.value.code == ErrorCode.NETWORK


async def test_no_default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth import exceptions

    def nothing(**kwargs: Any) -> Any:
        raise exceptions.DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", nothing)
    auth = GoogleAuthenticator("vertex", None)
    with pytest.raises(ProviderError) as caught:
        await auth.authorize(REQUEST, no_fetch)
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "application-default login" in caught.value.message


def test_which_file_is_used(tmp_path: Path) -> None:
    environ = {"GOOGLE_APPLICATION_CREDENTIALS": "/from/env.json"}
    assert "env.json" in repr(GoogleAuthenticator.from_environ("v", None, environ))
    assert "conf.json" in repr(GoogleAuthenticator.from_environ("v", "/c/conf.json", environ))
    assert "file=None" in repr(GoogleAuthenticator.from_environ("v", None, {}))


def test_google_auth_is_imported_only_when_a_token_is_needed() -> None:
    code = (
        "import sys\n"
        "import switchboard.providers.auth.google_auth, switchboard.providers.adapters.vertex\n"
        "from switchboard.providers.adapters import adapter_for\n"
        "adapter_for('vertex'); adapter_for('gemini')\n"
        "print('google.auth' in sys.modules, 'google.genai' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False False"
