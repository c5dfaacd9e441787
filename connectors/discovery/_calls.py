"""Calling providers from discovery: a timeout on the injected clock, failures as text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from meshkit import Clock
from meshkit.interfaces import Provider

T = TypeVar("T")


class CallTimedOut(Exception):
    """The call did not finish before the clock ran out."""


async def call_with_timeout(clock: Clock, seconds: float, call: Callable[[], Awaitable[T]]) -> T:
    """Await ``call()``; raise CallTimedOut if ``clock.sleep(seconds)`` finishes first.

    The race runs on the given clock rather than ``anyio.fail_after`` so that a fake
    clock decides when a hung provider times out.
    """
    outcome: list[T] = []
    failure: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def timer() -> None:
            await clock.sleep(seconds)
            group.cancel_scope.cancel()

        group.start_soon(timer)
        try:
            outcome.append(await call())
        except Exception as exc:  # re-raised below, outside the task group's wrapping
            failure.append(exc)
        group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    if not outcome:
        # Only the timer can have cancelled the call: an outer cancellation would have
        # propagated out of the task group instead of reaching this line.
        raise CallTimedOut
    return outcome[0]


def describe_failure(provider: Provider, exc: BaseException) -> str:
    """A one-line account of what went wrong, with the provider's secrets scrubbed."""
    error = provider.classify_error(exc)
    return provider.redact(f"{type(error).__name__}: {error}")
