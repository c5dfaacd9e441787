"""The sliding window of a model's outcomes and of its last minute: exact, bounded by its span."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshkit.runtime.window import SlidingWindow
from meshkit.testing import FakeClock

START = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = 60.0


def failure(window: SlidingWindow, now: datetime, ok: bool) -> None:
    window.add(now.timestamp(), requests=1, amount=0 if ok else 1)


def test_counts_requests_and_failures_inside_the_window() -> None:
    window = SlidingWindow()
    failure(window, START, ok=True)
    failure(window, START + timedelta(seconds=1), ok=False)
    failure(window, START + timedelta(seconds=2), ok=False)
    assert window.totals((START + timedelta(seconds=2)).timestamp(), 60) == (3, 2)


def test_outcomes_older_than_the_window_are_forgotten() -> None:
    window = SlidingWindow()
    failure(window, START, ok=False)
    failure(window, START + timedelta(seconds=30), ok=True)
    assert window.totals((START + timedelta(seconds=61)).timestamp(), 60) == (1, 0)
    assert window.totals((START + timedelta(seconds=91)).timestamp(), 60) == (0, 0)


def test_memory_is_bounded_by_the_window_not_by_the_request_rate() -> None:
    window = SlidingWindow()
    now = START
    for i in range(10_000):  # 100 requests a second for 100 seconds
        now = START + timedelta(milliseconds=10 * i)
        failure(window, now, ok=i % 10 != 0)
        window.totals(now.timestamp(), 5)
    assert len(window._buckets) <= 6
    assert window.totals(now.timestamp(), 5) == (len(window), window.amount)
    assert 500 <= len(window) <= 600 and window.amount == len(window) // 10


def test_clear_starts_a_new_window() -> None:
    window = SlidingWindow()
    failure(window, START, ok=False)
    window.clear()
    assert window.totals(START.timestamp(), 60) == (0, 0)


def test_the_minute_window_slides_by_the_second() -> None:
    clock = FakeClock()
    start = clock.now()
    window = SlidingWindow()
    window.add(start.timestamp(), requests=1, amount=10)
    window.add((start + timedelta(seconds=0.5)).timestamp(), requests=1, amount=5)
    window.add((start + timedelta(seconds=30)).timestamp(), requests=2, amount=100)
    assert window.totals((start + timedelta(seconds=59.9)).timestamp(), MINUTE) == (4, 115)
    # the first second has left:
    assert window.totals((start + timedelta(seconds=60)).timestamp(), MINUTE) == (2, 100)
    assert window.totals((start + timedelta(seconds=89)).timestamp(), MINUTE) == (2, 100)
    assert window.totals((start + timedelta(seconds=90)).timestamp(), MINUTE) == (0, 0)
    window.add((start + timedelta(seconds=91)).timestamp(), requests=1)
    assert window.totals((start + timedelta(seconds=91)).timestamp(), MINUTE) == (1, 0)


def test_the_minute_window_keeps_at_most_a_minute_of_buckets() -> None:
    clock = FakeClock()
    window = SlidingWindow()
    for second in range(1000):
        window.add((clock.now() + timedelta(seconds=second)).timestamp(), requests=1)
    assert window.totals((clock.now() + timedelta(seconds=999)).timestamp(), MINUTE) == (60, 0)
    assert len(window._buckets) == 60
