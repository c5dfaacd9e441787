"""Tests of what is particular to this connector; the conformance suite covers the contract."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from meshkit import ConfigError, EventType, RoutingEvent

from {{ cookiecutter.__package_name }} import {{ cookiecutter.__class_name }}

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _event(n: int) -> RoutingEvent:
    return RoutingEvent(event_type=EventType.MODEL_ROTATED, timestamp=NOW, metadata={"n": n})


def test_a_full_buffer_keeps_the_newest_records_and_counts_the_dropped() -> None:
    sink = {{ cookiecutter.__class_name }}({"capacity": 3})
    for n in range(5):
        sink.emit(_event(n))
    assert [record["metadata"]["n"] for record in sink.of_kind("event")] == [2, 3, 4]
    assert sink.dropped == 2


def test_reports_are_kept_with_a_timestamp() -> None:
    sink = {{ cookiecutter.__class_name }}()
    sink.report({"pools": {"chat": {"requests": 3}}})
    [record] = sink.of_kind("report")
    assert record["stats"] == {"pools": {"chat": {"requests": 3}}} and record["timestamp"]


def test_a_capacity_below_one_is_reported_by_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.capacity"):
        {{ cookiecutter.__class_name }}({"capacity": 0})
