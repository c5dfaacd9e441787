"""The storage interface: an async key → bytes store, optionally with locks."""

from __future__ import annotations

from abc import abstractmethod
from datetime import timedelta
from typing import ClassVar

from ..connector import ConfigT, Connector
from ..enums import ConnectorType, StorageFeature
from ..errors import FeatureNotSupportedError
from ..types import EntryMetadata, Lock

__all__ = ["MAX_KEY_LENGTH", "Storage", "as_seconds", "validate_key", "validate_prefix", "validate_value"]

INTERFACE_VERSION = 1
MAX_KEY_LENGTH = 512


def validate_key(key: object) -> str:
    """Return ``key`` if it is a usable storage key, else raise ValueError saying why."""
    if not isinstance(key, str):
        raise TypeError(f"a storage key must be a string, got {type(key).__name__}")
    if not key:
        raise ValueError("a storage key cannot be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a storage key is at most {MAX_KEY_LENGTH} characters")
    if "\x00" in key:
        raise ValueError("a storage key cannot contain NUL")
    return key


def validate_value(data: object) -> bytes:
    """``data`` as bytes if it is a bytes-like value a storage can hold, else raise TypeError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"storage values are bytes, got {type(data).__name__}")
    return bytes(data)


def validate_prefix(prefix: object) -> str:
    """Return ``prefix`` if it is a string ``list`` can filter keys by, else raise TypeError."""
    if not isinstance(prefix, str):
        raise TypeError(f"a key prefix must be a string, got {type(prefix).__name__}")
    return prefix


def as_seconds(value: float | timedelta) -> float:
    """Seconds from a number or a timedelta."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Storage(Connector[ConfigT]):
    """Async key → bytes. A save is atomic: readers see the old value or the new, never a mix.

    Keys are non-empty strings of at most 512 characters without NUL; ``list`` returns
    the keys starting with ``prefix``, sorted.
    """

    connector_type: ClassVar[ConnectorType] = ConnectorType.STORAGE
    interface_version: ClassVar[int] = INTERFACE_VERSION

    @abstractmethod
    async def load(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None."""

    @abstractmethod
    async def save(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, atomically."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""

    @abstractmethod
    async def list(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted."""

    @abstractmethod
    async def stat(self, key: str) -> EntryMetadata | None:
        """Size and modification time of ``key``, or None."""

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        """Take the lock ``key`` for ``ttl``; LockTimeoutError after ``timeout`` (LOCKING)."""
        raise self._no_locking()

    async def release(self, lock: Lock) -> None:
        """Release a lock taken by this owner; LockNotHeldError otherwise (LOCKING)."""
        raise self._no_locking()

    def _no_locking(self) -> FeatureNotSupportedError:
        return FeatureNotSupportedError(
            f"{self.connector_id} does not declare {StorageFeature.LOCKING.value!r}"
        )
