"""The Anthropic Messages wire format: answers, stream events, errors, the model list."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..faults import Fault
from .wire import Answer, WireFormat, fill, reason, sse

__all__ = ["ANTHROPIC"]

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}

#: Named error → (status, type, message template).
_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    "quota": (402, "billing_error", "Your credit balance is too low to access the Anthropic API."),
    "auth": (401, "authentication_error", "invalid x-api-key: {key}"),
    "context_window": (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "invalid_request": (400, "invalid_request_error", "{message}"),
    "not_found": (404, "not_found_error", "{message}"),
}

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _validate(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: a non-empty list is required"
    if "anthropic-version" not in headers:
        return "anthropic-version: header is required"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    if any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
        return 'messages: Unexpected role "system". Use the top-level `system` parameter instead'
    return None


def _stop(answer: Answer) -> str:
    return _STOP.get(answer.finish_reason, answer.finish_reason)


def _body(answer: Answer) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if answer.text or not answer.tool_calls:
        content.append({"type": "text", "text": answer.text})
    content += [
        {"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
        for c in answer.tool_calls
    ]
    return {
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": _stop(answer),
        "stop_sequence": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": answer.completion_tokens},
    }


def _events(answer: Answer, body: Mapping[str, Any]) -> list[str]:
    start: dict[str, Any] = {
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": 1},
    }
    events = [
        sse({"type": "message_start", "message": start}, "message_start"),
        sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        sse({"type": "ping"}, "ping"),
    ]
    words = answer.text.split(" ") if answer.text else []
    for i, word in enumerate(words):
        text = word + (" " if i < len(words) - 1 else "")
        events.append(
            sse(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                "content_block_delta",
            )
        )
    events.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    for offset, call in enumerate(answer.tool_calls, start=1):
        block = {"type": "tool_use", "id": call["id"], "name": call["name"], "input": {}}
        events.append(
            sse(
                {"type": "content_block_start", "index": offset, "content_block": block},
                "content_block_start",
            )
        )
        arguments = json.dumps(call["arguments"])
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            delta = {"type": "input_json_delta", "partial_json": part}
            events.append(
                sse({"type": "content_block_delta", "index": offset, "delta": delta}, "content_block_delta")
            )
        events.append(sse({"type": "content_block_stop", "index": offset}, "content_block_stop"))
    events.append(
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop(answer), "stop_sequence": None},
                "usage": {"output_tokens": answer.completion_tokens},
            },
            "message_delta",
        )
    )
    events.append(sse({"type": "message_stop"}, "message_stop"))
    return events


def _error_body(fault: Fault, presented_key: str | None) -> tuple[int, dict[str, Any]]:
    if fault.error in _ERRORS:
        status, kind, template = _ERRORS[fault.error]
    else:
        status = fault.http_status
        kind = _TYPE_BY_STATUS.get(status, "api_error")
        template = fault.message or reason(status)
    return status, {"type": "error", "error": {"type": kind, "message": fill(template, fault, presented_key)}}


def _listing(models: Sequence[str]) -> dict[str, Any]:
    data = [
        {
            "type": "model",
            "id": m,
            "display_name": m.replace("-", " ").title(),
            "created_at": "2025-01-01T00:00:00Z",
        }
        for m in models
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


ANTHROPIC = WireFormat(
    name="anthropic",
    id_prefix="msg_",
    call_prefix="toolu_",
    stop_field="stop_sequences",
    head_events=3,
    validate=_validate,
    body=_body,
    events=_events,
    error_body=_error_body,
    error_event=lambda body: sse(body, "error"),
    listing=_listing,
)
