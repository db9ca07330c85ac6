"""Prompt-cache configuration per model: anchors kept within the model's limit, tool
definitions cached where the model allows it, cache writes priced by their lifetime,
and Copilot's prompt limit merged into the model's input limit."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from switchboard.protocol.catalog import CacheConfiguration, ModelInfo, Pricing
from switchboard.protocol.chat import ChatParams, Usage, UsageEvent
from switchboard.providers.adapters.anthropic import AnthropicAdapter, AnthropicStreamDecoder
from switchboard.providers.adapters.bedrock import normalized_usage
from switchboard.providers.adapters.bedrock import request_body as bedrock_body
from switchboard.providers.adapters.copilot import CopilotAdapter
from switchboard.providers.adapters.vertex import VertexAdapter
from switchboard.providers.base import ListedModel, ModelTarget, ProviderSettings
from switchboard.providers.catalog.cache_anchors import anchor_limit, caches_tools
from switchboard.providers.catalog.directory import _merged
from switchboard.providers.catalog.models import Catalog, CatalogError, catalog_data
from switchboard.providers.catalog.pricing import cost_of
from switchboard.providers.wire.sse import SSEEvent

from tests.fakes.copilot import default_models

CATALOG = Catalog(catalog_data())
ANTHROPIC = AnthropicAdapter()
SETTINGS = ProviderSettings(id="anthropic", kind="anthropic")
VERTEX_SETTINGS = ProviderSettings(
    id="vertex", kind="vertex", options={"project": "p", "location": "us-east5"}
)
#: A tool whose definition is well past every model's minimum cacheable length.
BIG_TOOL = {"name": "search", "description": "Searches the code. " * 2000}
SMALL_TOOL = {"name": "now", "description": "The time."}


def catalog_target(provider: str, model: str) -> ModelTarget:
    info = CATALOG.get(provider, model)
    assert info is not None, f"{provider}/{model} left the catalog"
    return ModelTarget(provider, model, info)


def cached_chat(turns: int, tools: list[dict[str, Any]] | None = None, **extra: Any) -> ChatParams:
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}", "cache": True}
        for i in range(turns)
    ]
    return ChatParams.model_validate({"messages": messages, "tools": tools, **extra})


def anthropic_anchors(body: dict[str, Any]) -> list[str]:
    """Where the body's cache_control marks are, in prompt order."""
    found = [f"tool {t['name']}" for t in body.get("tools", []) if "cache_control" in t]
    system = body.get("system")
    if isinstance(system, list):
        found += [f"system {b['text']}" for b in system if "cache_control" in b]
    for message in body["messages"]:
        found += [f"text {b.get('text')}" for b in message["content"] if "cache_control" in b]
    return found


def bedrock_anchors(body: dict[str, Any]) -> list[str]:
    found = []
    tools = body.get("toolConfig", {}).get("tools", [])
    found += ["tools" for block in tools if "cachePoint" in block]
    found += ["system" for block in body.get("system", []) if "cachePoint" in block]
    for message in body["messages"]:
        content = message["content"]
        for before, block in pairwise(content):
            if "cachePoint" in block:
                found.append(f"text {before.get('text')}")
    return found


# ---- the catalog ----------------------------------------------------------------


def test_claude_models_carry_their_cache_configuration() -> None:
    haiku = catalog_target("anthropic", "claude-haiku-4-5").info
    assert haiku.cache_configuration == CacheConfiguration(
        max_cache_anchors=4, cache_tools=True, min_cacheable_tokens=4096
    )
    assert haiku.to_wire()["cacheConfiguration"] == {
        "maxCacheAnchors": 4,
        "cacheTools": True,
        "minCacheableTokens": 4096,
    }
    nova = catalog_target("bedrock", "amazon.nova-pro-v1:0").info.cache_configuration
    assert nova is not None and nova.cache_tools is False
    # Automatic caching takes no anchors: no configuration, and an explicit null is absent.
    assert catalog_target("openai", "gpt-4o").info.cache_configuration is None


def test_every_model_with_a_cache_configuration_caches_prompts() -> None:
    configured = [m for m in CATALOG.models() if m.cache_configuration is not None]
    assert {m.provider for m in configured} == {"anthropic", "bedrock", "vertex"}
    assert all(m.capabilities.prompt_caching for m in configured)


def test_a_cache_configuration_on_a_model_without_caching_is_refused() -> None:
    data = catalog_data()
    model = data["providers"]["anthropic"]["models"][0]
    model["capabilities"]["promptCaching"] = False
    with pytest.raises(CatalogError, match="cacheConfiguration without promptCaching"):
        Catalog(data)


def test_the_one_hour_write_rate_is_part_of_the_price_and_its_tiers() -> None:
    haiku = catalog_target("anthropic", "claude-haiku-5-5")
    assert haiku.info.pricing is not None
    assert haiku.info.pricing.cache_write_1h_per_m_tok == 0.2
    extras = CATALOG.entry_extras("anthropic", "claude-haiku-5-5")
    assert extras is not None and extras.tiers[0].pricing.cache_write_1h_per_m_tok == 1


# ---- anchors on the wire -----------------------------------------------------------


