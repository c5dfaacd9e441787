"""``call_within`` on real time: its own expiry, a TimeoutError of the call, and cancellation from outside."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from meshkit.clock import SystemClock
from meshkit.errors import DeadlineExceeded
from meshkit.runtime.deadline import call_within

pytestmark = pytest.mark.anyio

#: A deadline already over when the event loop next looks: it fires without waiting.
AT_ONCE = 1e-9


async def never() -> str:
    await anyio.Event().wait()
    raise AssertionError("unreachable")  # pragma: no cover


async def test_an_answer_in_time_is_returned() -> None:
    async def answer() -> str:
        await anyio.lowlevel.checkpoint()
        return "ok"

    assert await call_within(SystemClock(), 60.0, answer) == "ok"


async def test_a_call_past_its_deadline_raises_deadline_exceeded() -> None:
    with pytest.raises(DeadlineExceeded):
        await call_within(SystemClock(), AT_ONCE, never)


async def test_no_time_left_raises_before_calling() -> None:
    called = False

    async def note() -> None:
        nonlocal called
        called = True

    with pytest.raises(DeadlineExceeded):
        await call_within(SystemClock(), 0.0, note)
    assert not called


async def test_a_timeout_raised_by_the_call_itself_is_not_the_deadline() -> None:
    async def times_out() -> None:
        raise TimeoutError("the upstream's own read timeout")

    with pytest.raises(TimeoutError, match="upstream's own") as raised:
        await call_within(SystemClock(), 60.0, times_out)
    assert not isinstance(raised.value, DeadlineExceeded)


async def test_cancellation_from_outside_propagates() -> None:
    with anyio.move_on_after(AT_ONCE) as outer:
        await call_within(SystemClock(), 60.0, never)
    assert outer.cancelled_caught  # the outer scope's cancellation, not a DeadlineExceeded


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_call_that_swallows_its_deadline_leaves_the_task_uncancelled() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            pass
        return "late"

    assert await call_within(SystemClock(), AT_ONCE, stubborn) == "late"
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # would raise CancelledError if a cancellation were still pending
