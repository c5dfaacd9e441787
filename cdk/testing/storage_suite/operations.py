"""One operation at a time, deterministically: prefix listing, overwrite, missing keys, values, bad input."""

from __future__ import annotations

import pytest

from ..target import ConformanceTarget
from .harness import StorageHarness

__all__ = ["OperationTests"]


class OperationTests(StorageHarness):
    """Every backend: what each operation answers, on fixed inputs."""

    @pytest.mark.anyio
    async def test_list_filters_by_prefix(self, conformance_target: ConformanceTarget) -> None:
        async with self.storage(conformance_target) as storage:
            for key in ["a", "ab", "a/b", "b", "ba", "c/a"]:
                await storage.save(key, key.encode())
            assert await storage.list("a") == ["a", "a/b", "ab"], "list('a') must give keys starting with 'a'"
            assert await storage.list("b") == ["b", "ba"]
            assert await storage.list("a/") == ["a/b"]
            assert await storage.list("zzz") == []
            assert await storage.list() == ["a", "a/b", "ab", "b", "ba", "c/a"], (
                "list() gives every key, sorted"
            )

    @pytest.mark.anyio
    async def test_overwrite_replaces_the_value(self, conformance_target: ConformanceTarget) -> None:
        async with self.storage(conformance_target) as storage:
            await storage.save("state/model", b"first version, rather long")
            await storage.save("state/model", b"second")
            assert await storage.load("state/model") == b"second"
            meta = await storage.stat("state/model")
            assert meta is not None and meta.size == len(b"second"), f"stat after overwrite: {meta!r}"
            assert await storage.list("state/") == ["state/model"], "an overwritten key is listed once"

    @pytest.mark.anyio
    async def test_missing_keys(self, conformance_target: ConformanceTarget) -> None:
        async with self.storage(conformance_target) as storage:
            assert await storage.load("nothing/here") is None, "load of a missing key gives None"
            assert await storage.stat("nothing/here") is None, "stat of a missing key gives None"
            assert await storage.delete("nothing/here") is False, "delete of a missing key gives False"
            await storage.save("k", b"v")
            assert await storage.delete("k") is True
            assert await storage.load("k") is None, "a deleted key is gone"
            assert await storage.delete("k") is False, "a second delete gives False"

    @pytest.mark.anyio
    async def test_values_round_trip_exactly(self, conformance_target: ConformanceTarget) -> None:
        payloads = {"empty": b"", "bytes": bytes(range(256)), "large": bytes(range(256)) * 4096}
        async with self.storage(conformance_target) as storage:
            for key, data in payloads.items():
                await storage.save(key, data)
            for key, data in payloads.items():
                got = await storage.load(key)
                assert got == data, (
                    f"{key}: saved {len(data)} bytes, loaded {None if got is None else len(got)}"
                )
            meta = await storage.stat("large")
            assert meta is not None and meta.size == len(payloads["large"])
            assert meta.modified_at is None or meta.modified_at.tzinfo is not None, (
                "modified_at must be aware"
            )

    @pytest.mark.anyio
    async def test_bad_input_is_rejected_and_stores_nothing(
        self, conformance_target: ConformanceTarget
    ) -> None:
        async with self.storage(conformance_target) as storage:
            with pytest.raises((ValueError, TypeError)):
                await storage.save("", b"x")
            with pytest.raises((ValueError, TypeError)):
                await storage.save("k\x00", b"x")
            with pytest.raises((ValueError, TypeError)):
                await storage.save("k", "text, not bytes")  # type: ignore[arg-type]
            assert await storage.list() == [], "a rejected save stored something"
