"""Deadlines measured on the mesh's clock, so a FakeClock drives them in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ..clock import Clock, SystemClock
from ..errors import DeadlineExceeded

__all__ = ["call_within"]

T = TypeVar("T")


async def call_within(clock: Clock, seconds: float, fn: Callable[[], Awaitable[T]]) -> T:
    """``await fn()``, cancelled after ``seconds`` of ``clock`` time (DeadlineExceeded)."""
    if seconds <= 0:
        raise DeadlineExceeded
    if type(clock) is SystemClock:
        loop = asyncio._get_running_loop()  # None under trio: cheaper than asking sniffio
        if loop is not None:
            return await _within_asyncio(loop, seconds, fn)
        # Real time: anyio's own deadline is cheaper than a watcher task.
        with anyio.move_on_after(seconds):
            return await fn()
        raise DeadlineExceeded
    fired = False
    done = False
    result: T | None = None
    error: BaseException | None = None
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            nonlocal fired
            await clock.sleep(seconds)
            fired = True
            tg.cancel_scope.cancel()

        tg.start_soon(watch)
        try:
            result = await fn()
            done = True
        except anyio.get_cancelled_exc_class():
            if not fired:
                raise
        except Exception as exc:  # re-raised outside the task group, unwrapped
            error = exc
        finally:
            tg.cancel_scope.cancel()
    if error is not None:
        raise error
    if not done:
        raise DeadlineExceeded
    return result  # type: ignore[return-value]


class _Expiry:
    """The timer's callback: cancels the task and remembers that it did."""

    __slots__ = ("fired", "task")

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task = task
        self.fired = False

    def __call__(self) -> None:
        self.fired = True
        self.task.cancel()


async def _within_asyncio(
    loop: asyncio.AbstractEventLoop, seconds: float, fn: Callable[[], Awaitable[T]]
) -> T:
    # What ``asyncio.timeout`` does, without its state machine and its two extra coroutine
    # frames: one timer handle that cancels this task. A cancellation from outside (or one
    # asked for again meanwhile) propagates; a TimeoutError raised by ``fn`` is left alone,
    # for the provider to classify.
    task = asyncio.current_task(loop)
    if task is None:  # pragma: no cover - the router always runs in a task
        raise RuntimeError("a deadline needs a task to cancel")
    cancelling = task.cancelling()
    expiry = _Expiry(task)
    handle = loop.call_at(loop.time() + seconds, expiry)
    try:
        result = await fn()
    except asyncio.CancelledError:
        if expiry.fired and task.uncancel() <= cancelling:
            raise DeadlineExceeded from None
        raise
    except BaseException:
        if expiry.fired:  # it fired as ``fn`` failed: take back the cancellation it asked for
            task.uncancel()
        raise
    finally:
        handle.cancel()
    if expiry.fired:  # it fired as ``fn`` finished: likewise
        task.uncancel()
    return result
