"""``meshkit.redis.v1``: the storage several router processes share, on a Redis server.

Each entry is one hash, ``<namespace>:data:<key>``, with the value, its size and its
modification time; one ``HSET`` writes all three, so a reader never sees a new value with
an old size. Locks are ``<namespace>:lock:<key>`` strings taken with ``SET NX PX`` and
released by a Lua compare-and-delete, so only the owner's token can free them. Their
expiry is kept by the Redis server's clock, the one clock every process shares.

redis-py's asyncio client is asyncio-only. Under asyncio it is used directly; under trio
the same calls go through redis-py's thread-safe blocking client on anyio worker threads.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import attrs

from meshkit import EntryMetadata, Lock, Secret, StorageError, StorageFeature
from meshkit.interfaces import check, validate_key, validate_prefix, validate_value

from .filenames import key_bytes
from .locking import LOCK_POLL_INTERVAL, POSITIVE_DURATION, PolledLockStorage

__all__ = ["RedisStorage", "RedisStorageConfig"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_GLOB_SPECIAL = frozenset(b"\\*?[]")
#: Retries of a command whose connection failed: one, on a new connection, so a pooled connection
#: the server dropped (a restart) does not fail the first command after it. An outage is retried
#: by the mesh, with its own backoff.
_RECONNECTS = 1

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


@attrs.frozen(kw_only=True)
class RedisStorageConfig:
    """The server, the key namespace and the client's patience."""

    #: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` for TLS, ``unix:///path``.
    url: Secret = attrs.field(factory=lambda: Secret("redis://127.0.0.1:6379/0"))
    #: Overrides a password in the url; write it as ``${secrets:REDIS_PASSWORD}``.
    password: Secret | None = None
    #: Every key this storage touches starts with ``<namespace>:``.
    namespace: str = attrs.field(default="meshkit", validator=check(bool, "a non-empty string"))
    #: How long to wait for the server to connect or answer.
    timeout: timedelta = attrs.field(default=timedelta(seconds=5), validator=POSITIVE_DURATION)
    #: How often a waiting ``acquire`` retries.
    lock_poll_interval: timedelta = attrs.field(default=LOCK_POLL_INTERVAL, validator=POSITIVE_DURATION)


