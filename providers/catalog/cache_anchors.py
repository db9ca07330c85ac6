"""Where a request may put prompt-cache anchors, from the model's cache configuration.

APIs with explicit cache breakpoints (Anthropic's `cache_control`, Bedrock's
`cachePoint`) refuse a request with more of them than the model allows. The
adapters mark every anchor the caller asked for, in prompt order (tools,
system, messages), then keep only the last ones: a later anchor caches the
whole prefix before it, so the earliest are the ones worth least. Tool
definitions get an anchor of their own when the model can cache them, the
request asks for caching at all, and they are long enough to be cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from switchboard.protocol.catalog import ModelInfo
from switchboard.protocol.chat import ChatParams

from .tokens import compact_tally

#: Anthropic's and Bedrock's limit per request, for a model the catalog does not describe.
DEFAULT_MAX_ANCHORS = 4


def anchor_limit(info: ModelInfo, reserved: int = 0) -> int:
    """How many anchors the request's blocks may carry, `reserved` ones set apart."""
    configured = info.cache_configuration
    limit = DEFAULT_MAX_ANCHORS if configured is None else configured.max_cache_anchors
    return max(limit - reserved, 0)


def caching_requested(params: ChatParams) -> bool:
    return any(message.cache for message in params.messages)


def caches_tools(params: ChatParams, info: ModelInfo) -> bool:
    """True when the tool definitions should carry an anchor of their own."""
    configured = info.cache_configuration
    if configured is None or not configured.cache_tools or configured.max_cache_anchors == 0:
        return False
    if not params.tools or not caching_requested(params):
        return False
    definitions = json.dumps(
        [tool.model_dump(mode="json", exclude_none=True) for tool in params.tools]
    )
    return compact_tally(definitions).tokens >= configured.min_cacheable_tokens


def keep_last(drops: Sequence[Callable[[], None]], limit: int) -> int:
    """Removes every anchor but the last `limit`; `drops` are their removers in prompt order.

    Returns how many were removed.
    """
    excess = max(len(drops) - limit, 0)
    for drop in drops[:excess]:
        drop()
    return excess
