"""A provider's own OAuth sign-in, declared in config: `[providers.NAME.oauth]`.

    [providers.corp.oauth]
    authorize_url = "https://login.example.com/oauth/authorize"
    token_url = "https://login.example.com/oauth/token"
    client_id = "switchboard"
    scopes = ["models.read", "chat"]
    # optional: client_secret_env, redirect_path, timeout, params (extra authorize parameters)

The access token it yields is sent as `Authorization: Bearer …`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .oauth_web import DEFAULT_CALLBACK_PATH, DEFAULT_TIMEOUT_S

REQUIRED = ("authorize_url", "token_url", "client_id")
OPTIONAL = ("scopes", "client_secret_env", "redirect_path", "timeout", "params")


@dataclass(frozen=True)
class OAuthSettings:
    authorize_url: str
    token_url: str
    client_id: str
    scopes: tuple[str, ...] = ()
    client_secret_env: str | None = None
    redirect_path: str = DEFAULT_CALLBACK_PATH
    timeout_s: float = DEFAULT_TIMEOUT_S
    params: Mapping[str, str] = field(default_factory=dict)

    def as_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "authorize_url": self.authorize_url,
            "token_url": self.token_url,
            "client_id": self.client_id,
            "scopes": list(self.scopes),
            "redirect_path": self.redirect_path,
            "timeout": self.timeout_s,
            "params": dict(self.params),
        }
        if self.client_secret_env:
            table["client_secret_env"] = self.client_secret_env
        return table


def parse_oauth_table(table: Any) -> tuple[OAuthSettings | None, list[tuple[str, str]]]:
    """The settings, or None, and the problems found as (key, message)."""
    if not isinstance(table, Mapping):
        return None, [("oauth", "'oauth' must be a table")]
    problems: list[tuple[str, str]] = []
    for key in table:
        if key not in REQUIRED and key not in OPTIONAL:
            problems.append((key, f"unknown key 'oauth.{key}'"))
    values: dict[str, Any] = {}
    for key in ("authorize_url", "token_url"):
        url = table.get(key)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            values[key] = url
        else:
            problems.append((key, f"'oauth.{key}' must be an http(s) URL"))
    client_id = table.get("client_id")
    if isinstance(client_id, str) and client_id:
        values["client_id"] = client_id
    else:
        problems.append(("client_id", "'oauth.client_id' must be a non-empty string"))
    scopes = table.get("scopes", ())
    if isinstance(scopes, str):
        values["scopes"] = tuple(scopes.split())
    elif isinstance(scopes, list | tuple) and all(isinstance(s, str) for s in scopes):
        values["scopes"] = tuple(scopes)
    else:
        problems.append(("scopes", "'oauth.scopes' must be a list of strings"))
    for key in ("client_secret_env", "redirect_path"):
        value = table.get(key)
        if value is None:
            continue
        if isinstance(value, str) and value:
            values[key] = value
        else:
            problems.append((key, f"'oauth.{key}' must be a non-empty string"))
    timeout = table.get("timeout")
    if timeout is not None:
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
            values["timeout_s"] = float(timeout)
        else:
            problems.append(("timeout", "'oauth.timeout' must be a positive number of seconds"))
    params = table.get("params", {})
    if isinstance(params, Mapping) and all(isinstance(v, str) for v in params.values()):
        values["params"] = dict(params)
    else:
        problems.append(("params", "'oauth.params' must be a table of strings"))
    if any(key not in values for key in REQUIRED):
        return None, problems
    return OAuthSettings(**values), problems