class RedisStorage(PolledLockStorage[RedisStorageConfig]):
    """Keys in a Redis namespace; one state for every process that points at the same server."""

    connector_id = "meshkit.redis.v1"
    Config = RedisStorageConfig
    features: ClassVar[frozenset[StorageFeature]] = frozenset(  # type: ignore[assignment]
        {StorageFeature.LOCKING, StorageFeature.PERSISTENT, StorageFeature.SHARED}
    )
    description = "Redis: shared across processes; atomic writes, SET NX locks (extra: redis)"
    requires = {"redis": "meshkit[redis]"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        namespace = self.config.namespace.encode("utf-8", "surrogatepass")
        self._data_prefix = namespace + b":data:"
        self._lock_prefix = namespace + b":lock:"
        self._async_client: Any = None
        self._sync_client: Any = None
        self.server = _redacted(self.config.url.reveal())

    def __repr__(self) -> str:
        return (
            f"<RedisStorage {self.connector_id} name={self.name!r} server={self.server!r} "
            f"namespace={self.config.namespace!r}>"
        )

    async def _start(self) -> None:
        await self._call(lambda r: r.ping())

    async def _aclose(self) -> None:
        client, self._async_client = self._async_client, None
        if client is not None:
            await client.aclose()
        sync_client, self._sync_client = self._sync_client, None
        if sync_client is not None:
            await anyio.to_thread.run_sync(sync_client.close)

    # --- the interface ----------------------------------------------------------

    async def load(self, key: str) -> bytes | None:
        name = self._data_prefix + key_bytes(validate_key(key))
        value = await self._call(lambda r: r.hget(name, "v"))
        return None if value is None else bytes(value)

    async def save(self, key: str, data: bytes) -> None:
        name = self._data_prefix + key_bytes(validate_key(key))
        value = validate_value(data)
        fields = {"v": value, "s": len(value), "m": (self.clock.now() - _EPOCH) // _MICROSECOND}
        await self._call(lambda r: r.hset(name, mapping=fields))

    async def delete(self, key: str) -> bool:
        name = self._data_prefix + key_bytes(validate_key(key))
        return bool(await self._call(lambda r: r.delete(name)))

    async def list(self, prefix: str = "") -> builtins.list[str]:
        pattern = _glob_escape(self._data_prefix + key_bytes(validate_prefix(prefix))) + b"*"
        start = len(self._data_prefix)
        found: set[bytes] = set()  # SCAN may return a key more than once
        cursor: int = 0
        while True:
            cursor, names = await self._call(_scan_page(cursor, pattern))
            found.update(bytes(n) for n in names)
            if int(cursor) == 0:
                break
        return sorted(n[start:].decode("utf-8", "surrogatepass") for n in found)

    async def stat(self, key: str) -> EntryMetadata | None:
        name = self._data_prefix + key_bytes(validate_key(key))
        size, modified = await self._call(lambda r: r.hmget(name, ["s", "m"]))
        if size is None or modified is None:
            return None
        return EntryMetadata(key=key, size=int(size), modified_at=_EPOCH + int(modified) * _MICROSECOND)

    async def _attempt_lock(self, key: str, token: str, now: datetime, ttl_s: float) -> bool:
        name, ms = self._lock_prefix + key_bytes(key), max(1, round(ttl_s * 1000))
        return bool(await self._call(lambda r: r.set(name, token, nx=True, px=ms)))

    async def _release_lock(self, lock: Lock) -> bool:
        name = self._lock_prefix + key_bytes(lock.key)
        return bool(await self._call(lambda r: r.eval(_RELEASE, 1, name, lock.token)))

    def _lock_location(self) -> str:
        return f"{self.server} namespace {self.config.namespace!r}"

    # --- the client -------------------------------------------------------------------

    async def _call(self, command: Callable[[Any], Any]) -> Any:
        """Run ``command(client)`` on the client that suits the running event loop."""
        if self.closed:
            raise StorageError(f"{self.connector_id} ({self.name}) is closed; make a new one")
        redis = _import_redis()
        try:
            if _in_asyncio():
                if self._async_client is None:
                    retry = redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), _RECONNECTS)
                    self._async_client = redis.asyncio.Redis.from_url(**self._client_options(), retry=retry)
                return await command(self._async_client)
            if self._sync_client is None:
                retry = redis.retry.Retry(redis.backoff.NoBackoff(), _RECONNECTS)
                self._sync_client = redis.Redis.from_url(**self._client_options(), retry=retry)
            return await anyio.to_thread.run_sync(command, self._sync_client)
        except redis.RedisError as exc:
            raise StorageError(
                f"{self.connector_id}: redis at {self.server}: {type(exc).__name__}: {self._scrub(str(exc))}"
            ) from None

    def _scrub(self, text: str) -> str:
        # Server messages do not quote passwords today; make sure they never do.
        secrets = [self.config.url.reveal(), urlsplit(self.config.url.reveal()).password]
        if self.config.password is not None:
            secrets.append(self.config.password.reveal())
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _client_options(self) -> dict[str, Any]:
        seconds = self.config.timeout.total_seconds()
        options: dict[str, Any] = {
            "url": self.config.url.reveal(),
            "socket_timeout": seconds,
            "socket_connect_timeout": seconds,
        }
        if self.config.password is not None:
            options["password"] = self.config.password.reveal()
        return options


def _import_redis() -> Any:
    try:
        import redis
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
        import redis.retry
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "meshkit.redis.v1 needs the redis library: pip install 'meshkit[redis]'"
        ) from None
    return redis


def _in_asyncio() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _scan_page(cursor: int, pattern: bytes) -> Callable[[Any], Any]:
    """The command that reads one page of SCAN from ``cursor``."""
    return lambda client: client.scan(cursor, match=pattern, count=1000)


def _glob_escape(raw: bytes) -> bytes:
    # SCAN MATCH is a glob; a key may hold * ? [ ] or \ and must match only itself.
    return b"".join(b"\\" + bytes([b]) if b in _GLOB_SPECIAL else bytes([b]) for b in raw)


def _redacted(url: str) -> str:
    """The url without its password, fit for messages and reprs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    except ValueError:
        return "<unparseable redis url>"
