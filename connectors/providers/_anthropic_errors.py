"""Anthropic's error bodies as meshkit's errors, in an answer or as an event inside a stream."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from meshkit import (
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    ModelAccessError,
    ProviderError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
)
from meshkit.interfaces import error_for_status, model_not_found, parse_retry_after, status_text

__all__ = ["error_from_body"]

_ERROR_TYPES: dict[str, type[ProviderError]] = {
    "authentication_error": AuthenticationError,
    "permission_error": ModelAccessError,
    "billing_error": QuotaExhaustedError,
    "rate_limit_error": RateLimitError,
    "overloaded_error": ProviderUnavailableError,
    "api_error": ProviderUnavailableError,
    "not_found_error": BadRequestError,
    "request_too_large": BadRequestError,
}

_STATUS_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def error_from_body(
    error: Any,
    status: int | None,
    headers: httpx.Headers | Mapping[str, str] | None,
    *,
    provider_id: str,
    redact: Callable[[str], str],
) -> ProviderError:
    """Map ``{"type": "error", "error": {"type": ..., "message": ...}}`` to a ProviderError.

    ``status`` is None (or below 400) for an error event inside a stream: the error's type
    then says which status it stands for. ``redact`` takes secrets out of the message.
    """
    kind = str(error.get("type") or "") if isinstance(error, Mapping) else ""
    message = str(error.get("message") or "") if isinstance(error, Mapping) else str(error or "")
    if status is None or status < 400:  # an error event inside a stream
        status = _STATUS_BY_TYPE.get(kind, 500)
    detail = redact(": ".join(part for part in (kind, message) if part))
    text = status_text(status, detail)
    # Anthropic sends Retry-After alone; a stray retry-after-ms from a proxy is not its word.
    retry_after = parse_retry_after(headers.get("retry-after")) if headers is not None else None
    kwargs: dict[str, Any] = {"status_code": status, "retry_after": retry_after, "provider_id": provider_id}
    lowered = message.lower()
    if "credit balance" in lowered:
        return QuotaExhaustedError(text, **kwargs)
    if kind == "invalid_request_error" and ("prompt is too long" in lowered or "context window" in lowered):
        return ContextWindowExceededError(text, **kwargs)
    if kind == "not_found_error" and model_not_found(f"{kind} {message}"):
        return ModelAccessError(text, **kwargs)  # "model: claude-x": that model, not the request
    cls = _ERROR_TYPES.get(kind)
    if cls is not None:
        return cls(text, **kwargs)
    return error_for_status(status, detail, retry_after=retry_after, provider_id=provider_id)
