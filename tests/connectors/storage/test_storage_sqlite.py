"""meshkit.sqlite.v1: WAL mode, one connection, locks in a table, clear errors."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from meshkit.connectors.storage import SqliteStorage
from meshkit.errors import ConfigError, LockNotHeldError, LockTimeoutError, StorageError
from meshkit.testing import FakeClock

pytestmark = pytest.mark.anyio


async def test_the_database_is_in_wal_mode_with_the_configured_sync(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite3"
    async with SqliteStorage({"path": str(path), "synchronous": "normal"}) as storage:
        await storage.save("k", b"v")
        assert storage._connection is not None
        assert storage._connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_one_connection_serves_every_call_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[int] = []
    threads: set[int] = set()
    real_connect = sqlite3.connect

    def counting_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        connects.append(1)
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3, "connect", counting_connect)
    storage = SqliteStorage({"path": str(tmp_path / "db")})
    real_call = storage._call

    def recording_call(work):  # type: ignore[no-untyped-def]
        threads.add(threading.get_ident())
        return real_call(work)

    storage._call = recording_call  # type: ignore[method-assign]
    async with storage:
        for index in range(20):
            await storage.save(f"k{index}", b"v")
        assert len(await storage.list()) == 20
    assert connects == [1]
    assert threading.get_ident() not in threads


async def test_a_call_without_start_opens_and_aclose_closes(tmp_path: Path) -> None:
    storage = SqliteStorage({"path": str(tmp_path / "db")})
    await storage.save("k", b"v")
    assert storage.started
    await storage.aclose()
    assert storage._connection is None
    with pytest.raises(StorageError, match="closed"):
        await storage.load("k")


async def test_two_instances_on_one_file_share_data_and_locks(tmp_path: Path, clock: FakeClock) -> None:
    config = {"path": str(tmp_path / "db")}
    async with SqliteStorage(config, clock=clock) as one, SqliteStorage(config, clock=clock) as two:
        await one.save("k", b"from one")
        assert await two.load("k") == b"from one"
        lock = await one.acquire("job", ttl=10, timeout=0)
        with pytest.raises(LockTimeoutError):
            await two.acquire("job", ttl=10, timeout=0)
        await clock.advance(10)  # expired: the other may take it, the first may not release it
        taken = await two.acquire("job", ttl=10, timeout=0)
        with pytest.raises(LockNotHeldError):
            await one.release(lock)
        await two.release(taken)


async def test_a_file_that_is_not_a_database_is_a_storage_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"garbage\.sqlite3"):
        await SqliteStorage({"path": str(path)}).start()


async def test_an_unwritable_directory_is_reported(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StorageError, match=r"cannot create the directory of config\.path"):
        await SqliteStorage({"path": str(tmp_path / "file" / "db")}).start()


def test_bad_config_is_reported_by_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.synchronous: expected one of 'full', 'normal'"):
        SqliteStorage({"synchronous": "sometimes"})
    with pytest.raises(ConfigError, match=r"config\.busy_timeout"):
        SqliteStorage({"busy_timeout": "soon"})


def test_the_default_file_sits_beside_the_file_backend_state() -> None:
    assert SqliteStorage().database == Path(".meshkit/state.sqlite3")
