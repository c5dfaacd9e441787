"""The wait-and-retry loop the lock-capable backends share around one atomic attempt."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from meshkit.errors import LockTimeoutError
from meshkit.interfaces.storage import as_seconds, validate_key
from meshkit.runtime.clock import Clock
from meshkit.types import Lock

__all__ = ["TryAcquire", "acquire_lock", "lock_ttl", "new_token"]

#: One attempt: ``(key, token, now, ttl_seconds) -> True`` when the lock is now ours.
TryAcquire = Callable[[str, str, datetime, float], Awaitable[bool]]


def new_token() -> str:
    """An owner token nobody else can guess."""
    return secrets.token_hex(16)


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
