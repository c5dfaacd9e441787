"""RoutingEvent and EventEmitter, as the seed (004_9311e02188bfa74c) specifies them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from meshkit import DeactivationReason, EventEmitter, EventType, RoutingEvent
from meshkit.interfaces.observability import Observability

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def event(event_type: EventType = EventType.MODEL_DEACTIVATED, **kwargs: object) -> RoutingEvent:
    return RoutingEvent(event_type, NOW, **kwargs)  # type: ignore[arg-type]


class Sink:
    """A subscriber that writes what it receives into a shared journal."""

    def __init__(self, name: str, journal: list[tuple[str, EventType]]) -> None:
        self.name = name
        self.journal = journal

    def emit(self, e: RoutingEvent) -> None:
        self.journal.append((self.name, e.event_type))


class Broken:
    connector_id = "test.broken.v1"

    def emit(self, e: RoutingEvent) -> None:
        raise RuntimeError("disk full")


class TestRoutingEvent:
    def test_fields_and_defaults_follow_the_seed(self) -> None:
        e = RoutingEvent(EventType.MODEL_ACTIVATED, NOW)
        assert (e.event_type, e.timestamp, e.model_id, e.provider_id, e.pool_id, e.metadata) == (
            EventType.MODEL_ACTIVATED,
            NOW,
            None,
            None,
            None,
            {},
        )

    def test_metadata_default_is_not_shared(self) -> None:
        a, b = event(), event()
        a.metadata["x"] = 1
        assert b.metadata == {}

    def test_event_type_accepts_its_string_value(self) -> None:
        assert event("model_rotated").event_type is EventType.MODEL_ROTATED  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="not_an_event"):
            event("not_an_event")  # type: ignore[arg-type]

    def test_naive_timestamp_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            RoutingEvent(EventType.MODEL_ACTIVATED, datetime(2026, 5, 1, 12, 0))

    def test_naive_timestamp_is_rejected_on_assignment_too(self) -> None:
        e = event()
        with pytest.raises(ValueError, match="timezone-aware"):
            e.timestamp = datetime(2026, 5, 1)

    def test_aware_timestamp_is_normalised_to_utc(self) -> None:
        paris = timezone(timedelta(hours=2))
        e = RoutingEvent(EventType.MODEL_ACTIVATED, datetime(2026, 5, 1, 14, 0, tzinfo=paris))
        assert e.timestamp == NOW
        assert e.timestamp.utcoffset() == timedelta(0)

    def test_to_dict_is_json_ready(self) -> None:
        e = event(
            model_id="local.small",
            provider_id="local",
            pool_id="chat",
            metadata={
                "reason": DeactivationReason.ERROR_THRESHOLD,
                "until": NOW,
                "tries": (1, 2),
                "obj": object,
            },
        )
        d = e.to_dict()
        assert d["event_type"] == "model_deactivated"
        assert d["timestamp"] == "2026-05-01T12:00:00+00:00"
        assert d["metadata"]["reason"] == "error_threshold"
        assert d["metadata"]["until"] == "2026-05-01T12:00:00+00:00"
        assert d["metadata"]["tries"] == [1, 2]
        assert isinstance(d["metadata"]["obj"], str)
        assert (d["model_id"], d["provider_id"], d["pool_id"]) == ("local.small", "local", "chat")


class TestEmitter:
    def test_delivers_synchronously_in_subscription_order(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter()
        for name in ("first", "second", "third"):
            emitter.subscribe(Sink(name, journal))
        emitter.emit(event(EventType.MODEL_ROTATED))
        # Synchronous: everything has been delivered by the time emit returns.
        assert journal == [
            ("first", EventType.MODEL_ROTATED),
            ("second", EventType.MODEL_ROTATED),
            ("third", EventType.MODEL_ROTATED),
        ]

    def test_a_raising_subscriber_is_logged_and_skipped(self, caplog: pytest.LogCaptureFixture) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter()
        emitter.subscribe(Sink("before", journal))
        emitter.subscribe(Broken())
        emitter.subscribe(Sink("after", journal))
        with caplog.at_level(logging.ERROR, logger="meshkit.events"):
            emitter.emit(event(EventType.PROVIDER_DEACTIVATED))
        assert journal == [
            ("before", EventType.PROVIDER_DEACTIVATED),
            ("after", EventType.PROVIDER_DEACTIVATED),
        ]
        [record] = caplog.records
        assert record.name == "meshkit.events"
        assert record.levelno == logging.ERROR
        assert "test.broken.v1" in record.getMessage()
        assert "provider_deactivated" in record.getMessage()
        assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)

    def test_a_raising_subscriber_stays_subscribed(self, caplog: pytest.LogCaptureFixture) -> None:
        emitter = EventEmitter()
        broken = Broken()
        emitter.subscribe(broken)
        with caplog.at_level(logging.ERROR, logger="meshkit.events"):
            emitter.emit(event())
            emitter.emit(event())
        assert emitter.subscribers == (broken,)
        assert len(caplog.records) == 2

    def test_duplicate_subscription_is_ignored(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter()
        sink = Sink("only", journal)
        emitter.subscribe(sink)
        emitter.subscribe(sink)
        emitter.emit(event())
        assert journal == [("only", EventType.MODEL_DEACTIVATED)]
        assert emitter.subscribers == (sink,)

    def test_unsubscribe_stops_delivery(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter()
        a, b = Sink("a", journal), Sink("b", journal)
        emitter.subscribe(a)
        emitter.subscribe(b)
        emitter.unsubscribe(a)
        emitter.emit(event())
        assert journal == [("b", EventType.MODEL_DEACTIVATED)]
        assert emitter.subscribers == (b,)

    def test_unsubscribe_of_an_unknown_connector_is_a_no_op(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter()
        a = Sink("a", journal)
        emitter.subscribe(a)
        emitter.unsubscribe(Sink("stranger", journal))
        emitter.unsubscribe(a)
        emitter.unsubscribe(a)
        assert emitter.subscribers == ()

    def test_resubscribe_goes_to_the_end(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter()
        a, b = Sink("a", journal), Sink("b", journal)
        emitter.subscribe(a)
        emitter.subscribe(b)
        emitter.unsubscribe(a)
        emitter.subscribe(a)
        emitter.emit(event())
        assert [name for name, _ in journal] == ["b", "a"]

    def test_unsubscribing_during_delivery_does_not_skip_anyone(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter()

        class LeavesOnFirstEvent(Sink):
            def emit(self, e: RoutingEvent) -> None:
                super().emit(e)
                emitter.unsubscribe(self)

        emitter.subscribe(LeavesOnFirstEvent("leaver", journal))
        emitter.subscribe(Sink("stayer", journal))
        emitter.emit(event())
        emitter.emit(event())
        assert [name for name, _ in journal] == ["leaver", "stayer", "stayer"]

    def test_event_type_filter(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter(events=["model_deactivated", EventType.MODEL_ACTIVATED])
        emitter.subscribe(Sink("s", journal))
        for t in EventType:
            emitter.emit(event(t))
        assert [t for _, t in journal] == [EventType.MODEL_ACTIVATED, EventType.MODEL_DEACTIVATED]
        assert emitter.enabled_events == {EventType.MODEL_ACTIVATED, EventType.MODEL_DEACTIVATED}

    def test_default_emits_every_event_type(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter()
        emitter.subscribe(Sink("s", journal))
        for t in EventType:
            emitter.emit(event(t))
        assert [t for _, t in journal] == list(EventType)
        assert emitter.enabled_events == frozenset(EventType)

    def test_empty_filter_emits_nothing(self) -> None:
        journal: list[tuple[str, EventType]] = []
        emitter = EventEmitter(events=[])
        emitter.subscribe(Sink("s", journal))
        emitter.emit(event())
        assert journal == []

    def test_unknown_event_type_in_the_filter_is_a_clear_error(self) -> None:
        with pytest.raises(ValueError, match=r"unknown event type 'model_exploded'.*model_activated"):
            EventEmitter(events=["model_exploded"])

    def test_subscriber_without_emit_is_rejected(self) -> None:
        with pytest.raises(TypeError, match="emit"):
            EventEmitter().subscribe(object())  # type: ignore[arg-type]

    def test_observability_connectors_subscribe_directly(self) -> None:
        received: list[RoutingEvent] = []

        class Collector(Observability):
            connector_id = "test.collector.v1"

            def handle_event(self, e: RoutingEvent) -> None:
                received.append(e)

        emitter = EventEmitter()
        emitter.subscribe(Collector())
        sent = event(model_id="m")
        emitter.emit(sent)
        assert received == [sent]
