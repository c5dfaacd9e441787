"""Storage backends that each get one thing wrong, built on the in-memory backend."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import anyio
import attrs

from meshkit.connectors.storage.memory import MemoryStorage
from meshkit.enums import StorageFeature
from meshkit.errors import LockNotHeldError, LockTimeoutError
from meshkit.interfaces import as_seconds, validate_key
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


class StaleStat(MemoryStorage):
    """Defect: keeps each key's metadata from its first write, so ``stat`` sizes go stale."""

    connector_id = "defect.stale-stat.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._meta: dict[str, EntryMetadata] = {}

    async def save(self, key: str, data: bytes) -> None:
        await super().save(key, data)
        self._meta.setdefault(key, self._data[key][1])

    async def delete(self, key: str) -> bool:
        self._meta.pop(key, None)
        return await super().delete(key)

    async def stat(self, key: str) -> EntryMetadata | None:
        return self._meta.get(key) if key in self._data else None


class ReadCache(MemoryStorage):
    """Defect: a read cache that a delete clears but an overwrite does not."""

    connector_id = "defect.read-cache.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: dict[str, bytes | None] = {}

    async def load(self, key: str) -> bytes | None:
        if key not in self._cache:
            self._cache[key] = await super().load(key)
        return self._cache[key]

    async def save(self, key: str, data: bytes) -> None:
        await super().save(key, data)
        if self._cache.get(key) is None:
            self._cache.pop(key, None)

    async def delete(self, key: str) -> bool:
        self._cache.pop(key, None)
        return await super().delete(key)


class TruncatedKeys(MemoryStorage):
    """Defect: stores under the first 255 characters of a key, a file name's length limit."""

    connector_id = "defect.truncated-keys.v1"

    @staticmethod
    def _place(key: str) -> str:
        return key[:255]

    async def load(self, key: str) -> bytes | None:
        return await super().load(self._place(key))

    async def save(self, key: str, data: bytes) -> None:
        await super().save(self._place(key), data)

    async def delete(self, key: str) -> bool:
        return await super().delete(self._place(key))

    async def stat(self, key: str) -> EntryMetadata | None:
        meta = await super().stat(self._place(key))
        return None if meta is None else attrs.evolve(meta, key=key)


class CaseFolding(MemoryStorage):
    """Defect: lowercases keys, as a case-insensitive file system would, merging 'A' and 'a'."""

    connector_id = "defect.case-folding.v1"

    async def load(self, key: str) -> bytes | None:
        return await super().load(key.lower())

    async def save(self, key: str, data: bytes) -> None:
        await super().save(key.lower(), data)

    async def delete(self, key: str) -> bool:
        return await super().delete(key.lower())

    async def stat(self, key: str) -> EntryMetadata | None:
        meta = await super().stat(key.lower())
        return None if meta is None else attrs.evolve(meta, key=key)


class LapsedRelease(MemoryStorage):
    """Defect: ``release`` checks the token but not the expiry, so a lapsed owner still releases."""

    connector_id = "defect.lapsed-release.v1"

    async def release(self, lock: Lock) -> None:
        held = self._locks.get(lock.key)
        if held is not None and held.token == lock.token:
            del self._locks[lock.key]
            return
        await super().release(lock)


class CheckThenTake(MemoryStorage):
    """Defect: looks at the lock, then (after an await, say a round trip) takes it: not atomic."""

    connector_id = "defect.check-then-take.v1"

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        held = self._locks.get(key)
        free = held is None or (held.expires_at is not None and held.expires_at <= self.clock.now())
        await anyio.lowlevel.checkpoint()  # the round trip to the server between GET and SET
        if free:
            self._locks.pop(key, None)
        return await super().acquire(key, ttl, timeout)


class ClaimsShared(MemoryStorage):
    """Defect: declares SHARED (it is meant to be) although each instance keeps its own dict."""

    connector_id = "defect.claims-shared.v1"
    features = frozenset({StorageFeature.SHARED})  # type: ignore[assignment]


