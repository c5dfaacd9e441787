"""meshkit's exceptions as OpenAI's error answers: ``{"error": {"message", "type", "code", "param"}}``.

The status says whose fault it is: 4xx for the client's request, 429 when every model is
rate-limited (with ``Retry-After``), 502 when the upstreams failed, 503 when no model is active.
Messages come from meshkit's own exceptions, which never carry a secret.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from ..errors import (
    AllModelsExhaustedError,
    BadRequestError,
    ConfigError,
    ContextWindowExceededError,
    NoCapableModelError,
    NoModelAvailableError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitError,
    RoutingError,
    UnknownTargetError,
)
from .wire import RequestBodyError

__all__ = ["ErrorAnswer", "answer_for", "error_answer"]


@attrs.frozen
class ErrorAnswer:
    """What to send for a failure: status, OpenAI's body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = attrs.field(factory=dict)


def error_answer(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None, **headers: str
) -> ErrorAnswer:
    """An answer in OpenAI's error shape."""
    body = {"error": {"message": message, "type": kind, "code": code, "param": param}}
    return ErrorAnswer(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


def _retry_after(errors: list[BaseException]) -> str | None:
    waits = [e.retry_after for e in errors if isinstance(e, ProviderError) and e.retry_after is not None]
    return str(max(1, math.ceil(min(waits)))) if waits else None


def _exhausted(exc: AllModelsExhaustedError) -> ErrorAnswer:
    errors = [a.error for a in exc.attempts if a.skipped is None]
    if errors and all(isinstance(e, RateLimitError | QuotaExhaustedError) for e in errors):
        wait = _retry_after(errors)
        extra = {"retry_after": wait} if wait else {}
        return error_answer(429, str(exc), "rate_limit_error", "rate_limit_exceeded", **extra)
    return error_answer(502, str(exc), "api_error", "upstream_error")


def answer_for(exc: BaseException) -> ErrorAnswer | None:
    """The answer for an exception a route may raise; None for one that is a bug (500)."""
    if isinstance(exc, RequestBodyError):
        return error_answer(400, str(exc), "invalid_request_error", "invalid_request", exc.param)
    if isinstance(exc, UnknownTargetError):
        return error_answer(404, str(exc), "invalid_request_error", "model_not_found", "model")
    if isinstance(exc, AllModelsExhaustedError):
        return _exhausted(exc)
    if isinstance(exc, NoCapableModelError):  # the request needs what no model of the target has
        return error_answer(400, str(exc), "invalid_request_error", "no_capable_model")
    if isinstance(exc, NoModelAvailableError):
        return error_answer(503, str(exc), "service_unavailable", "no_model_available")
    if isinstance(exc, RoutingError):  # a request no model can serve (e.g. it needs a missing feature)
        return error_answer(400, str(exc), "invalid_request_error", _code(exc))
    if isinstance(exc, ContextWindowExceededError):
        return error_answer(400, str(exc), "invalid_request_error", "context_length_exceeded", "messages")
    if isinstance(exc, BadRequestError):
        return error_answer(400, str(exc), "invalid_request_error", "invalid_request")
    if isinstance(exc, ProviderError):
        return error_answer(502, str(exc), "api_error", "upstream_error")
    if isinstance(exc, TypeError | ValueError) and not isinstance(exc, ConfigError):
        # The mesh's own checks of a request (an unknown keyword, a wrong value).
        return error_answer(400, str(exc), "invalid_request_error", "invalid_request")
    return None


def _code(exc: RoutingError) -> str:
    name = type(exc).__name__.removesuffix("Error")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
