"""The PKCE web flow and OpenRouter's key flow: the test plays the browser over real httpx."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from switchboard.providers.auth.github_oauth import OAuthError
from switchboard.providers.auth.oauth_web import (
    CallbackServer,
    WebFlow,
    code_challenge,
    parse_tokens,
    pkce_pair,
    post_form_with,
    post_json_with,
    refresh_tokens,
)
from switchboard.providers.auth.openrouter_oauth import OpenRouterKeyFlow
from switchboard.providers.auth.redact import MASK, redact

from tests.fakes.oauth import FakeAuthServer, FakeOpenRouterAuth, s256


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as opened:
        yield opened


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=True, timeout=5) as opened:
        yield opened


@pytest.fixture
def auth_server() -> Iterator[FakeAuthServer]:
    with FakeAuthServer() as fake:
        yield fake


def web_flow(fake: FakeAuthServer, timeout_s: float = 300.0) -> WebFlow:
    return WebFlow(
        fake.authorize_url,
        fake.token_url,
        fake.client_id,
        ["models.read", "chat"],
        extra_params={"access_type": "offline"},
        timeout_s=timeout_s,
    )


async def assert_port_closed(port: int) -> None:
    with pytest.raises(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()


def test_pkce_pair_is_s256_of_a_random_verifier() -> None:
    pair = pkce_pair()
    assert 43 <= len(pair.verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9_-]+", pair.verifier)
    assert pair.challenge == s256(pair.verifier)
    assert "=" not in pair.challenge and pair.method == "S256"
    assert pair.verifier not in repr(pair)
    assert pkce_pair().verifier != pair.verifier
    # RFC 7636 appendix B's example.
    rfc_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(rfc_verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


async def test_web_flow_signs_in_and_refreshes(
    auth_server: FakeAuthServer, client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    flow = web_flow(auth_server)
    auth_url = await flow.start()
    host, port = flow.callback.address
    assert host == "127.0.0.1"
    assert flow.callback._server is not None
    assert all(s.family == socket.AF_INET for s in flow.callback._server.sockets)

    sent = dict(parse_qsl(urlsplit(auth_url).query))
    assert sent == {
        "access_type": "offline",
        "response_type": "code",
        "client_id": auth_server.client_id,
        "redirect_uri": f"http://127.0.0.1:{port}/callback",
        "state": flow.state,
        "code_challenge": flow.pkce.challenge,
        "code_challenge_method": "S256",
        "scope": "models.read chat",
    }

    page = await browser.get(auth_url)
    assert page.status_code == 200
    assert "close this tab" in page.text
    code = await flow.wait_code()
    assert code in auth_server.grants
    await assert_port_closed(port)

    tokens = await flow.exchange(code, post_form_with(client))
    assert tokens.access_token == auth_server.access_tokens[-1]
    assert tokens.refresh_token in auth_server.refresh_tokens
    assert tokens.expires_in == 3600
    assert tokens.access_token not in repr(tokens)
    assert redact(tokens.access_token) == MASK
    assert auth_server.requests[-1].headers["accept"] == "application/json"

    assert tokens.refresh_token is not None
    renewed = await flow.refresh(tokens.refresh_token, post_form_with(client))
    assert renewed.access_token == auth_server.access_tokens[-1] != tokens.access_token
    assert renewed.refresh_token is not None and renewed.refresh_token != tokens.refresh_token
    with pytest.raises(OAuthError) as stale:
        await flow.refresh(tokens.refresh_token, post_form_with(client))
    assert stale.value.code == "invalid_grant"

    with pytest.raises(OAuthError) as replayed:
        await flow.exchange(code, post_form_with(client))
    assert replayed.value.code == "invalid_grant"


async def test_refresh_keeps_an_unrotated_refresh_token(
    auth_server: FakeAuthServer, client: httpx.AsyncClient
) -> None:
    auth_server.rotate_refresh = False
    auth_server.refresh_tokens.add("rt-kept-refresh-token")
    renewed = await refresh_tokens(
        auth_server.token_url,
        auth_server.client_id,
        "rt-kept-refresh-token",
        post_form_with(client),
    )
    assert renewed.access_token == auth_server.access_tokens[-1]
    assert renewed.refresh_token == "rt-kept-refresh-token"
    form = dict(parse_qsl(auth_server.requests[-1].body.decode()))
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-kept-refresh-token",
        "client_id": auth_server.client_id,
    }


async def test_the_fake_checks_the_verifier(
    auth_server: FakeAuthServer, client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    flow = web_flow(auth_server)
    await browser.get(await flow.start())
    code = await flow.wait_code()
    flow.pkce = pkce_pair()
    with pytest.raises(OAuthError) as raised:
        await flow.exchange(code, post_form_with(client))
    assert raised.value.code == "invalid_grant"


async def test_a_wrong_state_is_not_found_and_the_sign_in_goes_on(
    auth_server: FakeAuthServer, browser: httpx.AsyncClient
) -> None:
    auth_server.forge_state = True
    flow = web_flow(auth_server)
    auth_url = await flow.start()
    page = await browser.get(auth_url)
    assert page.status_code == 404
    assert flow.callback.is_open
    # The user's real answer still completes the same sign-in.
    auth_server.forge_state = False
    page = await browser.get(auth_url)
    assert page.status_code == 200
    code = await flow.wait_code()
    assert code in auth_server.grants


@pytest.mark.parametrize(
    "stray",
    [
        "?code=injected",
        "?state=&code=injected",
        "?state=forged&code=injected",
        "?state=forged&error=access_denied",
        "?error=access_denied",
        "",
    ],
)
async def test_stray_requests_without_the_state_do_not_end_the_sign_in(
    browser: httpx.AsyncClient, stray: str
) -> None:
    server = CallbackServer("the-state", timeout_s=30)
    await server.start()
    try:
        page = await browser.get(server.redirect_uri + stray)
        assert page.status_code == 404
        favicon = await browser.get(server.redirect_uri.replace("/callback", "/favicon.ico"))
        assert favicon.status_code == 404
        assert server.is_open
        page = await browser.get(server.redirect_uri + "?state=the-state&code=real-code")
        assert page.status_code == 200
        assert await server.wait_code() == "real-code"
    finally:
        await server.close()
    assert not server.is_open


async def test_provider_error_param_ends_the_flow(
    auth_server: FakeAuthServer, browser: httpx.AsyncClient
) -> None:
    auth_server.deny = True
    flow = web_flow(auth_server)
    auth_url = await flow.start()
    port = flow.callback.address[1]
    page = await browser.get(auth_url)
    assert "access_denied" in page.text
    with pytest.raises(OAuthError) as raised:
        await flow.wait_code()
    assert (raised.value.code, raised.value.description) == ("access_denied", "The user said no")
    await assert_port_closed(port)


async def test_timeout_closes_the_server(auth_server: FakeAuthServer) -> None:
    flow = web_flow(auth_server, timeout_s=0.2)
    await flow.start()
    port = flow.callback.address[1]
    with pytest.raises(OAuthError) as raised:
        await flow.wait_code()
    assert raised.value.code == "timeout"
    assert "0.2 s" in str(raised.value)
    await assert_port_closed(port)


async def test_cancellation_closes_the_server(auth_server: FakeAuthServer) -> None:
    flow = web_flow(auth_server)
    await flow.start()
    port = flow.callback.address[1]
    waiting = asyncio.create_task(flow.wait_code())
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await assert_port_closed(port)


async def test_an_idle_connection_does_not_hold_the_server_open(
    auth_server: FakeAuthServer,
) -> None:
    flow = web_flow(auth_server, timeout_s=0.2)
    await flow.start()
    port = flow.callback.address[1]
    _, idle = await asyncio.open_connection("127.0.0.1", port)  # a browser's preconnect
    with pytest.raises(OAuthError):
        await asyncio.wait_for(flow.wait_code(), 2)
    idle.close()
    await assert_port_closed(port)


async def test_other_paths_do_not_end_the_flow(
    auth_server: FakeAuthServer, browser: httpx.AsyncClient
) -> None:
    flow = web_flow(auth_server)
    auth_url = await flow.start()
    host, port = flow.callback.address
    favicon = await browser.get(f"http://{host}:{port}/favicon.ico")
    assert favicon.status_code == 404
    posted = await browser.post(flow.redirect_uri, content=b"x")
    assert posted.status_code == 405
    await browser.get(auth_url)
    assert await flow.wait_code() in auth_server.grants


async def test_aclose_without_waiting(auth_server: FakeAuthServer) -> None:
    flow = web_flow(auth_server)
    await flow.start()
    port = flow.callback.address[1]
    await flow.aclose()
    await assert_port_closed(port)


def test_token_answers() -> None:
    form = parse_tokens(b"access_token=gho_abcdef123456&scope=repo&token_type=bearer")
    assert (form.access_token, form.refresh_token, form.expires_in) == (
        "gho_abcdef123456",
        None,
        None,
    )
    with pytest.raises(OAuthError, match="bad_answer"):
        parse_tokens(b"<html>oops</html>")
    with pytest.raises(OAuthError, match="invalid_scope: nope"):
        parse_tokens(b'{"error":"invalid_scope","error_description":"nope"}')


async def test_server_errors_without_an_oauth_body(client: httpx.AsyncClient) -> None:
    from tests.fakes.http import FakeHTTPServer, Reply

    with FakeHTTPServer() as fake:
        fake.enqueue(Reply(status=502, chunks=[b"<html>bad gateway</html>"], chunked=False))
        with pytest.raises(OAuthError, match="HTTP 502"):
            await post_form_with(client)(fake.url + "/token", {"a": "b"})


# ---- OpenRouter -------------------------------------------------------------------------


@pytest.fixture
def openrouter() -> Iterator[FakeOpenRouterAuth]:
    with FakeOpenRouterAuth() as fake:
        yield fake


def openrouter_flow(fake: FakeOpenRouterAuth) -> OpenRouterKeyFlow:
    return OpenRouterKeyFlow(site=fake.url, api=f"{fake.url}/api/v1")


async def test_openrouter_key_flow_end_to_end(
    openrouter: FakeOpenRouterAuth, client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    flow = openrouter_flow(openrouter)
    auth_url = await flow.start()
    port = flow.callback.address[1]
    parts = urlsplit(auth_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{openrouter.url}/auth"
    sent = dict(parse_qsl(parts.query))
    assert sent["code_challenge_method"] == "S256"
    assert sent["code_challenge"] == flow.pkce.challenge
    callback = urlsplit(sent["callback_url"])
    assert callback.netloc == f"127.0.0.1:{port}"
    assert callback.path.startswith("/callback/") and len(callback.path) > len("/callback/") + 20

    page = await browser.get(auth_url)
    assert page.status_code == 200
    code = await flow.wait_code()
    await assert_port_closed(port)

    key = await flow.exchange(code, post_json_with(client))
    assert key == openrouter.keys[-1]
    assert redact(f"key={key}") == f"key={MASK}"
    exchange = openrouter.requests[-1]
    assert exchange.path == "/api/v1/auth/keys"
    assert exchange.json() == {
        "code": code,
        "code_verifier": flow.pkce.verifier,
        "code_challenge_method": "S256",
    }

    with pytest.raises(OAuthError, match="Invalid code or code_verifier"):
        await flow.exchange(code, post_json_with(client))


async def test_openrouter_checks_the_state_in_the_callback_path(
    openrouter: FakeOpenRouterAuth, browser: httpx.AsyncClient
) -> None:
    flow = openrouter_flow(openrouter)
    auth_url = await flow.start()
    host, port = flow.callback.address
    bare = await browser.get(f"http://{host}:{port}/callback?code=injected")
    assert bare.status_code == 404
    forged = await browser.get(f"http://{host}:{port}/callback/forged-state?code=injected")
    assert forged.status_code == 404
    assert flow.callback.is_open
    page = await browser.get(auth_url)
    assert page.status_code == 200
    assert await flow.wait_code() != "injected"
    await assert_port_closed(port)


async def test_openrouter_wrong_verifier_is_refused(
    openrouter: FakeOpenRouterAuth, client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    flow = openrouter_flow(openrouter)
    await browser.get(await flow.start())
    code = await flow.wait_code()
    flow.pkce = pkce_pair()
    with pytest.raises(OAuthError) as raised:
        await flow.exchange(code, post_json_with(client))
    assert raised.value.code == "400"
    assert openrouter.keys == []
