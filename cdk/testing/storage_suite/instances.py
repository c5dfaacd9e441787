"""Two instances over one place: reopened (``persistent``), side by side (``shared``), one lock."""

from __future__ import annotations

import pytest

from ...enums import StorageFeature
from ...errors import LockTimeoutError
from ..fake_clock import FakeClock
from ..target import ConformanceTarget
from .harness import StorageHarness

__all__ = ["InstanceTests"]


class InstanceTests(StorageHarness):
    """``persistent`` and ``shared`` backends: what another instance sees."""

    @pytest.mark.meshkit_feature(StorageFeature.PERSISTENT)
    @pytest.mark.anyio
    async def test_data_survives_reopening(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, StorageFeature.PERSISTENT):
            spec = conformance_target.spec
            async with conformance_target.environment() as config:
                first = conformance_target.build(config, clock=FakeClock())
                async with first:
                    await first.save("persist/a", b"alpha")
                    await first.save("persist/b", bytes(range(256)))
                    await first.save("persist/gone", b"x")
                    await first.delete("persist/gone")
                second = (
                    spec.reopen(first) if spec.reopen else conformance_target.build(config, clock=FakeClock())
                )
                async with second:
                    assert await second.list("persist/") == ["persist/a", "persist/b"]
                    assert await second.load("persist/a") == b"alpha"
                    assert await second.load("persist/b") == bytes(range(256))

    @pytest.mark.meshkit_feature(StorageFeature.SHARED)
    @pytest.mark.anyio
    async def test_shared_backend_shares_data_across_instances(
        self, conformance_target: ConformanceTarget
    ) -> None:
        with self.feature(conformance_target, StorageFeature.SHARED):
            async with conformance_target.environment() as config:
                one = conformance_target.build(config, clock=FakeClock())
                two = conformance_target.build(config, clock=FakeClock())
                async with one, two:
                    await one.save("shared/a", b"from one")
                    assert await two.load("shared/a") == b"from one", (
                        "an instance does not see another's save"
                    )
                    await two.save("shared/a", b"overwritten by two")
                    assert await one.load("shared/a") == b"overwritten by two", (
                        "an instance does not see another's overwrite (a stale cache?)"
                    )
                    meta = await one.stat("shared/a")
                    assert meta is not None and meta.size == len(b"overwritten by two"), f"stat: {meta!r}"
                    await two.save("shared/b", b"b")
                    assert await one.list("shared/") == ["shared/a", "shared/b"]
                    assert await two.delete("shared/a") is True
                    assert await one.load("shared/a") is None, "an instance still sees a key another deleted"

    @pytest.mark.meshkit_feature(StorageFeature.SHARED, StorageFeature.LOCKING)
    @pytest.mark.anyio
    async def test_lock_is_exclusive_across_instances(self, conformance_target: ConformanceTarget) -> None:
        self.requires(conformance_target, StorageFeature.SHARED)
        self.requires(conformance_target, StorageFeature.LOCKING)
        async with conformance_target.environment() as config:
            one = conformance_target.build(config, clock=FakeClock())
            two = conformance_target.build(config, clock=FakeClock())
            async with one, two:
                await one.save("shared/k", b"from one")
                assert await two.load("shared/k") == b"from one", "a shared backend shares its data"
                held = await one.acquire("locks/shared", ttl=30)
                with pytest.raises(LockTimeoutError):
                    await two.acquire("locks/shared", ttl=30, timeout=0)
                await one.release(held)
