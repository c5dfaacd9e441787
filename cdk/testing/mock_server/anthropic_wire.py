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
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            return f"tools.{i}.name: Field required"
        if not isinstance(tool.get("input_schema"), dict):
            return f"tools.{i}.input_schema: Field required"
    return _check_messages(messages)


_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def _check_messages(messages: list[Any]) -> str | None:
    """Content blocks as the Messages API takes them; tool results answer earlier tool uses."""
    used: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return f"messages.{i}.role: expected 'user' or 'assistant'"
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"messages.{i}.content: expected a string or a list of blocks"
        for j, block in enumerate(content):
            where = f"messages.{i}.content.{j}"
            problem = _check_block(block, role, used)
            if problem:
                return f"{where}{problem}"
    return None


def _check_block(block: Any, role: str, used: set[str]) -> str | None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        return None if isinstance(block.get("text"), str) else ".text: Field required"
    if kind == "image":
        source = block.get("source")
        if not isinstance(source, dict):
            return ".source: Field required"
        if source.get("type") == "base64":
            if source.get("media_type") not in _IMAGE_TYPES:
                return f".source.media_type: expected one of {', '.join(_IMAGE_TYPES)}"
            return (
                None
                if isinstance(source.get("data"), str) and source["data"]
                else ".source.data: Field required"
            )
        if source.get("type") == "url":
            return (
                None
                if str(source.get("url", "")).startswith(("http://", "https://"))
                else ".source.url: bad URL"
            )
        return ".source.type: expected 'base64' or 'url'"
    if kind == "tool_use":
        if role != "assistant":
            return ": tool_use blocks belong to assistant turns"
        if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
            return ": tool_use needs an id and a name"
        if not isinstance(block.get("input"), dict):
            return ".input: expected an object"
        used.add(block["id"])
        return None
    if kind == "tool_result":
        if role != "user":
            return ": tool_result blocks belong to user turns"
        if block.get("tool_use_id") not in used:
            return f": tool_result for unknown tool_use_id {block.get('tool_use_id')!r}"
        inner = block.get("content", "")
        if isinstance(inner, list):
            for part in inner:
                if not isinstance(part, dict) or part.get("type") not in ("text", "image"):
                    return ".content: tool results hold text and image blocks"
        elif not isinstance(inner, str):
            return ".content: expected a string or a list of blocks"
        return None
    return f".type: unsupported content block {kind!r}"


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
