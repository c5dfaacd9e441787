"""Messages of a conversation in OpenAI's chat shape, which every caller knows: content parts
and tool calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..trusted import maker

__all__ = ["ChatMessage", "ContentPart", "FunctionCall", "ToolCall", "as_messages"]


#: One part of a message's content in OpenAI's shape: ``{"type": "text", "text": ...}`` or
#: ``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}``.
ContentPart = Mapping[str, Any]


def _content(value: str | Sequence[ContentPart] | None) -> str | tuple[ContentPart, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, Sequence) or isinstance(value, bytes | bytearray):
        raise TypeError(f"message content must be a string or a list of content parts, got {value!r}")
    parts = []
    for part in value:
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise TypeError(f"a content part is a mapping with a 'type': got {part!r}")
        parts.append(dict(part))
    return tuple(parts)


@attrs.frozen
class FunctionCall:
    """The function a tool call names, with its arguments as JSON text (as OpenAI sends them)."""

    name: str
    arguments: str = "{}"

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {"name": self.name, "arguments": self.arguments}


@attrs.frozen(kw_only=True)
class ToolCall:
    """A tool call in an answer: ``call.function.name``, ``call.function.arguments``."""

    id: str
    function: FunctionCall
    type: str = "function"

    @classmethod
    def coerce(cls, value: ToolCall | Mapping[str, Any]) -> ToolCall:
        """Accept a ToolCall or OpenAI's ``{"id", "type", "function": {"name", "arguments"}}``."""
        if isinstance(value, ToolCall):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"a tool call is a mapping with 'id' and 'function': got {value!r}")
        fn = value.get("function")
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise TypeError(f"a tool call needs a 'function' with a 'name': got {value!r}")
        arguments = fn.get("arguments")
        if arguments is None:
            arguments = "{}"
        elif not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        return cls(
            id=str(value.get("id") or ""),
            type=str(value.get("type") or "function"),
            function=FunctionCall(name=fn["name"], arguments=arguments),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (OpenAI's)."""
        return {"id": self.id, "type": self.type, "function": self.function.to_dict()}


def _tool_calls(
    value: Sequence[ToolCall | Mapping[str, Any]] | None,
) -> tuple[ToolCall, ...] | None:
    if value is None:
        return None
    return tuple(ToolCall.coerce(call) for call in value)


@attrs.frozen
class ChatMessage:
    """One message of a conversation; ``content`` is text or a list of content parts."""

    role: str
    content: str | tuple[ContentPart, ...] | None = attrs.field(default=None, converter=_content)
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] | None = attrs.field(default=None, converter=_tool_calls)
    tool_call_id: str | None = None

    @classmethod
    def coerce(cls, value: ChatMessage | Mapping[str, Any]) -> ChatMessage:
        """Accept a message object or the usual ``{"role": ..., "content": ...}`` dict."""
        if type(value) is dict and len(value) == 2:  # the usual one: a role and a text, nothing else
            role, content = value.get("role"), value.get("content")
            if type(role) is str and type(content) is str and cls is ChatMessage:
                return _plain_message(
                    role=role, content=content, name=None, tool_calls=None, tool_call_id=None
                )
        if isinstance(value, ChatMessage):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(
                f"a message is a {{'role': ..., 'content': ...}} dict, got {type(value).__name__} {value!r}"
            )
        role = value.get("role")
        if not isinstance(role, str):
            raise TypeError(f"a message needs a 'role' string ('user', 'assistant', ...): got {value!r}")
        return cls(
            role=role,
            content=value.get("content"),
            name=value.get("name"),
            tool_calls=value.get("tool_calls"),
            tool_call_id=value.get("tool_call_id"),
        )

    @property
    def text(self) -> str:
        """The text of the message: the content, or its text parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")

    @property
    def has_image(self) -> bool:
        """True when a content part is an image (``image_url``)."""
        return not isinstance(self.content, str | None) and any(
            p.get("type") == "image_url" for p in self.content
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, without the fields that are not set."""
        content = self.content
        out: dict[str, Any] = {
            "role": self.role,
            "content": content if isinstance(content, str | None) else [dict(p) for p in content],
        }
        if self.name is not None:
            out["name"] = self.name
        if self.tool_calls is not None:
            out["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


#: A message from a role and a text, which its converters would keep as they are.
_plain_message = maker(ChatMessage)


def as_messages(value: Sequence[ChatMessage | Mapping[str, Any]]) -> tuple[ChatMessage, ...]:
    out = []
    for index, message in enumerate(value):
        try:
            out.append(ChatMessage.coerce(message))
        except TypeError as exc:  # which message, in a long conversation
            raise TypeError(f"messages[{index}]: {exc}") from None
    return tuple(out)
