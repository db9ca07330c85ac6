"""The fill-in-the-middle translators: URLs, headers and bodies built, answers decoded.

Also the chat side of the two new kinds (Mistral, DeepSeek) and the catalog's
FIM flag. Pure: no I/O (the loopback runs are in test_completion.py).
"""

from __future__ import annotations

import json

import pytest
from switchboard.protocol.chat import (
    ChatParams,
    ErrorEvent,
    Message,
    StopEvent,
    TextEvent,
    ThinkingConfig,
    UsageEvent,
)
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.adapters import adapter_for, kinds, listed_kinds, option_keys
from switchboard.providers.adapters.copilot import COPILOT_PROXY, EDITOR_HEADERS
from switchboard.providers.adapters.fim_text import TextCompletionDecoder
from switchboard.providers.base import (
    CompletionRequest,
    Credential,
    ModelTarget,
    ProviderSettings,
)
from switchboard.providers.catalog.models import Catalog
from switchboard.providers.errors import ProviderError
from switchboard.providers.wire.sse import SSEEvent

REQUEST = CompletionRequest(
    prefix="def add(a, b):\n    ",
    suffix="\n\nprint(add(1, 2))\n",
    language="python",
    path="src/calc.py",
    max_tokens=64,
    stop=("\n\n",),
    temperature=0.1,
)
KEY = Credential(secret="sk-test-" + "x" * 20, source="env:TEST")


def target(kind: str, model: str) -> ModelTarget:
    return ModelTarget(kind, model, Catalog.load().resolve(kind, model, quiet=True))


def settings(kind: str, **extra: object) -> ProviderSettings:
    return ProviderSettings(id=kind, kind=kind, **extra)  # type: ignore[arg-type]


def sse(payload: object) -> SSEEvent:
    return SSEEvent("message", payload if isinstance(payload, str) else json.dumps(payload))


# ---- the normalized request in every FIM body ---------------------------------------------


@pytest.mark.parametrize(
    ("kind", "model", "url"),
    [
        ("mistral", "codestral-2508", "https://api.mistral.ai/v1/fim/completions"),
        ("deepseek", "deepseek-v4-flash", "https://api.deepseek.com/beta/completions"),
        ("ollama", "qwen2.5-coder:7b", "http://localhost:11434/v1/completions"),
        ("llamacpp", "starcoder2", "http://localhost:8080/v1/completions"),
        ("copilot", "gpt-41-copilot", f"{COPILOT_PROXY}/v1/engines/gpt-41-copilot/completions"),
    ],
)
def test_fim_request_carries_prefix_suffix_and_limits(kind: str, model: str, url: str) -> None:
    adapter = adapter_for(kind)
    request = adapter.fim_request(REQUEST, target(kind, model), settings(kind), KEY)
    assert request is not None
    assert (request.method, request.url) == ("POST", url)
    body = request.json
    assert body["model"] == model
    assert (body["prompt"], body["suffix"]) == (REQUEST.prefix, REQUEST.suffix)
    assert (body["max_tokens"], body["stop"], body["temperature"]) == (64, ["\n\n"], 0.1)
    assert body["stream"] is True
    assert request.headers["Accept"] == "text/event-stream"
    assert adapter.fim_decoder(target(kind, model)) is not None


@pytest.mark.parametrize("kind", ["mistral", "deepseek", "ollama"])
def test_api_key_kinds_send_the_key_as_a_bearer_token(kind: str) -> None:
    adapter = adapter_for(kind)
    model = {"mistral": "codestral-2508", "deepseek": "deepseek-v4-flash"}.get(kind, "x-coder")
    request = adapter.fim_request(REQUEST, target(kind, model), settings(kind), KEY)
    assert request is not None and request.headers["Authorization"] == f"Bearer {KEY.secret}"
    keyless = adapter.fim_request(REQUEST, target(kind, model), settings(kind), None)
    assert keyless is not None and "Authorization" not in keyless.headers


def test_copilot_sends_editor_headers_and_no_github_token() -> None:
    request = adapter_for("copilot").fim_request(
        REQUEST, target("copilot", "gpt-41-copilot"), settings("copilot"), KEY
    )
    assert request is not None
    assert "Authorization" not in request.headers  # the token exchange's authenticator adds it
    assert KEY.secret not in json.dumps(request.json)
    for name, value in EDITOR_HEADERS.items():
        assert request.headers[name] == value
    assert request.headers["Openai-Intent"] == "copilot-ghost"
    assert request.json["extra"]["language"] == "python"
    assert (request.json["n"], "stream_options" in request.json) == (1, False)


def test_copilot_completions_follow_a_configured_base_url() -> None:
    request = adapter_for("copilot").fim_request(
        REQUEST,
        target("copilot", "gpt-41-copilot"),
        settings("copilot", base_url="http://127.0.0.1:9"),
        None,
    )
    assert request is not None
    assert request.url == "http://127.0.0.1:9/v1/engines/gpt-41-copilot/completions"


