"""What both wire formats share: the answer to render, SSE framing, and the format's shape."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Literal

import attrs

from ..faults import Fault

__all__ = ["Answer", "Flavour", "WireFormat", "fill", "reason", "sse"]

Flavour = Literal["openai", "anthropic"]


@attrs.frozen(kw_only=True)
class Answer:
    """One answer, decided before it is rendered in a wire format."""

    id: str
    model: str
    text: str
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


@attrs.frozen(kw_only=True)
class WireFormat:
    """How one API spells requests, answers, streams and errors."""

    name: Flavour
    #: Prefixes of answer ids and tool-call ids.
    id_prefix: str
    call_prefix: str
    #: The request field holding stop sequences.
    stop_field: str
    #: Stream events before the first content chunk (role, block start, ping).
    head_events: int
    #: ``validate(body, headers)``: what is wrong with a request, or None.
    validate: Callable[[Mapping[str, Any], Mapping[str, str]], str | None]
    #: The JSON body of a complete answer.
    body: Callable[[Answer], dict[str, Any]]
    #: The SSE events of a streamed answer (``request`` decides e.g. the usage chunk).
    events: Callable[[Answer, Mapping[str, Any]], list[str]]
    #: ``error_body(fault, presented_key)``: the status and JSON body of an error.
    error_body: Callable[[Fault, str | None], tuple[int, dict[str, Any]]]
    #: The SSE event carrying an error body mid-stream.
    error_event: Callable[[Mapping[str, Any]], str]
    #: The ``GET /v1/models`` body for these model ids.
    listing: Callable[[Sequence[str]], dict[str, Any]]


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n"


def reason(status: int) -> str:
    """The standard phrase of an HTTP status."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def fill(template: str, fault: Fault, presented_key: str | None) -> str:
    """An error message template with the presented key and the fault's message put in."""
    return template.format(key=presented_key or "", message=fault.message or "")
