"""The metrics part of the observability contract (``metrics``): what is counted adds up.

The suite does not know a sink's metric names; it labels what it sends with a marker of its
own (the pool) and looks for samples carrying that marker and the value each count must have.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest

from ..enums import EventType, ObservabilityFeature
from ..events import RoutingEvent
from ..interfaces.observability import Observability
from ..types import RequestLogEntry, TokenUsage
from .metric_samples import Metrics
from .target import ConformanceTarget

__all__ = ["MetricsTests"]

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
#: Distinct counts, so that no sum can pass for another: 7 answered, 3 failed, 11 + 5 tokens each.
ANSWERED, FAILED, PROMPT, COMPLETION = 7, 3, 11, 5


class _Suite(Protocol):
    def sink(
        self, target: ConformanceTarget, **config: Any
    ) -> AbstractAsyncContextManager[Observability]: ...

    @staticmethod
    def marker() -> str: ...

    def requires(self, target: ConformanceTarget, feature: Any) -> None: ...


async def _metrics(suite: _Suite, target: ConformanceTarget, sink: Observability) -> Metrics:
    suite.requires(target, ObservabilityFeature.METRICS)
    collect = target.spec.collect_metrics
    if collect is None:
        pytest.skip(f"{target}'s ConformanceSpec gives no collect_metrics: what it counts was not checked")
    await sink.flush()
    return await collect(sink)


def _attempt(marker: str, model: str, *, failed: bool) -> RequestLogEntry:
    return RequestLogEntry(
        timestamp=NOW,
        request_id=f"{marker}-{model}",
        model_id=model,
        provider_id="local",
        pool_id=marker,
        latency_ms=40.0,
        status="failed" if failed else "ok",
        status_code=503 if failed else 200,
        error="HTTP 503" if failed else None,
        error_category="unavailable" if failed else None,
        usage=None if failed else TokenUsage(prompt_tokens=PROMPT, completion_tokens=COMPLETION),
    )


class MetricsTests:
    """Counts of events and attempts, tokens, and model status; mixed into ObservabilitySuite."""

    @pytest.mark.meshkit_feature(ObservabilityFeature.METRICS)
    @pytest.mark.anyio
    async def test_metrics_count_every_event_type(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        marker = self.marker()
        async with self.sink(conformance_target) as sink:
            for kind in EventType:
                sink.emit(RoutingEvent(event_type=kind, timestamp=NOW, pool_id=marker, model_id="chat.small"))
            sink.emit(RoutingEvent(event_type=EventType.MODEL_ROTATED, timestamp=NOW, pool_id=marker))
            metrics = await _metrics(self, conformance_target, sink)
        for kind in EventType:
            expected = 2.0 if kind is EventType.MODEL_ROTATED else 1.0
            found = metrics.values(marker, kind.value)
            assert expected in found, (
                f"one {kind.value!r} event was emitted for pool {marker}"
                + (" (and a second model_rotated)" if expected == 2 else "")
                + f"; the samples labelled with both say {sorted(found) or 'nothing'}"
            )

    @pytest.mark.meshkit_feature(ObservabilityFeature.METRICS)
    @pytest.mark.anyio
    async def test_metrics_count_attempts_by_outcome_and_their_tokens(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        marker = self.marker()
        async with self.sink(conformance_target, log_level="summary") as sink:
            for _ in range(ANSWERED):
                sink.log(_attempt(marker, "chat.small", failed=False))
            for _ in range(FAILED):
                sink.log(_attempt(marker, "chat.small", failed=True))
            metrics = await _metrics(self, conformance_target, sink)
        counted = metrics.values(marker, "chat.small")
        missing = {
            f"{ANSWERED} answered attempts": ANSWERED,
            f"{FAILED} failed ones": FAILED,
            f"{ANSWERED + FAILED} attempts in all (the latency observations)": ANSWERED + FAILED,
            f"{ANSWERED * PROMPT} prompt tokens": ANSWERED * PROMPT,
            f"{ANSWERED * COMPLETION} completion tokens": ANSWERED * COMPLETION,
        }
        absent = [what for what, value in missing.items() if float(value) not in counted]
        assert not absent, (
            f"no sample labelled {marker} and chat.small counts {', '.join(absent)}; the values there: "
            f"{sorted(counted)}"
        )

    @pytest.mark.meshkit_feature(ObservabilityFeature.METRICS)
    @pytest.mark.anyio
    async def test_metrics_follow_a_models_status(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        marker = self.marker()
        model = "chat.small"
        async with self.sink(conformance_target) as sink:
            sink.emit(
                RoutingEvent(
                    event_type=EventType.MODEL_DEACTIVATED,
                    timestamp=NOW,
                    pool_id=marker,
                    model_id=model,
                    metadata={"reason": "error_threshold"},
                )
            )
            standby = await _metrics(self, conformance_target, sink)
            sink.emit(
                RoutingEvent(
                    event_type=EventType.MODEL_ACTIVATED, timestamp=NOW, pool_id=marker, model_id=model
                )
            )
            active = await _metrics(self, conformance_target, sink)
        assert 1.0 in standby.values(marker, model, "standby"), (
            f"after model_deactivated, {model} in {marker} must show as standby: "
            f"{_shown(standby, marker, model)}"
        )
        assert 1.0 in active.values(marker, model, "active"), (
            f"after model_activated, {model} in {marker} must show as active: {_shown(active, marker, model)}"
        )
        assert 1.0 not in active.values(marker, model, "standby"), (
            f"after model_activated, {model} in {marker} still shows as standby"
        )


def _shown(metrics: Metrics, *labels: str) -> str:
    found = [f"{s.name}{dict(s.labels)}={s.value:g}" for s in metrics.labelled(*labels)]
    return "; ".join(found[:8]) or "no sample carries those labels"
