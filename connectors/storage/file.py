"""``meshkit.file.v1``: one file per key in a directory, written atomically, with cross-process locks.

A save writes a temporary file in the same directory, fsyncs it, renames it over the old
one and fsyncs the directory, so a crash at any moment leaves the old value or the new
one. Locks are small records in ``.locks/``; every check-and-set on them happens under an
exclusive ``flock`` on ``.locks/.guard``. The kernel drops a ``flock`` when its process
dies, so a crash can never wedge the guard, while the record itself carries the owner
token and the expiry that the interface asks for (``flock`` alone has neither). A record
left by a dead process on the same host is taken over at once instead of after its ttl.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import anyio
import attrs

from meshkit import EntryMetadata, Lock, StorageCorruptError, StorageError, StorageFeature
from meshkit.interfaces import check, validate_key, validate_prefix, validate_value

from .filenames import (
    LONG_PREFIX,
    decode_name,
    encode_key,
    long_key_header,
    split_long_key_file,
)
from .locking import LOCK_POLL_INTERVAL, POSITIVE_DURATION, PolledLockStorage, new_token

__all__ = ["FileStorage", "FileStorageConfig"]

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]
_TEMP_PREFIX = ".tmp."
_LOCKS_DIR = ".locks"
_GUARD = ".guard"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class FileStorageConfig:
    """Where the files live and how hard each write insists on reaching the disk."""

    #: The directory, created when missing; relative paths start at the working directory.
    path: str = attrs.field(default=".meshkit/state", validator=check(bool, "a directory path"))
    #: fsync each file and the directory on save; off trades crash safety for speed.
    fsync: bool = True
    #: How often a waiting ``acquire`` retries.
    lock_poll_interval: timedelta = attrs.field(default=LOCK_POLL_INTERVAL, validator=POSITIVE_DURATION)


class FileStorage(PolledLockStorage[FileStorageConfig]):
    """One file per key under ``path``; safe for several processes on one machine."""

    connector_id = "meshkit.file.v1"
    Config = FileStorageConfig
    features: ClassVar[frozenset[StorageFeature]] = frozenset(  # type: ignore[assignment]
        {StorageFeature.LOCKING, StorageFeature.PERSISTENT, StorageFeature.SHARED}
    )
    description = "Files in a directory: atomic writes, cross-process locks"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Path(self.config.path).expanduser()
        self._locks = self.directory / _LOCKS_DIR

    def __repr__(self) -> str:
        return f"<FileStorage {self.connector_id} name={self.name!r} path={str(self.directory)!r}>"

    async def _start(self) -> None:
        await anyio.to_thread.run_sync(self._prepare)

    # --- the interface ----------------------------------------------------------

    async def load(self, key: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._load, validate_key(key))

    async def save(self, key: str, data: bytes) -> None:
        validate_key(key)
        value, modified = validate_value(data), _to_ns(self.clock.now())
        await anyio.to_thread.run_sync(self._save, key, value, modified)

    async def delete(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._delete, validate_key(key))

    async def list(self, prefix: str = "") -> list[str]:
        return await anyio.to_thread.run_sync(self._list, validate_prefix(prefix))

    async def stat(self, key: str) -> EntryMetadata | None:
        return await anyio.to_thread.run_sync(self._stat, validate_key(key))

    async def _attempt_lock(self, key: str, token: str, now: datetime, ttl_s: float) -> bool:
        return await anyio.to_thread.run_sync(self._try_lock, key, token, now.timestamp(), ttl_s)

    async def _release_lock(self, lock: Lock) -> bool:
        now = self.clock.now().timestamp()
        return await anyio.to_thread.run_sync(self._unlock, lock.key, lock.token, now)

    def _lock_location(self) -> str:
        return str(self.directory)

    # --- work done in a worker thread ------------------------------------------------

    def _prepare(self) -> None:
        self._make_directory()
        self._remove_orphaned_temp_files(self.directory)
        if self._locks.is_dir():
            self._remove_orphaned_temp_files(self._locks)

    def _make_directory(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise StorageError(
                f"{self.connector_id}: config.path {str(self.directory)!r} exists and is not a directory"
            ) from None
        except OSError as exc:
            raise StorageError(
                f"{self.connector_id}: cannot create config.path {str(self.directory)!r}: {exc.strerror}"
            ) from None

    def _remove_orphaned_temp_files(self, directory: Path) -> None:
        # Temp files of a process killed mid-write; those of live writers are left alone.
        for entry in os.scandir(directory):
            parts = entry.name.split(".")
            if entry.name.startswith(_TEMP_PREFIX) and len(parts) == 5 and parts[2] == _HOST:
                with contextlib.suppress(ValueError, OSError):
                    if not _process_alive(int(parts[3])):
                        os.unlink(entry.path)

    def _path(self, key: str) -> tuple[Path, bool]:
        name = encode_key(key)
        return self.directory / name, name.startswith(LONG_PREFIX)

    def _load(self, key: str) -> bytes | None:
        path, is_long = self._path(key)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            return None
        if not is_long:
            return content
        stored_key, start = self._split(path, content)
        return content[start:] if stored_key == key else None

    def _save(self, key: str, data: bytes, modified_ns: int) -> None:
        path, is_long = self._path(key)
        header = long_key_header(key) if is_long else b""
        try:
            self._write_atomically(path, header, data, modified_ns)
        except FileNotFoundError:
            self._make_directory()  # removed under our feet, or never started
            self._write_atomically(path, header, data, modified_ns)

    def _write_atomically(self, path: Path, header: bytes, data: bytes, modified_ns: int | None) -> None:
        temp = path.parent / f"{_TEMP_PREFIX}{_HOST}.{os.getpid()}.{new_token()}"
        try:
            with open(temp, "xb") as handle:
                if header:
                    handle.write(header)
                handle.write(data)
                handle.flush()
                if modified_ns is not None:  # the injected clock's time, so stat agrees with it
                    os.utime(temp, ns=(modified_ns, modified_ns))
                if self.config.fsync:
                    os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        if self.config.fsync:
            _fsync_directory(path.parent)

    def _delete(self, key: str) -> bool:
        path, is_long = self._path(key)
        if is_long and self._load(key) is None:
            return False  # a different key with the same hash, however unlikely
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        if self.config.fsync:
            _fsync_directory(path.parent)
        return True

    def _list(self, prefix: str) -> builtins.list[str]:
        keys: builtins.list[str] = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        for entry in entries:
            if entry.name.startswith(LONG_PREFIX):
                key = self._long_key(Path(entry.path))
            else:
                key = decode_name(entry.name)
            if key is not None and key.startswith(prefix) and entry.is_file():
                keys.append(key)
        return sorted(keys)

    def _stat(self, key: str) -> EntryMetadata | None:
        path, is_long = self._path(key)
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        size = info.st_size
        if is_long:
            with open(path, "rb") as handle:
                stored_key, start = self._split(path, handle.read(8 + 4 * 512))
            if stored_key != key:
                return None
            size -= start
        modified = _EPOCH + timedelta(microseconds=info.st_mtime_ns // 1000)
        return EntryMetadata(key=key, size=size, modified_at=modified)

    def _long_key(self, path: Path) -> str | None:
        try:
            with open(path, "rb") as handle:
                head = handle.read(8 + 4 * 512)
        except OSError:
            return None
        parsed = split_long_key_file(head)
        return parsed[0] if parsed else None

    def _split(self, path: Path, content: bytes) -> tuple[str, int]:
        parsed = split_long_key_file(content)
        if parsed is None:
            raise StorageCorruptError(f"{self.connector_id}: {str(path)!r} has a damaged key header")
        return parsed

    # --- lock records -------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            import fcntl
        except ModuleNotFoundError:  # pragma: no cover - Windows
            raise StorageError(f"{self.connector_id}: locking needs a POSIX system (fcntl)") from None
        try:
            self._locks.mkdir(parents=True, exist_ok=True)
        except FileNotFoundError:
            self._make_directory()
            self._locks.mkdir(exist_ok=True)
        fd = os.open(self._locks / _GUARD, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _record_path(self, key: str) -> Path:
        return self._locks / encode_key(key)

    def _read_record(self, path: Path) -> dict[str, Any] | None:
        try:
            record = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            return None  # torn by a writer that died holding the guard: nobody owns it
        return record if isinstance(record, dict) else None

    def _try_lock(self, key: str, token: str, now: float, ttl: float) -> bool:
        path = self._record_path(key)
        with self._guard():
            held = self._read_record(path)
            if held is not None and held.get("key") == key and _record_live(held, now):
                return False
            record = {"key": key, "token": token, "expires": now + ttl, "host": _HOST, "pid": os.getpid()}
            self._write_atomically(path, b"", json.dumps(record).encode(), None)
            return True

    def _unlock(self, key: str, token: str, now: float) -> bool:
        path = self._record_path(key)
        with self._guard():
            held = self._read_record(path)
            if held is None or held.get("token") != token or not _record_live(held, now):
                return False
            os.unlink(path)
            return True


def _record_live(record: dict[str, Any], now: float) -> bool:
    expires = record.get("expires")
    if not isinstance(expires, int | float) or expires <= now:
        return False
    pid = record.get("pid")
    if record.get("host") == _HOST and isinstance(pid, int) and pid != os.getpid():
        return _process_alive(pid)
    return True


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms that cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # pragma: no cover - some file systems refuse it
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _to_ns(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1) * 1000
