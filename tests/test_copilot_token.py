"""The Copilot token exchange: parsing the envelope, caching, refreshing, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters.copilot import EDITOR_HEADERS, CopilotAdapter
from switchboard.providers.auth.copilot_token import (
    COPILOT_API,
    EXPIRY_MARGIN_S,
    MIN_REUSE_S,
    CopilotAuthenticator,
    github_api_url,
    parse_token,
    token_url,
)
from switchboard.providers.auth.redact import redact
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.transport import Transport

from tests.fakes.copilot import FakeCopilot

NOW = 1_800_000_000.0
GH_TOKEN = "gho_" + "TestGithubToken0123456789abcdef"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TokenEndpoint:
    """Plays the exchange for the authenticator: records calls, answers in turn."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[HttpRequest] = []

    async def __call__(self, request: HttpRequest) -> Any:
        self.calls.append(request)
        await asyncio.sleep(0)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def envelope(token: str = "tid=1;exp=2;sku=x", **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "token": token,
        "expires_at": int(NOW) + 1800,
        "refresh_in": 1500,
        "endpoints": {"api": "https://api.individual.githubcopilot.com"},
    }
    answer.update(fields)
    return answer


def authenticator(clock: Clock | None = None, configured_api: str | None = None) -> Any:
    return CopilotAuthenticator(
        GH_TOKEN,
        provider="copilot",
        token_url=token_url("https://api.github.com"),
        headers=EDITOR_HEADERS,
        configured_api=configured_api,
        clock=clock or Clock(),
    )


def chat_request() -> HttpRequest:
    return HttpRequest("POST", f"{COPILOT_API}/chat/completions", headers={"X-Initiator": "user"})


# ---- parsing the envelope ------------------------------------------------------------


def test_refresh_follows_refresh_in_or_expiry_whichever_is_sooner() -> None:
    assert parse_token(envelope(), NOW, "copilot").refresh_at == NOW + 1500
    soon = envelope(expires_at=int(NOW) + 600, refresh_in=1500)
    assert parse_token(soon, NOW, "copilot").refresh_at == NOW + 600 - EXPIRY_MARGIN_S
    only_expiry = envelope(refresh_in=None)
    assert parse_token(only_expiry, NOW, "copilot").refresh_at == NOW + 1800 - EXPIRY_MARGIN_S


def test_a_token_is_reused_a_little_even_when_the_clocks_disagree() -> None:
    skewed = envelope(expires_at=int(NOW) - 3600, refresh_in=None)
    assert parse_token(skewed, NOW, "copilot").refresh_at == NOW + MIN_REUSE_S


def test_api_url_from_endpoints_then_from_the_token_then_the_default() -> None:
    assert parse_token(envelope(), NOW, "c").api_url == "https://api.individual.githubcopilot.com"
    inside = envelope(token="tid=1;proxy-ep=proxy.business.githubcopilot.com;x=1", endpoints={})
    assert parse_token(inside, NOW, "c").api_url == "https://api.business.githubcopilot.com"
    bare = envelope(endpoints=None)
    assert parse_token(bare, NOW, "c").api_url == COPILOT_API


@pytest.mark.parametrize("answer", [{}, {"token": ""}, {"token": 5}, [], "token", None])
def test_an_answer_without_a_token_is_a_provider_failure(answer: Any) -> None:
    with pytest.raises(ProviderError) as caught:
        parse_token(answer, NOW, "copilot")
    assert caught.value.code == ErrorCode.PROVIDER_UNAVAILABLE


def test_the_copilot_token_is_registered_as_a_secret() -> None:
    secret = "tid=registered0123456789;exp=1;sku=s"
    token = parse_token(envelope(token=secret), NOW, "copilot")
    assert secret not in repr(token)
    assert secret not in redact(f"Authorization: Bearer {secret}")
    assert secret not in redact(f"the token was {secret}")


def test_enterprise_hosts() -> None:
    assert github_api_url(None) == "https://api.github.com"
    assert github_api_url("octo.ghe.com") == "https://api.octo.ghe.com"
    assert github_api_url("https://octo.ghe.com/") == "https://api.octo.ghe.com"
    assert token_url("https://api.octo.ghe.com") == (
        "https://api.octo.ghe.com/copilot_internal/v2/token"
    )


# ---- the authenticator ----------------------------------------------------------------


async def test_exchange_request_then_authorized_chat_request() -> None:
    endpoint = TokenEndpoint(envelope(token="tid=first;exp=1"))
    auth = authenticator()
    authorized = await auth.authorize(chat_request(), endpoint)
    [exchange] = endpoint.calls
    assert exchange.method == "GET"
    assert exchange.url == "https://api.github.com/copilot_internal/v2/token"
    assert exchange.headers["Authorization"] == f"token {GH_TOKEN}"
    assert exchange.headers["Editor-Version"] and exchange.headers["Copilot-Integration-Id"]
    assert authorized.url == "https://api.individual.githubcopilot.com/chat/completions"
    assert authorized.headers["Authorization"] == "Bearer tid=first;exp=1"
    assert authorized.headers["X-Initiator"] == "user"
    assert GH_TOKEN not in str(authorized.headers)
    assert GH_TOKEN not in repr(auth)


