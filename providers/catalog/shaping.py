"""Request shaping before anything is sent: temperature, max_tokens, and the context window.

- A temperature outside the provider's range is clamped (with a warning); a
  model that rejects any temperature does not get one (with a warning).
- max_tokens = min(the model's max output, the context window - the input
  estimate - a 10% margin on that estimate), never below MIN_VIABLE_TOKENS;
  a max_tokens the caller asked for is kept when it fits.
- A request whose input alone exceeds the context window is refused here,
  with contextLengthExceeded and the numbers, and never reaches the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from switchboard.protocol.chat import ChatParams
from switchboard.protocol.errors import ErrorCode

from ..base import Adapter, ModelTarget
from ..errors import ProviderError

SAFETY_MARGIN_PERCENT = 10
MIN_VIABLE_TOKENS = 256
#: More than any provider bills for one image (Anthropic's largest are about 1,600 tokens).
IMAGE_TOKENS_BOUND = 8_000


@dataclass(frozen=True)
class Shaped:
    params: ChatParams
    warnings: tuple[str, ...] = ()


def shape(
    params: ChatParams,
    target: ModelTarget,
    adapter: Adapter,
    estimate_input: Callable[[], int],
    upper_bound: int,
) -> Shaped:
    """`upper_bound` must be at least the input's tokens; `estimate_input` is called only
    when the bound alone cannot show that the input fits."""
    warnings: list[str] = []
    temperature = _temperature(params, target, adapter, warnings)
    max_tokens = _max_tokens(params, target, estimate_input, upper_bound, warnings)
    update = {"temperature": temperature, "max_tokens": max_tokens}
    if temperature == params.temperature and max_tokens == params.max_tokens:
        return Shaped(params, tuple(warnings))
    return Shaped(params.model_copy(update=update), tuple(warnings))


def _temperature(
    params: ChatParams, target: ModelTarget, adapter: Adapter, warnings: list[str]
) -> float | None:
    wanted = params.temperature
    if wanted is None:
        return None
    if not adapter.accepts_temperature(params, target):
        warnings.append(f"{target.id} takes no temperature: {wanted:g} was not sent")
        return None
    low, high = adapter.temperature_range(target)
    clamped = min(max(wanted, low), high)
    if clamped != wanted:
        warnings.append(
            f"temperature {wanted:g} is outside {target.provider}'s range {low:g} to {high:g}: "
            f"sent {clamped:g}"
        )
    return clamped


def _max_tokens(
    params: ChatParams,
    target: ModelTarget,
    estimate_input: Callable[[], int],
    upper_bound: int,
    warnings: list[str],
) -> int | None:
    window = target.info.context_window
    max_output = target.info.max_output_tokens
    if not window:
        return params.max_tokens
    input_limit = target.info.max_input_tokens or window
    ceiling = max_output or window
    estimate: int | None = None
    # The cheap bound often shows the input fits with room for the longest answer: no tokenizing.
    if _room(window, upper_bound) < ceiling or upper_bound > input_limit:
        estimate = estimate_input()
        if estimate > input_limit:
            raise ProviderError(
                ErrorCode.CONTEXT_LENGTH_EXCEEDED,
                f"the input is about {estimate:,} tokens, more than {target.id}'s "
                f"{input_limit:,}-token limit; it was not sent",
                provider=target.provider,
                suggestion="shorten the conversation, or pick a model with a larger window",
            )
    allowed = answer_room(target, upper_bound if estimate is None else estimate)
    wanted = params.max_tokens
    if wanted is None:
        return allowed
    if wanted > allowed:
        reason = (
            f"{target.id} writes at most {max_output:,}"
            if estimate is None or (max_output and allowed == max_output)
            else f"the input (about {estimate:,} tokens) leaves room for {allowed:,}"
        )
        warnings.append(f"maxTokens {wanted:,} lowered to {allowed:,}: {reason}")
        return allowed
    return wanted


def answer_room(target: ModelTarget, input_tokens: int) -> int:
    """The longest answer a request with this input can get (the max_tokens shaping sends)."""
    window = target.info.context_window
    max_output = target.info.max_output_tokens
    if not window:
        return max_output or MIN_VIABLE_TOKENS
    allowed = max(min(max_output or window, _room(window, input_tokens)), MIN_VIABLE_TOKENS)
    return min(allowed, max_output) if max_output else allowed


def _room(window: int, input_tokens: int) -> int:
    margin = -(-input_tokens * SAFETY_MARGIN_PERCENT // 100)  # rounded up, in integers
    return window - input_tokens - margin


def input_upper_bound(params: ChatParams) -> int:
    """At least the input's tokens, without a tokenizer.

    A byte-level BPE token is at least one byte, so the UTF-8 size of the
    request's JSON (text, tool schemas, roles and punctuation) bounds the
    tokens of everything but images, which are billed by size, not bytes.
    """
    images = sum(
        1
        for message in params.messages
        for part in message.parts()
        if getattr(part, "type", None) == "image"
    )
    size = len(params.model_dump_json(include={"system", "messages", "tools"}).encode())
    return size + images * IMAGE_TOKENS_BOUND
