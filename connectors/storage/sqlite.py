"""``meshkit.sqlite.v1``: one SQLite database file in WAL mode, with locks in a table.

Each instance owns one connection, used by one task at a time on a worker thread (a
``CapacityLimiter`` of 1), so the event loop never waits on the disk. Every write is one
statement in autocommit mode, which SQLite makes atomic and, with the WAL, safe against a
crash at any point. Locks are rows holding an owner token and an expiry; taking one is a
single conditional upsert, so two processes can never both win.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import anyio
import attrs

from meshkit import EntryMetadata, Lock, StorageError, StorageFeature
from meshkit.interfaces import check, validate_key, validate_prefix, validate_value

from .filenames import key_bytes
from .locking import LOCK_POLL_INTERVAL, POSITIVE_DURATION, PolledLockStorage

__all__ = ["SqliteStorage", "SqliteStorageConfig"]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meshkit_entries (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    modified_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meshkit_locks (
    key BLOB PRIMARY KEY,
    token TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""

# Takes the lock when nobody holds it or the holder's time is up, in one statement.
_TAKE_LOCK = """
INSERT INTO meshkit_locks (key, token, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
WHERE meshkit_locks.expires_at <= ?
"""


@attrs.frozen(kw_only=True)
class SqliteStorageConfig:
    """The database file and how SQLite should wait and sync."""

    #: The database file, created with its directory when missing.
    path: str = attrs.field(default=".meshkit/state.sqlite3", validator=check(bool, "a file path"))
    #: How long a write waits for another process's write to finish before failing.
    busy_timeout: timedelta = timedelta(seconds=5)
    #: ``full`` survives power loss; ``normal`` survives a crashed process and is faster.
    synchronous: Literal["full", "normal"] = "full"
    #: How often a waiting ``acquire`` retries.
    lock_poll_interval: timedelta = attrs.field(default=LOCK_POLL_INTERVAL, validator=POSITIVE_DURATION)


class SqliteStorage(PolledLockStorage[SqliteStorageConfig]):
    """Keys and values in a SQLite table; safe for several processes on one machine."""

    connector_id = "meshkit.sqlite.v1"
    Config = SqliteStorageConfig
    features: ClassVar[frozenset[StorageFeature]] = frozenset(  # type: ignore[assignment]
        {StorageFeature.LOCKING, StorageFeature.PERSISTENT, StorageFeature.SHARED}
    )
    description = "A SQLite database (WAL): atomic upserts, cross-process locks"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.database = Path(self.config.path).expanduser()
        self._connection: sqlite3.Connection | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    def __repr__(self) -> str:
        return f"<SqliteStorage {self.connector_id} name={self.name!r} path={str(self.database)!r}>"

    async def _start(self) -> None:
        await self._in_worker(lambda db: None)

    async def _aclose(self) -> None:
        if self._connection is not None:
            await self._in_worker(lambda db: db.close())
            self._connection = None

    # --- the interface ----------------------------------------------------------

    async def load(self, key: str) -> bytes | None:
        raw = key_bytes(validate_key(key))

        def load(db: sqlite3.Connection) -> bytes | None:
            row = db.execute("SELECT value FROM meshkit_entries WHERE key = ?", (raw,)).fetchone()
            return None if row is None else bytes(row[0])

        return await self._run(load)

    async def save(self, key: str, data: bytes) -> None:
        raw = key_bytes(validate_key(key))
        value, modified = validate_value(data), (self.clock.now() - _EPOCH) // _MICROSECOND
        await self._run(
            lambda db: db.execute(
                "INSERT INTO meshkit_entries (key, value, modified_us) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, modified_us = excluded.modified_us",
                (raw, value, modified),
            )
        )

    async def delete(self, key: str) -> bool:
        raw = key_bytes(validate_key(key))
        return await self._run(
            lambda db: db.execute("DELETE FROM meshkit_entries WHERE key = ?", (raw,)).rowcount > 0
        )

    async def list(self, prefix: str = "") -> builtins.list[str]:
        start = key_bytes(validate_prefix(prefix))

        def keys(db: sqlite3.Connection) -> builtins.list[str]:
            # BLOB order is byte order, which for UTF-8 is code-point order: the index
            # walk starts at the prefix and stops at the first key past it.
            found: builtins.list[str] = []
            for (raw,) in db.execute("SELECT key FROM meshkit_entries WHERE key >= ? ORDER BY key", (start,)):
                if not bytes(raw).startswith(start):
                    break
                found.append(bytes(raw).decode("utf-8", "surrogatepass"))
            return found

        return await self._run(keys)

    async def stat(self, key: str) -> EntryMetadata | None:
        validate_key(key)
        raw = key_bytes(key)

        def stat(db: sqlite3.Connection) -> tuple[int, int] | None:
            row = db.execute(
                "SELECT length(value), modified_us FROM meshkit_entries WHERE key = ?", (raw,)
            ).fetchone()
            return None if row is None else (int(row[0]), int(row[1]))

        found = await self._run(stat)
        if found is None:
            return None
        return EntryMetadata(key=key, size=found[0], modified_at=_EPOCH + found[1] * _MICROSECOND)

    async def _attempt_lock(self, key: str, token: str, now: datetime, ttl_s: float) -> bool:
        raw, at = key_bytes(key), now.timestamp()
        return await self._run(lambda db: db.execute(_TAKE_LOCK, (raw, token, at + ttl_s, at)).rowcount == 1)

    async def _release_lock(self, lock: Lock) -> bool:
        raw, now = key_bytes(lock.key), self.clock.now().timestamp()
        return await self._run(
            lambda db: (
                db.execute(
                    "DELETE FROM meshkit_locks WHERE key = ? AND token = ? AND expires_at > ?",
                    (raw, lock.token, now),
                ).rowcount
                == 1
            )
        )

    def _lock_location(self) -> str:
        return str(self.database)

    # --- the one connection, on one worker thread at a time --------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self.closed:
            raise StorageError(f"{self.connector_id} ({self.name}) is closed; make a new one")
        if not self.started:
            await self.start()  # so that aclose() closes the connection even without start()
        return await self._in_worker(work)

    async def _in_worker(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(self._call, work, limiter=self._limiter)

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connect())
        except sqlite3.Error as exc:
            hint = ""
            if "locked" in str(exc):
                hint = "; another process held it past config.busy_timeout: raise it, or find that process"
            raise StorageError(f"{self.connector_id}: {str(self.database)!r}: {exc}{hint}") from None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        try:
            self.database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"{self.connector_id}: cannot create the directory of config.path "
                f"{str(self.database)!r}: {exc.strerror}"
            ) from None
        db = sqlite3.connect(
            self.database,
            timeout=self.config.busy_timeout.total_seconds(),
            isolation_level=None,  # autocommit: each statement is its own transaction
            check_same_thread=False,  # the limiter lets one thread in at a time
        )
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        self._connection = db
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        # Processes opening a new database at once may each try to switch it to WAL; SQLite
        # then answers "database is locked" at once, without waiting busy_timeout (to avoid a
        # deadlock), so the idempotent setup is tried again until busy_timeout runs out.
        deadline = time.monotonic() + self.config.busy_timeout.total_seconds()
        pause = 0.005
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={self.config.synchronous.upper()}")
                db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)  # a worker thread's wait on another process, not the event loop's
            pause = min(pause * 2, 0.1)
