"""A request the model cannot take is refused before sending, naming the capability."""

from __future__ import annotations

from typing import Any

import pytest
from switchboard.protocol.catalog import Capabilities, ModelInfo
from switchboard.protocol.chat import ChatParams
from switchboard.protocol.errors import ErrorCode
from switchboard.providers.base import ListedModel, ModelTarget
from switchboard.providers.catalog.capability_check import (
    check_capabilities,
    required_capabilities,
)
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine
from switchboard.providers.errors import ProviderError

IMAGE = {"type": "image", "mediaType": "image/png", "data": "AAAA"}
TOOL = {"name": "read_file", "inputSchema": {"type": "object"}}
KEYS = {"DEEPSEEK_API_KEY": "sk-deepseek-test-0123456789", "OPENAI_API_KEY": "sk-test-0123456789ab"}


def params(model: str, **fields: Any) -> ChatParams:
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return ChatParams.model_validate({"model": model, **fields})


def with_image(model: str) -> ChatParams:
    content = [{"type": "text", "text": "what is this?"}, IMAGE]
    return params(model, messages=[{"role": "user", "content": content}])


def refusal(engine: ChatEngine, request: ChatParams) -> ProviderError:
    with pytest.raises(ProviderError) as refused:
        engine.prepare(request)
    return refused.value


def test_images_to_a_text_only_model_are_refused_naming_images() -> None:
    error = refusal(ChatEngine(Config(), environ=KEYS), with_image("deepseek/deepseek-v4-flash"))
    assert error.code == ErrorCode.UNSUPPORTED
    assert "images" in error.message and "not sent" in error.message
    assert error.data().capability == "images"
    assert error.data().to_wire()["capability"] == "images"


def test_tools_to_a_model_without_tools_are_refused_naming_tools() -> None:
    # No AWS credentials are needed: the refusal comes before the credential look-up.
    request = params("bedrock/us.deepseek.r1-v1:0", tools=[TOOL])
    error = refusal(ChatEngine(Config(), environ={}), request)
    assert error.code == ErrorCode.UNSUPPORTED and error.capability == "tools"


def test_an_image_inside_a_tool_result_counts() -> None:
    result = {"type": "toolResult", "toolUseId": "c1", "content": [IMAGE]}
    request = params("deepseek/deepseek-v4-flash", messages=[{"role": "user", "content": [result]}])
    assert required_capabilities(request) == ["images"]
    error = refusal(ChatEngine(Config(), environ=KEYS), request)
    assert error.capability == "images"


def test_a_model_with_the_capabilities_passes() -> None:
    request = with_image("openai/gpt-4o").model_copy(
        update={"tools": params("x", tools=[TOOL]).tools}
    )
    assert required_capabilities(request) == ["images", "tools"]
    run = ChatEngine(Config(), environ=KEYS).prepare(request)
    assert run.target.id == "openai/gpt-4o"


def described(source: Any, images: bool) -> ModelTarget:
    info = ModelInfo(
        id="local/llava",
        provider="local",
        name="llava",
        context_window=8192,
        capabilities=Capabilities(images=images),
        source=source,
    )
    return ModelTarget("local", "llava", info)


def test_a_model_nobody_describes_gets_the_benefit_of_the_doubt() -> None:
    check_capabilities(with_image("local/llava"), described("fallback", images=False))


def test_a_provider_list_that_says_no_images_is_believed() -> None:
    request = with_image("local/llava")
    said_no = ListedModel(name="llava", images=False)
    with pytest.raises(ProviderError) as refused:
        check_capabilities(request, described("provider", images=False), said_no)
    assert refused.value.capability == "images"
    silent = ListedModel(name="llava")
    check_capabilities(request, described("provider", images=False), silent)
