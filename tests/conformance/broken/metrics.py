"""A metrics sink done right, and copies of it that each get one thing wrong."""

from __future__ import annotations

from collections import Counter
from typing import Any

from meshkit.enums import EventType, ObservabilityFeature
from meshkit.events import RoutingEvent
from meshkit.interfaces.observability import Observability
from meshkit.testing import Metrics
from meshkit.types import RequestLogEntry


class CountingSink(Observability):
    """Counts events by type and pool, attempts by outcome, tokens, and each model's status."""

    connector_id = "reference.metrics-sink.v1"
    features = frozenset({ObservabilityFeature.METRICS})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self.status: dict[tuple[str, str], str] = {}

    def count(self, name: str, amount: float = 1, **labels: str) -> None:
        self.counts[(name, tuple(sorted(labels.items())))] += amount

    def handle_event(self, event: RoutingEvent) -> None:
        self.count("events", event_type=event.event_type.value, pool=event.pool_id or "")
        if event.model_id and event.event_type is EventType.MODEL_DEACTIVATED:
            self.status[(event.pool_id or "", event.model_id)] = "standby"
        elif event.model_id and event.event_type is EventType.MODEL_ACTIVATED:
            self.status[(event.pool_id or "", event.model_id)] = "active"

    def handle_log(self, entry: RequestLogEntry) -> None:
        labels = {"pool": entry.pool_id or "", "model": entry.model_id or ""}
        self.count("requests", status=entry.status, **labels)
        self.count("latency_count", **labels)
        if entry.usage is not None:
            self.count("tokens", entry.usage.prompt_tokens, direction="prompt", **labels)
            self.count("tokens", entry.usage.completion_tokens, direction="completion", **labels)

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        out = [(name, dict(labels), value) for (name, labels), value in self.counts.items()]
        for (pool, model), now in self.status.items():
            for state in ("active", "standby"):
                out.append(
                    ("model_status", {"pool": pool, "model": model, "state": state}, float(state == now))
                )
        return out


async def collect_metrics(sink: Any) -> Metrics:
    """What a sink of this module exposes."""
    return Metrics.of(sink.samples())


class CountsAnswersOnly(CountingSink):
    """Defect: counts the attempts that were answered, as if a failure were not an attempt."""

    connector_id = "defect.counts-answers-only.v1"

    def handle_log(self, entry: RequestLogEntry) -> None:
        if entry.status == "ok":
            super().handle_log(entry)


class KnownEventsOnly(CountingSink):
    """Defect: counts the event types there were when it was written, and ignores newer ones."""

    connector_id = "defect.known-events-only.v1"
    KNOWN = (EventType.MODEL_ACTIVATED, EventType.MODEL_DEACTIVATED, EventType.MODEL_ROTATED)

    def handle_event(self, event: RoutingEvent) -> None:
        if event.event_type in self.KNOWN:
            super().handle_event(event)


class StandbyForever(CountingSink):
    """Defect: marks a model standby when it is set aside, and never marks it back."""

    connector_id = "defect.standby-forever.v1"

    def handle_event(self, event: RoutingEvent) -> None:
        if event.event_type is not EventType.MODEL_ACTIVATED:
            super().handle_event(event)
        else:
            self.count("events", event_type=event.event_type.value, pool=event.pool_id or "")


CONNECTORS: list[type[Any]] = [CountingSink, CountsAnswersOnly, KnownEventsOnly, StandbyForever]
EXPECTED = {
    "defect.counts-answers-only.v1": "test_metrics_count_attempts_by_outcome_and_their_tokens",
    "defect.known-events-only.v1": "test_metrics_count_every_event_type",
    "defect.standby-forever.v1": "test_metrics_follow_a_models_status",
}
