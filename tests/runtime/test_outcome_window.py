"""The windowed error rate's counts: exact within the window, bounded by its length."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshkit.runtime.outcome_window import OutcomeWindow

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_counts_requests_and_failures_inside_the_window() -> None:
    window = OutcomeWindow()
    window.record(START, ok=True)
    window.record(START + timedelta(seconds=1), ok=False)
    window.record(START + timedelta(seconds=2), ok=False)
    assert window.counts(START + timedelta(seconds=2), timedelta(seconds=60)) == (3, 2)


def test_outcomes_older_than_the_window_are_forgotten() -> None:
    window = OutcomeWindow()
    window.record(START, ok=False)
    window.record(START + timedelta(seconds=30), ok=True)
    assert window.counts(START + timedelta(seconds=61), timedelta(seconds=60)) == (1, 0)
    assert window.counts(START + timedelta(seconds=91), timedelta(seconds=60)) == (0, 0)


def test_memory_is_bounded_by_the_window_not_by_the_request_rate() -> None:
    window = OutcomeWindow()
    now = START
    for i in range(10_000):  # 100 requests a second for 100 seconds
        now = START + timedelta(milliseconds=10 * i)
        window.record(now, ok=i % 10 != 0)
        window.counts(now, timedelta(seconds=5))
    assert len(window._buckets) <= 6
    assert window.counts(now, timedelta(seconds=5)) == (len(window), window.failures)
    assert 500 <= len(window) <= 600 and window.failures == len(window) // 10


def test_clear_starts_a_new_window() -> None:
    window = OutcomeWindow()
    window.record(START, ok=False)
    window.clear()
    assert window.counts(START, timedelta(seconds=60)) == (0, 0)
