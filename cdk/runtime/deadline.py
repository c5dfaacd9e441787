"""Deadlines measured on the mesh's clock, so a FakeClock drives them in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import sniffio

from ..clock import Clock, SystemClock
from ..errors import DeadlineExceeded

__all__ = ["call_within"]

T = TypeVar("T")


async def call_within(clock: Clock, seconds: float, fn: Callable[[], Awaitable[T]]) -> T:
    """``await fn()``, cancelled after ``seconds`` of ``clock`` time (DeadlineExceeded)."""
    if seconds <= 0:
        raise DeadlineExceeded
    if type(clock) is SystemClock:
        if sniffio.current_async_library() == "asyncio":
            return await _within_asyncio(seconds, fn)
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


async def _within_asyncio(seconds: float, fn: Callable[[], Awaitable[T]]) -> T:
    # asyncio's own timeout costs a fraction of an anyio cancel scope on the hot path. It
    # tells its own expiry from a cancellation from outside (which propagates) and from a
    # TimeoutError raised by ``fn`` (which it leaves alone, for the provider to classify).
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await fn()
    except TimeoutError:
        if scope.expired():
            raise DeadlineExceeded from None
        raise
