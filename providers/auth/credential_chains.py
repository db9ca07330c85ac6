"""Whether a cloud's own credential chain has anything to offer, found without a network call.

Bedrock and Vertex sign requests with the AWS and Google chains, which end
at a cloud metadata server. Asking that server costs a timeout off the
cloud, so "signed in" is decided from what is on this machine only:
environment variables and the files the chains read. A chain that would
find credentials only at a metadata server counts as not configured; the
first request still walks the whole chain.
"""

from __future__ import annotations

import configparser
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

#: how long a look at the files is trusted: `aws configure` or `gcloud auth` take effect soon
RECHECK_S = 5.0

_AWS_ENV_SOURCES = (
    (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "env:AWS_ACCESS_KEY_ID"),
    (("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"), "env:AWS_WEB_IDENTITY_TOKEN_FILE"),
    (("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",), "env:AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    (("AWS_CONTAINER_CREDENTIALS_FULL_URI",), "env:AWS_CONTAINER_CREDENTIALS_FULL_URI"),
)
#: keys of a profile in ~/.aws/config that lead to credentials (keys, a process, SSO, a role)
_AWS_PROFILE_KEYS = (
    "aws_access_key_id",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "role_arn",
    "web_identity_token_file",
    "login_session",
)
ADC_FILE = "application_default_credentials.json"


@runtime_checkable
class CredentialChain(Protocol):
    """An authenticator that can say, without a network call, where its credentials are."""

    def credentials_source(self) -> str | None:
        """Where the credentials come from (e.g. "env:AWS_ACCESS_KEY_ID"); None: none found."""
        ...


def chain_found(authenticator: object) -> bool:
    """False only for a chain that found nothing; any other authenticator counts as found."""
    if isinstance(authenticator, CredentialChain):
        return authenticator.credentials_source() is not None
    return True


def home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or environ.get("USERPROFILE") or Path.home())


def _expand(path: str, environ: Mapping[str, str]) -> Path:
    if path == "~" or path.startswith(("~/", "~\\")):
        return home(environ) / path[2:]
    return Path(path)


def aws_credentials_source(profile: str | None, environ: Mapping[str, str]) -> str | None:
    """Where botocore's chain would find credentials, short of the instance metadata."""
    for names, source in _AWS_ENV_SOURCES:
        if all(environ.get(name, "").strip() for name in names):
            return source
    chosen = profile or "default"
    shared = _expand(environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials", environ)
    section = _ini_section(shared, chosen)
    if section is not None and section.get("aws_access_key_id"):
        return f"{shared} [{chosen}]"
    config = _expand(environ.get("AWS_CONFIG_FILE") or "~/.aws/config", environ)
    names = (f"profile {chosen}", chosen) if chosen == "default" else (f"profile {chosen}",)
    for name in names:
        section = _ini_section(config, name)
        if section is not None and any(section.get(key) for key in _AWS_PROFILE_KEYS):
            return f"{config} [{name}]"
    return None


def google_credentials_source(
    configured_file: str | None, environ: Mapping[str, str]
) -> str | None:
    """Where google-auth's default chain would find credentials, short of the metadata server:
    the configured file, GOOGLE_APPLICATION_CREDENTIALS, or gcloud's application-default file."""
    chosen = configured_file or environ.get("GOOGLE_APPLICATION_CREDENTIALS") or None
    if chosen is not None:
        path = _expand(chosen, environ)
        return str(path) if path.is_file() else None
    if environ.get("CLOUDSDK_CONFIG"):
        gcloud = Path(environ["CLOUDSDK_CONFIG"])
    elif os.name == "nt" and environ.get("APPDATA"):
        gcloud = Path(environ["APPDATA"]) / "gcloud"
    else:
        gcloud = home(environ) / ".config" / "gcloud"
    adc = gcloud / ADC_FILE
    return str(adc) if adc.is_file() else None


def _ini_section(path: Path, name: str) -> configparser.SectionProxy | None:
    parser = configparser.RawConfigParser(default_section="\0none")
    try:
        with path.open(encoding="utf-8") as lines:
            parser.read_file(lines)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    return parser[name] if parser.has_section(name) else None


class CachedLook:
    """A look at the files, reused for RECHECK_S seconds."""

    def __init__(self, look: Callable[[], str | None]) -> None:
        self._look = look
        self._at = float("-inf")
        self._found: str | None = None

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now - self._at >= RECHECK_S:
            self._found, self._at = self._look(), now
        return self._found
