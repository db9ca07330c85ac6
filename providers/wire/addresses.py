"""How a request's address is shown in an error, and whether it names this machine or network.

The address shown keeps the scheme, host, port and path and drops the rest:
a user:password part or a query (`?key=…`) may carry a secret.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_LOCAL_NAMES = frozenset({"localhost", "host.docker.internal"})


def shown_url(url: str) -> str:
    """`url` without its credentials, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(a malformed address)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else netloc + parts.path


def server_root(url: str) -> str:
    """The scheme, host and port of `url`: where the server listens."""
    shown = shown_url(url)
    scheme, sep, rest = shown.partition("://")
    return f"{scheme}{sep}{rest.split('/', 1)[0]}" if sep else shown.split("/", 1)[0]


def is_local(url: str) -> bool:
    """Whether `url` points at this machine or a private network: a server the user runs."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    host = host.lower().rstrip(".")
    if host in _LOCAL_NAMES or host.endswith((".localhost", ".local", ".lan", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local
