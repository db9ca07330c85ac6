"""GitHub's device flow against the loopback fake, over real httpx, in JSON and form encoding."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from switchboard.providers.adapters.copilot import CopilotAdapter
from switchboard.providers.auth.copilot_token import CopilotAuthenticator, token_url
from switchboard.providers.auth.device_flow import (
    COPILOT_CLIENT_ID,
    DeviceFlow,
    GitHubOAuthError,
    post_form_with,
)
from switchboard.providers.auth.github_oauth import OAuthError
from switchboard.providers.auth.redact import MASK, redact
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.transport import Transport

from tests.fakes.github import DEVICE_GRANT, FakeGitHub

FORM_ACCEPT = {"Accept": "application/x-www-form-urlencoded"}


class FakeTime:
    """An injected clock and sleep: sleeping advances the clock, nothing really waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as opened:
        yield opened


def flow_for(fake: FakeGitHub, client: httpx.AsyncClient, encoding: str) -> DeviceFlow:
    post = post_form_with(client, FORM_ACCEPT if encoding == "form" else None)
    return DeviceFlow(post=post, host=fake.url)


@pytest.mark.parametrize("encoding", ["json", "form"])
async def test_every_polling_answer_until_the_token(
    client: httpx.AsyncClient, encoding: str
) -> None:
    with FakeGitHub(["pending", "slow_down", "pending", "success"], interval=5) as fake:
        flow = flow_for(fake, client, encoding)
        code = await flow.start()
        assert (code.user_code, code.verification_uri) == ("WDJB-MJHT", f"{fake.url}/login/device")
        assert (code.expires_in, code.interval) == (900, 5)

        time_ = FakeTime()
        token = await flow.wait(sleep=time_.sleep, clock=time_.clock)

        assert token.token == fake.issued_tokens[-1]
        assert time_.sleeps == [5, 5, 10, 10]
        polls = fake.polls()
        assert len(polls) == 4
        accept = polls[0].headers["accept"]
        assert ("json" in accept) == (encoding == "json")
        sent = dict(httpx.QueryParams(polls[0].body.decode()))
        assert sent == {
            "client_id": COPILOT_CLIENT_ID,
            "device_code": fake.device_code,
            "grant_type": DEVICE_GRANT,
        }
        device_request = dict(httpx.QueryParams(fake.requests[0].body.decode()))
        assert device_request == {"client_id": COPILOT_CLIENT_ID, "scope": "read:user"}


@pytest.mark.parametrize("encoding", ["json", "form"])
@pytest.mark.parametrize(
    ("step", "code", "explained"),
    [("denied", "access_denied", "refused"), ("expired", "expired_token", "expired")],
)
async def test_denial_and_expiry_end_the_flow(
    client: httpx.AsyncClient, encoding: str, step: str, code: str, explained: str
) -> None:
    with FakeGitHub(["pending", step]) as fake:
        flow = flow_for(fake, client, encoding)
        await flow.start()
        time_ = FakeTime()
        with pytest.raises(GitHubOAuthError) as raised:
            await flow.wait(sleep=time_.sleep, clock=time_.clock)
        assert raised.value.code == code
        assert explained in str(raised.value)
        assert len(fake.polls()) == 2


async def test_polling_stops_at_the_deadline(client: httpx.AsyncClient) -> None:
    with FakeGitHub(["pending"], interval=5, expires_in=12) as fake:
        flow = flow_for(fake, client, "json")
        await flow.start()
        time_ = FakeTime()
        with pytest.raises(GitHubOAuthError) as raised:
            await flow.wait(sleep=time_.sleep, clock=time_.clock)
        assert raised.value.code == "expired_token"
        assert time_.sleeps == [5, 5]
        assert len(fake.polls()) == 2


async def test_slow_down_without_an_interval_adds_five_seconds() -> None:
    answers = [
        b"error=slow_down",
        b'{"error":"slow_down"}',
        b"access_token=gho_SlowDownTestToken0123456789&token_type=bearer&scope=read%3Auser",
    ]
    posted: list[tuple[str, dict[str, str]]] = []

    async def post(url: str, form: Mapping[str, str]) -> bytes:
        posted.append((url, dict(form)))
        if url.endswith("/login/device/code"):
            return (
                b'{"device_code":"dc-123456","user_code":"AB-CD",'
                b'"verification_uri":"u","expires_in":900,"interval":5}'
            )
        return answers.pop(0)

    flow = DeviceFlow(post=post, host="example.ghe.com")
    await flow.start()
    time_ = FakeTime()
    token = await flow.wait(sleep=time_.sleep, clock=time_.clock)
    assert token.token == "gho_SlowDownTestToken0123456789"
    assert time_.sleeps == [5, 10, 15]
    assert posted[0][0] == "https://example.ghe.com/login/device/code"
    assert posted[1][0] == "https://example.ghe.com/login/oauth/access_token"


