"""Read-after-write for keys of every shape and length: no two keys share a place."""

from __future__ import annotations

import pytest

from ..target import ConformanceTarget
from .harness import StorageHarness
from .inputs import EVERY_SHAPE, REWRITES

__all__ = ["KeyShapeTests"]


class KeyShapeTests(StorageHarness):
    """Every backend: each key of :data:`EVERY_SHAPE`, rewritten, read back, listed, deleted."""

    @pytest.mark.anyio
    async def test_read_after_write_for_keys_of_every_shape(
        self, conformance_target: ConformanceTarget
    ) -> None:
        async with self.storage(conformance_target) as storage:
            for round_, data in enumerate(REWRITES):
                for index, key in enumerate(EVERY_SHAPE):
                    value = data + b"#%d" % index if data else data
                    await storage.save(key, value)
                    got = await storage.load(key)
                    assert got == value, (
                        f"write {round_ + 1} to {key!r} ({len(key)} characters): saved {len(value)} bytes, "
                        f"loaded {None if got is None else len(got)}"
                    )
                    meta = await storage.stat(key)
                    assert meta is not None and meta.key == key and meta.size == len(value), (
                        f"write {round_ + 1} to {key!r} ({len(key)} characters) of {len(value)} bytes: "
                        f"stat gave {meta!r}"
                    )
            last = REWRITES[-1]
            for index, key in enumerate(EVERY_SHAPE):
                got = await storage.load(key)
                assert got == last + b"#%d" % index, (
                    f"{key!r} ({len(key)} characters) holds {got!r} after the other keys were written: "
                    "two keys share a place"
                )
            listed = await storage.list()
            assert listed == sorted(EVERY_SHAPE), (
                f"list() after saving {len(EVERY_SHAPE)} keys gave {len(listed)}; missing: "
                f"{sorted(set(EVERY_SHAPE) - set(listed))[:5]}, "
                f"unexpected: {sorted(set(listed) - set(EVERY_SHAPE))[:5]}"
            )
            for key in EVERY_SHAPE[::2]:
                assert await storage.delete(key) is True, f"delete({key!r}) of a stored key returned False"
            for index, key in enumerate(EVERY_SHAPE):
                expected = None if index % 2 == 0 else last + b"#%d" % index
                assert await storage.load(key) == expected, (
                    f"after deleting every other key, load({key!r}) is wrong: "
                    "deleting one key touched another"
                )
