"""The model list: catalog merged with the providers' list endpoints, disk cache, time budget."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from switchboard.providers.base import ProviderSettings
from switchboard.providers.config import Config
from switchboard.providers.engine import ChatEngine
from switchboard.providers.wire.retry import RetryPolicy
from switchboard.providers.wire.transport import Transport

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.http import FakeHTTPServer, Reply
from tests.fakes.openai import FakeOpenAI


def engine_for(cache: Path, **providers: str) -> ChatEngine:
    settings = {
        name: ProviderSettings(id=name, kind=name, base_url=url) for name, url in providers.items()
    }
    keys = {"OPENAI_API_KEY": FakeOpenAI.api_key, "ANTHROPIC_API_KEY": FakeAnthropic.api_key}
    return ChatEngine(Config(providers=settings), environ=keys, model_cache_dir=cache)


def model_requests(fake: FakeHTTPServer) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and "/models" in r.path)


async def test_listing_merges_with_catalog(tmp_path: Path) -> None:
    with FakeOpenAI() as openai, FakeAnthropic() as anthropic:
        engine = engine_for(tmp_path, openai=openai.url, anthropic=anthropic.url)
        models = {m.id: m for m in await engine.models.models()}
        await engine.aclose()
    # Listed and in the catalog: catalog prices, available.
    assert models["openai/gpt-4o"].source == "catalog"
    assert models["openai/gpt-4o"].available is True
    assert models["openai/gpt-4o"].pricing is not None
    # In the catalog but not listed by this account: shown, not available.
    unlisted = [m for m in models.values() if m.provider == "openai" and not m.available]
    assert unlisted, "catalog models the provider does not list are marked unavailable"
    # Listed only by the provider: conservative limits, no price, source provider.
    assert engine.catalog.get("openai", "o3-mini") is None
    o3 = models["openai/o3-mini"]
    assert o3.source == "provider" and o3.pricing is None and o3.available
    assert o3.context_window == engine.catalog.fallback_limits("openai").context_window
    # Anthropic's list reports limits, which win over the catalog's.
    listed_claude = [m for m in models.values() if m.provider == "anthropic" and m.available]
    assert listed_claude
    assert all(m.context_window == 200000 for m in listed_claude)
    assert all(m.max_output_tokens == 64000 for m in listed_claude)


async def test_listing_is_cached_on_disk(tmp_path: Path) -> None:
    with FakeOpenAI() as openai:
        first = engine_for(tmp_path, openai=openai.url)
        await first.models.models("openai")
        await first.aclose()
        assert model_requests(openai) == 1
        cached = json.loads((tmp_path / "openai.json").read_text())
        assert cached["baseUrl"] == openai.url
        assert {m["name"] for m in cached["models"]} == set(FakeOpenAI.models)

        second = engine_for(tmp_path, openai=openai.url)
        listed = await second.models.models("openai")
        assert model_requests(openai) == 1, "a fresh cache answers without a request"
        assert any(m.id == "openai/gpt-4o" and m.available for m in listed)
        refreshed = await second.models.models("openai", refresh=True)
        assert model_requests(openai) == 2
        assert len(refreshed) == len(listed)
        await second.aclose()


async def test_stale_cache_and_other_base_url_are_refetched(tmp_path: Path) -> None:
    with FakeOpenAI() as openai:
        engine = engine_for(tmp_path, openai=openai.url)
        await engine.models.models("openai")
        await engine.aclose()
        cache = tmp_path / "openai.json"
        data = json.loads(cache.read_text())
        data["fetchedAt"] = time.time() - 7 * 3600
        cache.write_text(json.dumps(data))
        engine = engine_for(tmp_path, openai=openai.url)
        await engine.models.models("openai")
        assert model_requests(openai) == 2
        await engine.aclose()
        data["baseUrl"] = "http://127.0.0.1:9/v1"
        data["fetchedAt"] = time.time()
        cache.write_text(json.dumps(data))
        engine = engine_for(tmp_path, openai=openai.url)
        await engine.models.models("openai")
        assert model_requests(openai) == 3
        await engine.aclose()


async def test_a_hanging_list_endpoint_does_not_hold_the_answer(tmp_path: Path) -> None:
    hanging = FakeHTTPServer(default=lambda request: Reply.json({"data": []}))
    with hanging, FakeAnthropic() as anthropic:
        hanging.enqueue(Reply(hang_s=20.0, headers={"content-type": "application/json"}))
        engine = engine_for(tmp_path, openai=hanging.url + "/v1", anthropic=anthropic.url)
        engine.models.budget_s = 0.3
        started = time.monotonic()
        models = await engine.models.models()
        waited = time.monotonic() - started
        # The hang is 20 s; the answer came with the budget, catalog entries included.
        assert waited < 10
        assert any(m.provider == "openai" and m.source == "catalog" for m in models)
        assert any(m.provider == "anthropic" and m.available for m in models)
        # The slow list keeps loading in the background: a second call does not start another.
        await engine.models.models()
        assert model_requests(hanging) == 1
        await engine.aclose()


async def test_a_failing_list_falls_back_to_the_catalog(tmp_path: Path) -> None:
    error = {"error": {"message": "The server had an error", "type": "server_error"}}
    broken = FakeHTTPServer(default=lambda request: Reply.json(error, status=500))
    with broken:
        settings = {"openai": ProviderSettings(id="openai", kind="openai", base_url=broken.url)}
        engine = ChatEngine(
            Config(providers=settings),
            environ={"OPENAI_API_KEY": FakeOpenAI.api_key},
            model_cache_dir=tmp_path,
            transport=Transport(RetryPolicy(base_delay_s=0.0)),
        )
        models = await engine.models.models("openai")
        assert model_requests(broken) == 3, "the list is retried like any request"
        assert models and all(m.source == "catalog" for m in models)
        assert all(m.available for m in models), "a broken list says nothing about the key"
        await engine.models.models("openai")
        assert model_requests(broken) == 3, "a failure is remembered for a while"
        await engine.aclose()


async def test_a_rejected_key_marks_the_provider_unavailable(tmp_path: Path) -> None:
    with FakeOpenAI() as openai:
        settings = {"openai": ProviderSettings(id="openai", kind="openai", base_url=openai.url)}
        engine = ChatEngine(
            Config(providers=settings),
            environ={"OPENAI_API_KEY": "sk-wrong-key-000000000000000000"},
            model_cache_dir=tmp_path,
        )
        models = await engine.models.models("openai")
        assert models and not any(m.available for m in models)
        await engine.aclose()


async def test_listed_limits_reach_the_chat_target(tmp_path: Path) -> None:
    with FakeAnthropic() as anthropic:
        engine = engine_for(tmp_path, anthropic=anthropic.url)
        await engine.models.models("anthropic")
        listed = next(iter(engine.models.listing("anthropic") or {}))
        target = engine.resolve(f"anthropic/{listed}")
        assert target.info.context_window == 200000
        await engine.aclose()


def test_directory_answers_without_a_running_listing(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, openai="http://127.0.0.1:9/v1")
    assert engine.models.listing("openai") is None
    models = engine.models.provider_models("openai")
    assert models and all(m.source == "catalog" for m in models)
    asyncio.run(engine.aclose())