def test_deepseek_fim_sits_beside_v1_and_caps_max_tokens() -> None:
    big = CompletionRequest(prefix="x", max_tokens=10_000)
    request = adapter_for("deepseek").fim_request(
        big,
        target("deepseek", "deepseek-v4-flash"),
        settings("deepseek", base_url="https://proxy.example/v1/"),
        KEY,
    )
    assert request is not None
    assert request.url == "https://proxy.example/beta/completions"
    assert request.json["max_tokens"] == 4096


def test_local_fim_follows_stream_usage_and_base_url() -> None:
    local = settings(
        "openai-compatible", base_url="http://box:9000/v1", options={"stream_usage": False}
    )
    request = adapter_for("openai-compatible").fim_request(
        REQUEST, target("openai-compatible", "m"), local, None
    )
    assert request is not None
    assert request.url == "http://box:9000/v1/completions"
    assert "stream_options" not in request.json
    asked = adapter_for("vllm").fim_request(REQUEST, target("vllm", "m"), settings("vllm"), None)
    assert asked is not None and asked.json["stream_options"] == {"include_usage": True}


def test_local_fim_is_the_option_else_the_model_family() -> None:
    adapter = adapter_for("ollama")
    assert adapter.has_fim(target("ollama", "qwen2.5-coder:7b"), settings("ollama"))
    assert adapter.has_fim(target("ollama", "codellama:code"), settings("ollama"))
    assert not adapter.has_fim(target("ollama", "llama3.2"), settings("ollama"))
    forced = settings("ollama", options={"fim": True})
    assert adapter.has_fim(target("ollama", "llama3.2"), forced)
    refused = settings("ollama", options={"fim": False})
    assert not adapter.has_fim(target("ollama", "qwen2.5-coder:7b"), refused)
    with pytest.raises(ProviderError, match="'fim' must be true or false"):
        adapter.has_fim(target("ollama", "x"), settings("ollama", options={"fim": "yes"}))
    assert "fim" in option_keys("ollama")


@pytest.mark.parametrize("kind", ["vllm", "lmstudio", "llamacpp", "openai-compatible"])
def test_other_local_servers_fill_in_only_when_told(kind: str) -> None:
    # vLLM answers 400 to a suffix and LM Studio applies no template to /v1/completions
    adapter, coder = adapter_for(kind), target(kind, "qwen2.5-coder-7b")
    assert not adapter.has_fim(coder, settings(kind))
    assert adapter.has_fim(coder, settings(kind, options={"fim": True}))


def test_kinds_without_fim_have_none() -> None:
    claude = target("anthropic", "claude-sonnet-4-5")
    adapter = adapter_for("anthropic")
    assert not adapter.has_fim(claude, settings("anthropic"))
    assert adapter.fim_request(REQUEST, claude, settings("anthropic"), KEY) is None
    assert adapter.fim_decoder(claude) is None
    openai_chat = target("openai", "gpt-4o")
    assert adapter_for("openai").fim_request(REQUEST, openai_chat, settings("openai"), KEY) is None


# ---- the catalog's flag ----------------------------------------------------------------


def test_the_catalog_marks_fim_models() -> None:
    catalog = Catalog.load()
    for provider, model in (
        ("mistral", "codestral-2508"),
        ("mistral", "codestral-latest"),
        ("deepseek", "deepseek-v4-flash"),
        ("deepseek", "deepseek-v4-pro"),
        ("copilot", "gpt-41-copilot"),
    ):
        info = catalog.get(provider, model)
        assert info is not None and info.capabilities.fim, f"{provider}/{model}"
    for provider, model in (("mistral", "mistral-large-2512"), ("copilot", "gpt-5-mini")):
        info = catalog.get(provider, model)
        assert info is not None and not info.capabilities.fim
    wire = catalog.get("mistral", "codestral-2508")
    assert wire is not None and wire.to_wire()["capabilities"]["fim"] is True


def test_mistral_and_deepseek_are_listed_kinds_with_priced_models() -> None:
    assert {"mistral", "deepseek"} <= set(kinds()) & set(listed_kinds())
    catalog = Catalog.load()
    for provider in ("mistral", "deepseek"):
        for info in catalog.models(provider):
            assert info.pricing is not None and info.pricing.input_per_m_tok > 0
    assert adapter_for("mistral").api_key_envs == ("MISTRAL_API_KEY",)
    assert adapter_for("deepseek").api_key_envs == ("DEEPSEEK_API_KEY",)


# ---- chat for the two new kinds ---------------------------------------------------------

HELLO = ChatParams(messages=[Message(role="user", content="hi")], max_tokens=100)


def test_mistral_chat_is_openai_chat_without_stream_options() -> None:
    request = adapter_for("mistral").build_request(
        HELLO, target("mistral", "mistral-small-2506"), settings("mistral"), KEY
    )
    assert request.url == "https://api.mistral.ai/v1/chat/completions"
    assert "stream_options" not in request.json
    assert request.json["max_tokens"] == 100


