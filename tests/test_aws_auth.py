"""AWS authorization for Bedrock: SigV4 through botocore's credential chain, or an API key."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from switchboard.protocol.chat import ChatParams
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters.bedrock import BedrockAdapter
from switchboard.providers.auth.aws_auth import AwsAuthenticator, resolve_region
from switchboard.providers.auth.redact import MASK, redact
from switchboard.providers.base import Credential, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.transport import Transport

from tests.fakes.bedrock import DEFAULT_KEY, AwsKey, FakeBedrock
from tests.test_bedrock_adapter import target

ADAPTER = BedrockAdapter()
PARAMS = ChatParams.model_validate({"messages": [{"role": "user", "content": "hi"}]})
SESSION_KEY = AwsKey(
    "ASIAFAKEL00PBACK0002",
    "s3ss10nS3cr3tF0rL00pb4ckT3st1ngOnly00000",
    "FwoGZXIvYXdzEFAKESESSIONTOKENforloopbacktestsonly0000000000",
)


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No host AWS settings: private config files, no instance metadata lookups."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


@pytest.fixture
def fake() -> Iterator[FakeBedrock]:
    with FakeBedrock(
        keys=[DEFAULT_KEY, SESSION_KEY], bearer_tokens=["ABSKbedrockapikeyfortests01"]
    ) as server:
        yield server


def settings(fake: FakeBedrock | None = None, **options: Any) -> ProviderSettings:
    return ProviderSettings(
        id="bedrock", kind="bedrock", base_url=fake.url if fake else None, options=options
    )


def use_key(monkeypatch: pytest.MonkeyPatch, key: AwsKey) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key.secret_key)
    if key.token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", key.token)


async def unused_fetch(request: HttpRequest) -> Any:
    raise AssertionError("SigV4 needs no token endpoint")


async def send(request: HttpRequest) -> bytes:
    """Through the engine's own transport, exactly as a chat sends it."""
    transport = Transport()
    body = b""
    try:
        async for chunk in transport.stream(
            request, provider="bedrock", parse_error=ADAPTER.parse_error
        ):
            if isinstance(chunk, bytes):
                body += chunk
    finally:
        await transport.aclose()
    return body


def authorization_fields(header: str) -> dict[str, str]:
    _, _, rest = header.partition(" ")
    return dict(item.strip().split("=", 1) for item in rest.split(","))


