"""meshkit.redis.v1 against a real redis-server: layout, namespaces, SCAN, locks, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshkit.connectors.storage import RedisStorage
from meshkit.connectors.storage.redis_server import RedisServer, start_redis_server
from meshkit.errors import ConfigError, LockNotHeldError, StorageError
from meshkit.testing import FakeClock

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.redis]


def raw_client(server: RedisServer) -> Any:
    import redis

    return redis.Redis.from_url(server.url)


async def test_an_entry_is_one_hash_with_value_size_and_time(
    redis_config: dict[str, Any], redis_server: RedisServer, clock: FakeClock
) -> None:
    async with RedisStorage(redis_config, clock=clock) as storage:
        await storage.save("a/b", b"hello")
    namespace = redis_config["namespace"]
    with raw_client(redis_server) as client:
        entry = client.hgetall(f"{namespace}:data:a/b")
    micros = int((clock.now().timestamp()) * 1_000_000)
    assert entry == {b"v": b"hello", b"s": b"5", b"m": str(micros).encode()}


async def test_namespaces_keep_routers_apart(redis_config: dict[str, Any]) -> None:
    other = {**redis_config, "namespace": redis_config["namespace"] + "-other"}
    async with RedisStorage(redis_config) as one, RedisStorage(other) as two:
        await one.save("k", b"one")
        await two.save("k", b"two")
        await two.save("only-two", b"x")
        assert await one.list() == ["k"]
        assert await one.load("k") == b"one"
        assert await two.list() == ["k", "only-two"]


async def test_list_pages_through_scan_and_escapes_glob_characters(redis_config: dict[str, Any]) -> None:
    async with RedisStorage(redis_config) as storage:
        keys = [f"bulk/{index:04d}" for index in range(2500)]
        for key in keys:
            await storage.save(key, b"")
        await storage.save("glob*", b"")
        await storage.save("globber", b"")
        await storage.save("[ab]", b"")
        await storage.save("a", b"")
        assert await storage.list("bulk/") == keys
        assert await storage.list("glob*") == ["glob*"]
        assert await storage.list("[ab]") == ["[ab]"]


async def test_a_lock_is_a_key_with_the_ttl_released_only_by_its_owner(
    redis_config: dict[str, Any], redis_server: RedisServer
) -> None:
    lock_key = f"{redis_config['namespace']}:lock:job"
    async with RedisStorage(redis_config) as storage:
        first = await storage.acquire("job", ttl=30, timeout=0)
        with raw_client(redis_server) as client:
            assert 0 < client.pttl(lock_key) <= 30_000
            client.delete(lock_key)  # as if the ttl had run out
        second = await storage.acquire("job", ttl=30, timeout=0)
        with pytest.raises(LockNotHeldError):
            await storage.release(first)
        with raw_client(redis_server) as client:
            assert client.get(lock_key) == second.token.encode()  # the stale release left it alone
        await storage.release(second)
        with raw_client(redis_server) as client:
            assert client.exists(lock_key) == 0


async def test_an_unreachable_server_is_a_storage_error_without_the_password() -> None:
    storage = RedisStorage({"url": "redis://:hunter2-secret@127.0.0.1:1/0", "timeout": "2s"})
    assert "hunter2" not in repr(storage) and "hunter2" not in repr(storage.config)
    with pytest.raises(StorageError) as info:
        await storage.start()
    assert "127.0.0.1" in str(info.value) and "***" in str(info.value)
    assert "hunter2" not in str(info.value)
    await storage.aclose()


async def test_the_password_option_authenticates_and_a_wrong_one_fails_quietly(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    guarded = start_redis_server(tmp_path, extra_args=("--requirepass", "right-password-abc"))
    try:
        async with RedisStorage({"url": guarded.url, "password": "right-password-abc"}) as storage:
            await storage.save("k", b"v")
            assert await storage.load("k") == b"v"
        for url, password in [
            (guarded.url, "not-the-password-xyz"),
            (guarded.url.replace("//", "//:not-the-password-xyz@"), None),
        ]:
            storage = RedisStorage({"url": url, "password": password})
            with pytest.raises(StorageError, match="Authentication") as info:
                await storage.load("k")
            assert "not-the-password-xyz" not in str(info.value) + repr(storage)
            await storage.aclose()
    finally:
        guarded.stop()


async def test_the_wrong_type_at_a_key_is_a_storage_error(
    redis_config: dict[str, Any], redis_server: RedisServer
) -> None:
    with raw_client(redis_server) as client:
        client.set(f"{redis_config['namespace']}:data:k", b"a plain string")
    async with RedisStorage(redis_config) as storage:
        with pytest.raises(StorageError, match="WRONGTYPE"):
            await storage.load("k")


async def test_a_closed_storage_refuses_calls(redis_config: dict[str, Any]) -> None:
    storage = RedisStorage(redis_config)
    await storage.start()
    await storage.aclose()
    with pytest.raises(StorageError, match="closed"):
        await storage.load("k")


def test_bad_config_is_reported_by_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.namespace"):
        RedisStorage({"namespace": ""})
    with pytest.raises(ConfigError, match=r"config\.url"):
        RedisStorage({"url": 6379})
