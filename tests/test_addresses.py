"""How an address is shown in an error (no secrets), and which addresses are a local server."""

from __future__ import annotations

import pytest
from switchboard.providers.wire.addresses import is_local, server_root, shown_url


def test_shown_url_drops_credentials_query_and_fragment() -> None:
    url = "https://user:pa55word@example.com:8443/v1beta/models?key=AIzaSecret#x"
    assert shown_url(url) == "https://example.com:8443/v1beta/models"
    assert server_root(url) == "https://example.com:8443"


def test_ipv6_hosts_keep_their_brackets() -> None:
    assert shown_url("http://[::1]:11434/v1/chat") == "http://[::1]:11434/v1/chat"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:11434/v1",
        "http://127.0.0.1:8080/v1",
        "http://[::1]:1234/v1",
        "http://192.168.1.20:8000/v1",
        "http://gpu-box.local:8000/v1",
    ],
)
def test_local_servers(url: str) -> None:
    assert is_local(url)


@pytest.mark.parametrize("url", ["https://api.openai.com/v1", "http://8.8.8.8/v1", "not a url"])
def test_remote_servers(url: str) -> None:
    assert not is_local(url)
