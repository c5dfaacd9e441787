"""Storage backends that each get one thing wrong, built on the in-memory backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import attrs

from meshkit.connectors.storage.memory import MemoryStorage
from meshkit.enums import StorageFeature
from meshkit.types import EntryMetadata, Lock


class ModestStorage(MemoryStorage):
    """Correct, but does not declare LOCKING although its locks work."""

    connector_id = "reference.modest-storage.v1"
    features = frozenset()  # type: ignore[assignment]


class TornWrites(MemoryStorage):
    """Defect: writes a value in two steps, so a reader can see half of it."""

    connector_id = "defect.torn-writes.v1"

    async def save(self, key: str, data: bytes) -> None:
        half = bytes(data[: len(data) // 2])
        self._data[key] = (half, EntryMetadata(key=key, size=len(half), modified_at=self.clock.now()))
        await anyio.lowlevel.checkpoint()
        await super().save(key, data)


class PrefixBlindList(MemoryStorage):
    """Defect: ``list`` returns every key whatever the prefix."""

    connector_id = "defect.prefix-blind.v1"

    async def list(self, prefix: str = "") -> list[str]:
        return sorted(self._data)


class OverwriteLosesKey(MemoryStorage):
    """Defect: keeps a key index that an overwrite removes the key from."""

    connector_id = "defect.overwrite-loses.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index: set[str] = set()

    async def save(self, key: str, data: bytes) -> None:
        await super().save(key, data)
        self._index ^= {key}  # meant as "add"; toggles on an overwrite

    async def delete(self, key: str) -> bool:
        self._index.discard(key)
        return await super().delete(key)

    async def list(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self._index if k.startswith(prefix))


class SharedLock(MemoryStorage):
    """Defect: every caller gets the lock."""

    connector_id = "defect.shared-lock.v1"
    features = frozenset({StorageFeature.LOCKING})  # type: ignore[assignment]

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        self._locks.pop(key, None)
        return await super().acquire(key, ttl, timeout)


class AnyoneReleases(MemoryStorage):
    """Defect: releases a lock without checking who holds it."""

    connector_id = "defect.anyone-releases.v1"

    async def release(self, lock: Lock) -> None:
        held = self._locks.get(lock.key)
        if held is None:
            await super().release(lock)
        await super().release(attrs.evolve(lock, token=held.token))


class ImmortalLocks(MemoryStorage):
    """Defect: a lock never expires, so a crashed owner blocks everyone for ever."""

    connector_id = "defect.immortal-locks.v1"

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        lock = await super().acquire(key, ttl, timeout)
        self._locks[key] = attrs.evolve(lock, expires_at=None)
        return lock

    async def release(self, lock: Lock) -> None:
        held = self._locks.get(lock.key)
        if held is not None and held.token == lock.token:
            del self._locks[lock.key]
            return
        await super().release(lock)


CONNECTORS: list[type[Any]] = [
    ModestStorage,
    TornWrites,
    PrefixBlindList,
    OverwriteLosesKey,
    SharedLock,
    AnyoneReleases,
    ImmortalLocks,
]
EXPECTED = {
    "defect.torn-writes.v1": "test_concurrent_saves_and_loads",
    "defect.prefix-blind.v1": "test_list_filters_by_prefix",
    "defect.overwrite-loses.v1": "test_overwrite_replaces_the_value",
    "defect.shared-lock.v1": "test_lock_is_exclusive",
    "defect.anyone-releases.v1": "test_lock_is_released_by_its_owner_only",
    "defect.immortal-locks.v1": "test_lock_expires_after_its_ttl",
}
