"""One call of the failover loop: everything about it, how it failed, and what it cost."""

from __future__ import annotations

import itertools
import os

import attrs

from ..errors import ProviderError, ProviderTimeoutError
from ..interfaces.provider import Provider
from ..types import (
    CompletionRequest,
    EmbeddingRequest,
    RequestLogEntry,
    TokenUsage,
)
from .catalogue import ModelEntry
from .pool import Pool

__all__ = [
    "AttemptContext",
    "FailedAttempt",
    "RoutedRequest",
    "attempt_cost",
    "deadline_error",
    "new_request_id",
]

#: What the router routes: a chat request or texts to embed.
RoutedRequest = CompletionRequest | EmbeddingRequest

_ids = itertools.count(1)
# A random prefix per process, so that the ids of several router processes do not clash.
_PREFIX = os.urandom(3).hex()


def new_request_id() -> str:
    """The id every attempt of one routed request is logged under."""
    return f"req-{_PREFIX}-{next(_ids)}"


@attrs.define
class FailedAttempt:
    """A call that failed, with the entry the request log gets for it."""

    error: ProviderError
    latency_ms: float
    # Logged once the loop knows whether another attempt follows ("error") or not ("exhausted").
    entry: RequestLogEntry


class AttemptContext:
    """One call of the loop, with everything about it: the request, the model, its number.

    The caller sets ``failure`` when the call failed and leaves it None on success.
    """

    __slots__ = (
        "entry",
        "failure",
        "model_id",
        "number",
        "pool",
        "provider",
        "remaining",
        "request",
        "request_id",
        "started",
    )

    def __init__(
        self,
        pool: Pool,
        request: RoutedRequest,
        request_id: str,
        model_id: str,
        entry: ModelEntry,
        provider: Provider,
        number: int,
        remaining: float,
    ) -> None:
        self.pool = pool
        self.request = request
        self.request_id = request_id
        self.model_id = model_id
        self.entry = entry
        self.provider = provider
        self.number = number
        self.remaining = remaining
        self.started = 0.0  # the clock's monotonic time when the call was sent
        self.failure: FailedAttempt | None = None


def attempt_cost(entry: ModelEntry, usage: TokenUsage | None, reported: float | None) -> float:
    """What a call cost: the configured price of its usage, else what the provider reported."""
    if entry.pricing is not None and usage is not None:
        return entry.pricing.cost(usage)
    return float(reported or 0.0)


def deadline_error(entry: ModelEntry) -> ProviderTimeoutError:
    """The error of a call cut off by the request's deadline (not retryable: no time is left)."""
    return ProviderTimeoutError(
        f"the request's deadline ran out while {entry.model_id} was answering",
        provider_id=entry.provider_id,
        model_id=entry.model_id,
        retryable=False,
    )
