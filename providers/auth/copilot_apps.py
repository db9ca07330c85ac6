"""The GitHub token other Copilot clients already keep: `github-copilot/apps.json` and `hosts.json`.

Copilot's editor plugins (copilot.vim, copilot.lua, the Copilot language
server) save the GitHub OAuth token of the signed-in user in the user config
dir. apps.json keys entries by "<host>:<OAuth app id>", the older hosts.json
by "<host>"; each entry holds `user` and `oauth_token`. Reusing it spares a
second sign-in.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FOLDER = "github-copilot"
FILES = ("apps.json", "hosts.json")
DEFAULT_HOST = "github.com"

logger = logging.getLogger("switchboard.credentials")


@dataclass(frozen=True)
class CopilotAppToken:
    host: str
    user: str | None
    token: str = field(repr=False)
    file: str


def config_dir(environ: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME, else %LOCALAPPDATA% on Windows, else ~/.config: where the clients look."""
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    if xdg:
        return Path(xdg) / CONFIG_FOLDER
    if os.name == "nt" and environ.get("LOCALAPPDATA"):
        return Path(environ["LOCALAPPDATA"]) / CONFIG_FOLDER
    home = environ.get("HOME") or environ.get("USERPROFILE")
    return (Path(home) if home else Path.home()) / ".config" / CONFIG_FOLDER


def host_of(enterprise_host: str | None) -> str:
    """github.com, or the bare host of an Enterprise account: "https://x.ghe.com/" → x.ghe.com."""
    if not enterprise_host or not enterprise_host.strip():
        return DEFAULT_HOST
    return re.sub(r"^https?://", "", enterprise_host.strip()).strip("/").lower()


def parse_entries(data: Any, file: str) -> list[CopilotAppToken]:
    """Every usable entry of one file, in file order; anything malformed is skipped."""
    if not isinstance(data, dict):
        return []
    found = []
    for key, entry in data.items():
        if not isinstance(key, str) or not isinstance(entry, dict):
            continue
        token = entry.get("oauth_token")
        if not isinstance(token, str) or not token.strip():
            continue
        user = entry.get("user")
        host = key.split(":", 1)[0].strip().lower()
        found.append(
            CopilotAppToken(host, user if isinstance(user, str) else None, token.strip(), file)
        )
    return found


def find_app_token(
    environ: Mapping[str, str], enterprise_host: str | None = None
) -> CopilotAppToken | None:
    """The first entry for the host: apps.json before hosts.json."""
    host = host_of(enterprise_host)
    folder = config_dir(environ)
    for file in FILES:
        for entry in parse_entries(_read_json(folder / file), file):
            if entry.host == host:
                return entry
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.debug("cannot read %s (%s)", path, type(error).__name__)
        return None
