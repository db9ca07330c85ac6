"""Servers the user runs (Ollama, llama.cpp, LM Studio, vLLM): what they tell about themselves.

Such a server needs no credentials, so it is available exactly when it
answers. And it runs each model with a context window of its own choosing
(`llama-server -c 512`, Ollama's `num_ctx`), which only the server can tell:
the model list rarely carries it, so an adapter may name further requests
that report it, read here after the list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..base import Adapter, Credential, ListedModel, ProviderSettings
from ..errors import ProviderError
from ..wire.http import HttpRequest
from ..wire.transport import Timeouts

if TYPE_CHECKING:
    from ..base import ProviderAccess

logger = logging.getLogger("switchboard.models")

#: a server on this machine answers at once, or is not there
WINDOW_TIMEOUTS = Timeouts(connect_s=3.0, headers_s=10.0, stall_s=10.0, total_s=15.0)
#: how long "it answered" (or "it did not") stands before the server is asked again
REACHABILITY_TTL_S = 30.0
#: requests for windows sent at once to one server
MAX_WINDOW_REQUESTS = 4

WindowRequest = tuple[str | None, HttpRequest]


@runtime_checkable
class LocalServer(Protocol):
    """An adapter for a server the user runs. `window_requests` names, per model (None: for
    every model at once), a request whose answer `parse_window` reads the window from."""

    def window_requests(
        self,
        settings: ProviderSettings,
        credential: Credential | None,
        models: list[ListedModel],
    ) -> list[WindowRequest]: ...

    def parse_window(self, body: Any) -> int | None: ...


def is_local_server(adapter: Adapter) -> bool:
    return isinstance(adapter, LocalServer)


async def with_server_windows(
    engine: ProviderAccess,
    provider: str,
    adapter: Adapter,
    settings: ProviderSettings,
    credential: Credential | None,
    models: list[ListedModel],
) -> list[ListedModel]:
    """`models` with the context windows the server reports; a request that fails leaves
    the window as it was (the config's `context_window`, else the catalog's guess)."""
    if not isinstance(adapter, LocalServer):
        return models
    requests = adapter.window_requests(settings, credential, models)
    if not requests:
        return models
    server = adapter
    gate = asyncio.Semaphore(MAX_WINDOW_REQUESTS)

    async def window(request: HttpRequest) -> int | None:
        async with gate:
            try:
                authorized = await engine.authorize(provider, adapter, credential, request)
                body = await engine.transport.fetch_json(
                    authorized,
                    provider=provider,
                    parse_error=adapter.parse_error,
                    timeouts=WINDOW_TIMEOUTS,
                )
            except ProviderError as error:
                logger.info("%s: no context window from %s: %s", provider, request.url, error)
                return None
            return server.parse_window(body)

    found = await asyncio.gather(*(window(request) for _, request in requests))
    windows: dict[str | None, int] = {
        name: size for (name, _), size in zip(requests, found, strict=True) if size
    }
    return [_sized(model, windows) for model in models]


def _sized(model: ListedModel, windows: Mapping[str | None, int]) -> ListedModel:
    size = windows.get(model.name, windows.get(None))
    return replace(model, context_window=size) if size else model


def positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None
