"""HTTP error answers as ProviderErrors: the status, the body's words, how long to wait."""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ..errors import (
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    ModelAccessError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
)

__all__ = [
    "error_for_status",
    "error_from_envelope",
    "model_not_found",
    "parse_retry_after",
    "response_text",
    "retry_after_of",
    "status_text",
]

_QUOTA_MARKERS = (
    "insufficient_quota",
    "quota exceeded",
    "quota_exceeded",
    "exceeded your current quota",
    "billing",
    "credit balance",
)
#: Words of a 404 that says the model is unknown, or not open to this key (not a wrong URL).
_MODEL_NOT_FOUND_MARKERS = (
    "model_not_found",
    "not found",
    "not_found",
    "does not exist",
    "do not have access",
    "no access",
    "no such model",
    "unknown model",
)
_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "too many tokens",
    "prompt is too long",
)


def error_for_status(
    status: int,
    body: str = "",
    *,
    retry_after: float | None = None,
    provider_id: str | None = None,
) -> ProviderError:
    """The ProviderError for an HTTP status and its body (already redacted).

    A refused credential (401) is the whole provider's failure; a refused model (403, or a
    404 whose body says the model is unknown or not open to this key) is that model's only.
    """
    lowered = body.lower()
    detail = _short(body)
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    kwargs: dict[str, Any] = {"status_code": status, "retry_after": retry_after, "provider_id": provider_id}
    if any(m in lowered for m in _QUOTA_MARKERS) and status in (402, 403, 429):
        return QuotaExhaustedError(message, **kwargs)
    if status == 401:
        return AuthenticationError(message, **kwargs)
    if status == 403 or (status == 404 and model_not_found(body)):
        return ModelAccessError(message, **kwargs)
    if status == 429:
        return RateLimitError(message, **kwargs)
    if status in (408, 504):
        return ProviderTimeoutError(message, **kwargs)
    if status >= 500:
        return ProviderUnavailableError(message, **kwargs)
    if status in (400, 413, 422) and any(m in lowered for m in _CONTEXT_MARKERS):
        return ContextWindowExceededError(message, **kwargs)
    if 400 <= status < 500:
        return BadRequestError(message, **kwargs)
    return ProviderProtocolError(f"unexpected status {status}", **kwargs)


def model_not_found(body: str) -> bool:
    """True when an error body says the model is unknown, or not open to this key."""
    lowered = body.lower()
    return "model" in lowered and any(m in lowered for m in _MODEL_NOT_FOUND_MARKERS)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # NaN or infinity would make the router wait forever, or compare false everywhere.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def response_text(response: httpx.Response) -> str:
    """The body of a read response as text, or "" when it cannot be decoded."""
    try:
        return response.text
    except Exception:
        return ""


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def retry_after_of(headers: httpx.Headers | Mapping[str, str] | None) -> float | None:
    """How long an answer asks to be left alone, in seconds, or None when it does not say.

    ``retry-after-ms`` (OpenAI's, finer) is read before ``Retry-After``; a wait is never negative.
    """
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return max(0.0, value / 1000.0)
    return parse_retry_after(headers.get("retry-after"))


def status_text(status: int, detail: str) -> str:
    """The message of an error mapped from an HTTP status and its (already redacted) detail."""
    return f"HTTP {status}: {detail}" if detail else f"HTTP {status}"


def error_from_envelope(
    error: Any,
    status: int | None,
    headers: httpx.Headers | Mapping[str, str] | None,
    *,
    provider_id: str | None = None,
    redact: Callable[[str], str] = str,
) -> ProviderError:
    """An OpenAI-style error object (``{"type", "code", "message"}``, or a bare string) as a ProviderError.

    Such objects come in error bodies, inside a 200 and as stream events. Without an error
    status (a 200, a stream) a numeric ``code`` is taken as the status, as OpenRouter sends it,
    else the ``type`` or ``code`` says which status it stands for.
    """
    if isinstance(error, Mapping):
        kind = str(error.get("type") or "")
        code = error.get("code")
        message = str(error.get("message") or "")
    else:
        kind, code, message = "", None, str(error)
    if status is None or status < 400:
        status = code if isinstance(code, int) and 400 <= code < 600 else _status_from_kind(kind, code)
    tag = " ".join(dict.fromkeys(str(part) for part in (kind, code) if part))
    detail = redact(": ".join(part for part in (tag, message) if part))
    retry_after = retry_after_of(headers)
    markers = f"{kind} {code}".lower()
    kwargs: dict[str, Any] = {"status_code": status, "retry_after": retry_after, "provider_id": provider_id}
    if "insufficient_quota" in markers:
        return QuotaExhaustedError(status_text(status, detail), **kwargs)
    if "context_length_exceeded" in markers:
        return ContextWindowExceededError(status_text(status, detail), **kwargs)
    return error_for_status(status, detail, retry_after=retry_after, provider_id=provider_id)


def _status_from_kind(kind: str, code: Any) -> int:
    markers = f"{kind} {code}".lower()
    if "rate_limit" in markers:
        return 429
    if "invalid_api_key" in markers or "authentication" in markers:
        return 401
    if "model_not_found" in markers:
        return 404
    if "permission" in markers:
        return 403
    if "context_length_exceeded" in markers or "invalid_request" in markers:
        return 400
    return 500
