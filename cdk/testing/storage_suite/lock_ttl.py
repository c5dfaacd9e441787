"""``locking``: a lock lasts its ttl and no longer, on the injected clock or the backend's own."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from ...enums import StorageFeature
from ...errors import LockNotHeldError, LockTimeoutError
from ...types import Lock
from ..fake_clock import FakeClock
from ..target import ConformanceTarget
from .harness import StorageHarness

__all__ = ["DEFAULT_TTL", "LockTtlTests"]

#: What ``acquire`` holds a lock for when it is given no ttl (the interface's default).
DEFAULT_TTL = timedelta(seconds=30)
#: Refused: a lock that expires as it is taken is no lock.
NOT_POSITIVE_TTLS: tuple[float | timedelta, ...] = (0, 0.0, -1, -0.25, timedelta(0), timedelta(seconds=-5))
#: Accepted, however short.
SHORT_TTLS: tuple[float | timedelta, ...] = (0.25, 1, 1.5, timedelta(milliseconds=500))


class LockTtlTests(StorageHarness):
    """Backends with ``locking``: expiry after the ttl, and what a ttl may be."""

    async def lock_expires_on_its_own_clock(self, target: ConformanceTarget, clock: FakeClock) -> None:
        """The TTL test for a backend that keeps time itself (``uses_injected_clock=False``).

        A short TTL runs out on the backend's clock; a waiter then gets the lock, and the
        former owner can no longer release it. Only the order of events is checked.
        """
        async with self.storage(target, clock) as storage:
            first = await storage.acquire("locks/ttl", ttl=0.3)
            acquired: list[Lock] = []

            async def waiter() -> None:
                acquired.append(await storage.acquire("locks/ttl", ttl=30, timeout=60))

            async with anyio.create_task_group() as tg:
                tg.start_soon(waiter)
                while not acquired:
                    await anyio.sleep(0.02)  # the backend's own clock runs the TTL out
                    await clock.advance(0.02)  # the waiter may poll on the injected clock
            assert acquired[0].token != first.token, "the new owner needs its own token"
            with pytest.raises(LockNotHeldError):
                await storage.release(first)
            await storage.release(acquired[0])

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_expires_after_its_ttl(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            if not conformance_target.spec.uses_injected_clock:
                await self.lock_expires_on_its_own_clock(conformance_target, clock)
                return
            async with self.storage(conformance_target, clock) as storage:
                first = await storage.acquire("locks/ttl", ttl=5)
                await clock.advance(4)
                with pytest.raises(LockTimeoutError):
                    await storage.acquire("locks/ttl", ttl=5, timeout=0)
                await clock.advance(2)
                second = await storage.acquire("locks/ttl", ttl=5, timeout=0)
                with pytest.raises(LockNotHeldError):
                    await storage.release(first)
                await storage.release(second)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_release_after_expiry_fails(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, StorageFeature.LOCKING):
            if not conformance_target.spec.uses_injected_clock:
                await self.lock_expires_on_its_own_clock(conformance_target, clock)
                return
            async with self.storage(conformance_target, clock) as storage:
                lock = await storage.acquire("locks/lapsed", ttl=5)
                await clock.advance(6)
                with pytest.raises(LockNotHeldError):
                    await storage.release(lock)
                    pytest.fail(
                        "the former owner released a lock after its ttl ran out: it no longer holds it",
                        pytrace=False,
                    )
                fresh = await storage.acquire("locks/lapsed", ttl=5, timeout=0)
                await storage.release(fresh)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_is_free_at_exactly_its_ttl(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        """A lock taken at t for ttl is held over [t, t + ttl): at t + ttl it is free."""
        with self.feature(conformance_target, StorageFeature.LOCKING):
            if not conformance_target.spec.uses_injected_clock:
                await self.lock_expires_on_its_own_clock(conformance_target, clock)
                return
            async with self.storage(conformance_target, clock) as storage:
                first = await storage.acquire("locks/edge", ttl=5)
                await clock.advance(4.999)
                with pytest.raises(LockTimeoutError):
                    await storage.acquire("locks/edge", ttl=5, timeout=0)
                    pytest.fail("a lock with 1 ms of its ttl left was taken by another owner", pytrace=False)
                await clock.advance(0.001)
                with pytest.raises(LockNotHeldError):
                    await storage.release(first)
                    pytest.fail(
                        "the former owner released a lock at exactly the end of its ttl: a lock taken "
                        "at t for a ttl of 5 s is held until t + 5 s, not through it",
                        pytrace=False,
                    )
                try:
                    second = await storage.acquire("locks/edge", ttl=5, timeout=0)
                except LockTimeoutError:
                    pytest.fail(
                        "a lock taken at t for a ttl of 5 s was still held at t + 5 s: it is free once "
                        "its ttl has run out",
                        pytrace=False,
                    )
                await storage.release(second)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_ttl_must_be_positive(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        """A ttl of zero or less is a ValueError and takes nothing; any positive one, however short, works."""
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target, clock) as storage:
                for ttl in NOT_POSITIVE_TTLS:
                    with pytest.raises(ValueError):
                        await storage.acquire("locks/ttl", ttl=ttl, timeout=0)
                        pytest.fail(
                            f"acquire(ttl={ttl!r}) took a lock; a ttl must be positive (ValueError)",
                            pytrace=False,
                        )
                for index, ttl in enumerate(SHORT_TTLS):
                    key = f"locks/short-{index}"
                    try:
                        lock = await storage.acquire(key, ttl=ttl, timeout=0)
                    except (ValueError, LockTimeoutError) as exc:
                        pytest.fail(
                            f"acquire({key!r}, ttl={ttl!r}) of a free lock raised {exc!r}", pytrace=False
                        )
                    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
                    assert lock.ttl in (None, timedelta(seconds=seconds)), (
                        f"acquire(ttl={ttl!r}) returned a lock with ttl {lock.ttl!r}"
                    )
                    if conformance_target.spec.uses_injected_clock:  # no time has passed: still held
                        await storage.release(lock)

    @pytest.mark.meshkit_feature(StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_default_lock_ttl_is_30_seconds(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        """``acquire(key)`` without a ttl holds the lock for the interface's default, 30 s."""
        with self.feature(conformance_target, StorageFeature.LOCKING):
            async with self.storage(conformance_target, clock) as storage:
                lock = await storage.acquire("locks/default")
                assert lock.ttl in (None, DEFAULT_TTL), (
                    f"acquire() without a ttl returned a lock with ttl {lock.ttl!r}; the default is 30 s"
                )
                if not conformance_target.spec.uses_injected_clock:
                    return  # the backend's own clock: the ttl it reports is all the suite can check
                assert lock.expires_at in (None, clock.now() + DEFAULT_TTL), (
                    f"acquire() without a ttl at {clock.now()} returned a lock expiring at {lock.expires_at}"
                )
                await clock.advance(DEFAULT_TTL - timedelta(seconds=1))
                with pytest.raises(LockTimeoutError):
                    await storage.acquire("locks/default", timeout=0)
                    pytest.fail(
                        "a lock taken without a ttl was free after 29 s; the default is 30 s", pytrace=False
                    )
                await clock.advance(timedelta(seconds=1.5))  # past the end: the boundary has its own test
                try:
                    fresh = await storage.acquire("locks/default", timeout=0)
                except LockTimeoutError:
                    pytest.fail(
                        "a lock taken without a ttl was still held after 30.5 s; the default is 30 s",
                        pytrace=False,
                    )
                await storage.release(fresh)