def test_seven_cached_messages_give_anthropic_the_last_four() -> None:
    body = ANTHROPIC.build_request(
        cached_chat(7), catalog_target("anthropic", "claude-sonnet-4-5"), SETTINGS, None
    ).json
    assert body is not None
    assert anthropic_anchors(body) == ["text turn 3", "text turn 4", "text turn 5", "text turn 6"]


def test_a_model_the_catalog_lacks_still_gets_at_most_four() -> None:
    info = ModelInfo(id="anthropic/claude-next", provider="anthropic", name="x", context_window=1)
    body = ANTHROPIC.build_request(
        cached_chat(6), ModelTarget("anthropic", "claude-next", info), SETTINGS, None
    ).json
    assert body is not None and len(anthropic_anchors(body)) == 4


def test_a_smaller_limit_from_the_catalog_is_kept() -> None:
    target = catalog_target("anthropic", "claude-sonnet-4-5")
    narrowed = target.info.model_copy(
        update={
            "cache_configuration": CacheConfiguration(
                max_cache_anchors=2, cache_tools=False, min_cacheable_tokens=0
            )
        }
    )
    body = ANTHROPIC.build_request(
        cached_chat(5), ModelTarget("anthropic", target.model, narrowed), SETTINGS, None
    ).json
    assert body is not None and anthropic_anchors(body) == ["text turn 3", "text turn 4"]


def test_cached_system_and_messages_share_the_limit_in_prompt_order() -> None:
    params = ChatParams.model_validate(
        {
            "messages": [
                {"role": "system", "content": "rules", "cache": True},
                *[{"role": "user", "content": f"doc {i}", "cache": True} for i in range(4)],
            ]
        }
    )
    body = ANTHROPIC.build_request(
        params, catalog_target("anthropic", "claude-sonnet-4-5"), SETTINGS, None
    ).json
    assert body is not None
    assert anthropic_anchors(body) == ["text doc 0", "text doc 1", "text doc 2", "text doc 3"]
    assert body["system"] == [{"type": "text", "text": "rules"}]


def test_long_tool_definitions_are_cached_when_the_model_allows_it() -> None:
    target = catalog_target("anthropic", "claude-sonnet-4-5")
    body = ANTHROPIC.build_request(cached_chat(2, [SMALL_TOOL, BIG_TOOL]), target, SETTINGS, None)
    assert body.json is not None
    assert anthropic_anchors(body.json) == ["tool search", "text turn 0", "text turn 1"]
    # The tools' anchor counts: with four cached turns it is the earliest, and gives way.
    body = ANTHROPIC.build_request(cached_chat(4, [BIG_TOOL]), target, SETTINGS, None)
    assert body.json is not None
    assert anthropic_anchors(body.json) == [
        "text turn 0",
        "text turn 1",
        "text turn 2",
        "text turn 3",
    ]
    body = ANTHROPIC.build_request(cached_chat(3, [BIG_TOOL]), target, SETTINGS, None)
    assert body.json is not None and anthropic_anchors(body.json)[0] == "tool search"


def test_tools_are_not_cached_when_short_not_asked_for_or_not_allowed() -> None:
    target = catalog_target("anthropic", "claude-sonnet-4-5")
    assert not caches_tools(cached_chat(1, [SMALL_TOOL]), target.info)
    uncached = ChatParams.model_validate(
        {"messages": [{"role": "user", "content": "hi"}], "tools": [BIG_TOOL]}
    )
    assert not caches_tools(uncached, target.info)
    nova = catalog_target("bedrock", "amazon.nova-pro-v1:0")
    assert not caches_tools(cached_chat(1, [BIG_TOOL]), nova.info)
    assert caches_tools(cached_chat(1, [BIG_TOOL]), target.info)


def test_a_top_level_cache_control_takes_one_anchor() -> None:
    params = cached_chat(5, providerOptions={"cache_control": {"type": "ephemeral"}})
    body = ANTHROPIC.build_request(
        params, catalog_target("anthropic", "claude-sonnet-4-5"), SETTINGS, None
    ).json
    assert body is not None and len(anthropic_anchors(body)) == 3
    assert anchor_limit(catalog_target("anthropic", "claude-sonnet-4-5").info, reserved=1) == 3


def test_claude_on_vertex_keeps_the_last_four_and_caches_tools() -> None:
    target = catalog_target("vertex", "claude-sonnet-4-5@20250929")
    body = (
        VertexAdapter()
        .build_request(cached_chat(7, [BIG_TOOL]), target, VERTEX_SETTINGS, None)
        .json
    )
    assert body is not None
    assert anthropic_anchors(body) == ["text turn 3", "text turn 4", "text turn 5", "text turn 6"]
    body = (
        VertexAdapter()
        .build_request(cached_chat(1, [BIG_TOOL]), target, VERTEX_SETTINGS, None)
        .json
    )
    assert body is not None and anthropic_anchors(body) == ["tool search", "text turn 0"]


