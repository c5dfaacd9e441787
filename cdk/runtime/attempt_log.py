"""``AttemptLog``: the request-log entry of each attempt, with its payloads when the log wants them."""

from __future__ import annotations

from typing import Any

import attrs

from ..clock import Clock
from ..errors import ProviderError
from ..types import (
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    RequestLogEntry,
    TokenUsage,
)
from .attempt import AttemptContext, FailedAttempt, RoutedRequest
from .telemetry import Telemetry

__all__ = ["AttemptLog"]


class AttemptLog:
    """Builds each attempt's entry and sends it through ``telemetry``'s request log."""

    def __init__(self, *, telemetry: Telemetry, clock: Clock) -> None:
        self.telemetry = telemetry
        self.clock = clock

    @property
    def wanted(self) -> bool:
        """True when some sink takes request log entries: without one, a success builds none."""
        return self.telemetry.wants_logs

    def record(self, entry: RequestLogEntry) -> None:
        """Send an entry to the request log."""
        self.telemetry.log(entry)

    def send(self, failure: FailedAttempt, status: str) -> None:
        """Log a failed attempt once its status is known."""
        self.telemetry.log(attrs.evolve(failure.entry, status=status))

    def entry(
        self,
        attempt: AttemptContext,
        latency_ms: float,
        *,
        status: str | None = None,
        usage: TokenUsage | None = None,
        cost: float | None = None,
        error: ProviderError | None = None,
        reply: CompletionResponse | EmbeddingResponse | None = None,
    ) -> RequestLogEntry:
        """The entry of one attempt; ``status`` defaults to "ok", or "error" with an ``error``."""
        payloads = self.telemetry.wants_payloads
        return RequestLogEntry(
            timestamp=self.clock.now(),
            request_id=attempt.request_id,
            model_id=attempt.model_id,
            provider_id=attempt.entry.provider_id,
            pool_id=attempt.pool.id,
            attempt=attempt.number,
            latency_ms=latency_ms,
            status=status or ("ok" if error is None else "error"),
            status_code=error.status_code if error is not None else None,
            error_category=str(error.category) if error is not None else None,
            error=str(error) if error is not None else None,
            usage=usage,
            cost=cost,
            request=_request_payload(attempt.request) if payloads else None,
            response=_reply_payload(reply) if payloads and reply is not None else None,
        )


def _request_payload(request: RoutedRequest) -> dict[str, Any]:
    if isinstance(request, EmbeddingRequest):
        out: dict[str, Any] = {"input": list(request.input)}
        if request.dimensions is not None:
            out["dimensions"] = request.dimensions
        return out
    out = {"messages": [m.to_dict() for m in request.messages]}
    for name in ("max_tokens", "temperature", "top_p", "session_id"):
        value = getattr(request, name)
        if value is not None:
            out[name] = value
    return out


def _reply_payload(reply: CompletionResponse | EmbeddingResponse) -> dict[str, Any]:
    if isinstance(reply, EmbeddingResponse):
        return {
            "model": reply.model,
            "data": [{"index": e.index, "embedding": list(e.embedding)} for e in reply.data],
        }
    return {
        "id": reply.id,
        "model": reply.model,
        "choices": [
            {"index": c.index, "message": c.message.to_dict(), "finish_reason": c.finish_reason}
            for c in reply.choices
        ],
    }
