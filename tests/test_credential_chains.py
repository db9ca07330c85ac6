"""The AWS and Google chains, looked at without a network call: env vars and files only."""

from __future__ import annotations

from pathlib import Path

import pytest
from switchboard.providers.auth.credential_chains import (
    aws_credentials_source,
    google_credentials_source,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def test_aws_nothing_found_in_an_empty_home(home: Path) -> None:
    assert aws_credentials_source(None, {"HOME": str(home)}) is None


def test_aws_env_keys_need_both_halves(home: Path) -> None:
    env = {"HOME": str(home), "AWS_ACCESS_KEY_ID": "AKID"}
    assert aws_credentials_source(None, env) is None
    env["AWS_SECRET_ACCESS_KEY"] = "secret"
    assert aws_credentials_source(None, env) == "env:AWS_ACCESS_KEY_ID"


def test_aws_container_and_web_identity_are_found_without_asking_them(home: Path) -> None:
    base = {"HOME": str(home)}
    assert aws_credentials_source(
        None, {**base, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds"}
    ) == ("env:AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    web = {**base, "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"}
    assert aws_credentials_source(None, web) == "env:AWS_WEB_IDENTITY_TOKEN_FILE"


def test_aws_shared_credentials_file_by_profile(home: Path) -> None:
    (home / ".aws").mkdir()
    shared = home / ".aws" / "credentials"
    shared.write_text("[default]\naws_access_key_id = AKID\naws_secret_access_key = s\n")
    env = {"HOME": str(home)}
    assert aws_credentials_source(None, env) == f"{shared} [default]"
    assert aws_credentials_source("other", env) is None


def test_aws_config_profiles_with_sso_or_a_role(home: Path) -> None:
    config = home / "config"
    config.write_text(
        "[default]\nregion = us-east-1\n"
        "[profile sso]\nsso_session = corp\nsso_account_id = 1\n"
        "[profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = sso\n"
        "[profile bare]\nregion = us-west-2\n"
    )
    env = {"HOME": str(home), "AWS_CONFIG_FILE": str(config)}
    assert aws_credentials_source(None, env) is None  # a region is no credential
    assert aws_credentials_source("sso", env) == f"{config} [profile sso]"
    assert aws_credentials_source("role", env) == f"{config} [profile role]"
    assert aws_credentials_source("bare", env) is None


def test_aws_an_unreadable_config_is_nothing_found(home: Path) -> None:
    config = home / "config"
    config.write_text("not [an ini file\n")
    assert aws_credentials_source(None, {"HOME": str(home), "AWS_CONFIG_FILE": str(config)}) is None


def test_google_adc_file_in_the_gcloud_dir(home: Path) -> None:
    env = {"HOME": str(home)}
    assert google_credentials_source(None, env) is None
    adc = home / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text("{}")
    assert google_credentials_source(None, env) == str(adc)


def test_google_a_named_file_must_exist(home: Path) -> None:
    named = home / "sa.json"
    env = {"HOME": str(home), "GOOGLE_APPLICATION_CREDENTIALS": str(named)}
    assert google_credentials_source(None, env) is None
    named.write_text("{}")
    assert google_credentials_source(None, env) == str(named)
    assert google_credentials_source(str(home / "missing.json"), env) is None
