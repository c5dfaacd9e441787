"""Data exchanged between the router and its connectors.

Every class is an attrs class; the value objects are frozen so that a snapshot
handed to a rotation policy or an event handed to a sink cannot be changed under
the router's feet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

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
    "Delta",
    "EntryMetadata",
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


@attrs.frozen
class ChatMessage:
    """One message of a conversation."""

    role: str
    content: str | None = None
    name: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] | None = None
    tool_call_id: str | None = None

    @classmethod
    def coerce(cls, value: ChatMessage | Mapping[str, Any]) -> ChatMessage:
        """Accept a message object or the usual ``{"role": ..., "content": ...}`` dict."""
        if isinstance(value, ChatMessage):
            return value
        if not isinstance(value, Mapping) or "role" not in value:
            raise TypeError(f"a message needs a 'role': got {value!r}")
        tool_calls = value.get("tool_calls")
        return cls(
            role=str(value["role"]),
            content=value.get("content"),
            name=value.get("name"),
            tool_calls=tuple(tool_calls) if tool_calls is not None else None,
            tool_call_id=value.get("tool_call_id"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, without the fields that are not set."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name is not None:
            out["name"] = self.name
        if self.tool_calls is not None:
            out["tool_calls"] = [dict(call) for call in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


def _messages(value: Sequence[ChatMessage | Mapping[str, Any]]) -> tuple[ChatMessage, ...]:
    return tuple(ChatMessage.coerce(m) for m in value)


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
        chars = sum(len(m.content or "") for m in self.messages)
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


@attrs.frozen
class Choice:
    """One alternative of a completion."""

    index: int
    message: ChatMessage
    finish_reason: str | None = None


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
        return self.choices[0].message.content or ""


@attrs.frozen
class Delta:
    """What a stream chunk adds to the message."""

    role: str | None = None
    content: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] | None = None


@attrs.frozen
class ChunkChoice:
    """One alternative's delta within a stream chunk."""

    index: int
    delta: Delta
    finish_reason: str | None = None


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
