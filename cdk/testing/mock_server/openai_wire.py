"""The OpenAI chat-completions wire format: answers, stream chunks, errors, the model list."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..faults import Fault
from .wire import Answer, WireFormat, fill, reason, sse

__all__ = ["OPENAI"]

#: Named error → (status, type, code, message template).
_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "rate_limit": (
        429,
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again later.",
    ),
    "quota": (
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    "auth": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: {key}."),
    "context_window": (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
    ),
    "overloaded": (503, "server_error", None, "The server is overloaded. Please try again later."),
    "invalid_request": (400, "invalid_request_error", None, "{message}"),
    "not_found": (404, "invalid_request_error", "model_not_found", "{message}"),
}


def _validate(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: a non-empty list is required"
    for i, message in enumerate(messages):
        problem = _check_content(message.get("content") if isinstance(message, dict) else None)
        if problem:
            return f"messages[{i}].content{problem}"
    for i, tool in enumerate(body.get("tools") or []):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
            return f"tools[{i}]: expected {{'type': 'function', 'function': {{...}}}}"
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            return f"tools[{i}].function.name: Field required"
    return _check_response_format(body.get("response_format"))


def _check_content(content: Any) -> str | None:
    # Content is a string, null, or a list of parts of a known type.
    if content is None or isinstance(content, str):
        return None
    if not isinstance(content, list):
        return ": expected a string or a list of content parts"
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind == "image_url":
            image = part.get("image_url")
            if isinstance(image, dict) and isinstance(image.get("url"), str) and image["url"]:
                continue
            return f"[{j}].image_url.url: Field required"
        return f"[{j}]: unsupported content part {part!r}"
    return None


def _check_response_format(fmt: Any) -> str | None:
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind in ("text", "json_object"):
        return None
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            return "response_format.json_schema.name: Field required"
        if not isinstance(spec.get("schema", {}), dict):
            return "response_format.json_schema.schema: expected an object"
        return None
    return "response_format.type: expected 'text', 'json_object' or 'json_schema'"


def _tool_calls(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
        }
        for call in answer.tool_calls
    ]


def _usage(answer: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def _body(answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text if answer.text or not answer.tool_calls else None,
    }
    if answer.tool_calls:
        message["tool_calls"] = _tool_calls(answer)
    return {
        "id": answer.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": answer.finish_reason, "logprobs": None}
        ],
        "usage": _usage(answer),
    }


def _events(answer: Answer, body: Mapping[str, Any]) -> list[str]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return sse(
            {
                "id": answer.id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": answer.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    events = [chunk({"role": "assistant", "content": ""})]
    words = answer.text.split(" ") if answer.text else []
    events += [chunk({"content": w + (" " if i < len(words) - 1 else "")}) for i, w in enumerate(words)]
    for index, call in enumerate(_tool_calls(answer)):
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]}))
    events.append(chunk({}, answer.finish_reason))
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        # OpenAI sends usage on a chunk of its own, with no choices at all.
        events.append(
            sse(
                {
                    "id": answer.id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": answer.model,
                    "choices": [],
                    "usage": _usage(answer),
                }
            )
        )
    events.append("data: [DONE]\n\n")
    return events


def _error_body(fault: Fault, presented_key: str | None) -> tuple[int, dict[str, Any]]:
    if fault.error in _ERRORS:
        status, kind, code, template = _ERRORS[fault.error]
    else:
        status = fault.http_status
        kind = "server_error" if status >= 500 else "invalid_request_error"
        code, template = None, fault.message or reason(status)
    error = {"message": fill(template, fault, presented_key), "type": kind, "param": None, "code": code}
    return status, {"error": error}


def _listing(models: Sequence[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "meshkit"} for m in models
        ],
    }


OPENAI = WireFormat(
    name="openai",
    id_prefix="chatcmpl-",
    call_prefix="call_",
    stop_field="stop",
    head_events=1,
    validate=_validate,
    body=_body,
    events=_events,
    error_body=_error_body,
    error_event=lambda body: sse(body),
    listing=_listing,
)
