"""What a provider translator is: the interface every adapter implements.

An adapter is sans-IO. It builds an HttpRequest from normalized ChatParams,
turns each wire event of the answer into normalized ChatEvents (through a
StreamDecoder made per request), and turns an error answer into a
ProviderError. The engine (providers/engine.py) and the transport do the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    # Only for annotations: the server imports this module at start-up, before pydantic.
    from switchboard.protocol.catalog import ModelInfo
    from switchboard.protocol.chat import ChatEvent, ChatParams

    from .errors import ProviderError
    from .http import HttpRequest

Framing = Literal["sse", "eventstream", "json"]


@dataclass(frozen=True)
class Credential:
    """A secret and where it came from (`env:OPENAI_API_KEY`, `keyring`, ...)."""

    secret: str = field(repr=False)
    source: str

    def __str__(self) -> str:
        return f"<credential from {self.source}>"


@dataclass(frozen=True)
class ProviderSettings:
    """One `[providers.NAME]` table of the config, after validation."""

    id: str
    kind: str
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelTarget:
    """A resolved `provider/model`: which provider, the wire model name, its catalog entry."""

    provider: str
    model: str
    info: ModelInfo

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.model}"


class StreamDecoder(Protocol):
    """Turns one request's wire events into normalized events, in order."""

    def feed(self, event: Any) -> list[ChatEvent]:
        """One framed wire event (an SSEEvent for SSE providers)."""
        ...

    def close(self) -> list[ChatEvent]:
        """The body ended: whatever is still pending (an unfinished tool call, a stop)."""
        ...


class Adapter(Protocol):
    kind: ClassVar[str]
    display_name: ClassVar[str]
    default_base_url: ClassVar[str]
    api_key_envs: ClassVar[tuple[str, ...]]
    framing: ClassVar[Framing]

    def build_request(
        self,
        params: ChatParams,
        target: ModelTarget,
        settings: ProviderSettings,
        credential: Credential | None,
    ) -> HttpRequest: ...

    def decoder(self, target: ModelTarget) -> StreamDecoder: ...

    def parse_error(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> ProviderError: ...


def join_url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")
