"""Anthropic's Messages API ⇄ meshkit's OpenAI-shaped types: messages, tools, images, usage.

System messages are left to the caller (they go in ``system``); tool results become user turns of
``tool_result`` blocks; ``image_url`` content parts become image blocks (data URLs as base64,
http(s) URLs as they are); ``stop_reason`` becomes the usual ``finish_reason``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from meshkit import BadRequestError, ChatMessage, TokenUsage

__all__ = [
    "FINISH_REASONS",
    "answer_message",
    "finish_reason",
    "messages",
    "prompt_tokens",
    "tool",
    "tool_choice",
    "usage",
]

#: Messages API stop reasons → the finish reasons callers already know.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


# --- answers -------------------------------------------------------------------------


def answer_message(blocks: list[Any]) -> ChatMessage:
    """The assistant message of an answer's content blocks: its text and its tool calls."""
    text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
    calls = tuple(
        {
            "id": b["id"],
            "type": "function",
            "function": {"name": b["name"], "arguments": json.dumps(b.get("input") or {})},
        }
        for b in blocks
        if b.get("type") == "tool_use"
    )
    return ChatMessage(
        role="assistant", content=text if text or not calls else None, tool_calls=calls or None
    )


def finish_reason(stop_reason: Any) -> str | None:
    """The OpenAI finish reason of a Messages API stop reason (an unknown one as it is)."""
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(str(stop_reason), str(stop_reason))


def prompt_tokens(usage: Mapping[str, Any]) -> int:
    """The prompt tokens of a ``usage`` object."""
    # Cached prompt tokens are still prompt tokens, counted apart by the API.
    return sum(
        int(usage.get(k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def usage(data: Mapping[str, Any]) -> TokenUsage:
    """A ``usage`` object as meshkit counts it."""
    return TokenUsage(prompt_tokens(data), int(data.get("output_tokens") or 0))


# --- requests ------------------------------------------------------------------------


def tool(declared: Mapping[str, Any]) -> dict[str, Any]:
    """One tool as the Messages API declares it."""
    # OpenAI's {"type": "function", "function": {...}} or Anthropic's own {"name", "input_schema"}.
    if "input_schema" in declared:
        return dict(declared)
    fn = declared.get("function", declared)
    out: dict[str, Any] = {
        "name": fn["name"],
        "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
    }
    if fn.get("description"):
        out["description"] = fn["description"]
    return out


def tool_choice(choice: str | Mapping[str, Any]) -> dict[str, Any] | None:
    """The Messages API's ``tool_choice``; None for "none" (send no tools at all)."""
    if isinstance(choice, str):
        if choice == "none":
            return None
        return {"type": {"auto": "auto", "required": "any", "any": "any"}.get(choice, "auto")}
    if choice.get("type") == "function":
        return {"type": "tool", "name": choice["function"]["name"]}
    return dict(choice)


def messages(conversation: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    """The ``messages`` of a Messages call: every turn but the system ones, in content blocks."""
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        # Consecutive messages of one role merge: parallel tool results go back as one user turn.
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in conversation:
        if m.role in ("system", "developer"):
            continue
        if m.role == "tool":
            result = m.content if isinstance(m.content, str | None) else _blocks(m.content)
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": result or ""}
            add("user", [block])
            continue
        blocks = _blocks(m.content)
        for call in m.tool_calls or ():
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.function.name,
                    "input": _arguments(call.function.arguments),
                }
            )
        add("assistant" if m.role == "assistant" else "user", blocks)
    return out


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {"arguments": raw}
    return raw or {}


def _image(part: Mapping[str, Any]) -> dict[str, Any]:
    # OpenAI's {"type": "image_url", "image_url": {"url": ...}} → an Anthropic image block.
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str) or not url:
        raise BadRequestError(f"an image_url content part needs a url: got {dict(part)!r}")
    if url.startswith("data:"):
        head, sep, data = url[5:].partition(",")
        media_type, _, encoding = head.partition(";")
        if not sep or encoding != "base64" or not media_type:
            raise BadRequestError("an image data URL must look like data:image/png;base64,<data>")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise BadRequestError(f"an image url must be a data: or http(s) URL, got {url[:40]!r}")


def _blocks(content: str | tuple[Mapping[str, Any], ...] | None) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            blocks.append(_image(part))
        else:
            raise BadRequestError(f"the Messages API has no counterpart for a {kind!r} content part")
    return blocks
