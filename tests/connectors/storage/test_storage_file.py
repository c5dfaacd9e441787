"""meshkit.file.v1: file names, atomic replacement, stray files, leftovers and lock records."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshkit.connectors.storage import FileStorage
from meshkit.connectors.storage.filenames import MAX_NAME_LENGTH, decode_name, encode_key
from meshkit.errors import ConfigError, LockNotHeldError, LockTimeoutError, StorageError
from meshkit.interfaces.storage import MAX_KEY_LENGTH
from meshkit.testing import FakeClock

keys = st.text(st.characters(blacklist_characters="\x00", codec=None), min_size=1, max_size=MAX_KEY_LENGTH)


@given(keys)
def test_every_key_gets_a_safe_name_that_leads_back_to_it(key: str) -> None:
    name = encode_key(key)
    assert len(name) <= MAX_NAME_LENGTH
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_.%~")
    assert not name.startswith(".")
    if name.startswith("~"):
        assert decode_name(name) is None  # the key lives in the file's header
    else:
        assert decode_name(name) == key


@given(keys, keys)
def test_different_keys_get_different_names(first: str, second: str) -> None:
    if first != second:
        assert encode_key(first) != encode_key(second)


def test_names_differ_only_in_case_never() -> None:
    # A case-insensitive file system would merge "Key" and "key" otherwise.
    assert encode_key("Key").lower() != encode_key("key").lower()


@pytest.mark.parametrize("name", ["README.TXT", "%2", "%41x%", "a%2F", "", ".tmp.x", "~short"])
def test_names_we_never_write_decode_to_nothing(name: str) -> None:
    assert decode_name(name) is None


def test_the_default_directory_is_the_documented_one(tmp_path: Path) -> None:
    storage = FileStorage()
    assert storage.directory == Path(".meshkit/state")
    assert ".meshkit/state" in repr(storage)


@pytest.mark.anyio
async def test_stray_files_and_folders_are_not_keys(tmp_path: Path) -> None:
    async with FileStorage({"path": str(tmp_path)}) as storage:
        await storage.save("real", b"x")
        (tmp_path / "README.TXT").write_text("notes")
        (tmp_path / "subdir").mkdir()
        (tmp_path / ("~" + "0" * 64)).write_bytes(b"garbage without a header")
        assert await storage.list() == ["real"]


@pytest.mark.anyio
async def test_a_failed_write_keeps_the_old_value_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FileStorage({"path": str(tmp_path)}) as storage:
        await storage.save("k", b"old")

        def disk_full(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", disk_full)
        with pytest.raises(OSError, match="No space left"):
            await storage.save("k", b"new" * 1000)
        monkeypatch.undo()
        assert await storage.load("k") == b"old"
        assert names(tmp_path) == ["k"]


@pytest.mark.anyio
async def test_long_keys_live_in_hashed_files_with_the_key_inside(tmp_path: Path) -> None:
    key = "é" * MAX_KEY_LENGTH
    async with FileStorage({"path": str(tmp_path)}) as storage:
        await storage.save(key, b"payload")
        [name] = names(tmp_path)
        assert name.startswith("~") and len(name) == 65
        assert (tmp_path / name).read_bytes().endswith(b"payload")
        stat = await storage.stat(key)
        assert stat is not None and stat.size == len(b"payload")
        assert await storage.list() == [key]
        assert await storage.delete(key) is True
        assert names(tmp_path) == []


@pytest.mark.anyio
async def test_a_damaged_long_key_header_is_reported_as_corrupt(tmp_path: Path) -> None:
    key = "k" * 300
    async with FileStorage({"path": str(tmp_path)}) as storage:
        await storage.save(key, b"payload")
        (tmp_path / encode_key(key)).write_bytes(b"not a header")
        with pytest.raises(StorageError, match="damaged key header"):
            await storage.load(key)


@pytest.mark.anyio
async def test_start_creates_the_directory_and_refuses_a_file_in_its_place(tmp_path: Path) -> None:
    async with FileStorage({"path": str(tmp_path / "a" / "b")}):
        assert (tmp_path / "a" / "b").is_dir()
    (tmp_path / "taken").write_text("")
    with pytest.raises(StorageError, match=r"config\.path .* is not a directory"):
        await FileStorage({"path": str(tmp_path / "taken")}).start()


@pytest.mark.anyio
async def test_start_removes_temp_files_of_dead_writers_only(tmp_path: Path) -> None:
    async with FileStorage({"path": str(tmp_path)}) as storage:
        await storage.save("k", b"v")
    dead = dead_pid()
    host = _host_part(tmp_path)
    orphan = tmp_path / f".tmp.{host}.{dead}.abc"
    in_flight = tmp_path / f".tmp.{host}.{os.getpid()}.def"
    other_host = tmp_path / f".tmp.0123456789ab.{dead}.ghi"
    for path in (orphan, in_flight, other_host):
        path.write_bytes(b"partial")
    async with FileStorage({"path": str(tmp_path)}) as storage:
        assert await storage.list() == ["k"]
    assert not orphan.exists()
    assert in_flight.exists() and other_host.exists()


def names(directory: Path) -> list[str]:
    """The visible (non-internal) file names in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


