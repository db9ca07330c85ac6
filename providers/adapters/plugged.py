"""Plugins as adapters: a `ProviderPlugin` or a TOML declaration behind the engine's interface.

A Python plugin implements the small contract (providers/adapters/contract.py);
`plugin_adapter` wraps it into the full Adapter the engine runs, with errors of
the plugin's own code turned into ProviderErrors that name it. A declaration
gets its API's translator under its own id, base URL, key and headers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from switchboard.protocol.errors import ErrorCode

from ..base import (
    Adapter,
    AdapterDefaults,
    Credential,
    Framing,
    ModelTarget,
    ProviderSettings,
    join_url,
)
from ..errors import ProviderError, http_error
from ..wire.http import HttpRequest
from .contract import ProviderPlugin, StreamChunk, StreamState
from .declared import TRANSLATORS, DeclaredProvider

if TYPE_CHECKING:
    from switchboard.protocol.chat import ChatEvent, ChatParams

T = TypeVar("T")


class PluginAdapter(AdapterDefaults):
    """The engine's Adapter around one plugin's functions."""

    kind: ClassVar[str]
    display_name: ClassVar[str]
    default_base_url: ClassVar[str]
    api_key_envs: ClassVar[tuple[str, ...]]
    framing: ClassVar[Framing]
    plugin: ClassVar[ProviderPlugin]

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest:
        plugin = self.plugin
        outgoing = self._guarded(
            "format_request", lambda: plugin.format_request(params, target.model)
        )
        auth = self._guarded(
            "headers", lambda: plugin.headers(credential.secret if credential else None)
        )
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            **auth,
            **outgoing.headers,
            **settings.headers,
        }
        url = join_url(settings.base_url or self.default_base_url, outgoing.path)
        return HttpRequest(outgoing.method, url, headers=headers, json=outgoing.body)

    def decoder(self, target: ModelTarget) -> PluginDecoder:
        return PluginDecoder(self, StreamState(model=target.model))

    def decode_body(self, body: Any, target: ModelTarget) -> list[ChatEvent]:
        return self._guarded(
            "parse_response", lambda: self.plugin.parse_response(body, target.model)
        )

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        try:
            message = self.plugin.error_message(status, body)
        except Exception:
            message = f"HTTP {status}"
        return http_error(self.kind, status, headers, message)

    def _guarded(self, function: str, call: Callable[[], T]) -> T:
        """The plugin's code, run; a failure of it is the provider's error, not the server's."""
        try:
            return call()
        except ProviderError:
            raise
        except Exception as error:
            raise ProviderError(
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{self.kind}: the provider plugin failed in {function}: "
                f"{type(error).__name__}: {error}",
                provider=self.kind,
            ) from error


class PluginDecoder:
    """A StreamDecoder that hands each framed event to the plugin's `handle_stream_chunk`."""

    def __init__(self, adapter: PluginAdapter, state: StreamState) -> None:
        self._adapter = adapter
        self._state = state

    def feed(self, event: StreamChunk) -> list[ChatEvent]:
        plugin, state = self._adapter.plugin, self._state
        return self._adapter._guarded(
            "handle_stream_chunk", lambda: plugin.handle_stream_chunk(event, state)
        )

    def close(self) -> list[ChatEvent]:
        plugin, state = self._adapter.plugin, self._state
        return self._adapter._guarded("end_stream", lambda: plugin.end_stream(state))


def plugin_adapter(plugin: ProviderPlugin) -> Adapter:
    adapter_class = type(
        f"{type(plugin).__name__}Adapter",
        (PluginAdapter,),
        {
            "kind": plugin.id,
            "display_name": plugin.name,
            "default_base_url": plugin.base_url,
            "api_key_envs": tuple(plugin.api_key_env),
            "framing": plugin.framing,
            "plugin": plugin,
        },
    )
    adapter: Adapter = adapter_class()
    return adapter


def declared_adapter(declared: DeclaredProvider) -> Adapter:
    """The declaration's API translator, as the declared provider."""
    module_name, _, class_name = TRANSLATORS[declared.api][0].partition(":")
    translator: Any = getattr(importlib.import_module(module_name), class_name)
    headers = dict(declared.headers)

    class Declared(translator):
        kind = declared.id
        display_name = declared.name
        default_base_url = declared.base_url
        api_key_envs = (declared.api_key_env,) if declared.api_key_env else ()

        def build_request(
            self,
            params: ChatParams,
            target: ModelTarget,
            settings: ProviderSettings,
            credential: Credential | None,
        ) -> HttpRequest:
            # The config's `headers` for this provider win over the file's.
            merged = replace(settings, headers={**headers, **settings.headers})
            request: HttpRequest = super().build_request(params, target, merged, credential)
            return request

        def models_request(
            self, settings: ProviderSettings, credential: Credential | None
        ) -> HttpRequest | None:
            # The file's models are the list: the endpoint's answer would not add prices.
            return None

    Declared.__name__ = Declared.__qualname__ = f"Declared{translator.__name__}"
    adapter: Adapter = Declared()
    return adapter
