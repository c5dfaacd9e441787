"""A save is atomic: concurrent readers never see a torn value, concurrent saves lose nothing."""

from __future__ import annotations

import anyio
import pytest

from ..target import ConformanceTarget
from .harness import StorageHarness

__all__ = ["ConcurrencyTests"]


class ConcurrencyTests(StorageHarness):
    """Every backend: many tasks saving and loading at once."""

    @pytest.mark.anyio
    async def test_concurrent_saves_and_loads(self, conformance_target: ConformanceTarget) -> None:
        contenders = [bytes([i]) * 8192 for i in range(16)]
        torn: list[bytes] = []
        async with self.storage(conformance_target) as storage:

            async def write_then_read(i: int) -> None:
                await storage.save(f"many/{i:03d}", f"value {i}".encode())
                assert await storage.load(f"many/{i:03d}") == f"value {i}".encode()

            async def contend(data: bytes) -> None:
                await storage.save("contended", data)

            async def read_contended() -> None:
                got = await storage.load("contended")
                if got is not None and got not in contenders:
                    torn.append(got)

            async with anyio.create_task_group() as tg:
                for i in range(50):
                    tg.start_soon(write_then_read, i)
            await storage.save("contended", contenders[0])
            async with anyio.create_task_group() as tg:
                for data in contenders:
                    tg.start_soon(contend, data)
                    tg.start_soon(read_contended)
                    tg.start_soon(read_contended)
            assert not torn, f"a reader saw a torn write ({len(torn[0])} bytes of mixed content)"
            assert await storage.load("contended") in contenders, "the last write must win whole"
            assert len(await storage.list("many/")) == 50, "concurrent saves lost keys"
