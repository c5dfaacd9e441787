"""A streamed completion's pieces: what each chunk adds to the message, tool calls included."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .responses import TokenUsage, created_seconds

__all__ = ["ChunkChoice", "CompletionChunk", "Delta", "FunctionCallDelta", "ToolCallDelta"]


@attrs.frozen(kw_only=True)
class FunctionCallDelta:
    """A piece of a streamed function call: the name comes once, the arguments in pieces."""

    name: str | None = None
    arguments: str | None = None


@attrs.frozen(kw_only=True)
class ToolCallDelta:
    """A piece of a streamed tool call; ``index`` says which call of the message it extends."""

    index: int
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta = attrs.field(factory=FunctionCallDelta)

    @classmethod
    def coerce(cls, value: ToolCallDelta | Mapping[str, Any], position: int = 0) -> ToolCallDelta:
        """Accept a ToolCallDelta or OpenAI's ``{"index", "id", "function": {...}}`` delta."""
        if isinstance(value, ToolCallDelta):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"a tool call delta is a mapping: got {value!r}")
        fn = value.get("function") or {}
        if not isinstance(fn, Mapping):
            raise TypeError(f"a tool call delta's 'function' is a mapping: got {fn!r}")
        name, arguments = fn.get("name"), fn.get("arguments")
        return cls(
            index=int(value.get("index", position)),
            id=str(value["id"]) if value.get("id") is not None else None,
            type=str(value["type"]) if value.get("type") is not None else None,
            function=FunctionCallDelta(
                name=str(name) if name is not None else None,
                arguments=str(arguments) if arguments is not None else None,
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, without the fields that are not set."""
        out: dict[str, Any] = {"index": self.index}
        if self.id is not None:
            out["id"] = self.id
        if self.type is not None:
            out["type"] = self.type
        fn = {
            k: v
            for k, v in (("name", self.function.name), ("arguments", self.function.arguments))
            if v is not None
        }
        out["function"] = fn
        return out


def _tool_call_deltas(
    value: Sequence[ToolCallDelta | Mapping[str, Any]] | None,
) -> tuple[ToolCallDelta, ...] | None:
    if value is None:
        return None
    return tuple(ToolCallDelta.coerce(d, i) for i, d in enumerate(value))


@attrs.frozen
class Delta:
    """What a stream chunk adds to the message."""

    role: str | None = None
    content: str | None = None
    tool_calls: tuple[ToolCallDelta, ...] | None = attrs.field(default=None, converter=_tool_call_deltas)

    def to_dict(self) -> dict[str, Any]:
        """OpenAI's ``delta``: only what the chunk adds."""
        out: dict[str, Any] = {}
        if self.role is not None:
            out["role"] = self.role
        if self.content is not None:
            out["content"] = self.content
        if self.tool_calls:
            out["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        return out


@attrs.frozen
class ChunkChoice:
    """One alternative's delta within a stream chunk."""

    index: int
    delta: Delta
    finish_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """OpenAI's form of one choice in a chunk."""
        return {
            "index": self.index,
            "delta": self.delta.to_dict(),
            "finish_reason": self.finish_reason,
            "logprobs": None,
        }


@attrs.frozen(kw_only=True)
class CompletionChunk:
    """One piece of a streamed completion; the last one may carry ``usage``."""

    id: str
    model: str
    choices: tuple[ChunkChoice, ...] = ()
    usage: TokenUsage | None = None
    provider_id: str | None = None

    @property
    def text(self) -> str:
        """The first choice's content delta, or an empty string."""
        if not self.choices:
            return ""
        return self.choices[0].delta.content or ""

    def to_dict(self, *, created: int | None = None) -> dict[str, Any]:
        """OpenAI's ``chat.completion.chunk`` object; ``usage`` only on a chunk that has it.

        Every chunk of one stream should carry the same ``created``: pass it (the default is now).
        """
        out: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": created_seconds(None, created),
            "model": self.model,
            "choices": [choice.to_dict() for choice in self.choices],
        }
        if self.usage is not None:
            out["usage"] = self.usage.to_dict()
        return out
