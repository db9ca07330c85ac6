"""The HTTP request an adapter builds (plain data, no I/O), and the JSON round trip
an authenticator is handed to call a token endpoint through the shared transport."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None

    def body(self) -> bytes:
        if self.content is not None:
            return self.content
        if self.json is None:
            return b""
        return json.dumps(self.json, separators=(",", ":"), ensure_ascii=False).encode()


class FetchJson(Protocol):
    async def __call__(self, request: HttpRequest) -> Any: ...
