"""GitHub's OAuth answers (device flow and web flow), sans-IO.

GitHub answers `/login/device/code` and `/login/oauth/access_token` in JSON
when asked (`Accept: application/json`) and form-encoded otherwise; both
parse here to the same outcomes. The polling rules are RFC 8628's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

SLOW_DOWN_STEP_S = 5


class OAuthError(ValueError):
    """A sign-in flow ended without a credential: `code` is the OAuth error code."""

    def __init__(self, code: str, description: str | None = None) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description


class GitHubOAuthError(OAuthError):
    """An answer from GitHub that ends the flow: `code` is GitHub's error code."""


@dataclass(frozen=True)
class DeviceCode:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class AccessToken:
    token: str = field(repr=False)
    token_type: str
    scope: str


@dataclass(frozen=True)
class Pending:
    """Not yet authorized: poll again after `interval` seconds."""

    interval: int


PollOutcome = AccessToken | Pending


def parse_answer(body: bytes) -> dict[str, Any]:
    """A JSON or form-encoded answer as a dict (an empty dict when it is neither)."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            decoded = json.loads(text)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return dict(parse_qsl(text, keep_blank_values=True))


def device_code(body: bytes) -> DeviceCode:
    answer = parse_answer(body)
    _raise_error(answer)
    try:
        return DeviceCode(
            device_code=str(answer["device_code"]),
            user_code=str(answer["user_code"]),
            verification_uri=str(answer["verification_uri"]),
            expires_in=int(answer.get("expires_in", 900)),
            interval=int(answer.get("interval", 5)),
        )
    except (KeyError, ValueError) as error:
        raise GitHubOAuthError("bad_answer", f"device code answer lacks {error}") from None


def poll(body: bytes, interval: int) -> PollOutcome:
    """One poll's answer: a token, or wait (slow_down adds 5 s or takes GitHub's interval)."""
    answer = parse_answer(body)
    error = answer.get("error")
    if error == "authorization_pending":
        return Pending(interval)
    if error == "slow_down":
        given = _int(answer.get("interval"))
        return Pending(given if given and given > interval else interval + SLOW_DOWN_STEP_S)
    _raise_error(answer)
    return access_token(body)


def access_token(body: bytes) -> AccessToken:
    answer = parse_answer(body)
    _raise_error(answer)
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise GitHubOAuthError("bad_answer", "the answer has no access_token")
    return AccessToken(
        token=token,
        token_type=str(answer.get("token_type", "bearer")),
        scope=str(answer.get("scope", "")),
    )


def _raise_error(answer: dict[str, Any]) -> None:
    error = answer.get("error")
    if error:
        description = answer.get("error_description")
        raise GitHubOAuthError(str(error), str(description) if description else None)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
