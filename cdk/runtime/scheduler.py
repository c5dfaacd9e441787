"""Background jobs on the mesh's task group, timed by the mesh's clock."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc

from ..clock import Clock
from ..enums import Severity

__all__ = ["Scheduler"]

logger = logging.getLogger("meshkit.runtime.scheduler")

TraceSink = Callable[[Severity, str, dict[str, Any]], None]


class Scheduler:
    """Runs jobs every ``interval`` seconds of clock time; a failing run is reported, not fatal."""

    def __init__(self, clock: Clock, trace: TraceSink) -> None:
        self.clock = clock
        self._trace = trace
        self._group: anyio.abc.TaskGroup | None = None
        self.jobs: dict[str, float] = {}
        self.runs: dict[str, int] = {}

    def attach(self, group: anyio.abc.TaskGroup) -> None:
        """Use ``group`` for every job started from now on."""
        self._group = group

    async def every(self, name: str, interval: float, job: Callable[[], Awaitable[None]]) -> None:
        """Run ``job`` every ``interval`` seconds, first after one interval.

        Returns once the job waits on the clock, so time moved right after is seen by it.
        """
        if self._group is None:
            raise RuntimeError("the scheduler is not attached to a task group; start the mesh first")
        if interval <= 0:
            raise ValueError(f"job {name!r}: the interval must be positive")
        self.jobs[name] = interval
        self.runs[name] = 0
        await self._group.start(self._loop, name, interval, job, name=f"meshkit:{name}")

    async def _loop(
        self,
        name: str,
        interval: float,
        job: Callable[[], Awaitable[None]],
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        task_status.started()
        while True:
            await self.clock.sleep(interval)
            try:
                await job()
            except Exception as exc:  # a background job must never take the mesh down
                logger.exception("background job %r failed", name)
                self._trace(
                    Severity.ERROR,
                    f"background job {name!r} failed: {type(exc).__name__}: {exc}",
                    {"job": name},
                )
            self.runs[name] += 1
