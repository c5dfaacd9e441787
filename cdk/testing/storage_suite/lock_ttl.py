"""``locking``: a lock lasts its ttl and no longer, on the injected clock or the backend's own."""

from __future__ import annotations

import anyio
import pytest

from ...enums import StorageFeature
from ...errors import LockNotHeldError, LockTimeoutError
from ...types import Lock
from ..fake_clock import FakeClock
from ..target import ConformanceTarget
from .harness import StorageHarness

__all__ = ["LockTtlTests"]


class LockTtlTests(StorageHarness):
    """Backends with ``locking``: expiry after the ttl."""

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
