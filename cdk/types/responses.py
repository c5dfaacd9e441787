"""The answers to a completion or embedding request and the tokens they used, with their
``to_dict()`` in OpenAI's JSON shape (the one ``meshkit serve`` sends).
"""

from __future__ import annotations

import base64
import struct
import time
from datetime import datetime
from typing import Any, Literal

import attrs

from .messages import ChatMessage

__all__ = [
    "Choice",
    "CompletionResponse",
    "Embedding",
    "EmbeddingResponse",
    "EncodingFormat",
    "TokenUsage",
    "created_seconds",
]


@attrs.frozen
class TokenUsage:
    """Tokens counted by the provider for one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = attrs.field()

    @total_tokens.default
    def _total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int]:
        """OpenAI's ``usage`` object."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


def created_seconds(at: datetime | None, given: int | None) -> int:
    # OpenAI's `created` is whole seconds since the epoch, and every object has one.
    if given is not None:
        return given
    return int(at.timestamp()) if at is not None else int(time.time())


@attrs.frozen
class Choice:
    """One alternative of a completion."""

    index: int
    message: ChatMessage
    finish_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """OpenAI's form of one choice."""
        return {
            "index": self.index,
            "message": self.message.to_dict(),
            "finish_reason": self.finish_reason,
            "logprobs": None,
        }


@attrs.frozen(kw_only=True)
class CompletionResponse:
    """The answer to a completion request."""

    id: str
    model: str
    choices: tuple[Choice, ...]
    usage: TokenUsage = attrs.field(factory=TokenUsage)
    created: datetime | None = None
    provider_id: str | None = None
    cost: float | None = None

    @property
    def text(self) -> str:
        """The first choice's content, or an empty string."""
        if not self.choices:
            return ""
        return self.choices[0].message.text

    def to_dict(self, *, created: int | None = None) -> dict[str, Any]:
        """OpenAI's ``chat.completion`` object (``created`` defaults to ``self.created``, else now)."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": created_seconds(self.created, created),
            "model": self.model,
            "choices": [choice.to_dict() for choice in self.choices],
            "usage": self.usage.to_dict(),
        }


#: How OpenAI's embeddings API sends vectors: lists of numbers, or base64 of float32s.
EncodingFormat = Literal["float", "base64"]


@attrs.frozen
class Embedding:
    """The vector of one input; ``index`` is the input's position."""

    index: int
    embedding: list[float]

    def to_dict(self, *, encoding_format: EncodingFormat = "float") -> dict[str, Any]:
        """OpenAI's ``embedding`` object; ``base64`` packs the vector as little-endian float32."""
        vector: list[float] | str = list(self.embedding)
        if encoding_format == "base64":
            packed = struct.pack(f"<{len(self.embedding)}f", *self.embedding)
            vector = base64.b64encode(packed).decode("ascii")
        elif encoding_format != "float":
            raise ValueError(f"encoding_format is 'float' or 'base64', got {encoding_format!r}")
        return {"object": "embedding", "index": self.index, "embedding": vector}


@attrs.frozen(kw_only=True)
class EmbeddingResponse:
    """The vectors of an embedding request, in input order."""

    model: str
    data: tuple[Embedding, ...]
    usage: TokenUsage = attrs.field(factory=TokenUsage)
    provider_id: str | None = None
    cost: float | None = None

    @property
    def vectors(self) -> list[list[float]]:
        """Just the vectors, in input order."""
        return [item.embedding for item in self.data]

    def to_dict(self, *, encoding_format: EncodingFormat = "float") -> dict[str, Any]:
        """OpenAI's list of ``embedding`` objects, with its usage."""
        return {
            "object": "list",
            "data": [item.to_dict(encoding_format=encoding_format) for item in self.data],
            "model": self.model,
            "usage": {"prompt_tokens": self.usage.prompt_tokens, "total_tokens": self.usage.total_tokens},
        }