class ClaimsPersistent(MemoryStorage):
    """Defect: declares PERSISTENT, but its data lives only as long as the instance."""

    connector_id = "defect.claims-persistent.v1"
    features = frozenset({StorageFeature.LOCKING, StorageFeature.PERSISTENT})  # type: ignore[assignment]


class ClaimsLocking(MemoryStorage):
    """Defect: declares LOCKING, copied from another backend, but has no locks."""

    connector_id = "defect.claims-locking.v1"

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        raise self._no_locking()

    async def release(self, lock: Lock) -> None:
        raise self._no_locking()


class GivesUpWithoutTimeout(MemoryStorage):
    """Defect: reads ``timeout=None`` as "do not wait" (``timeout or 0``), so a held lock fails at once."""

    connector_id = "defect.gives-up-without-timeout.v1"

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        return await super().acquire(key, ttl, timeout or 0)


class ZeroTtlLock(MemoryStorage):
    """Defect: checks ``ttl < 0`` where ``<= 0`` was meant, so a ttl of 0 gives a lock already expired."""

    connector_id = "defect.zero-ttl-lock.v1"

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        if as_seconds(ttl) != 0:
            return await super().acquire(key, ttl, timeout)
        now = self.clock.now()
        lock = Lock(key=key, token=secrets.token_hex(16), expires_at=now, ttl=timedelta(0))
        self._locks[key] = lock
        return lock


class HeldThroughItsTtl(MemoryStorage):
    """Defect: a lock counts as expired only once the clock is past its end (``expires_at < now``)."""

    connector_id = "defect.held-through-its-ttl.v1"

    def _live(self, key: str) -> Lock | None:
        held = self._locks.get(key)
        if held is None or (held.expires_at is not None and held.expires_at < self.clock.now()):
            return None
        return held

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        validate_key(key)
        seconds = as_seconds(ttl)
        if seconds <= 0:
            raise ValueError("a lock's ttl must be positive")
        deadline = None if timeout is None else self.clock.monotonic() + as_seconds(timeout)
        while self._live(key) is not None:
            if deadline is not None and self.clock.monotonic() >= deadline:
                raise LockTimeoutError(f"lock {key!r} is held by another owner")
            await self.clock.sleep(0.01)
        now = self.clock.now()
        lock = Lock(
            key=key,
            token=secrets.token_hex(16),
            expires_at=now + timedelta(seconds=seconds),
            ttl=timedelta(seconds=seconds),
        )
        self._locks[key] = lock
        return lock

    async def release(self, lock: Lock) -> None:
        held = self._live(lock.key)
        if held is None or held.token != lock.token:
            raise LockNotHeldError(f"lock {lock.key!r} is not held by this owner")
        del self._locks[lock.key]


class ReleasesTheSameObjectOnly(MemoryStorage):
    """Defect: checks ownership by identity (``is``): a copy of the lock (from JSON, say) cannot release."""

    connector_id = "defect.releases-the-same-object-only.v1"

    async def release(self, lock: Lock) -> None:
        if self._locks.get(lock.key) is not lock:
            raise LockNotHeldError(f"lock {lock.key!r} is not held by this owner")
        await super().release(lock)


class ShortDefaultTtl(MemoryStorage):
    """Defect: its own default ttl (10 s) instead of the interface's 30 s."""

    connector_id = "defect.short-default-ttl.v1"

    async def acquire(
        self, key: str, ttl: float | timedelta = 10.0, timeout: float | timedelta | None = None
    ) -> Lock:
        return await super().acquire(key, ttl, timeout)


class TokenInRecord(MemoryStorage):
    """Defect: checks ownership by ``token in record`` (its ``key:token`` record): a cut token passes."""

    connector_id = "defect.token-in-record.v1"

    async def release(self, lock: Lock) -> None:
        held = self._locks.get(lock.key)
        live = held is not None and held.expires_at is not None and held.expires_at > self.clock.now()
        if held is not None and live and lock.token and lock.token in f"{held.key}:{held.token}":
            del self._locks[lock.key]
            return
        await super().release(lock)


