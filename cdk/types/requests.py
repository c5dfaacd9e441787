"""What a caller asks for: a chat completion or the embeddings of some texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .messages import ChatMessage, as_messages

__all__ = ["CompletionRequest", "EmbeddingRequest"]


@attrs.frozen(kw_only=True)
class CompletionRequest:
    """A chat-completion request; ``model`` is the upstream model name once routed."""

    messages: tuple[ChatMessage, ...] = attrs.field(converter=as_messages)
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    tools: tuple[Mapping[str, Any], ...] | None = None
    tool_choice: str | Mapping[str, Any] | None = None
    response_format: Mapping[str, Any] | None = None
    session_id: str | None = None
    timeout: float | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def estimated_prompt_tokens(self) -> int:
        """A cheap estimate (four characters a token) for cost-aware selection."""
        chars = sum(len(m.text) for m in self.messages)
        return max(1, chars // 4)


def _inputs(value: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not value:
        raise TypeError(f"embedding input is a string or a non-empty list of strings, got {value!r}")
    if not all(isinstance(item, str) for item in value):
        bad = next(item for item in value if not isinstance(item, str))
        raise TypeError(f"embedding input items are strings, got {bad!r}")
    return tuple(value)


@attrs.frozen(kw_only=True)
class EmbeddingRequest:
    """Texts to embed; ``model`` is the upstream model name once routed."""

    input: tuple[str, ...] = attrs.field(converter=_inputs)
    model: str | None = None
    #: Ask for vectors of this length (models that support shortening them).
    dimensions: int | None = None
    timeout: float | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def estimated_prompt_tokens(self) -> int:
        """A cheap estimate (four characters a token) for cost-aware selection."""
        return max(1, sum(len(text) for text in self.input) // 4)
