"""Azure OpenAI: both URL styles, deployments, auth, content filters, Entra ID tokens."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import (
    ChatParams,
    ErrorEvent,
    Message,
    StartedEvent,
    StopEvent,
    TextEvent,
    ToolUseEvent,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for, option_keys
from switchboard.providers.adapters.azure import AzureOpenAIAdapter
from switchboard.providers.auth.azure_auth import SCOPE, EntraAuthenticator
from switchboard.providers.base import Adapter, Credential, ModelTarget, ProviderSettings
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.http import HttpRequest
from switchboard.providers.wire.sse import SSEDecoder, SSEEvent

from tests.corpus import body_bytes, random_chunks, wire_files

ADAPTER = AzureOpenAIAdapter()
ENDPOINT = "https://contoso.openai.azure.com"
KEY = Credential("0123456789abcdef0123456789abcdef", "env:AZURE_OPENAI_API_KEY")
NO_CORPUS = "wire corpus not found (it lives in ../shared beside the repo)"


# ---- helpers shared with the xAI and OpenRouter tests -------------------------------


def target(provider: str, model: str) -> ModelTarget:
    info = ModelInfo(id=f"{provider}/{model}", provider=provider, name=model, context_window=1000)
    return ModelTarget(provider, model, info)


def corpus(provider: str, prefixes: tuple[str, ...]) -> list[Any]:
    files = [
        path
        for path in wire_files(provider, (".sse", ".json", ".chunks.jsonl"))
        if path.name.startswith(prefixes) and not path.name.endswith(".meta.json")
    ]
    return [pytest.param(path, id=path.name) for path in files] or [
        pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS))
    ]


def replay(adapter: Adapter, path: Path, seed: int | None = None) -> list[Any]:
    """A corpus file through the adapter: SSE whole or in random pieces, lines, or a body."""
    decoder = adapter.decoder(target(adapter.kind, "corpus-model"))
    events: list[Any] = []
    if path.name.endswith(".chunks.jsonl"):
        for line in path.read_text().splitlines():
            events += decoder.feed(SSEEvent("message", line))
        return events + decoder.close()
    if path.suffix == ".json":
        return adapter.decode_body(json.loads(path.read_text()), target(adapter.kind, "m"))
    data = body_bytes(path)
    sse = SSEDecoder()
    for chunk in [data] if seed is None else random_chunks(data, seed):
        for event in sse.feed(chunk):
            events += decoder.feed(event)
    for event in sse.close():
        events += decoder.feed(event)
    return events + decoder.close()


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def text_of(events: list[Any]) -> str:
    return "".join(event.text for event in of_type(events, TextEvent))


def check_shape(events: list[Any]) -> None:
    """The normalized rules: started first, exactly one stop, and it comes last."""
    assert isinstance(events[0], StartedEvent)
    assert len(of_type(events, StopEvent)) == 1
    assert isinstance(events[-1], StopEvent)


def settings(**options: Any) -> ProviderSettings:
    return ProviderSettings(id="azure", kind="azure", options={"endpoint": ENDPOINT, **options})


def request(model: str = "gpt-4o", **options: Any) -> HttpRequest:
    params = ChatParams(messages=[Message(role="user", content="hi")])
    return ADAPTER.build_request(params, target("azure", model), settings(**options), KEY)


# ---- request -------------------------------------------------------------------------


def test_registered_with_its_options() -> None:
    assert isinstance(adapter_for("azure"), AzureOpenAIAdapter)
    assert option_keys("azure") == {"endpoint", "api_version", "deployments", "auth"}
    assert ADAPTER.api_key_envs == ("AZURE_OPENAI_API_KEY",)


def test_v1_endpoint_is_the_default_and_the_model_names_the_deployment() -> None:
    sent = request(deployments={"gpt-4o": "prod-4o"})
    assert sent.url == f"{ENDPOINT}/openai/v1/chat/completions"
    assert sent.json["model"] == "prod-4o"
    assert sent.headers["api-key"] == KEY.secret
    assert "Authorization" not in sent.headers
    assert sent.json["stream_options"] == {"include_usage": True}


def test_classic_deployment_url_with_api_version() -> None:
    sent = request(api_version="2024-10-21", deployments={"gpt-4o": "prod 4o"})
    assert sent.url == (
        f"{ENDPOINT}/openai/deployments/prod%204o/chat/completions?api-version=2024-10-21"
    )
    unmapped = request("gpt-4.1", api_version="2024-10-21")
    assert "/openai/deployments/gpt-4.1/chat/completions" in unmapped.url


@pytest.mark.parametrize(
    "base",
    [ENDPOINT, ENDPOINT + "/", ENDPOINT + "/openai", ENDPOINT + "/openai/v1/"],
)
def test_base_url_forms(base: str) -> None:
    configured = ProviderSettings(id="azure", kind="azure", base_url=base)
    assert ADAPTER.endpoint(configured) == ENDPOINT


def test_endpoint_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://env.openai.azure.com/")
    assert ADAPTER.endpoint(ProviderSettings(id="azure", kind="azure")) == (
        "https://env.openai.azure.com"
    )
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    with pytest.raises(ProviderError, match="AZURE_OPENAI_ENDPOINT") as missing:
        ADAPTER.endpoint(ProviderSettings(id="azure", kind="azure"))
    assert missing.value.code == ErrorCode.INVALID_REQUEST


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("auth", "password"),
        ("deployments", ["gpt-4o"]),
        ("deployments", {"a": 1}),
        ("api_version", 3),
    ],
)
def test_bad_options_are_named(key: str, value: Any) -> None:
    with pytest.raises(ProviderError, match=f"option '{key}'") as bad:
        ADAPTER.build_request(
            ChatParams(messages=[Message(role="user", content="x")]),
            target("azure", "gpt-4o"),
            settings(**{key: value}),
            KEY,
        )
        ADAPTER.authenticator(settings(**{key: value}), None, {})
    assert bad.value.code == ErrorCode.INVALID_REQUEST


def test_deployment_names_map_back_to_models() -> None:
    configured = settings(deployments={"gpt-4o": "prod-4o"})
    assert ADAPTER.model_name("prod-4o", configured) == "gpt-4o"
    assert ADAPTER.model_name("other", configured) == "other"
    assert ADAPTER.deployment("prod-4o", configured) == "prod-4o"


def test_models_request_and_parse() -> None:
    listed = ADAPTER.models_request(settings(), KEY)
    assert listed is not None and listed.url == f"{ENDPOINT}/openai/v1/models"
    classic = ADAPTER.models_request(settings(api_version="2024-10-21"), KEY)
    assert classic is not None
    assert classic.url == f"{ENDPOINT}/openai/models?api-version=2024-10-21"
    body = {
        "data": [
            {"id": "gpt-4o-2024-11-20", "capabilities": {"chat_completion": True}},
            {"id": "text-embedding-3-small", "capabilities": {"chat_completion": False}},
            {"id": "dall-e-3"},
            "junk",
        ]
    }
    assert [m.name for m in ADAPTER.parse_models(body)] == ["gpt-4o-2024-11-20"]


# ---- answers -------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus("azure", ("chat-",)))
def test_corpus_replays(path: Path) -> None:
    events = replay(ADAPTER, path)
    check_shape(events)
    if path.suffix == ".sse":
        for seed in range(5):
            assert replay(ADAPTER, path, seed) == events
    usage = of_type(events, UsageEvent)[-1]
    if "model-router" in path.name:
        assert events[0].model == "gpt-5-nano-2025-08-07"
        assert text_of(events) == "Capital of Denmark."
        assert (usage.input_tokens, usage.output_tokens) == (15, 78)
    else:
        assert text_of(events) == "The capital of France is **Paris**."
        assert (usage.input_tokens, usage.output_tokens) == (14, 9)
    assert events[-1].reason == "endTurn"
    assert not of_type(events, ErrorEvent)  # every category passed the filter


def chunk(delta: dict[str, Any], finish: str | None = None, **filters: Any) -> str:
    results = {name: {"filtered": True, "severity": severity} for name, severity in filters.items()}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    if results or finish:
        choice["content_filter_results"] = results
    return json.dumps({"id": "chatcmpl-1", "model": "gpt-4o", "choices": [choice]})


def feed(lines: list[str]) -> list[Any]:
    decoder = ADAPTER.decoder(target("azure", "gpt-4o"))
    events: list[Any] = []
    for line in lines:
        events += decoder.feed(SSEEvent("message", line))
    return events + decoder.close()


def test_filtered_answer_names_the_category_then_stops_with_content_filter() -> None:
    prompt = {
        "choices": [],
        "id": "",
        "model": "",
        "prompt_filter_results": [
            {"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False}}}
        ],
    }
    events = feed(
        [
            json.dumps(prompt),
            chunk({"content": "Here is how"}),
            chunk({}, "content_filter", violence="high", self_harm="medium"),
            "[DONE]",
        ]
    )
    check_shape(events)
    assert events[0].id == "chatcmpl-1"
    assert text_of(events) == "Here is how"
    error, stop = events[-2:]
    assert stop == StopEvent(reason="contentFilter")
    assert isinstance(error, ErrorEvent) and error.code == "contentFiltered"
    assert "violence (high)" in error.message and "self_harm (medium)" in error.message


def test_filtered_without_categories_still_says_so() -> None:
    events = feed([chunk({"content": "x"}), chunk({}, "content_filter")])
    assert of_type(events, ErrorEvent)[0].message.endswith("(no category reported)")
    assert events[-1].reason == "contentFilter"


def test_error_chunk_without_id_is_not_swallowed() -> None:
    events = feed([json.dumps({"error": {"message": "server overloaded", "type": "server_error"}})])
    assert of_type(events, ErrorEvent)[0].code == "providerUnavailable"
    assert events[-1].reason == "error"


def test_tool_calls_and_garbage_never_raise() -> None:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "f", "arguments": '{"a": 1}'},
    }
    events = feed(["{not json", "[]", chunk({"tool_calls": [call]}), chunk({}, "tool_calls")])
    assert of_type(events, ToolUseEvent)[0].input == {"a": 1}
    assert events[-1].reason == "toolUse"


# ---- errors --------------------------------------------------------------------------


def error_body(code: str, message: str, inner: dict[str, Any] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "param": "prompt", "status": 400}
    if inner:
        error["innererror"] = inner
    return json.dumps({"error": error}).encode()


def test_prompt_filter_400_is_content_filtered_with_categories() -> None:
    body = error_body(
        "content_filter",
        "The response was filtered due to the prompt triggering Azure OpenAI's content"
        " management policy.",
        {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": {"filtered": False, "severity": "safe"},
                "jailbreak": {"filtered": True, "detected": True},
                "sexual": {"filtered": True, "severity": "medium"},
            },
        },
    )
    error = ADAPTER.parse_error(400, {}, body)
    assert error.code == ErrorCode.CONTENT_FILTERED
    assert error.status == 400
    assert "content management policy" in error.message
    assert error.message.endswith("(filtered: jailbreak, sexual (medium))")


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (
            404,
            "DeploymentNotFound",
            "The API deployment for this resource does not exist.",
            ErrorCode.UNKNOWN_MODEL,
        ),
        (
            401,
            "401",
            "Access denied due to invalid subscription key.",
            ErrorCode.AUTHENTICATION_FAILED,
        ),
        (429, "429", "Requests have exceeded token rate limit.", ErrorCode.RATE_LIMITED),
        (400, "invalid_request_error", "Unsupported parameter: 'foo'.", ErrorCode.INVALID_REQUEST),
    ],
)
def test_http_errors(status: int, code: str, message: str, expected: ErrorCode) -> None:
    error = ADAPTER.parse_error(status, {"retry-after": "3"}, error_body(code, message))
    assert error.code == expected
    assert message in error.message


# ---- Entra ID --------------------------------------------------------------------------


class Token:
    def __init__(self, token: str, expires_on: float) -> None:
        self.token, self.expires_on = token, expires_on


class Credentials:
    def __init__(self, lifetime_s: float = 3600.0, fail: Exception | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lifetime_s, self.fail = lifetime_s, fail
        self.now = 1_000_000.0

    def get_token(self, *scopes: str) -> Token:
        self.calls.append(scopes)
        if self.fail is not None:
            raise self.fail
        return Token(f"entra-token-{len(self.calls)}-abcdefgh", self.now + self.lifetime_s)


async def unused_fetch(request: HttpRequest) -> Any:
    raise AssertionError("Entra tokens come from azure-identity, not the transport")


async def test_entra_token_is_cached_until_near_expiry_and_replaces_the_key() -> None:
    credentials = Credentials()
    auth = EntraAuthenticator(lambda: credentials, clock=lambda: credentials.now)
    first = await auth.authorize(request(), unused_fetch)
    assert first.headers["Authorization"] == "Bearer entra-token-1-abcdefgh"
    assert "api-key" not in first.headers
    await auth.authorize(request(), unused_fetch)
    assert credentials.calls == [(SCOPE,)]
    credentials.now += 3600 - 200  # inside the refresh margin
    again = await auth.authorize(request(), unused_fetch)
    assert again.headers["Authorization"] == "Bearer entra-token-2-abcdefgh"
    auth.invalidate()
    await auth.authorize(request(), unused_fetch)
    assert len(credentials.calls) == 3


async def test_entra_failure_is_authentication_failed_without_secrets() -> None:
    credentials = Credentials(
        fail=RuntimeError("DefaultAzureCredential failed to retrieve a token")
    )
    auth = EntraAuthenticator(lambda: credentials)
    with pytest.raises(ProviderError) as failed:
        await auth.authorize(request(), unused_fetch)
    assert failed.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert "failed to retrieve a token" in failed.value.message
    assert failed.value.suggestion and "az login" in failed.value.suggestion


async def test_missing_azure_identity_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # import fails
    auth = ADAPTER.authenticator(settings(auth="entra"), None, {})
    assert isinstance(auth, EntraAuthenticator)
    with pytest.raises(ProviderError) as missing:
        await auth.authorize(request(), unused_fetch)
    assert missing.value.code == ErrorCode.AUTHENTICATION_FAILED
    assert missing.value.suggestion and "[azure]" in missing.value.suggestion


def test_key_auth_has_no_authenticator() -> None:
    assert ADAPTER.authenticator(settings(), KEY, {}) is None