async def test_signature_verifies_against_botocore_resigning(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeBedrock
) -> None:
    use_key(monkeypatch, DEFAULT_KEY)
    config = settings(fake, region="us-east-1")
    built = ADAPTER.build_request(PARAMS, target(), config, None)
    authenticator = ADAPTER.authenticator(config, None, os.environ)
    signed = await authenticator.authorize(built, unused_fetch)
    assert await send(signed)
    assert fake.auth_failures == []

    # Re-sign what the fake actually received, with botocore, the same key and X-Amz-Date.
    received = fake.requests[-1]
    assert received.body == built.body()
    resigned = AWSRequest(
        method=received.method,
        url=f"http://{received.headers['host']}{received.path}",
        headers=dict(built.headers),
        data=received.body,
    )
    when = datetime.strptime(received.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    credentials = Credentials(DEFAULT_KEY.access_key, DEFAULT_KEY.secret_key)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(credentials, "bedrock", "us-east-1").add_auth(resigned)
    assert resigned.headers["Authorization"] == received.headers["authorization"]
    fields = authorization_fields(received.headers["authorization"])
    assert fields["Credential"].endswith("/us-east-1/bedrock/aws4_request")
    assert fields["SignedHeaders"] == "content-type;host;x-amz-date"


async def test_a_wrong_secret_is_rejected_as_aws_does(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeBedrock
) -> None:
    use_key(monkeypatch, AwsKey(DEFAULT_KEY.access_key, "wrongSecretKeyWrongSecretKeyWrongSecret0"))
    config = settings(fake, region="us-east-1")
    authenticator = ADAPTER.authenticator(config, None, os.environ)
    signed = await authenticator.authorize(
        ADAPTER.build_request(PARAMS, target(), config, None), unused_fetch
    )
    with pytest.raises(ProviderError) as caught:
        await send(signed)
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert caught.value.status == 403
    assert "signature we calculated does not match" in caught.value.message
    assert "wrongSecret" not in caught.value.message


async def test_a_changed_body_breaks_the_signature(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeBedrock
) -> None:
    use_key(monkeypatch, DEFAULT_KEY)
    config = settings(fake, region="us-east-1")
    authenticator = ADAPTER.authenticator(config, None, os.environ)
    signed = await authenticator.authorize(
        ADAPTER.build_request(PARAMS, target(), config, None), unused_fetch
    )
    tampered = HttpRequest(signed.method, signed.url, signed.headers, content=signed.body() + b" ")
    with pytest.raises(ProviderError) as caught:
        await send(tampered)
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED


async def test_session_tokens_are_sent_signed_and_redacted(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeBedrock
) -> None:
    use_key(monkeypatch, SESSION_KEY)
    config = settings(fake, region="us-east-1")
    authenticator = ADAPTER.authenticator(config, None, os.environ)
    signed = await authenticator.authorize(
        ADAPTER.build_request(PARAMS, target(), config, None), unused_fetch
    )
    assert await send(signed)
    received = fake.requests[-1]
    assert received.headers["x-amz-security-token"] == SESSION_KEY.token
    assert (
        "x-amz-security-token"
        in authorization_fields(received.headers["authorization"])["SignedHeaders"]
    )
    text = f"token {SESSION_KEY.token} secret {SESSION_KEY.secret_key}"
    assert SESSION_KEY.token not in redact(text) and SESSION_KEY.secret_key not in redact(text)
    assert redact(text).count(MASK) == 2
    assert SESSION_KEY.secret_key not in repr(authenticator)


async def test_profile_from_shared_files_gives_keys_and_region(
    aws_env: Path, fake: FakeBedrock
) -> None:
    (aws_env / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAWRONGDEFAULT0000\naws_secret_access_key = nope\n"
        f"[work]\naws_access_key_id = {DEFAULT_KEY.access_key}\n"
        f"aws_secret_access_key = {DEFAULT_KEY.secret_key}\n"
    )
    (aws_env / "config").write_text("[profile work]\nregion = eu-central-1\n")
    fake.region = "eu-central-1"
    for config, environ in (
        (settings(fake, profile="work"), dict(os.environ)),
        (settings(fake), {**os.environ, "AWS_PROFILE": "work"}),
    ):
        authenticator = ADAPTER.authenticator(config, None, environ)
        signed = await authenticator.authorize(
            ADAPTER.build_request(PARAMS, target(), config, None), unused_fetch
        )
        assert await send(signed)
        credential = authorization_fields(fake.requests[-1].headers["authorization"])["Credential"]
        assert credential.startswith(f"{DEFAULT_KEY.access_key}/")
        assert "/eu-central-1/bedrock/" in credential


def test_region_precedence(aws_env: Path) -> None:
    (aws_env / "config").write_text(
        "[profile p]\nregion = ap-northeast-1\n[default]\nregion = ca-central-1\n"
    )
    environ = {"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-east-2", "AWS_PROFILE": "p"}
    assert resolve_region(settings(region="eu-north-1"), environ) == "eu-north-1"
    assert resolve_region(settings(), environ) == "us-west-2"
    environ.pop("AWS_REGION")
    assert resolve_region(settings(), environ) == "us-east-2"
    environ.pop("AWS_DEFAULT_REGION")
    assert resolve_region(settings(), environ) == "ap-northeast-1"
    assert resolve_region(settings(profile="missing"), {}) is None


def test_refreshable_credentials_are_read_again_for_each_signature(aws_env: Path) -> None:
    counter = aws_env / "count"
    script = aws_env / "credential_process.py"
    script.write_text(
        "import datetime, json, pathlib\n"
        f"counter = pathlib.Path({str(counter)!r})\n"
        "n = int(counter.read_text()) + 1 if counter.exists() else 1\n"
        "counter.write_text(str(n))\n"
        "expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=2)\n"
        "print(json.dumps({'Version': 1, 'AccessKeyId': f'ASIAPROCESS{n:09d}',\n"
        "    'SecretAccessKey': f'processsecret{n:027d}',\n"
        "    'SessionToken': f'processtoken{n:020d}',\n"
        "    'Expiration': expires.isoformat()}))\n"
    )
    (aws_env / "config").write_text(
        f"[profile proc]\ncredential_process = {sys.executable} {script}\nregion = us-east-1\n"
    )
    authenticator = AwsAuthenticator(settings(profile="proc"), dict(os.environ))
    request = HttpRequest(
        "POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", {}, json={}
    )
    first = authenticator.sign(request).headers
    second = authenticator.sign(request).headers
    serials = [process_serial(headers) for headers in (first, second)]
    assert serials[0] < serials[1]
    assert second["X-Amz-Security-Token"] == f"processtoken{serials[1]:020d}"
    assert redact(second["X-Amz-Security-Token"]) == MASK


def process_serial(headers: dict[str, str]) -> int:
    """Which run of the credential process signed: its number is in the access key id."""
    access_key = authorization_fields(headers["Authorization"])["Credential"].split("/")[0]
    assert access_key.startswith("ASIAPROCESS")
    return int(access_key.removeprefix("ASIAPROCESS"))


def test_invalidate_resolves_the_chain_again(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_key(monkeypatch, DEFAULT_KEY)
    authenticator = AwsAuthenticator(settings(region="us-east-1"), dict(os.environ))
    request = HttpRequest(
        "GET", "https://bedrock.us-east-1.amazonaws.com/foundation-models", {}, params={"a": "b"}
    )
    assert DEFAULT_KEY.access_key in authenticator.sign(request).headers["Authorization"]
    use_key(monkeypatch, SESSION_KEY)
    assert DEFAULT_KEY.access_key in authenticator.sign(request).headers["Authorization"]
    authenticator.invalidate()
    signed = authenticator.sign(request)
    assert SESSION_KEY.access_key in signed.headers["Authorization"]
    assert signed.url.endswith("/foundation-models?a=b") and signed.params is None


async def test_no_credentials_anywhere_is_authentication_failed(aws_env: Path) -> None:
    authenticator = ADAPTER.authenticator(settings(region="us-east-1"), None, os.environ)
    request = ADAPTER.build_request(PARAMS, target(), settings(region="us-east-1"), None)
    with pytest.raises(ProviderError) as caught:
        await authenticator.authorize(request, unused_fetch)
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "no AWS credentials" in caught.value.message
    assert caught.value.suggestion and "AWS_BEARER_TOKEN_BEDROCK" in caught.value.suggestion


async def test_a_missing_profile_is_authentication_failed(aws_env: Path) -> None:
    authenticator = ADAPTER.authenticator(settings(region="us-east-1", profile="ghost"), None, {})
    request = HttpRequest("GET", "https://bedrock.us-east-1.amazonaws.com/foundation-models")
    with pytest.raises(ProviderError) as caught:
        await authenticator.authorize(request, unused_fetch)
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "ghost" in caught.value.message


async def test_no_region_anywhere_is_an_invalid_request(
    aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_key(monkeypatch, DEFAULT_KEY)
    authenticator = ADAPTER.authenticator(settings(), None, os.environ)
    request = HttpRequest("GET", "http://127.0.0.1:9/foundation-models")
    with pytest.raises(ProviderError) as caught:
        await authenticator.authorize(request, unused_fetch)
    assert caught.value.code == ErrorCode.INVALID_REQUEST
    assert "AWS_REGION" in caught.value.message
    with pytest.raises(ProviderError):
        ADAPTER.models_request(settings(), None)


async def test_bedrock_api_key_goes_as_bearer(aws_env: Path, fake: FakeBedrock) -> None:
    token = "ABSKbedrockapikeyfortests01"
    config = settings(fake)
    credential = Credential(secret=token, source="env:AWS_BEARER_TOKEN_BEDROCK")
    authenticator = ADAPTER.authenticator(config, credential, {})
    request = ADAPTER.build_request(PARAMS, target(), config, credential)
    signed = await authenticator.authorize(request, unused_fetch)
    assert signed.headers["Authorization"] == f"Bearer {token}"
    assert not any(name.lower().startswith("x-amz-") for name in signed.headers)
    assert await send(signed)
    assert redact(f"key={token}") == f"key={MASK}"
    assert token not in repr(authenticator)
    wrong = AwsAuthenticator(config, {}, "ABSKnotthekeyatallnope")
    with pytest.raises(ProviderError) as caught:
        await send(await wrong.authorize(request, unused_fetch))
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED


def test_bad_option_types_are_invalid_requests() -> None:
    with pytest.raises(ProviderError) as caught:
        ADAPTER.authenticator(settings(profile=["a"]), None, {})
    assert caught.value.code == ErrorCode.INVALID_REQUEST
    assert "option 'profile'" in caught.value.message
    assert json.dumps(caught.value.data().to_wire())
