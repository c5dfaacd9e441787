"""Routing events and the EventEmitter that publishes them to observability connectors."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol, runtime_checkable

import attrs

from .enums import EventType

__all__ = ["EventEmitter", "EventSubscriber", "RoutingEvent"]

logger = logging.getLogger("meshkit.events")


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("RoutingEvent.timestamp must be timezone-aware (UTC)")
    return value.astimezone(UTC)


@attrs.define
class RoutingEvent:
    """A single routing event published to observability connectors."""

    event_type: EventType = attrs.field(converter=EventType)
    timestamp: datetime = attrs.field(converter=_utc)
    model_id: str | None = None
    provider_id: str | None = None
    pool_id: str | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: enum values as strings, the timestamp in ISO 8601."""
        return {
            "event_type": self.event_type.value,
            "timestamp": self.timestamp.isoformat(),
            "model_id": self.model_id,
            "provider_id": self.provider_id,
            "pool_id": self.pool_id,
            "metadata": _jsonable(self.metadata),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


@runtime_checkable
class EventSubscriber(Protocol):
    """Anything with ``emit(event)``: every observability connector qualifies."""

    def emit(self, event: RoutingEvent) -> None: ...


class EventEmitter:
    """Publishes routing events to observability connectors.

    Delivery is synchronous, in subscription order. A subscriber that raises is
    logged and skipped; the others still receive the event. ``events`` limits
    which event types are published at all (``observability.routing.events``).
    """

    def __init__(self, events: Iterable[EventType | str] | None = None) -> None:
        self._subscribers: list[EventSubscriber] = []
        self._enabled: frozenset[EventType] | None = (
            None if events is None else frozenset(_event_type(e) for e in events)
        )

    @property
    def enabled_events(self) -> frozenset[EventType]:
        """The event types this emitter publishes."""
        return frozenset(EventType) if self._enabled is None else self._enabled

    @property
    def subscribers(self) -> tuple[EventSubscriber, ...]:
        """The subscribed connectors, in delivery order."""
        return tuple(self._subscribers)

    def emit(self, event: RoutingEvent) -> None:
        """Publish an event to all subscribed observability connectors."""
        if self._enabled is not None and event.event_type not in self._enabled:
            return
        for subscriber in tuple(self._subscribers):
            try:
                subscriber.emit(event)
            except Exception:
                logger.exception(
                    "observability subscriber %r failed on %s; delivery goes on",
                    _name(subscriber),
                    event.event_type.value,
                )

    def subscribe(self, connector: EventSubscriber) -> None:
        """Register an observability connector; a duplicate subscription is ignored."""
        if not callable(getattr(connector, "emit", None)):
            # Caught here, not as an error logged on every event later.
            raise TypeError(f"cannot subscribe {connector!r}: it has no emit(event) method")
        if not any(s is connector for s in self._subscribers):
            self._subscribers.append(connector)

    def unsubscribe(self, connector: EventSubscriber) -> None:
        """Remove an observability connector; unknown connectors are ignored."""
        self._subscribers = [s for s in self._subscribers if s is not connector]


def _event_type(value: EventType | str) -> EventType:
    try:
        return EventType(value)
    except ValueError:
        known = ", ".join(t.value for t in EventType)
        raise ValueError(f"unknown event type {value!r}; expected one of: {known}") from None


def _name(subscriber: object) -> str:
    return str(getattr(subscriber, "connector_id", None) or type(subscriber).__name__)


def now_utc() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
