"""The shared scrubber: secrets never leave a sink, whatever shape they hide in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from observability_helpers import NOW, PLAIN_SECRET, event, log_entry, trace_entry

from meshkit.enums import DeactivationReason, LogLevel
from meshkit.interfaces.redaction import (
    REDACTED,
    event_record,
    is_secret_key,
    log_record,
    redact,
    redact_entry,
    redact_text,
    trace_record,
)
from meshkit.types import Secret, TokenUsage


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "authorization",
        "api_key",
        "API-KEY",
        "x-api-key",
        "apikey",
        "X-Goog-Api-Key",
        "password",
        "client_secret",
        "access_token",
        "token",
        "Cookie",
        "set-cookie",
        "credentials",
        "proxy-authorization",
        "private_key",
        "OPENAI_API_KEY",
    ],
)
def test_secret_key_names_are_recognised(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "total_tokens", "prompt_tokens", "model", "content", "cache_key", "keyword", "role"],
)
def test_ordinary_key_names_are_kept(name: str) -> None:
    assert not is_secret_key(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {PLAIN_SECRET}", f"Authorization: Bearer {REDACTED}"),
        (f"GET /v1/models?api_key={PLAIN_SECRET}&limit=3", f"GET /v1/models?api_key={REDACTED}&limit=3"),
        ("Basic dXNlcjpwYXNzd29yZA==", f"Basic {REDACTED}"),
        ("Basic authentication failed", "Basic authentication failed"),
        ("Token limit reached for local.small", "Token limit reached for local.small"),
    ],
)
def test_inline_credentials_are_masked_and_prose_is_left_alone(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_masks_nested_secrets_and_makes_values_json_ready() -> None:
    value = {
        "headers": {"Authorization": f"Bearer {PLAIN_SECRET}", "content-type": "application/json"},
        "pairs": [("x-api-key", PLAIN_SECRET), ("accept", "*/*")],
        "deep": [{"key": Secret(PLAIN_SECRET)}, {"nested": {"password": {"value": PLAIN_SECRET}}}],
        "when": NOW,
        "wait": timedelta(seconds=1.5),
        "reason": DeactivationReason.MANUAL,
        "usage": TokenUsage(prompt_tokens=1, completion_tokens=2),
        "blob": b"\x00\x01",
        "tags": {"b"},
        "max_tokens": 100,
    }
    out = redact(value)
    assert PLAIN_SECRET not in repr(out)
    assert out["headers"] == {"Authorization": REDACTED, "content-type": "application/json"}
    assert out["pairs"] == [["x-api-key", REDACTED], ["accept", "*/*"]]
    assert out["deep"] == [{"key": REDACTED}, {"nested": {"password": REDACTED}}]
    assert out["when"] == NOW.isoformat() and out["wait"] == 1.5 and out["reason"] == "manual"
    assert out["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert out["blob"] == "<2 bytes>" and out["tags"] == ["b"] and out["max_tokens"] == 100


def test_an_object_whose_str_raises_is_described_not_raised() -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert redact({"x": Unprintable()}) == {"x": "<unprintable Unprintable>"}


@pytest.mark.parametrize("level", list(LogLevel))
def test_records_hold_no_secret_at_any_log_level(level: LogLevel) -> None:
    records = [
        event_record(event(api_key=Secret(PLAIN_SECRET), note=f"Bearer {PLAIN_SECRET}")),
        log_record(log_entry().at_level(level)),
        trace_record(trace_entry(message=f"retrying with Bearer {PLAIN_SECRET}")),
    ]
    assert PLAIN_SECRET not in repr(records)
    assert [r["kind"] for r in records] == ["event", "log", "trace"]


def test_redact_entry_keeps_the_payload_shape_without_secrets() -> None:
    entry = redact_entry(log_entry())
    assert entry.request is not None and entry.request["messages"] == [{"role": "user", "content": "hi"}]
    assert entry.request["headers"] == {"Authorization": REDACTED, "x-api-key": REDACTED}
    assert entry.response == {"content": "hello", "api_key": REDACTED}
