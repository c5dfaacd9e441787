"""What every built-in backend does the same way: memory, file, sqlite and redis, on asyncio and trio."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import anyio
import pytest

from meshkit.errors import LockNotHeldError, LockTimeoutError
from meshkit.interfaces.storage import MAX_KEY_LENGTH, Storage
from meshkit.testing import FakeClock

pytestmark = pytest.mark.anyio

Make = Callable[..., Storage]

AWKWARD_KEYS = [
    "plain",
    "models/chat/local.small",
    "UPPER",
    "upper",
    ".",
    "..",
    ".hidden",
    "../escape",
    "/absolute",
    "spaces and\ttabs\nnewlines",
    "glob*?[x]\\",
    "%2f",
    "~tilde",
    "ünïcødé/日本語/🙂",
    "\ud800lone-surrogate",
    "x" * MAX_KEY_LENGTH,
    "🙂" * MAX_KEY_LENGTH,
]


async def test_missing_key_loads_none_and_stats_none(make_storage: Make) -> None:
    async with make_storage() as storage:
        assert await storage.load("nothing") is None
        assert await storage.stat("nothing") is None
        assert await storage.delete("nothing") is False


async def test_awkward_keys_round_trip_and_stay_distinct(make_storage: Make) -> None:
    async with make_storage() as storage:
        for index, key in enumerate(AWKWARD_KEYS):
            await storage.save(key, f"value {index}".encode())
        for index, key in enumerate(AWKWARD_KEYS):
            assert await storage.load(key) == f"value {index}".encode(), key
        assert await storage.list() == sorted(AWKWARD_KEYS)


async def test_save_overwrites_and_delete_removes(make_storage: Make) -> None:
    async with make_storage() as storage:
        await storage.save("k", b"first")
        await storage.save("k", bytearray(b"second"))
        assert await storage.load("k") == b"second"
        assert await storage.delete("k") is True
        assert await storage.load("k") is None
        assert await storage.list() == []


async def test_empty_and_large_binary_values_round_trip(make_storage: Make) -> None:
    large = bytes(range(256)) * 8192  # 2 MiB, every byte value
    async with make_storage() as storage:
        await storage.save("empty", b"")
        await storage.save("large", memoryview(large))
        assert await storage.load("empty") == b""
        assert await storage.load("large") == large
        stat = await storage.stat("large")
        assert stat is not None and stat.size == len(large) and stat.key == "large"


async def test_list_filters_by_prefix_and_sorts(make_storage: Make) -> None:
    keys = ["b/2", "a/1", "b/1", "b", "ba", "c", "b/ü", "b/\U0001f642"]
    async with make_storage() as storage:
        for key in keys:
            await storage.save(key, b"x")
        assert await storage.list() == sorted(keys)
        assert await storage.list("b/") == sorted(k for k in keys if k.startswith("b/"))
        assert await storage.list("b") == sorted(k for k in keys if k.startswith("b"))
        assert await storage.list("zzz") == []


async def test_stat_reports_size_and_the_injected_clocks_time(make_storage: Make, clock: FakeClock) -> None:
    async with make_storage() as storage:
        await storage.save("k", b"12345")
        first = await storage.stat("k")
        await clock.advance(90)
        await storage.save("k", b"123")
        second = await storage.stat("k")
    assert first is not None and second is not None
    assert (first.size, second.size) == (5, 3)
    assert first.modified_at == clock.now() - timedelta(seconds=90)
    assert second.modified_at == clock.now()


async def test_data_survives_a_new_instance(make_storage: Make) -> None:
    if make_storage.kind == "memory":  # type: ignore[attr-defined]
        pytest.skip("memory storage keeps nothing past its instance, by design")
    async with make_storage() as storage:
        await storage.save("kept", b"value")
    async with make_storage() as reopened:
        assert await reopened.load("kept") == b"value"
        assert await reopened.list() == ["kept"]


async def test_many_concurrent_saves_all_land(make_storage: Make) -> None:
    async with make_storage() as storage:
        async with anyio.create_task_group() as tg:
            for index in range(40):
                tg.start_soon(storage.save, f"k{index:02d}", b"v%d" % index)
        assert await storage.list() == [f"k{index:02d}" for index in range(40)]
        assert await storage.load("k17") == b"v17"


@pytest.mark.parametrize(
    ("key", "error", "words"),
    [
        ("", ValueError, "empty"),
        ("a\x00b", ValueError, "NUL"),
        ("x" * (MAX_KEY_LENGTH + 1), ValueError, "at most 512"),
        (42, TypeError, "must be a string"),
    ],
)
async def test_bad_keys_are_refused_with_the_reason(
    make_storage: Make, key: object, error: type[Exception], words: str
) -> None:
    async with make_storage() as storage:
        for call in (storage.load, storage.delete, storage.stat):
            with pytest.raises(error, match=words):
                await call(key)  # type: ignore[arg-type]
        with pytest.raises(error, match=words):
            await storage.save(key, b"x")  # type: ignore[arg-type]
        assert await storage.list() == []


async def test_values_must_be_bytes(make_storage: Make) -> None:
    async with make_storage() as storage:
        with pytest.raises(TypeError, match="bytes, got str"):
            await storage.save("k", "text")  # type: ignore[arg-type]
        assert await storage.load("k") is None


async def test_a_prefix_must_be_a_string(make_storage: Make) -> None:
    async with make_storage() as storage:
        await storage.save("k", b"v")
        with pytest.raises(TypeError, match="a key prefix must be a string, got int"):
            await storage.list(42)  # type: ignore[arg-type]
        assert await storage.list("") == ["k"]


async def test_release_takes_the_lock_acquire_returned(make_storage: Make) -> None:
    async with make_storage() as storage:
        lock = await storage.acquire("job", ttl=30, timeout=0)
        with pytest.raises(TypeError, match="release takes the Lock that acquire returned, got str"):
            await storage.release("job")  # type: ignore[arg-type]
        await storage.release(lock)  # the wrong argument released nothing


async def test_a_lock_excludes_until_released(make_storage: Make) -> None:
    shared = make_storage.kind != "memory"  # type: ignore[attr-defined]
    async with make_storage() as storage, make_storage() if shared else storage as other:
        lock = await storage.acquire("job", ttl=30, timeout=0)
        assert lock.key == "job" and lock.token
        with pytest.raises(LockTimeoutError, match="job"):
            await other.acquire("job", ttl=30, timeout=0)
        second = await other.acquire("another-job", ttl=30, timeout=0)  # locks are per key
        await storage.release(lock)
        third = await other.acquire("job", ttl=30, timeout=0)
        assert third.token != lock.token
        with pytest.raises(LockNotHeldError):
            await storage.release(lock)  # released already; the new owner keeps it
        with pytest.raises(LockTimeoutError):
            await storage.acquire("job", ttl=30, timeout=0)
        await other.release(third)
        await other.release(second)


async def test_locks_and_data_are_separate_namespaces(make_storage: Make) -> None:
    async with make_storage() as storage:
        lock = await storage.acquire("same", ttl=30, timeout=0)
        assert await storage.list() == []
        await storage.save("same", b"data")
        await storage.release(lock)
        assert await storage.load("same") == b"data"


async def test_a_waiting_acquire_gets_the_lock_once_it_is_released(
    make_storage: Make, clock: FakeClock
) -> None:
    async with make_storage() as storage:
        held = await storage.acquire("job", ttl=30)
        got: list[object] = []

        async def wait_for_it() -> None:
            got.append(await storage.acquire("job", ttl=30, timeout=60))

        async with anyio.create_task_group() as tg:
            tg.start_soon(wait_for_it)
            await wait_until(lambda: clock.sleepers > 0)  # the waiter found it taken
            assert got == []
            await storage.release(held)
            while not got:
                await clock.advance(0.05)
                await wait_until(lambda: bool(got) or clock.sleepers > 0)
        await storage.release(got[0])  # type: ignore[arg-type]


async def test_ttl_must_be_positive(make_storage: Make) -> None:
    async with make_storage() as storage:
        with pytest.raises(ValueError, match="ttl must be positive"):
            await storage.acquire("job", ttl=0)
        with pytest.raises(ValueError, match="ttl must be positive"):
            await storage.acquire("job", ttl=timedelta(seconds=-1))


async def wait_until(condition: Callable[[], bool], *, turns: int = 100_000) -> None:
    """Let other tasks and worker threads run until ``condition`` holds (no wall-clock sleep)."""
    for _ in range(turns):
        if condition():
            return
        await anyio.lowlevel.checkpoint()
    raise AssertionError("condition never became true")
