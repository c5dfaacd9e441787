"""What every storage test uses: a started backend in the spec's environment, and time moved for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio

from ...interfaces.storage import Storage
from ..base import ConformanceSuite
from ..fake_clock import FakeClock
from ..target import ConformanceTarget

__all__ = ["IDLE_ROUNDS", "StorageHarness"]

#: Polls of a lock test with nobody asleep on the fake clock after which time moves anyway.
IDLE_ROUNDS = 200


class StorageHarness(ConformanceSuite):
    """Builds backends for the tests; holds no tests itself."""

    _idle_rounds: int = 0

    @asynccontextmanager
    async def storage(
        self, target: ConformanceTarget, clock: FakeClock | None = None
    ) -> AsyncIterator[Storage]:
        """A started backend in the spec's environment."""
        async with target.environment() as config:
            instance = target.build(config, clock=clock or FakeClock())
            async with instance:
                yield instance

    async def move_time_for_sleepers(self, clock: FakeClock, step: float) -> None:
        """Advance the fake clock by ``step`` once someone sleeps on it; until then let others run.

        An ``acquire`` that works in a thread (a file, a database) is not asleep on the clock
        while its attempt runs: moving time meanwhile would let a held lock's TTL run out
        under it, and the outcome would depend on how fast the machine is. A backend that
        never sleeps on the injected clock still sees time move, after a while.
        """
        if clock.sleepers or self._idle_rounds >= IDLE_ROUNDS:
            self._idle_rounds = 0
            await clock.advance(step)
        else:
            self._idle_rounds += 1
            await anyio.sleep(0.001)  # gives a worker thread (or a server) time to answer

    async def wait_for_a_sleeper(self, clock: FakeClock) -> bool:
        """Let others run until a task sleeps on the fake clock; False after :data:`IDLE_ROUNDS` polls."""
        for _ in range(IDLE_ROUNDS):
            if clock.sleepers:
                return True
            await anyio.sleep(0.001)  # gives a worker thread (or a server) time to answer
        return False

    async def move_time_until(
        self, clock: FakeClock, done: Callable[[], bool], *, step: float, limit: float
    ) -> bool:
        """Move time as :meth:`move_time_for_sleepers` does until ``done()``; False once ``limit``
        seconds have passed on the fake clock without it (a broken backend fails, never hangs)."""
        start = clock.monotonic()
        while not done():
            if clock.monotonic() - start >= limit:
                return False
            await self.move_time_for_sleepers(clock, step)
        return True
