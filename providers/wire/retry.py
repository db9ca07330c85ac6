"""When to retry a failed request, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass

from switchboard.protocol.errors import ErrorCode

from ..errors import ProviderError


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff with a small budget.

    Only failures before the first byte of the answer are retried; a wait the
    provider asks for (Retry-After) is honoured when it fits in `max_delay_s`,
    otherwise the error goes straight to the caller with `retryAfterMs`.
    A timeout is retried at most `max_timeout_retries` times: each one already
    cost the user a whole limit's wait.

    A 429's Retry-After also pauses the provider (`pause_s`): every other request to it
    waits the rest of that pause under the same rule, so a pause longer than
    `max_delay_s` fails them at once with `retryAfterMs`, as it fails the one refused.
    """

    max_retries: int = 2
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_timeout_retries: int = 1

    def delay_s(self, attempt: int, error: ProviderError, *, timeouts: int = 0) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based), or None to give up.

        `timeouts` is how many of the attempts so far timed out, this one included.
        """
        if attempt > self.max_retries or not error.retryable:
            return None
        if error.code == ErrorCode.TIMEOUT and timeouts > self.max_timeout_retries:
            return None
        if error.retry_after_ms is not None:
            asked = error.retry_after_ms / 1000
            return asked if asked <= self.max_delay_s else None
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def pause_s(self, error: ProviderError) -> float | None:
        """How long the provider asked every request to stay away: a 429's Retry-After."""
        if error.code != ErrorCode.RATE_LIMITED or error.retry_after_ms is None:
            return None
        return error.retry_after_ms / 1000

    def waits_out(self, pause_s: float) -> bool:
        """Whether a request waits for the rest of a provider's pause, or fails at once."""
        return pause_s <= self.max_delay_s
