"""Secret scrubbing and JSON-ready records shared by every observability sink.

A request log at ``LogLevel.FULL`` carries request and response payloads, which may
hold headers or keys. Every sink passes what it writes through :func:`redact` first,
so a secret never reaches a file, a webhook, a metric label or a span.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any

import attrs

from ..events import RoutingEvent
from ..types import RequestLogEntry, Secret, TraceEntry

__all__ = [
    "REDACTED",
    "event_record",
    "is_secret_key",
    "log_record",
    "redact",
    "redact_entry",
    "redact_text",
    "report_record",
    "scrubber",
    "secret_forms",
    "trace_record",
]

#: What a secret value is replaced with.
REDACTED = "**********"

# Key names (lowercase, "-" read as "_") whose values are secrets. Anchored at a word
# boundary so that "max_tokens" or "total_tokens" are not mistaken for a "token".
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:authorization|proxy_authorization|api_?key|access_?key|secret(?:_?key)?|private_?key"
    r"|password|passwd|passphrase|token|cookie|set_cookie|credentials?|signature|session_?key)$"
)
# Credentials that sit inside free text: "Bearer abc", "Basic dXNlcjpwdw==", "?api_key=abc".
# "Basic" must be followed by something base64-looking (a digit, "+", "/" or a lower-upper
# case change), so "Basic authentication failed" stays readable.
_INLINE_AUTH = re.compile(
    r"\b((?i:bearer))(\s+)[A-Za-z0-9._~+/-]{4,}=*"
    r"|\b(Basic)(\s+)(?=[A-Za-z0-9+/]*(?:[0-9+/]|[a-z][A-Z]))[A-Za-z0-9+/]{8,}=*"
)
_INLINE_PARAM = re.compile(
    r"(?i)\b((?:api[_-]?key|access[_-]?token|token|key|password|secret|sig|signature)=)[^&\s\"']+"
)


def is_secret_key(name: object) -> bool:
    """True when a mapping key names a secret (``Authorization``, ``api_key``, ``x-api-key``…)."""
    if not isinstance(name, str):
        return False
    return _SECRET_KEY.search(name.strip().lower().replace("-", "_")) is not None


def redact_text(text: str) -> str:
    """``text`` with inline credentials (bearer tokens, ``api_key=`` parameters) masked."""
    if not text:
        return text
    text = _INLINE_AUTH.sub(lambda m: f"{m.group(1) or m.group(3)}{m.group(2) or m.group(4)}{REDACTED}", text)
    return _INLINE_PARAM.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def secret_forms(secret: str) -> set[str]:
    """The spellings ``secret`` takes on the wire: raw, URL-encoded, JSON-escaped and base64."""
    if not secret:
        return set()
    forms = {secret}
    for quoted in (
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret, safe=""),
    ):
        forms.add(quoted)
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quoted))
    for escaped in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        forms.add(escaped)
        forms.add(escaped.replace("/", "\\/"))
    raw = secret.encode()
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        forms.add(encoded.decode())
        forms.add(encoded.decode().rstrip("="))
    return {form for form in forms if form}


def scrubber(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function masking every form of every secret in a text.

    A form that begins or ends with a letter or digit is masked only where it is not part of a
    longer word, so that a very short key does not eat letters out of ordinary words.
    """
    forms = sorted({form for secret in secrets for form in secret_forms(secret)}, key=len, reverse=True)
    if not forms:
        return _unchanged
    pattern = re.compile("|".join(_standalone(form) for form in forms))
    return lambda text: pattern.sub(REDACTED, text) if text else text


def _standalone(form: str) -> str:
    head = r"(?<![^\W_])" if form[0].isalnum() else ""
    tail = r"(?![^\W_])" if form[-1].isalnum() else ""
    return head + re.escape(form) + tail


def _unchanged(text: str) -> str:
    return text


def redact(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with every secret masked.

    Mappings lose the values of secret-named keys, :class:`Secret` objects and inline
    credentials in strings are masked, enums become their values, times ISO 8601,
    durations seconds, attrs objects mappings; anything else becomes its ``str``.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Enum):
        return redact(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_secret_key(k) and v is not None else redact(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        if len(value) == 2 and isinstance(value, list | tuple) and is_secret_key(value[0]):
            return [value[0], REDACTED]  # a (name, value) header pair
        return [redact(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if attrs.has(type(value)):
        return redact({a.name: getattr(value, a.name) for a in attrs.fields(type(value))})
    try:
        text = str(value)
    except Exception:
        text = f"<unprintable {type(value).__name__}>"
    return redact_text(text)


def redact_entry(entry: RequestLogEntry) -> RequestLogEntry:
    """A log entry whose payloads and error text hold no secret (for sinks that keep objects)."""
    return attrs.evolve(
        entry,
        request=None if entry.request is None else redact(entry.request),
        response=None if entry.response is None else redact(entry.response),
        error=None if entry.error is None else redact_text(entry.error),
    )


def event_record(event: RoutingEvent) -> dict[str, Any]:
    """A routing event as a JSON-ready record tagged ``kind: "event"``."""
    record: dict[str, Any] = {"kind": "event"}
    record.update(redact(event.to_dict()))
    return record


def log_record(entry: RequestLogEntry) -> dict[str, Any]:
    """A request-log entry as a JSON-ready record tagged ``kind: "log"``."""
    record: dict[str, Any] = {"kind": "log"}
    record.update(redact(entry))
    return record


def trace_record(entry: TraceEntry) -> dict[str, Any]:
    """A trace entry as a JSON-ready record tagged ``kind: "trace"``."""
    record: dict[str, Any] = {"kind": "trace"}
    record.update(redact(entry))
    return record


def report_record(stats: Mapping[str, Any], timestamp: datetime) -> dict[str, Any]:
    """A statistics snapshot as a JSON-ready record tagged ``kind: "report"``."""
    return {"kind": "report", "timestamp": timestamp.isoformat(), "stats": redact(stats)}
