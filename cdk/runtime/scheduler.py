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
    """Runs jobs every ``interval`` seconds of clock time; a failing run is reported, not fatal.

    A job that keeps failing the same way is reported once, with its traceback, and again when
    it runs cleanly; not at every run. Once ``stop()`` is called no job starts another run.
    """

    def __init__(self, clock: Clock, trace: TraceSink) -> None:
        self.clock = clock
        self._trace = trace
        self._group: anyio.abc.TaskGroup | None = None
        self._stopped = False
        self.jobs: dict[str, float] = {}
        self.runs: dict[str, int] = {}
        self.failures: dict[str, int] = {}  # each job's failed runs in a row

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
        self.failures[name] = 0
        await self._group.start(self._loop, name, interval, job, name=f"meshkit:{name}")

    def stop(self) -> None:
        """No job starts another run from now on (the mesh is closing around them)."""
        self._stopped = True

    async def _loop(
        self,
        name: str,
        interval: float,
        job: Callable[[], Awaitable[None]],
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        task_status.started()
        last: str | None = None  # the error of the failing streak, if one is on
        while True:
            await self.clock.sleep(interval)
            # A run woken just as the mesh closes could otherwise start before the cancellation lands.
            if self._stopped:
                return
            try:
                await job()
            except Exception as exc:  # a background job must never take the mesh down
                if self._stopped:
                    return  # it failed because the mesh is closing around it
                last = self._failed(name, exc, last)
            else:
                if last is not None:
                    self._recovered(name)
                    last = None
            self.runs[name] += 1

    def _failed(self, name: str, exc: Exception, last: str | None) -> str:
        error = f"{type(exc).__name__}: {exc}"
        self.failures[name] += 1
        if error == last:
            logger.debug("background job %r failed again: %s", name, error)
            return error
        logger.error("background job %r failed: %s", name, error, exc_info=exc)
        self._trace(Severity.ERROR, f"background job {name!r} failed: {error}", {"job": name})
        return error

    def _recovered(self, name: str) -> None:
        failed, self.failures[name] = self.failures[name], 0
        message = f"background job {name!r} runs again after {failed} failed runs"
        logger.info("%s", message)
        self._trace(Severity.INFO, message, {"job": name, "failed_runs": failed})