async def test_a_configured_base_url_is_kept() -> None:
    auth = authenticator(configured_api="http://127.0.0.1:9/")
    request = HttpRequest("POST", "http://127.0.0.1:9/chat/completions")
    authorized = await auth.authorize(request, TokenEndpoint(envelope()))
    assert authorized.url == "http://127.0.0.1:9/chat/completions"


async def test_the_token_is_cached_until_its_refresh_time() -> None:
    clock = Clock()
    endpoint = TokenEndpoint(envelope(token="tid=one"), envelope(token="tid=two"))
    auth = authenticator(clock)
    first = await auth.authorize(chat_request(), endpoint)
    clock.now += 1499
    again = await auth.authorize(chat_request(), endpoint)
    assert len(endpoint.calls) == 1
    assert first.headers["Authorization"] == again.headers["Authorization"] == "Bearer tid=one"
    clock.now += 1
    later = await auth.authorize(chat_request(), endpoint)
    assert len(endpoint.calls) == 2
    assert later.headers["Authorization"] == "Bearer tid=two"


async def test_invalidate_forces_a_new_exchange() -> None:
    endpoint = TokenEndpoint(envelope(token="tid=one"), envelope(token="tid=two"))
    auth = authenticator()
    await auth.authorize(chat_request(), endpoint)
    auth.invalidate()
    fresh = await auth.authorize(chat_request(), endpoint)
    assert fresh.headers["Authorization"] == "Bearer tid=two"


async def test_concurrent_requests_share_one_exchange() -> None:
    endpoint = TokenEndpoint(envelope(token="tid=shared"))
    auth = authenticator()
    results = await asyncio.gather(*(auth.authorize(chat_request(), endpoint) for _ in range(8)))
    assert len(endpoint.calls) == 1
    assert {r.headers["Authorization"] for r in results} == {"Bearer tid=shared"}


async def test_a_rejected_github_token_is_an_authentication_failure() -> None:
    rejected = ProviderError(
        ErrorCode.AUTHENTICATION_FAILED, "copilot: Bad credentials", provider="copilot", status=401
    )
    with pytest.raises(ProviderError) as caught:
        await authenticator().authorize(chat_request(), TokenEndpoint(rejected))
    assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "Bad credentials" in caught.value.message
    assert "GITHUB_COPILOT_TOKEN" in (caught.value.suggestion or "")


@pytest.mark.parametrize("status", [403, 404])
async def test_an_account_without_copilot_is_permission_denied(status: int) -> None:
    refused = ProviderError(
        ErrorCode.PERMISSION_DENIED, "copilot: no access", provider="copilot", status=status
    )
    with pytest.raises(ProviderError) as caught:
        await authenticator().authorize(chat_request(), TokenEndpoint(refused))
    assert caught.value.code == ErrorCode.PERMISSION_DENIED
    assert caught.value.status == status


async def test_other_exchange_failures_pass_through() -> None:
    down = ProviderError(ErrorCode.NETWORK, "copilot: network error", provider="copilot")
    with pytest.raises(ProviderError) as caught:
        await authenticator().authorize(chat_request(), TokenEndpoint(down))
    assert caught.value is down


# ---- against the fake over HTTP ---------------------------------------------------------


def fetcher(transport: Transport) -> Any:
    adapter = CopilotAdapter()

    async def fetch_json(request: HttpRequest) -> Any:
        return await transport.fetch_json(
            request, provider="copilot", parse_error=adapter.parse_error
        )

    return fetch_json


async def test_exchange_with_the_fake_over_http() -> None:
    transport = Transport(RetryPolicy(max_retries=0))
    try:
        with FakeCopilot() as fake:
            auth = CopilotAuthenticator(
                fake.github_token,
                provider="copilot",
                token_url=token_url(fake.url),
                headers=EDITOR_HEADERS,
            )
            authorized = await auth.authorize(chat_request(), fetcher(transport))
            assert authorized.url == f"{fake.url}/chat/completions"
            assert authorized.headers["Authorization"] == f"Bearer {fake.issued[-1]}"
            assert fake.exchanges()[-1].headers["authorization"] == f"token {fake.github_token}"

            wrong = CopilotAuthenticator(
                "gho_wrongwrongwrongwrongwrong0123",
                provider="copilot",
                token_url=token_url(fake.url),
                headers=EDITOR_HEADERS,
            )
            with pytest.raises(ProviderError) as caught:
                await wrong.authorize(chat_request(), fetcher(transport))
            assert caught.value.code == ErrorCode.AUTHENTICATION_FAILED
            assert "Bad credentials" in caught.value.message

            fake.no_copilot = True
            auth.invalidate()
            with pytest.raises(ProviderError) as denied:
                await auth.authorize(chat_request(), fetcher(transport))
            assert denied.value.code == ErrorCode.PERMISSION_DENIED
            assert "do not have access" in denied.value.message
    finally:
        await transport.aclose()
