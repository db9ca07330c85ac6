"""The fields an editor's LLM provider interface expects: the tool input format, image
sizes, a tool result's tool name, a provider icon, unparseable tool input kept in the
result, OpenRouter's reasoning details as their own event, and the OAuth callback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from switchboard.protocol.auth import SignInResult
from switchboard.protocol.catalog import ModelInfo, ProviderInfo
from switchboard.protocol.chat import (
    ChatParams,
    ChatResult,
    ImagePart,
    ReasoningDetailsEvent,
    StopEvent,
    ThinkingEvent,
    ToolResultPart,
    ToolUseJsonParseErrorEvent,
    ToolUsePart,
)
from switchboard.providers.adapters import adapter_for
from switchboard.providers.adapters.anthropic import AnthropicAdapter
from switchboard.providers.adapters.gemini import request_body as gemini_body
from switchboard.providers.adapters.openrouter import OpenRouterAdapter
from switchboard.providers.auth.oauth_config import OAuthSettings
from switchboard.providers.auth.oauth_web import WebFlow
from switchboard.providers.auth.signin_flows import (
    ConfiguredOAuthSignIn,
    FlowHttp,
    OpenRouterSignIn,
)
from switchboard.providers.base import ModelTarget, ProviderSettings
from switchboard.providers.catalog.models import default_catalog
from switchboard.providers.wire.accumulator import ChatAccumulator
from switchboard.providers.wire.sse import SSEDecoder

from tests.corpus import body_bytes, wire_dir
from tests.fakes.oauth import FakeAuthServer

CATALOG = default_catalog()
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def target(provider: str, model: str) -> ModelTarget:
    info = ModelInfo(id=f"{provider}/{model}", provider=provider, name=model, context_window=1000)
    return ModelTarget(provider, model, info)


# ---- toolInputFormat ----------------------------------------------------------------


def test_gemini_models_take_simplified_tool_schemas_and_the_rest_json_schema() -> None:
    gemini = CATALOG.get("gemini", "gemini-2.5-flash")
    on_vertex = CATALOG.get("vertex", "gemini-2.5-pro")
    claude = CATALOG.get("anthropic", "claude-sonnet-4-5")
    assert gemini is not None and on_vertex is not None and claude is not None
    assert gemini.capabilities.tool_input_format == "simplified"
    assert on_vertex.capabilities.tool_input_format == "simplified"
    assert claude.capabilities.tool_input_format == "jsonSchema"
    assert gemini.to_wire()["capabilities"]["toolInputFormat"] == "simplified"
    generate_content = [m for m in CATALOG.models() if m.provider in ("gemini", "vertex")]
    for model in generate_content:
        expected = "jsonSchema" if "claude" in model.id else "simplified"
        assert model.capabilities.tool_input_format == expected, model.id


# ---- image size, tool name ------------------------------------------------------------


def test_an_image_part_carries_its_size() -> None:
    part = ImagePart.model_validate(
        {"type": "image", "mediaType": "image/png", "data": PIXEL, "width": 640, "height": 480}
    )
    assert (part.width, part.height) == (640, 480)
    assert part.to_wire()["width"] == 640 and part.to_wire()["height"] == 480
    assert "width" not in ImagePart(media_type="image/png", data=PIXEL).to_wire()
    with pytest.raises(ValidationError, match="width"):
        ImagePart.model_validate({"mediaType": "image/png", "data": PIXEL, "width": 0})


def test_a_tool_result_names_its_tool_and_gemini_uses_the_name() -> None:
    result = ToolResultPart.model_validate(
        {"type": "toolResult", "toolUseId": "call_9", "toolName": "get_weather", "content": "ok"}
    )
    assert result.tool_name == "get_weather"
    assert result.to_wire()["toolName"] == "get_weather"
    # The call is not in the history (it was trimmed): the result's own name goes to Gemini.
    params = ChatParams.model_validate(
        {"messages": [{"role": "user", "content": [result.to_wire()]}]}
    )
    body = gemini_body(params, target("gemini", "gemini-2.5-flash"))
    [response] = [p["functionResponse"] for p in body["contents"][0]["parts"]]
    assert response["name"] == "get_weather"


# ---- provider icon ---------------------------------------------------------------------


def test_every_adapter_kind_has_an_icon_or_falls_back_to_its_kind() -> None:
    anthropic = adapter_for("anthropic")
    assert anthropic.icon is None  # built-ins use their kind as the icon id
    info = ProviderInfo.model_validate(
        {
            "id": "work",
            "name": "work",
            "icon": anthropic.icon or anthropic.kind,
            "baseUrl": "https://api.anthropic.com",
            "auth": {"methods": ["apiKey"], "status": "signedOut"},
        }
    )
    assert info.to_wire()["icon"] == "anthropic"


# ---- unparseable tool input ------------------------------------------------------------


def test_an_unparseable_tool_input_stays_in_the_result() -> None:
    accumulator = ChatAccumulator("req", "anthropic/claude-sonnet-4-5")
    accumulator.add(
        ToolUseJsonParseErrorEvent(
            id="toolu_1", name="edit", raw_input='{"path": "a.py", "line', error="Unterminated"
        )
    )
    accumulator.add(StopEvent(reason="toolUse"))
    result = accumulator.result(None)
    assert result.stop_reason == "toolUse"
    [part] = result.content
    assert isinstance(part, ToolUsePart)
    assert part.input is None and part.raw_input == '{"path": "a.py", "line'
    assert part.parse_error == "Unterminated"
    wire = result.to_wire()["content"][0]
    assert wire == {
        "type": "toolUse",
        "id": "toolu_1",
        "name": "edit",
        "input": None,
        "rawInput": '{"path": "a.py", "line',
        "parseError": "Unterminated",
    }
    assert ChatResult.model_validate(result.to_wire()).content[0] == part
    assert accumulator.output_text() == 'edit{"path": "a.py", "line'


def test_a_truncated_tool_call_from_the_anthropic_corpus_is_kept() -> None:
    path = wire_dir("anthropic") / "stream-max-tokens-mid-tool-json.sse"
    if not path.exists():
        pytest.skip("wire corpus not found")
    adapter = AnthropicAdapter()
    decoder = adapter.decoder(target("anthropic", "claude-sonnet-4-5"))
    sse = SSEDecoder()
    accumulator = ChatAccumulator("req", "anthropic/claude-sonnet-4-5")
    for event in sse.feed(body_bytes(path)) + sse.close():
        for normalized in decoder.feed(event):
            accumulator.add(normalized)
    for normalized in decoder.close():
        accumulator.add(normalized)
    unparsed = [p for p in accumulator.result(None).content if isinstance(p, ToolUsePart)]
    assert unparsed and unparsed[-1].input is None
    assert unparsed[-1].raw_input and unparsed[-1].parse_error


def test_an_unparsed_tool_use_goes_back_to_providers_as_an_empty_object() -> None:
    unparsed = ToolUsePart(id="t1", name="edit", input=None, raw_input="{", parse_error="bad")
    assert unparsed.input_or_empty() == {}
    params = ChatParams.model_validate(
        {
            "messages": [
                {"role": "user", "content": "edit it"},
                {"role": "assistant", "content": [unparsed.to_wire()]},
                {"role": "user", "content": [{"type": "toolResult", "toolUseId": "t1"}]},
            ]
        }
    )
    body = (
        AnthropicAdapter()
        .build_request(
            params,
            target("anthropic", "claude-sonnet-4-5"),
            ProviderSettings("a", "anthropic"),
            None,
        )
        .json
    )
    assert body is not None
    assert body["messages"][1]["content"][0]["input"] == {}


# ---- OpenRouter reasoning details --------------------------------------------------------


def test_openrouter_streams_reasoning_details_as_their_own_event() -> None:
    path = wire_dir("openrouter") / "chat-stream-claude-reasoning.sse"
    if not path.exists():
        pytest.skip("wire corpus not found")
    decoder = OpenRouterAdapter().decoder(target("openrouter", "anthropic/claude-sonnet-4.5"))
    sse = SSEDecoder()
    events: list[Any] = []
    for event in sse.feed(body_bytes(path)) + sse.close():
        events += decoder.feed(event)
    events += decoder.close()
    [details] = [e for e in events if isinstance(e, ReasoningDetailsEvent)]
    [signed] = [e for e in events if isinstance(e, ThinkingEvent) and e.signature]
    assert details.details == json.loads(signed.signature or "")
    assert details.details[0]["type"] == "reasoning.text"
    assert details.to_wire() == {"type": "reasoningDetails", "details": details.details}
    # It arrives when the thinking ends, before the answer's text.
    assert events.index(details) == events.index(signed) + 1
    assert events.index(details) < next(
        i for i, e in enumerate(events) if getattr(e, "type", "") == "text"
    )


# ---- OAuth web flow callback --------------------------------------------------------------


async def test_the_web_flow_result_gives_the_callback_url_and_port() -> None:
    with FakeAuthServer() as auth:
        flow = WebFlow(auth.authorize_url, auth.token_url, auth.client_id, ["chat"])
        try:
            started = await flow.begin()
            host, port = flow.callback.address
            assert started.callback_port == port
            assert started.callback_url == f"http://{host}:{port}/callback"
            assert started.callback_url in httpx.URL(started.auth_url).params["redirect_uri"]
        finally:
            await flow.aclose()


async def test_a_configured_oauth_sign_in_prompt_names_its_callback() -> None:
    async def never(url: str, body: Any) -> bytes:
        raise AssertionError("nothing is posted before the browser comes back")

    with FakeAuthServer() as auth:
        settings = OAuthSettings(auth.authorize_url, auth.token_url, auth.client_id)
        sign_in = ConfiguredOAuthSignIn(FlowHttp(never, never), settings, {})
        try:
            prompt = await sign_in.start()
        finally:
            await sign_in.aclose()
    assert prompt.callback_port is not None and prompt.callback_url is not None
    assert prompt.callback_url.startswith(f"http://127.0.0.1:{prompt.callback_port}/")
    shown = SignInResult(
        status="pending",
        auth_url=prompt.auth_url,
        callback_url=prompt.callback_url,
        callback_port=prompt.callback_port,
    ).to_wire()
    assert shown["callbackPort"] == prompt.callback_port
    assert shown["callbackUrl"] == prompt.callback_url


async def test_the_openrouter_sign_in_prompt_names_its_callback_with_the_state() -> None:
    async def never(url: str, body: Any) -> bytes:
        raise AssertionError("nothing is posted before the browser comes back")

    sign_in = OpenRouterSignIn(
        FlowHttp(never, never), site="https://openrouter.invalid", api="https://api.invalid"
    )
    try:
        prompt = await sign_in.start()
    finally:
        await sign_in.aclose()
    assert prompt.auth_url is not None and prompt.callback_url is not None
    sent = httpx.URL(prompt.auth_url).params["callback_url"]
    assert sent == prompt.callback_url
    assert httpx.URL(prompt.callback_url).port == prompt.callback_port