class TimesOutOnTheDot(MemoryStorage):
    """Defect: gives up only when the time left is exactly 0, which its sleep clamped to the
    deadline seems to promise; a waiter woken late finds less than 0 and waits for ever."""

    connector_id = "defect.times-out-on-the-dot.v1"

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        if timeout is None:
            return await super().acquire(key, ttl, None)
        deadline = self.clock.monotonic() + as_seconds(timeout)
        while True:
            try:
                return await super().acquire(key, ttl, 0)
            except LockTimeoutError:
                left = deadline - self.clock.monotonic()
                if left == 0:
                    raise
                await self.clock.sleep(min(0.01, max(left, 0.0)))
                await anyio.lowlevel.checkpoint()


class ConfigOnInstancesOnly(MemoryStorage):
    """Defect: overrides ``build_config`` (to take no config as an empty one) without ``@classmethod``:
    an instance builds its config, a mesh, which checks it on the class first, cannot."""

    connector_id = "defect.config-on-instances-only.v1"

    def build_config(self, config: Any, *, path: str = "config") -> Any:  # type: ignore[override]
        return super().build_config({} if config is None else config, path=path)


CONNECTORS: list[type[Any]] = [
    ModestStorage,
    TornWrites,
    PrefixBlindList,
    OverwriteLosesKey,
    SharedLock,
    AnyoneReleases,
    ImmortalLocks,
    StaleStat,
    ReadCache,
    TruncatedKeys,
    CaseFolding,
    LapsedRelease,
    CheckThenTake,
    ClaimsShared,
    ClaimsPersistent,
    ClaimsLocking,
    GivesUpWithoutTimeout,
    ZeroTtlLock,
    HeldThroughItsTtl,
    ReleasesTheSameObjectOnly,
    ShortDefaultTtl,
    TokenInRecord,
    TimesOutOnTheDot,
    ConfigOnInstancesOnly,
]
EXPECTED = {
    "defect.torn-writes.v1": "test_concurrent_saves_and_loads",
    "defect.prefix-blind.v1": "test_list_filters_by_prefix",
    "defect.overwrite-loses.v1": "test_overwrite_replaces_the_value",
    "defect.shared-lock.v1": "test_lock_is_exclusive",
    "defect.anyone-releases.v1": "test_lock_is_released_by_its_owner_only",
    "defect.immortal-locks.v1": "test_lock_expires_after_its_ttl",
    "defect.stale-stat.v1": "test_behaves_like_a_dict",
    "defect.read-cache.v1": "test_behaves_like_a_dict",
    "defect.truncated-keys.v1": "test_read_after_write_for_keys_of_every_shape",
    "defect.case-folding.v1": "test_read_after_write_for_keys_of_every_shape",
    "defect.lapsed-release.v1": "test_release_after_expiry_fails",
    "defect.check-then-take.v1": "test_racing_acquirers_get_one_owner",
    "defect.claims-shared.v1": "test_shared_backend_shares_data_across_instances",
    "defect.claims-persistent.v1": "test_data_survives_reopening",
    "defect.claims-locking.v1": "test_lock_is_exclusive",
    "defect.gives-up-without-timeout.v1": "test_acquire_without_a_timeout_waits_until_the_lock_is_free",
    "defect.zero-ttl-lock.v1": "test_lock_ttl_must_be_positive",
    "defect.held-through-its-ttl.v1": "test_lock_is_free_at_exactly_its_ttl",
    "defect.releases-the-same-object-only.v1": "test_release_takes_an_equal_lock",
    "defect.short-default-ttl.v1": "test_default_lock_ttl_is_30_seconds",
    "defect.token-in-record.v1": "test_lock_is_released_by_its_owner_only",
    "defect.times-out-on-the-dot.v1": "test_lock_timeout_holds_when_the_waiter_wakes_late",
    "defect.config-on-instances-only.v1": "test_config_is_built_on_the_class",
}