async def test_cancellation_stops_polling(client: httpx.AsyncClient) -> None:
    with FakeGitHub(["pending"], interval=1) as fake:
        flow = flow_for(fake, client, "json")
        await flow.start()
        waiting = asyncio.create_task(flow.wait())
        await asyncio.sleep(0.05)
        started = time.monotonic()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert time.monotonic() - started < 0.5
        await asyncio.sleep(1.2)
        assert fake.polls() == []


async def test_cancellation_during_a_poll() -> None:
    entered = asyncio.Event()

    async def post(url: str, form: Mapping[str, str]) -> bytes:
        if url.endswith("/device/code"):
            return (
                b"device_code=dc-123456&user_code=AB&verification_uri=u&expires_in=900&interval=1"
            )
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    flow = DeviceFlow(post=post)
    await flow.start()
    time_ = FakeTime()
    waiting = asyncio.create_task(flow.wait(sleep=time_.sleep, clock=time_.clock))
    await asyncio.wait_for(entered.wait(), 1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 1)


async def test_device_flow_disabled_is_a_clear_error(client: httpx.AsyncClient) -> None:
    with FakeGitHub(device_flow_disabled=True) as fake:
        flow = flow_for(fake, client, "form")
        with pytest.raises(GitHubOAuthError) as raised:
            await flow.start()
        assert raised.value.code == "device_flow_disabled"
        assert "does not allow the device flow" in str(raised.value)


async def test_wrong_client_id_is_refused(client: httpx.AsyncClient) -> None:
    with FakeGitHub(client_id="Iv1.someoneelse") as fake:
        flow = flow_for(fake, client, "json")
        with pytest.raises(GitHubOAuthError) as raised:
            await flow.start()
        assert raised.value.code == "unauthorized_client"


async def test_wait_before_start_is_a_programming_error() -> None:
    async def post(url: str, form: Mapping[str, str]) -> bytes:
        raise AssertionError("no request expected")

    with pytest.raises(RuntimeError):
        await DeviceFlow(post=post).wait()


async def test_tokens_never_show(client: httpx.AsyncClient) -> None:
    with FakeGitHub(["success"]) as fake:
        flow = flow_for(fake, client, "json")
        code = await flow.start()
        time_ = FakeTime()
        token = await flow.wait(sleep=time_.sleep, clock=time_.clock)
        assert fake.device_code not in repr(code)
        assert token.token not in repr(token)
        assert redact(f"device {fake.device_code} token {token.token}") == (
            f"device {MASK} token {MASK}"
        )


def test_hosts() -> None:
    async def post(url: str, form: Mapping[str, str]) -> bytes:
        return b""

    assert DeviceFlow(post=post).device_code_url == "https://github.com/login/device/code"
    enterprise = DeviceFlow(post=post, host="octo.ghe.com/")
    assert enterprise.token_url == "https://octo.ghe.com/login/oauth/access_token"


async def test_network_failure_is_an_oauth_error(client: httpx.AsyncClient) -> None:
    with FakeGitHub() as fake:
        url = fake.url
    flow = DeviceFlow(post=post_form_with(client), host=url)
    with pytest.raises(OAuthError) as raised:
        await flow.start()
    assert raised.value.code == "network"


async def test_signed_in_token_buys_a_copilot_token(client: httpx.AsyncClient) -> None:
    transport = Transport(RetryPolicy(max_retries=0))
    adapter = CopilotAdapter()

    async def fetch_json(request: HttpRequest) -> Any:
        return await transport.fetch_json(
            request, provider="copilot", parse_error=adapter.parse_error
        )

    try:
        with FakeGitHub(["pending", "success"], copilot_lifetime_s=5) as fake:
            flow = flow_for(fake, client, "json")
            await flow.start()
            time_ = FakeTime()
            token = await flow.wait(sleep=time_.sleep, clock=time_.clock)
            auth = CopilotAuthenticator(
                token.token, provider="copilot", token_url=token_url(fake.url), headers={}
            )
            copilot = await auth.token(fetch_json)
            assert copilot.secret == fake.copilot_tokens[-1]
            assert copilot.api_url == fake.url
            exchange = fake.requests[-1]
            assert exchange.headers["authorization"] == f"token {token.token}"
    finally:
        await transport.aclose()
