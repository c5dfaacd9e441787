"""The persistent backends against real processes: killed mid-write, and fighting over one lock."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from storage_children import LOCK_KEY, crash_key
from storage_helpers import read_value

from meshkit.connectors.storage import FileStorage, RedisStorage, SqliteStorage

CHILD = Path(__file__).with_name("storage_children.py")
KEYS = 12
ROUNDS = 3

PERSISTENT = [
    pytest.param(FileStorage, id="file"),
    pytest.param(SqliteStorage, id="sqlite"),
    pytest.param(RedisStorage, id="redis", marks=pytest.mark.redis),
]

pytestmark = pytest.mark.slow


def config_for(cls: type[Any], tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    if cls is FileStorage:
        return {"path": str(tmp_path / "state")}
    if cls is SqliteStorage:
        return {"path": str(tmp_path / "state.sqlite3")}
    return dict(request.getfixturevalue("redis_config"))


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=CHILD.parent,
    )


def class_path(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait()
        stderr = process.stderr.read() if process.stderr else ""
        pytest.fail(f"child exited with {process.returncode} before reporting:\n{stderr}")
    return line.strip()


def kill_during_writes(cls: type[Any], config: dict[str, Any], seed: int) -> dict[int, int]:
    """Run a writer, SIGKILL it after a random number of saves; return slot → last reported seq."""
    rng = random.Random(seed)
    writer = spawn("writer", class_path(cls), json.dumps(config), str(KEYS), str(seed))
    reported: dict[int, int] = {}
    try:
        for _ in range(rng.randrange(KEYS // 2, 3 * KEYS)):
            seq = int(read_line(writer).split()[1])
            reported[seq % KEYS] = seq
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate()
    assert writer.returncode == -signal.SIGKILL
    return reported


@pytest.mark.parametrize("cls", PERSISTENT)
def test_a_writer_killed_mid_write_leaves_every_key_whole(
    cls: type[Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config = config_for(cls, tmp_path, request)
    seed = random.randrange(1 << 30)
    last_seen: dict[int, int] = {}
    for round_ in range(ROUNDS):
        reported = kill_during_writes(cls, config, seed + round_)

        async def check() -> dict[int, int]:
            found: dict[int, int] = {}
            async with cls(config) as storage:
                for slot in range(KEYS):
                    data = await storage.load(crash_key(slot))
                    if data is not None:
                        found[slot] = read_value(crash_key(slot), data)  # raises if torn
            return found

        found = anyio.run(check)
        for slot, seq in reported.items():
            # A save that returned is there, or the one that was in flight when the kill came.
            assert found.get(slot) in (seq, seq + KEYS), (
                f"seed {seed}: slot {slot} holds #{found.get(slot)}, expected #{seq} or #{seq + KEYS}"
            )
        for slot, seq in found.items():
            if slot not in reported:  # never saved this round: the older value or the in-flight one
                assert seq in (last_seen.get(slot), slot), f"seed {seed}: slot {slot} holds #{seq}"
        last_seen = found
    assert last_seen, "the writer reported saves, so some keys must hold values"


def test_the_checker_rejects_torn_and_mixed_values() -> None:
    from storage_helpers import make_value

    value = make_value("k", 7, 10_000)
    assert read_value("k", value) == 7
    with pytest.raises(ValueError, match="torn"):
        read_value("k", value[:5000])
    other = make_value("k", 8, 10_000)
    with pytest.raises(ValueError, match="checksum"):
        read_value("k", value[:5000] + other[5000:])
    with pytest.raises(ValueError, match="header"):
        read_value("j", value)


@pytest.mark.parametrize("cls", PERSISTENT)
def test_two_processes_never_hold_one_lock_at_once(
    cls: type[Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Durability settings do not change who holds a lock; relaxing them keeps the test quick.
    relaxed = {FileStorage: {"fsync": False}, SqliteStorage: {"synchronous": "normal"}}.get(cls, {})
    config = {**config_for(cls, tmp_path, request), **relaxed, "lock_poll_interval": "1ms"}
    log = tmp_path / "holders.log"
    rounds = 40
    names = ["left", "right"]
    children = [
        spawn("locker", class_path(cls), json.dumps(config), str(log), str(rounds), name) for name in names
    ]
    try:
        for child in children:
            assert read_line(child) == "ready"
        for child in children:  # both start contending at the same moment
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            assert read_line(child) == "done"
            child.wait()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()
    lines = [line.split() for line in log.read_text().splitlines()]
    assert len(lines) == 2 * rounds * len(names)
    for (holder, what, index), (after, what_after, index_after) in zip(lines[::2], lines[1::2], strict=True):
        # Each start is followed by the same holder's end: no one else got in between.
        assert (what, what_after) == ("start", "end"), f"overlapping holders: {lines}"
        assert (holder, index) == (after, index_after), f"overlapping holders: {lines}"

    async def lock_is_free() -> None:
        async with cls(config) as storage:
            await storage.release(await storage.acquire(LOCK_KEY, ttl=5, timeout=0))

    anyio.run(lock_is_free)
