"""When to retry a failed request, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..errors import ProviderError


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff with a small budget.

    Only failures before the first byte of the answer are retried; a wait the
    provider asks for (Retry-After) is honoured when it fits in `max_delay_s`,
    otherwise the error goes straight to the caller with `retryAfterMs`.
    """

    max_retries: int = 2
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay_s(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based), or None to give up."""
        if attempt > self.max_retries or not error.retryable:
            return None
        if error.retry_after_ms is not None:
            asked = error.retry_after_ms / 1000
            return asked if asked <= self.max_delay_s else None
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)
