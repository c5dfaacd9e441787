"""``locking``: a lock has one owner at a time, only its owner releases it, a waiter gets it once free."""

from __future__ import annotations

import json

import anyio
import attrs
import pytest

from ...enums import StorageFeature
from ...errors import LockNotHeldError, LockTimeoutError
from ...types import Lock
from ..fake_clock import FakeClock
from ..target import ConformanceTarget
from .harness import StorageHarness

__all__ = ["LockTests"]

#: Tasks racing for one free lock.
RACERS = 16
#: Seconds on the fake clock that a waiter without a timeout must sit out a held lock.
PATIENCE_SECONDS = 35
#: Seconds on the fake clock after which a test stops waiting for what a correct backend does
#: at its next poll (a timeout of 0.5 s passing, a released lock taken): far more than any poll.
GIVE_UP = 30.0
#: Seconds the fake clock jumps past a waiter's deadline of 0.5 s, as a busy event loop wakes it late.
LATE_WAKEUP = 5.0


class LockTests(StorageHarness):
    """Backends with ``locking``: ownership, timeouts and waiting."""

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_is_exclusive(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target) as storage:
                held = await storage.acquire("locks/res", ttl=30)
                assert isinstance(held, Lock) and held.key == "locks/res"
                with pytest.raises(LockTimeoutError):
                    await storage.acquire("locks/res", ttl=30, timeout=0)
                other = await storage.acquire("locks/other", ttl=30, timeout=0)
                await storage.release(held)
                again = await storage.acquire("locks/res", ttl=30, timeout=0)
                await storage.release(again)
                await storage.release(other)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_is_released_by_its_owner_only(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target) as storage:
                held = await storage.acquire("locks/res", ttl=30)
                # A token longer than the owner's and one cut short: neither is the owner's.
                for impostor in (held.token + "-impostor", held.token[:-1]):
                    with pytest.raises(LockNotHeldError):
                        await storage.release(attrs.evolve(held, token=impostor))
                        pytest.fail(
                            f"release() with the token {impostor!r} freed a lock held by {held.token!r}"
                        )
                with pytest.raises(LockTimeoutError):
                    await storage.acquire("locks/res", ttl=30, timeout=0)
                await storage.release(held)
                with pytest.raises(LockNotHeldError):
                    await storage.release(held)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_racing_acquirers_get_one_owner(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target) as storage:
                won: list[Lock] = []
                refused: list[BaseException] = []
                other: list[BaseException] = []

                async def contend() -> None:
                    try:
                        won.append(await storage.acquire("locks/race", ttl=30, timeout=0))
                    except LockTimeoutError as exc:
                        refused.append(exc)
                    except Exception as exc:
                        other.append(exc)

                for round_ in range(3):
                    for found in (won, refused, other):
                        found.clear()
                    async with anyio.create_task_group() as tg:
                        for _ in range(RACERS):
                            tg.start_soon(contend)
                    assert not other, (
                        f"acquire(timeout=0) raised {other[0]!r}; a held lock is a LockTimeoutError"
                    )
                    assert len(won) == 1, (
                        f"round {round_ + 1}: {RACERS} tasks raced acquire(timeout=0) on one free lock and "
                        f"{len(won)} got it: checking and taking the lock must be one atomic step"
                    )
                    assert len(refused) == RACERS - 1
                    await storage.release(won[0])

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_timeout_raises_lock_timeout_error(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target, clock) as storage:
                held = await storage.acquire("locks/res", ttl=60)
                outcome: list[BaseException | Lock] = []

                async def contender() -> None:
                    try:
                        outcome.append(await storage.acquire("locks/res", ttl=60, timeout=0.5))
                    except Exception as exc:
                        outcome.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(contender)
                    limit = 10 * 0.5  # ten times the contender's timeout
                    if not await self.move_time_until(clock, lambda: bool(outcome), step=0.1, limit=limit):
                        tg.cancel_scope.cancel()
                assert outcome, (
                    f"acquire(timeout=0.5) of a held lock had not returned {limit:g} s later on the injected "
                    "clock: it gives up once its timeout has passed"
                )
                assert isinstance(outcome[0], LockTimeoutError), (
                    f"expected LockTimeoutError, got {outcome[0]!r}"
                )
                await storage.release(held)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_timeout_holds_when_the_waiter_wakes_late(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        """A waiter woken after its deadline has passed (a busy event loop) gives up then.

        The fake clock otherwise wakes a sleeper at exactly the time it asked for, so an
        ``acquire`` that gives up only when the time left is exactly 0 would pass the plain
        timeout test and, on a real clock, wait for ever.
        """
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target, clock) as storage:
                held = await storage.acquire("locks/late", ttl=3600)
                outcome: list[BaseException | Lock] = []

                async def contender() -> None:
                    try:
                        outcome.append(await storage.acquire("locks/late", ttl=60, timeout=0.5))
                    except Exception as exc:
                        outcome.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(contender)
                    await self.wait_for_a_sleeper(clock)
                    clock.advance_nowait(LATE_WAKEUP)  # past the deadline in one step, nobody woken on it
                    limit = 5 * 0.5
                    if not await self.move_time_until(clock, lambda: bool(outcome), step=0.5, limit=limit):
                        tg.cancel_scope.cancel()
                assert outcome, (
                    f"acquire(timeout=0.5) woke {LATE_WAKEUP:g} s after it began, past its deadline, and had "
                    f"not returned {limit:g} s later on the injected clock: it must give up once the clock "
                    "is past the deadline, not only when it lands on it exactly"
                )
                assert isinstance(outcome[0], LockTimeoutError), (
                    f"expected LockTimeoutError, got {outcome[0]!r}"
                )
                await storage.release(held)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_waiting_acquirer_gets_the_lock_after_release(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target, clock) as storage:
                held = await storage.acquire("locks/res", ttl=60)
                acquired: list[Lock] = []

                async def waiter() -> None:
                    acquired.append(await storage.acquire("locks/res", ttl=60, timeout=30))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(waiter)
                    for _ in range(5):
                        await self.move_time_for_sleepers(clock, 0.1)
                    assert not acquired, "a second owner got a held lock"
                    await storage.release(held)
                    if not await self.move_time_until(
                        clock, lambda: bool(acquired), step=0.05, limit=GIVE_UP
                    ):
                        tg.cancel_scope.cancel()
                assert acquired, f"the lock was released, yet a waiter had not got it {GIVE_UP:g} s later"
                assert acquired[0].token != held.token, "the new owner needs its own token"
                await storage.release(acquired[0])

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_acquire_without_a_timeout_waits_until_the_lock_is_free(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        """``timeout=None`` (the default) waits for as long as it takes, never gives up."""
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target, clock) as storage:
                held = await storage.acquire("locks/patient", ttl=3600)
                acquired: list[Lock] = []
                raised: list[BaseException] = []

                async def waiter() -> None:
                    try:
                        acquired.append(await storage.acquire("locks/patient", ttl=60))
                    except Exception as exc:
                        raised.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(waiter)
                    await self.move_time_until(
                        clock, lambda: bool(raised or acquired), step=1.0, limit=PATIENCE_SECONDS
                    )
                    assert not raised, (
                        f"acquire() without a timeout raised {raised[0]!r} while the lock was held: "
                        "timeout=None waits until the lock is free"
                    )
                    assert not acquired, "a second owner got a held lock"
                    await storage.release(held)
                    done = await self.move_time_until(
                        clock, lambda: bool(raised or acquired), step=0.05, limit=GIVE_UP
                    )
                    if not done:
                        tg.cancel_scope.cancel()
                assert not raised, f"acquire() without a timeout raised {raised[0]!r} once the lock was free"
                assert acquired, f"the lock was released, yet a waiter had not got it {GIVE_UP:g} s later"
                assert acquired[0].token != held.token, "the new owner needs its own token"
                await storage.release(acquired[0])

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_release_takes_an_equal_lock(self, conformance_target: ConformanceTarget) -> None:
        """The owner may release with a copy of its lock (rebuilt from JSON, say), not only the object."""
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target) as storage:
                held = await storage.acquire("locks/copied", ttl=30)
                fields = json.loads(json.dumps({"key": held.key, "token": held.token}))
                copy = Lock(**fields, expires_at=held.expires_at, ttl=held.ttl)
                try:
                    await storage.release(copy)
                except LockNotHeldError as exc:
                    pytest.fail(
                        f"release() refused an equal copy of the lock acquire() returned ({exc}): ownership "
                        "is the key and the token, not the Lock object",
                        pytrace=False,
                    )
                again = await storage.acquire("locks/copied", ttl=30, timeout=0)
                await storage.release(again)
