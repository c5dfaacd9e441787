"""``RunScope``: what a started mesh holds open, entered by ``start`` and left by ``aclose``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

import anyio
import anyio.abc

from .scheduler import Scheduler

__all__ = ["RunScope"]


class RunScope:
    """The exit stack of the started connectors and the task group of the background jobs.

    The task group is entered last and left first, outside any other scope, so that the jobs
    stop before anything they use is closed.
    """

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._stack: AsyncExitStack | None = None
        self._group: anyio.abc.TaskGroup | None = None

    async def open(self, start: Callable[[AsyncExitStack], Awaitable[None]]) -> None:
        """Run ``start`` with a new exit stack (closed again if it fails), then open the jobs' group."""
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            await start(stack)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            raise
        self._stack = stack
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        self.scheduler.attach(group)

    async def close(self, finish: Callable[[], Awaitable[None]]) -> None:
        """Stop the jobs and leave their group; then, shielded, ``finish`` and close the stack.

        ``finish`` runs only when ``open`` succeeded, and the stack closes even when it raises.
        """
        self.scheduler.stop()
        group, self._group = self._group, None
        if group is not None:
            group.cancel_scope.cancel()
            await group.__aexit__(None, None, None)
        stack, self._stack = self._stack, None
        if stack is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await finish()
            finally:
                await stack.aclose()