def test_deepseek_chat_turns_thinking_off_unless_asked() -> None:
    adapter, model = adapter_for("deepseek"), target("deepseek", "deepseek-v4-pro")
    plain = adapter.build_request(HELLO, model, settings("deepseek"), KEY)
    assert plain.url == "https://api.deepseek.com/chat/completions"
    assert plain.json["thinking"] == {"type": "disabled"}
    assert "reasoning_effort" not in plain.json
    thinking = HELLO.model_copy(update={"thinking": ThinkingConfig(budget_tokens=40_000)})
    deep = adapter.build_request(thinking, model, settings("deepseek"), KEY)
    assert (deep.json["thinking"], deep.json["reasoning_effort"]) == ({"type": "enabled"}, "max")


def test_deepseek_chat_usage_reads_cache_hits() -> None:
    decoder = adapter_for("deepseek").decoder(target("deepseek", "deepseek-v4-flash"))
    usage = {"prompt_tokens": 50, "completion_tokens": 5, "prompt_cache_hit_tokens": 32}
    events = decoder.feed(sse({"id": "x", "choices": [], "usage": usage}))
    (event,) = [e for e in events if isinstance(e, UsageEvent)]
    assert (event.input_tokens, event.cache_read_input_tokens) == (50, 32)


# ---- the text-completion decoder ---------------------------------------------------------


def test_text_decoder_reads_text_finish_and_deepseek_usage() -> None:
    decoder = TextCompletionDecoder()
    events = decoder.feed(sse({"choices": [{"text": "return", "index": 0}]}))
    events += decoder.feed(
        sse({"choices": [{"text": " a + b", "index": 0, "finish_reason": "length"}]})
    )
    usage = {"prompt_tokens": 20, "completion_tokens": 3, "prompt_cache_hit_tokens": 16}
    events += decoder.feed(sse({"choices": [], "usage": usage}))
    events += decoder.feed(sse("[DONE]"))
    assert [e.text for e in events if isinstance(e, TextEvent)] == ["return", " a + b"]
    (got,) = [e for e in events if isinstance(e, UsageEvent)]
    assert (got.input_tokens, got.output_tokens, got.cache_read_input_tokens) == (20, 3, 16)
    assert [e.reason for e in events if isinstance(e, StopEvent)] == ["maxTokens"]
    assert decoder.close() == []


def test_text_decoder_ignores_other_choices_and_reports_errors_and_cut_streams() -> None:
    decoder = TextCompletionDecoder()
    assert decoder.feed(sse({"choices": [{"text": "other", "index": 1}]})) == []
    failed = decoder.feed(sse({"error": {"message": "overloaded", "type": "server_error"}}))
    assert isinstance(failed[0], ErrorEvent) and failed[0].message == "overloaded"
    assert isinstance(failed[-1], StopEvent) and failed[-1].reason == "error"
    cut = TextCompletionDecoder()
    cut.feed(sse({"choices": [{"text": "half", "index": 0}]}))
    ended = cut.close()
    assert isinstance(ended[0], ErrorEvent) and ended[0].code == ErrorCode.NETWORK


# ---- Copilot's completions host follows the account ---------------------------------------


async def test_copilot_completions_move_to_the_proxy_the_exchange_names() -> None:
    from switchboard.providers.auth.copilot_token import CopilotAuthenticator
    from switchboard.providers.wire.http import HttpRequest

    envelopes = [
        {
            "token": "tid=1;exp=9999999999;proxy-ep=proxy.business.githubcopilot.com;x",
            "expires_at": 9_999_999_999,
            "endpoints": {
                "api": "https://api.business.githubcopilot.com",
                "proxy": "https://proxy.business.githubcopilot.com",
            },
        },
        # an older answer without endpoints: the token's proxy-ep names the host
        {"token": "tid=2;exp=9999999999;proxy-ep=proxy.enterprise.githubcopilot.com;x"},
    ]
    wanted = [
        "https://proxy.business.githubcopilot.com/v1/engines/gpt-41-copilot/completions",
        "https://proxy.enterprise.githubcopilot.com/v1/engines/gpt-41-copilot/completions",
    ]
    for envelope, url in zip(envelopes, wanted, strict=True):

        async def fetch_json(request: HttpRequest, answer: object = envelope) -> object:
            return answer

        authenticator = CopilotAuthenticator(
            "gho_x", provider="copilot", token_url="https://api.github.com/t", headers={}
        )
        built = adapter_for("copilot").fim_request(
            REQUEST, target("copilot", "gpt-41-copilot"), settings("copilot"), KEY
        )
        assert built is not None and built.url.startswith(COPILOT_PROXY)
        authorized = await authenticator.authorize(built, fetch_json)
        assert authorized.url == url
        assert authorized.headers["Authorization"] == f"Bearer {envelope['token']}"