def dead_pid() -> int:
    """The pid of a process that has already exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    return int(done.stdout)


def _host_part(directory: Path) -> str:
    from meshkit.connectors.storage import file

    return file._HOST


@pytest.mark.anyio
async def test_a_lock_expires_on_the_injected_clock(tmp_path: Path, clock: FakeClock) -> None:
    async with FileStorage({"path": str(tmp_path)}, clock=clock) as storage:
        first = await storage.acquire("job", ttl=5, timeout=0)
        await clock.advance(4.9)
        with pytest.raises(LockTimeoutError):
            await storage.acquire("job", ttl=5, timeout=0)
        await clock.advance(0.2)
        second = await storage.acquire("job", ttl=5, timeout=0)
        with pytest.raises(LockNotHeldError, match="released or expired"):
            await storage.release(first)
        await storage.release(second)


@pytest.mark.anyio
async def test_a_lock_left_by_a_dead_process_is_taken_at_once(tmp_path: Path) -> None:
    from meshkit.connectors.storage import file

    async with FileStorage({"path": str(tmp_path)}) as storage:
        (tmp_path / ".locks").mkdir(exist_ok=True)
        record = {"key": "job", "token": "t", "expires": 4e9, "host": file._HOST, "pid": dead_pid()}
        (tmp_path / ".locks" / "job").write_text(json.dumps(record))
        lock = await storage.acquire("job", ttl=5, timeout=0)
        await storage.release(lock)
        record["pid"] = os.getppid()  # alive: its lock stands until it expires
        (tmp_path / ".locks" / "job").write_text(json.dumps(record))
        with pytest.raises(LockTimeoutError):
            await storage.acquire("job", ttl=5, timeout=0)


@pytest.mark.anyio
async def test_a_torn_lock_record_does_not_block_forever(tmp_path: Path) -> None:
    async with FileStorage({"path": str(tmp_path)}) as storage:
        (tmp_path / ".locks").mkdir(exist_ok=True)
        (tmp_path / ".locks" / "job").write_text('{"key": "jo')
        await storage.release(await storage.acquire("job", ttl=5, timeout=0))


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"path": ""}, "config.path"),
        ({"lock_poll_interval": "0s"}, "config.lock_poll_interval"),
        ({"fsync": "yes"}, "config.fsync"),
        ({"paht": "x"}, "config.paht: unknown key; did you mean 'path'"),
    ],
)
def test_bad_config_is_reported_by_path(config: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(where)):
        FileStorage(config)


@pytest.mark.anyio
async def test_without_fsync_writes_still_replace_atomically(tmp_path: Path) -> None:
    async with FileStorage({"path": str(tmp_path), "fsync": False}) as storage:
        await storage.save("k", b"one")
        await storage.save("k", b"two")
        assert await storage.load("k") == b"two"
        assert names(tmp_path) == ["k"]
