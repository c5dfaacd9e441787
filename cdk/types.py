"""Data exchanged between the router and its connectors.

Every class is an attrs class; the value objects are frozen so that a snapshot
handed to a rotation policy or an event handed to a sink cannot be changed under
the router's feet.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from .enums import (
    DeactivationReason,
    LogLevel,
    ModelStatus,
    Severity,
)

__all__ = [
    "ChatMessage",
    "Choice",
    "ChunkChoice",
    "CompletionChunk",
    "CompletionRequest",
    "CompletionResponse",
    "ContentPart",
    "Delta",
    "Embedding",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EntryMetadata",
    "FunctionCall",
    "FunctionCallDelta",
    "HealthReport",
    "Lock",
    "ModelChange",
    "ModelInfo",
    "ModelPricing",
    "ModelSnapshot",
    "ProbeResult",
    "RequestLogEntry",
    "Secret",
    "SyncResult",
    "TokenUsage",
    "ToolCall",
    "ToolCallDelta",
    "TraceEntry",
]


@attrs.frozen(repr=False, eq=False)
class Secret:
    """A secret value that never shows itself in ``repr``, ``str`` or a traceback."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """Return the plain value; call it only where the value leaves the process."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


# --- Requests and responses (the OpenAI chat shape, which every caller knows) ----


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


def _messages(value: Sequence[ChatMessage | Mapping[str, Any]]) -> tuple[ChatMessage, ...]:
    out = []
    for index, message in enumerate(value):
        try:
            out.append(ChatMessage.coerce(message))
        except TypeError as exc:  # which message, in a long conversation
            raise TypeError(f"messages[{index}]: {exc}") from None
    return tuple(out)


@attrs.frozen(kw_only=True)
class CompletionRequest:
    """A chat-completion request; ``model`` is the upstream model name once routed."""

    messages: tuple[ChatMessage, ...] = attrs.field(converter=_messages)
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


def _created(at: datetime | None, given: int | None) -> int:
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
            "created": _created(self.created, created),
            "model": self.model,
            "choices": [choice.to_dict() for choice in self.choices],
            "usage": self.usage.to_dict(),
        }


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
            "created": _created(None, created),
            "model": self.model,
            "choices": [choice.to_dict() for choice in self.choices],
        }
        if self.usage is not None:
            out["usage"] = self.usage.to_dict()
        return out


#: How OpenAI's embeddings API sends vectors: lists of numbers, or base64 of float32s.
EncodingFormat = Literal["float", "base64"]


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


# --- Catalogue ----------------------------------------------------------------------


@attrs.frozen
class ModelPricing:
    """Price per 1,000 tokens."""

    input_per_1k: float = 0.0
    output_per_1k: float = 0.0
    currency: str = "USD"

    def cost(self, usage: TokenUsage) -> float:
        """What a call with this usage costs."""
        return (
            usage.prompt_tokens * self.input_per_1k + usage.completion_tokens * self.output_per_1k
        ) / 1000.0


@attrs.frozen(kw_only=True)
class ModelInfo:
    """A model as a provider describes it."""

    id: str
    provider_id: str | None = None
    capabilities: tuple[str, ...] = ()
    context_window: int | None = None
    max_output_tokens: int | None = None
    pricing: ModelPricing | None = None
    deprecated: bool = False
    metadata: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ModelChange:
    """A model whose description changed between two syncs."""

    model_id: str
    before: ModelInfo
    after: ModelInfo


@attrs.frozen(kw_only=True)
class SyncResult:
    """What a catalogue sync found, compared with the catalogue it was given."""

    new_models: tuple[ModelInfo, ...] = ()
    deprecated_models: tuple[ModelInfo, ...] = ()
    changed_models: tuple[ModelChange, ...] = ()
    errors: Mapping[str, str] = attrs.field(factory=dict)
    #: Providers that were not asked because they cannot list their models.
    skipped: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing changed and nothing failed."""
        return not (self.new_models or self.deprecated_models or self.changed_models or self.errors)


@attrs.frozen(kw_only=True)
class ProbeResult:
    """The outcome of a cheap health check against a provider."""

    provider_id: str
    ok: bool
    checked_at: datetime
    latency_ms: float | None = None
    error: str | None = None
    status_code: int | None = None


@attrs.frozen(kw_only=True)
class HealthReport:
    """A provider's health as a discovery connector sees it over time."""

    provider_id: str
    available: bool
    availability: float
    consecutive_failures: int = 0
    latency_ms: float | None = None
    last_checked: datetime | None = None
    last_error: str | None = None


# --- Runtime state ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ModelSnapshot:
    """An immutable view of one model's state in one pool, handed to rotation policies."""

    model_id: str
    provider_id: str
    pool_id: str | None = None
    status: ModelStatus = ModelStatus.ACTIVE
    deactivation_reason: DeactivationReason | None = None
    consecutive_failures: int = 0
    window_requests: int = 0
    window_failures: int = 0
    requests: int = 0
    tokens: int = 0
    cost: float = 0.0
    latency_ewma_ms: float | None = None
    cooldown_until: datetime | None = None
    deactivated_at: datetime | None = None
    activated_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    pricing: ModelPricing | None = None
    priority: int = 0
    weight: float = 1.0
    limits: Mapping[str, float] = attrs.field(factory=dict)
    #: Requests and tokens over the last 60 seconds, for rate-limit-aware selection;
    #: per-minute caps go in ``limits`` as ``requests_per_minute`` / ``tokens_per_minute``.
    requests_last_minute: int = 0
    tokens_last_minute: int = 0

    @property
    def error_rate(self) -> float:
        """Failures over requests in the sliding window (0.0 with no requests)."""
        if self.window_requests == 0:
            return 0.0
        return self.window_failures / self.window_requests

    @property
    def is_active(self) -> bool:
        """True when the model may be selected."""
        return self.status is ModelStatus.ACTIVE


# --- Storage ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EntryMetadata:
    """What a storage backend knows about one key."""

    key: str
    size: int
    modified_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Lock:
    """A held lock; ``token`` proves ownership when it is released."""

    key: str
    token: str
    expires_at: datetime | None = None
    ttl: timedelta | None = None


# --- Observability ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RequestLogEntry:
    """One routed call as the request log sees it."""

    timestamp: datetime
    request_id: str
    model_id: str | None = None
    provider_id: str | None = None
    pool_id: str | None = None
    attempt: int = 1
    latency_ms: float | None = None
    status: str = "ok"
    status_code: int | None = None
    error_category: str | None = None
    error: str | None = None
    usage: TokenUsage | None = None
    cost: float | None = None
    request: Mapping[str, Any] | None = None
    response: Mapping[str, Any] | None = None

    def at_level(self, level: LogLevel) -> RequestLogEntry:
        """The entry trimmed to what ``level`` allows (payloads only at FULL)."""
        if level is LogLevel.FULL:
            return self
        if level is LogLevel.SUMMARY:
            return attrs.evolve(self, request=None, response=None)
        return attrs.evolve(self, request=None, response=None, usage=None, cost=None)


@attrs.frozen(kw_only=True)
class TraceEntry:
    """A structured diagnostic record."""

    timestamp: datetime
    severity: Severity
    message: str
    component: str = "meshkit"
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
