"""Reading a recorded request back into what it asked for, whichever of the two APIs it spoke."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["SentChat", "read_chat"]


@attrs.frozen(kw_only=True)
class SentChat:
    """A chat request as it reached the wire, in one shape for both APIs."""

    wire: str

    model: Any
    #: ``(role, text)`` for every message, system ones first where the API hoists them.
    messages: list[tuple[str, str]]
    max_tokens: Any
    temperature: Any
    top_p: Any
    stop: list[str]
    #: The names of the tools offered.
    tools: list[str]
    #: ``auto``, ``none``, ``required``, ``tool:NAME``, or None when not sent.
    tool_choice: str | None
    response_format: Any
    stream: bool
    #: OpenAI's ``stream_options.include_usage``.
    stream_usage: bool


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _openai_choice(choice: Any) -> str | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        return choice
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        return f"tool:{name}"
    return json.dumps(choice)


def _anthropic_choice(choice: Any) -> str | None:
    if choice is None:
        return None
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if kind == "tool":
        return f"tool:{choice.get('name')}"
    return {"auto": "auto", "any": "required", "none": "none"}.get(str(kind), json.dumps(choice))


def read_chat(wire: str, body: Any) -> SentChat:
    """What the recorded JSON ``body`` of an ``openai`` or ``anthropic`` request asked for."""
    assert isinstance(body, Mapping), f"the request body is not a JSON object: {body!r}"
    messages = [
        (str(m.get("role")), _text(m.get("content")))
        for m in body.get("messages") or []
        if isinstance(m, Mapping)
    ]
    stop = body.get("stop") if wire == "openai" else body.get("stop_sequences")
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    tools: list[str] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping):
            name = (tool.get("function") or {}).get("name") if wire == "openai" else tool.get("name")
            tools.append(str(name))
    if wire == "openai":
        choice = _openai_choice(body.get("tool_choice"))
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    else:
        system = body.get("system")
        if system:
            messages.insert(0, ("system", _text(system)))
        choice = _anthropic_choice(body.get("tool_choice"))
        max_tokens = body.get("max_tokens")
    options = body.get("stream_options")
    return SentChat(
        wire=wire,
        model=body.get("model"),
        messages=messages,
        max_tokens=max_tokens,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=[str(s) for s in stops],
        tools=tools,
        tool_choice=choice,
        response_format=body.get("response_format"),
        stream=bool(body.get("stream")),
        stream_usage=isinstance(options, Mapping) and bool(options.get("include_usage")),
    )
