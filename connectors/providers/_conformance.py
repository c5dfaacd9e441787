"""Canned upstream answers, in each provider's wire format, for the conformance suite."""

from __future__ import annotations

import json
from typing import Any

from meshkit.testing import ConformanceSpec, HTTPPayloads, Loopback, Options, openai_payloads


def _sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}"


def openai_compatible_spec() -> ConformanceSpec:
    """The suite's ready-made chat-completions payloads; a local base URL (never contacted)."""
    return ConformanceSpec(
        config={"base_url": "http://127.0.0.1:8000/v1"},
        model="conformance-model",
        http=openai_payloads(),
        loopback=Loopback(wire="openai"),
        # What docs/connectors/provider-openai-compatible.md promises about the options.
        options=Options(
            defaults={
                "base_url": "http://127.0.0.1:8000/v1",
                "preset": None,
                "model": None,
                "stream_usage": True,
                "max_tokens_field": "max_tokens",
            },
            accepted=(
                {"preset": "ollama"},
                {"preset": "groq", "api_key": "sk-conformance-key"},
                {"max_tokens_field": "max_completion_tokens"},
            ),
            refused=(
                {"base_url": "ftp://127.0.0.1/v1"},
                {"max_tokens_field": "max_length"},
                {"preset": "no-such-service"},
            ),
        ),
    )


def mock_spec() -> ConformanceSpec:
    """The in-process mock, with a price for the model the tests name (it declares ``pricing``)."""
    price = {"input_per_1k": 0.5, "output_per_1k": 1.5}
    return ConformanceSpec(
        config={"models": ["mock-small", "mock-large"], "pricing": {"mock-small": price}}, model="mock-small"
    )


def anthropic_spec() -> ConformanceSpec:
    """Messages API payloads, its SSE event types ending in ``message_stop``, a model list."""
    start: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-small",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    lines = (
        _sse({"type": "message_start", "message": start}, "message_start"),
        _sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        _sse({"type": "ping"}, "ping"),
        _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello "}},
            "content_block_delta",
        ),
        _sse(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "there."}},
            "content_block_delta",
        ),
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 2},
            },
            "message_delta",
        ),
        _sse({"type": "message_stop"}, "message_stop"),
    )
    return ConformanceSpec(
        config={"api_key": "sk-ant-conformance-key", "base_url": "http://127.0.0.1:8000/v1"},
        model="claude-small",
        loopback=Loopback(wire="anthropic"),
        http=HTTPPayloads(
            completion_body={
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-small",
                "content": [{"type": "text", "text": "Hello there."}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 2},
            },
            stream_lines=lines,
            models_body={
                "data": [
                    {
                        "type": "model",
                        "id": "claude-small",
                        "display_name": "Claude Small",
                        "created_at": "2025-01-01T00:00:00Z",
                    },
                ],
                "has_more": False,
                "first_id": "claude-small",
                "last_id": "claude-small",
            },
            completion_path="/messages",
            models_path="/models",
            malformed_stream_line="data: {this is not json",
        ),
    )
