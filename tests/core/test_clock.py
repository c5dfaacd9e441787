"""``posix_seconds`` and ``now_reader``: the clock's now, read cheaply, whichever clock it is."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from meshkit.clock import SystemClock, now_reader, posix_seconds
from meshkit.testing import FakeClock


def test_a_fake_clock_gives_the_seconds_of_its_own_now() -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC))
    assert posix_seconds(clock) == datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC).timestamp()
    clock.advance_nowait(90)
    assert posix_seconds(clock) == clock.now().timestamp()


def test_the_real_clock_gives_the_systems_seconds() -> None:
    before = time.time()
    read = posix_seconds(SystemClock())
    assert before <= read <= time.time()
    assert abs(read - SystemClock().now().timestamp()) < 60  # the same time scale as now()


def test_now_reader_reads_the_clock_it_was_given() -> None:
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    read = now_reader(clock)
    clock.advance_nowait(5)
    assert read() == clock.now() == datetime(2026, 3, 1, 0, 0, 5, tzinfo=UTC)
    before = datetime.now(UTC)
    real = now_reader(SystemClock())()
    assert before <= real <= datetime.now(UTC) and real.tzinfo is UTC
