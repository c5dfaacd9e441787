"""The fake clock: time moves only when a test moves it, and sleepers wake in order."""

from __future__ import annotations

import anyio
import pytest

from meshkit.testing import FakeClock

pytestmark = pytest.mark.anyio


async def test_sleepers_wake_in_deadline_order_and_next_wakeup_names_the_earliest() -> None:
    clock = FakeClock()
    woke: list[float] = []

    async def nap(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.monotonic())

    assert clock.next_wakeup is None
    async with anyio.create_task_group() as tg:
        tg.start_soon(nap, 3.0)
        tg.start_soon(nap, 1.0)
        await clock.advance(0)
        assert (clock.sleepers, clock.next_wakeup) == (2, 1.0)
        await clock.advance(1.5)
        assert woke == [1.0]
        assert (clock.sleepers, clock.next_wakeup) == (1, 3.0)
        await clock.advance(5)
    assert woke == [1.0, 3.0]
    assert clock.monotonic() == 6.5
    assert clock.next_wakeup is None


async def test_time_never_moves_back() -> None:
    with pytest.raises(ValueError, match="forward"):
        await FakeClock().advance(-1)


async def test_a_cancelled_sleeper_no_longer_waits() -> None:
    clock = FakeClock()
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.sleep, 60.0)
        tg.start_soon(clock.sleep, 90.0)
        await clock.advance(0)
        assert (clock.sleepers, clock.next_wakeup) == (2, 60.0)
        tg.cancel_scope.cancel()
    assert (clock.sleepers, clock.next_wakeup) == (0, None)
