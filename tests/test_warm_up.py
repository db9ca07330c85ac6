"""What the server does while it idles after `initialized`: the engine's warm-up, and the
rehearsal, one request through the shared httpx client to a loopback listener of this
process, that leaves no connection behind and contacts no provider."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from switchboard.providers.config import Config, ProviderSettings
from switchboard.providers.engine import ChatEngine
from switchboard.providers.wire import rehearsal
from switchboard.providers.wire.rehearsal import PAYLOAD, rehearse
from switchboard.providers.wire.transport import Transport

from .fakes.openai import FakeOpenAI

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rehearsal runs only with no proxy in the environment (CI may have one)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _open_connections(client: httpx.AsyncClient) -> int:
    pool = client._transport._pool  # type: ignore[attr-defined]
    return len(pool.connections)


async def test_the_rehearsal_streams_the_payload_and_keeps_no_connection(no_proxy: None) -> None:
    async with httpx.AsyncClient() as client:
        assert await rehearse(client) == PAYLOAD
        assert _open_connections(client) == 0
        assert await rehearse(client) == PAYLOAD  # a fresh listener each time


async def test_the_transport_rehearses_on_its_shared_client(no_proxy: None) -> None:
    transport = Transport()
    try:
        assert await transport.rehearse() == PAYLOAD
        assert _open_connections(transport.client()) == 0
    finally:
        await transport.aclose()


async def test_a_failed_rehearsal_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, no_proxy: None
) -> None:
    async def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no loopback here")

    monkeypatch.setattr(asyncio, "start_server", refuse)
    engine = ChatEngine(Config(), environ={})
    try:
        with caplog.at_level("DEBUG", logger="switchboard"):
            await engine.rehearse()
    finally:
        await engine.aclose()
    assert "rehearsal: OSError: no loopback here" in caplog.text


async def test_the_rehearsal_contacts_no_provider(no_proxy: None) -> None:
    with FakeOpenAI() as fake:
        transport = Transport()
        try:
            await transport.rehearse()
        finally:
            await transport.aclose()
        assert fake.requests == []


async def test_a_listener_that_never_answers_ends_the_rehearsal_in_time(
    monkeypatch: pytest.MonkeyPatch, no_proxy: None
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    monkeypatch.setattr(rehearsal, "_answer", silent)
    async with httpx.AsyncClient() as client:
        with pytest.raises(TimeoutError):
            await rehearse(client, timeout_s=0.2)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
async def test_behind_a_proxy_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    started: list[object] = []

    async def listen(*args: object, **kwargs: object) -> None:
        started.append(args)
        raise AssertionError("a listener was started behind a proxy")

    monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.setattr(asyncio, "start_server", listen)
    async with httpx.AsyncClient() as client:
        assert await rehearse(client) is None
    assert started == []


@pytest.mark.parametrize(
    "request_head",
    [
        b"POST / HTTP/1.1\r\ncontent-length: many\r\n\r\n",
        b"POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\n{}",
        b"GET / HTTP/1.1\r\n",
    ],
)
async def test_a_stranger_on_the_listener_gets_nothing_and_breaks_nothing(
    request_head: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    listener = await asyncio.start_server(rehearsal._answer, host="127.0.0.1", port=0)
    try:
        port = listener.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request_head)
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        listener.close()
        await listener.wait_closed()
    assert "exception" not in caplog.text.lower()


def test_warm_up_reaches_every_configured_provider_when_the_default_is_broken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = Config(
        default_model="nowhere/some-model",
        providers={
            "openai": ProviderSettings(id="openai", kind="openai", base_url="http://127.0.0.1:9"),
            "mistral": ProviderSettings(id="mistral", kind="mistral"),
        },
    )
    engine = ChatEngine(config, environ={})
    listed: list[str] = []
    monkeypatch.setattr(engine.models, "listing", lambda provider: listed.append(provider))
    engine.warm_up()
    assert listed == ["openai", "mistral"]
