"""Bad input and provider failures end to end: clear errors, and the server keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.conftest import fake_keys
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.lsp_harness import Session, open_session, provider_config

USER = [{"role": "user", "content": "hi"}]


async def failure_of(session: Session, method: str, params: object) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as caught:
        await session.request(method, params)
    still_serving = await session.request("switchboard/usage", {})
    assert "session" in still_serving
    return caught.value


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": "openai/gpt-4o"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": USER, "maxTokens": 0}, "maxTokens"),
        ({"messages": USER, "temperature": "hot"}, "temperature"),
        ({"messages": USER, "tools": [{"description": "no name"}]}, "tools[0].name"),
        ({"messages": USER, "surprise": True}, "surprise"),
        ("not an object", "params"),
    ],
)
async def test_invalid_params_name_the_field(session: Session, params: object, field: str) -> None:
    error = await failure_of(session, "switchboard/chat", params)
    assert error.code == -32602
    assert field in error.message


async def test_unknown_provider_suggests_the_closest(session: Session) -> None:
    error = await failure_of(
        session, "switchboard/chat", {"model": "antropic/claude-x", "messages": USER}
    )
    assert error.code == -32803
    assert error.data["code"] == "unknownProvider"
    assert error.data["suggestion"] == "anthropic"
    assert {"anthropic", "openai"} <= set(error.data["supported"])


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_upstream_401_is_authentication_failed(
    session: Session, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, provider: str
) -> None:
    if provider == "anthropic":
        fake_anthropic.enqueue_error(401, "authentication_error", "invalid x-api-key")
        model = "anthropic/claude-sonnet-4-5"
    else:
        fake_openai.enqueue_error(
            401, "Incorrect API key provided", "invalid_request_error", code="invalid_api_key"
        )
        model = "openai/gpt-4o"
    error = await failure_of(session, "switchboard/chat", {"model": model, "messages": USER})
    assert error.data["code"] == "authenticationFailed"
    assert error.data["status"] == 401


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_upstream_429_is_rate_limited_with_retry_after(
    session: Session, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, provider: str
) -> None:
    wait = {"retry-after": "42"}
    if provider == "anthropic":
        fake_anthropic.enqueue_error(
            429, "rate_limit_error", "Number of requests exceeded", headers=wait
        )
        model = "anthropic/claude-sonnet-4-5"
    else:
        fake_openai.enqueue_error(
            429, "Rate limit reached", "requests", code="rate_limit_exceeded", headers=wait
        )
        model = "openai/gpt-4o"
    error = await failure_of(session, "switchboard/chat", {"model": model, "messages": USER})
    assert error.data["code"] == "rateLimited"
    assert error.data["retryAfterMs"] == 42000


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_upstream_400_too_long_is_context_length_exceeded(
    session: Session, fake_anthropic: FakeAnthropic, fake_openai: FakeOpenAI, provider: str
) -> None:
    if provider == "anthropic":
        fake_anthropic.enqueue_error(
            400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"
        )
        model = "anthropic/claude-sonnet-4-5"
    else:
        fake_openai.enqueue_error(
            400,
            "This model's maximum context length is 128000 tokens. "
            "However, your messages resulted in 130000 tokens.",
            "invalid_request_error",
            code="context_length_exceeded",
        )
        model = "openai/gpt-4o"
    error = await failure_of(session, "switchboard/chat", {"model": model, "messages": USER})
    assert error.data["code"] == "contextLengthExceeded"


async def test_provider_down_is_network_error(tmp_path: Path) -> None:
    config = provider_config(openai_url="http://127.0.0.1:9/v1")
    async with open_session(
        tmp_path, config, {"OPENAI_API_KEY": "sk-test-unreachable-0000000000"}
    ) as session:
        error = await failure_of(
            session, "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER}
        )
        assert error.data["code"] == "network"


async def test_missing_key_says_where_to_put_it(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    async with open_session(tmp_path, provider_config(openai_url=fake_openai.url)) as session:
        error = await failure_of(
            session, "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER}
        )
        assert error.data["code"] == "authenticationFailed"
        assert "OPENAI_API_KEY" in error.data["suggestion"]
        assert not fake_openai.requests


async def test_bad_config_is_reported_and_the_server_still_serves(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    config = provider_config(openai_url=fake_openai.url) + '\ndefault_modle = "openai/gpt-4o"\n'
    async with open_session(tmp_path, config, {"OPENAI_API_KEY": fake_openai.api_key}) as session:
        await session.request("switchboard/usage", {})
        messages = [m.message for m in session.client.messages]
        assert any("config.toml:4" in m and "default_modle" in m for m in messages), messages
        result = await session.request(
            "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER}
        )
        assert result["stopReason"] == "endTurn"


async def test_unparseable_config_names_file_and_line(tmp_path: Path) -> None:
    async with open_session(tmp_path, "[providers.openai\nbase_url = 1\n") as session:
        await session.request("switchboard/usage", {})
        messages = [m.message for m in session.client.messages]
        assert any("config.toml:1" in m and "not valid TOML" in m for m in messages), messages


async def test_no_key_leaks_anywhere(
    tmp_path: Path,
    fake_anthropic: FakeAnthropic,
    fake_openai: FakeOpenAI,
    capfd: pytest.CaptureFixture[str],
) -> None:
    keys = fake_keys(fake_anthropic, fake_openai)
    config = provider_config(fake_anthropic.url, fake_openai.url)
    async with open_session(
        tmp_path, config, {**keys, "SWITCHBOARD_LOG_LEVEL": "debug"}
    ) as session:
        await session.request("switchboard/chat", {"model": "openai/gpt-4o", "messages": USER})
        fake_openai.enqueue_error(
            401, f"Incorrect API key provided: {keys['OPENAI_API_KEY']}", "invalid_request_error"
        )
        error = await failure_of(
            session, "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER}
        )
        fake_anthropic.enqueue_error(
            400, "invalid_request_error", f"bad header x-api-key: {keys['ANTHROPIC_API_KEY']}"
        )
        error2 = await failure_of(
            session, "switchboard/chat", {"model": "anthropic/claude-sonnet-4-5", "messages": USER}
        )
        providers = await session.request("switchboard/providers", {})
        seen = [
            error.message,
            str(error.data),
            error2.message,
            str(error2.data),
            str(providers),
            str(session.notifications),
            str([m.message for m in session.client.messages]),
            str([m.message for m in session.client.log_messages]),
        ]
    for path in session.data_dir.rglob("*"):
        if path.is_file():
            seen.append(path.read_text(errors="replace"))
    captured = capfd.readouterr()
    seen += [captured.out, captured.err]
    everything = "\n".join(seen)
    for key in keys.values():
        assert key not in everything
    assert "env:OPENAI_API_KEY" in str(providers)


async def test_a_failure_is_one_log_line_without_a_traceback(
    session: Session, fake_openai: FakeOpenAI
) -> None:
    fake_openai.enqueue_error(
        401, "Incorrect API key provided", "invalid_request_error", code="invalid_api_key"
    )
    await failure_of(session, "switchboard/chat", {"model": "openai/gpt-4o", "messages": USER})
    await failure_of(session, "switchboard/chat", {"messages": "not a list"})
    log = (session.data_dir / "logs" / "switchboard.log").read_text(encoding="utf-8")
    assert "chat failed: authenticationFailed: openai: Incorrect API key provided" in log
    assert "chat: invalid params: messages" in log
    assert "Traceback" not in log
    assert "ERROR" not in log
    shown = [m.message for m in session.client.messages]
    assert not [m for m in shown if "Error in server" in m]
