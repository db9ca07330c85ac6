"""Input-token counts for a chat request: the provider's count endpoint when it has one.

An endpoint's answer is exact and cached by the request's content hash, so the
same prompt is not counted twice. With no endpoint, or when it cannot be
reached, the local tokenizer gives an estimate (marked `exact: false`). A model
whose endpoint refuses to count for it (Bedrock's CountTokens serves only some
models) is not asked again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

from switchboard.protocol.chat import ChatParams
from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError
from ..wire.transport import Timeouts
from .tokens import TokenCount, count_messages

if TYPE_CHECKING:
    from ..base import ModelTarget, ProviderAccess

logger = logging.getLogger("switchboard.tokens")

COUNT_TIMEOUTS = Timeouts(connect_s=3.0, headers_s=10.0, stall_s=10.0, total_s=20.0)
CACHE_SIZE = 512
PROVIDER_METHOD = "provider"
#: an endpoint's answers that say it will never count for this model
REFUSALS = frozenset({ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_MODEL, ErrorCode.UNSUPPORTED})


class TokenCounter:
    def __init__(self, engine: ProviderAccess) -> None:
        self._engine = engine
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._refused: set[str] = set()

    async def count(self, params: ChatParams, target: ModelTarget) -> TokenCount:
        engine = self._engine
        settings = engine.settings(target.provider)
        adapter = engine.adapter(target.provider, target.model)
        credential = engine.credential(target.provider)
        request = None
        if target.id not in self._refused and engine.has_credentials(target.provider):
            request = adapter.count_tokens_request(params, target, settings, credential)
        if request is not None:
            key = hashlib.sha256(request.url.encode() + b"\0" + request.body()).hexdigest()
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return TokenCount(cached, True, PROVIDER_METHOD)
            try:
                request = await engine.authorize(target.provider, adapter, credential, request)
                body = await engine.transport.fetch_json(
                    request,
                    provider=target.provider,
                    parse_error=adapter.parse_error,
                    timeouts=COUNT_TIMEOUTS,
                )
                counted = adapter.parse_count_tokens(body)
            except ProviderError as error:
                logger.info("%s count endpoint failed, estimating: %s", target.provider, error)
                if error.code in REFUSALS:
                    self._refused.add(target.id)
            else:
                self._remember(key, counted)
                return TokenCount(counted, True, PROVIDER_METHOD)
        # Off the event loop: a long conversation takes a while to tokenize.
        local = await asyncio.to_thread(
            count_messages,
            settings.kind,
            target.model,
            params.messages,
            params.system,
            params.tools,
        )
        if local.exact or engine.calibration.ratio(target.id) is None:
            return local
        calibrated = engine.calibration.apply(target.id, local.input_tokens)
        return TokenCount(calibrated, False, f"{local.method}, calibrated")

    def _remember(self, key: str, count: int) -> None:
        self._cache[key] = count
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
