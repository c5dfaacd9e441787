"""``meshkit.memory.v1``: storage in process memory, with in-process locks."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import ClassVar

import anyio

from meshkit import EntryMetadata, Lock, LockNotHeldError, LockTimeoutError, StorageFeature
from meshkit.interfaces import EmptyConfig, Storage, as_seconds, validate_key, validate_prefix, validate_value

from .locking import check_lock


class MemoryStorage(Storage[EmptyConfig]):
    """Keeps everything in a dict; gone when the process ends."""

    connector_id = "meshkit.memory.v1"
    features: ClassVar[frozenset[StorageFeature]] = frozenset({StorageFeature.LOCKING})  # type: ignore[assignment]
    description = "In-process storage (no persistence); the default"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._data: dict[str, tuple[bytes, EntryMetadata]] = {}
        self._locks: dict[str, Lock] = {}

    async def load(self, key: str) -> bytes | None:
        item = self._data.get(validate_key(key))
        return item[0] if item else None

    async def save(self, key: str, data: bytes) -> None:
        validate_key(key)
        value = validate_value(data)
        self._data[key] = (value, EntryMetadata(key=key, size=len(value), modified_at=self.clock.now()))

    async def delete(self, key: str) -> bool:
        return self._data.pop(validate_key(key), None) is not None

    async def list(self, prefix: str = "") -> list[str]:
        prefix = validate_prefix(prefix)
        return sorted(k for k in self._data if k.startswith(prefix))

    async def stat(self, key: str) -> EntryMetadata | None:
        item = self._data.get(validate_key(key))
        return item[1] if item else None

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        validate_key(key)
        ttl_s = as_seconds(ttl)
        if ttl_s <= 0:
            raise ValueError("a lock's ttl must be positive")
        deadline = None if timeout is None else self.clock.monotonic() + as_seconds(timeout)
        while True:
            now = self.clock.now()
            held = self._locks.get(key)
            if held is None or (held.expires_at is not None and held.expires_at <= now):
                lock = Lock(
                    key=key,
                    token=secrets.token_hex(16),
                    expires_at=now + timedelta(seconds=ttl_s),
                    ttl=timedelta(seconds=ttl_s),
                )
                self._locks[key] = lock
                return lock
            if deadline is not None and self.clock.monotonic() >= deadline:
                raise LockTimeoutError(f"lock {key!r} is held by another owner")
            wait = 0.01 if deadline is None else min(0.01, max(0.0, deadline - self.clock.monotonic()))
            await self.clock.sleep(wait)
            await anyio.lowlevel.checkpoint()

    async def release(self, lock: Lock) -> None:
        held = self._locks.get(check_lock(lock).key)
        now = self.clock.now()
        if (
            held is None
            or held.token != lock.token
            or (held.expires_at is not None and held.expires_at <= now)
        ):
            raise LockNotHeldError(f"lock {lock.key!r} is not held by this owner (released or expired)")
        del self._locks[lock.key]
