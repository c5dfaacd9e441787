"""The wait-and-retry loop the lock-capable backends share around one atomic attempt."""

from __future__ import annotations

import secrets
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from meshkit import Clock, Lock, LockNotHeldError, LockTimeoutError
from meshkit.interfaces import Storage, as_seconds, check, validate_key

__all__ = [
    "LOCK_POLL_INTERVAL",
    "POSITIVE_DURATION",
    "PolledLockConfig",
    "PolledLockStorage",
    "TryAcquire",
    "acquire_lock",
    "check_lock",
    "lock_ttl",
    "new_token",
]

#: An attrs validator for a duration that must be above zero.
POSITIVE_DURATION = check(lambda d: d.total_seconds() > 0, "a positive duration")

#: The default ``lock_poll_interval`` of a config: how often a waiting ``acquire`` retries.
LOCK_POLL_INTERVAL = timedelta(milliseconds=20)

#: One attempt: ``(key, token, now, ttl_seconds) -> True`` when the lock is now ours.
TryAcquire = Callable[[str, str, datetime, float], Awaitable[bool]]


def new_token() -> str:
    """An owner token nobody else can guess."""
    return secrets.token_hex(16)


def check_lock(lock: object) -> Lock:
    """``lock`` if it is a Lock, as ``release`` takes; TypeError otherwise."""
    if not isinstance(lock, Lock):
        raise TypeError(f"release takes the Lock that acquire returned, got {type(lock).__name__}")
    return lock


def lock_ttl(ttl: float | timedelta) -> float:
    """The ttl in seconds; ValueError unless it is positive."""
    seconds = as_seconds(ttl)
    if not seconds > 0:
        raise ValueError(f"a lock's ttl must be positive, got {ttl!r}")
    return seconds


async def acquire_lock(
    key: str,
    ttl: float | timedelta,
    timeout: float | timedelta | None,
    *,
    clock: Clock,
    poll_interval: float,
    try_acquire: TryAcquire,
    where: str,
) -> Lock:
    """Call ``try_acquire`` until it succeeds, sleeping ``poll_interval`` on ``clock`` between tries.

    ``timeout`` None waits for ever; 0 makes exactly one attempt.
    """
    validate_key(key)
    ttl_s = lock_ttl(ttl)
    wait_s = None if timeout is None else max(0.0, as_seconds(timeout))
    deadline = None if wait_s is None else clock.monotonic() + wait_s
    token = new_token()
    while True:
        now = clock.now()
        if await try_acquire(key, token, now, ttl_s):
            return Lock(
                key=key, token=token, expires_at=now + timedelta(seconds=ttl_s), ttl=timedelta(seconds=ttl_s)
            )
        remaining = None if deadline is None else deadline - clock.monotonic()
        if remaining is not None and remaining <= 0:
            raise LockTimeoutError(f"lock {key!r} in {where} is held by another owner (waited {wait_s:g}s)")
        await clock.sleep(poll_interval if remaining is None else min(poll_interval, remaining))


class PolledLockConfig(Protocol):
    """What a polled-lock backend's config has: how often a waiting ``acquire`` retries."""

    @property
    def lock_poll_interval(self) -> timedelta: ...


PolledLockConfigT = TypeVar("PolledLockConfigT", bound=PolledLockConfig)


class PolledLockStorage(Storage[PolledLockConfigT]):
    """A storage whose lock is one atomic attempt, retried on the clock until ``acquire``'s timeout.

    A subclass implements :meth:`_attempt_lock`, :meth:`_release_lock` and :meth:`_lock_location`;
    its config has a ``lock_poll_interval`` (default :data:`LOCK_POLL_INTERVAL`).
    """

    async def acquire(
        self, key: str, ttl: float | timedelta = 30.0, timeout: float | timedelta | None = None
    ) -> Lock:
        return await acquire_lock(
            key,
            ttl,
            timeout,
            clock=self.clock,
            poll_interval=self.config.lock_poll_interval.total_seconds(),
            try_acquire=self._attempt_lock,
            where=self._lock_location(),
        )

    async def release(self, lock: Lock) -> None:
        if not await self._release_lock(check_lock(lock)):
            raise LockNotHeldError(f"lock {lock.key!r} is not held by this owner (released or expired)")

    @abstractmethod
    async def _attempt_lock(self, key: str, token: str, now: datetime, ttl_s: float) -> bool:
        """One atomic attempt: take ``key`` for ``token`` until ``now + ttl_s``; True when it is ours."""

    @abstractmethod
    async def _release_lock(self, lock: Lock) -> bool:
        """Drop ``lock`` if this owner still holds it unexpired; True when it was released."""

    @abstractmethod
    def _lock_location(self) -> str:
        """Where the locks live, for the timeout message (a directory, a database, a server)."""