def test_bedrock_keeps_the_last_cache_points_and_caches_tools() -> None:
    target = catalog_target("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    body = bedrock_body(cached_chat(7), target)
    assert bedrock_anchors(body) == ["text turn 3", "text turn 4", "text turn 5", "text turn 6"]
    body = bedrock_body(cached_chat(2, [BIG_TOOL]), target)
    assert bedrock_anchors(body) == ["tools", "text turn 0", "text turn 1"]
    assert body["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    # Nova caches messages, never the tools.
    nova = catalog_target("bedrock", "amazon.nova-pro-v1:0")
    body = bedrock_body(cached_chat(6, [BIG_TOOL]), nova)
    assert bedrock_anchors(body) == ["text turn 2", "text turn 3", "text turn 4", "text turn 5"]


# ---- writes priced by lifetime ---------------------------------------------------------


def test_one_hour_writes_are_priced_at_the_one_hour_rate() -> None:
    pricing = Pricing(
        inputPerMTok=3,
        outputPerMTok=15,
        cacheReadPerMTok=0.3,
        cacheWritePerMTok=3.75,
        cacheWrite1hPerMTok=6,
    )
    usage = Usage(
        input_tokens=3_000_000,
        cache_creation_input_tokens=3_000_000,
        cache_creation_one_hour_input_tokens=1_000_000,
    )
    cost = cost_of(usage, pricing)
    assert cost is not None and cost.cache_usd == pytest.approx(2 * 3.75 + 6)
    five_minutes_only = cost_of(
        usage.model_copy(update={"cache_creation_one_hour_input_tokens": None}), pricing
    )
    assert five_minutes_only is not None and five_minutes_only.cache_usd == pytest.approx(11.25)
    # No 1-hour rate known: the 5-minute rate, never nothing.
    no_rate = cost_of(usage, pricing.model_copy(update={"cache_write_1h_per_m_tok": None}))
    assert no_rate is not None and no_rate.cache_usd == pytest.approx(11.25)


def test_the_tier_one_hour_rate_applies_above_the_threshold() -> None:
    target = catalog_target("anthropic", "claude-haiku-5-5")
    extras = CATALOG.entry_extras("anthropic", "claude-haiku-5-5")
    assert extras is not None and target.info.pricing is not None
    usage = Usage(
        input_tokens=200_000,
        cache_creation_input_tokens=200_000,
        cache_creation_one_hour_input_tokens=200_000,
    )
    cost = cost_of(usage, target.info.pricing, extras.tiers)
    assert cost is not None and cost.cache_usd == pytest.approx(0.2 * 1)


def anthropic_usage_events(usage: dict[str, Any]) -> list[Any]:
    decoder = AnthropicStreamDecoder("claude-sonnet-4-5")
    start = {"type": "message_start", "message": {"id": "m", "model": "c", "usage": usage}}
    events = decoder.feed(SSEEvent(event="message_start", data=json.dumps(start)))
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}}
    events += decoder.feed(SSEEvent(event="message_delta", data=json.dumps(delta)))
    return [e for e in events if isinstance(e, UsageEvent)]


def test_anthropic_usage_reports_the_one_hour_writes_apart() -> None:
    [usage] = anthropic_usage_events(
        {
            "input_tokens": 10,
            "output_tokens": 1,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 3000,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 1000,
                "ephemeral_1h_input_tokens": 2000,
            },
        }
    )
    assert usage.input_tokens == 3010
    assert usage.cache_creation_input_tokens == 3000
    assert usage.cache_creation_one_hour_input_tokens == 2000
    [plain] = anthropic_usage_events({"input_tokens": 10, "cache_creation_input_tokens": 5})
    assert plain.cache_creation_one_hour_input_tokens is None


def test_bedrock_usage_reads_the_one_hour_writes_from_cache_details() -> None:
    usage = normalized_usage(
        {
            "inputTokens": 10,
            "outputTokens": 2,
            "totalTokens": 3012,
            "cacheWriteInputTokens": 3000,
            "cacheDetails": [{"ttl": "1h", "inputTokens": 2500}, {"ttl": "5m", "inputTokens": 500}],
        }
    )
    assert usage is not None
    assert usage.input_tokens == 3010
    assert usage.cache_creation_one_hour_input_tokens == 2500
    without = normalized_usage({"inputTokens": 10, "outputTokens": 2, "cacheDetails": []})
    assert without is not None and without.cache_creation_one_hour_input_tokens is None


# ---- Copilot's prompt limit ------------------------------------------------------------


def test_copilot_max_prompt_tokens_becomes_the_input_limit() -> None:
    listed = {m.name: m for m in CopilotAdapter().parse_models({"data": default_models()})}
    claude = listed["claude-sonnet-4.5"]
    assert claude.max_input_tokens == 128000 and claude.context_window == 200000
    fallback = CATALOG.resolve("copilot", "claude-sonnet-4.5", quiet=True)
    merged = _merged(fallback, claude)
    assert merged.max_input_tokens == 128000
    assert merged.context_window == 200000
    # A catalog entry's input limit gives way to the one the provider reports.
    catalogued = catalog_target("copilot", "gpt-5-mini").info
    narrower = _merged(catalogued, ListedModel(name="gpt-5-mini", max_input_tokens=64000))
    assert narrower.max_input_tokens == 64000
