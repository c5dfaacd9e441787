"""Child processes for the crash and lock-contention tests, run as ``python storage_children.py ...``.

``writer <class> <config-json> <keys> <seed>``: saves recognisable values to ``keys``
keys in turn, for ever, printing ``saved <seq>`` after each save returns.

``locker <class> <config-json> <log> <rounds> <name>``: prints ``ready``, waits for a
line on stdin, then ``rounds`` times takes the lock ``contended``, appends ``<name> start``
and ``<name> end`` to ``log`` around some work, and releases it.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import sys
from typing import Any

import anyio
from storage_helpers import make_value

LOCK_KEY = "contended"


def crash_key(index: int) -> str:
    """The key the writer uses for slot ``index``."""
    return f"crash/key-{index:02d}"


def build(class_path: str, config: str) -> Any:
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)(json.loads(config))


async def writer(storage: Any, keys: int, seed: int) -> None:
    rng = random.Random(seed)
    async with storage:
        seq = 0
        while True:
            key = crash_key(seq % keys)
            await storage.save(key, make_value(key, seq, rng.randrange(64 * 1024, 512 * 1024)))
            print(f"saved {seq}", flush=True)
            seq += 1


async def locker(storage: Any, log: str, rounds: int, name: str) -> None:
    async with storage:
        print("ready", flush=True)
        sys.stdin.readline()
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for index in range(rounds):
                lock = await storage.acquire(LOCK_KEY, ttl=60, timeout=60)
                os.write(fd, f"{name} start {index}\n".encode())
                # Work that takes a while, so a second holder would have time to show up.
                for step in range(3):
                    await storage.save(f"work/{name}", make_value(name, index * 3 + step, 4096))
                os.write(fd, f"{name} end {index}\n".encode())
                await storage.release(lock)
                await storage.load(f"work/{name}")  # unlocked work lets the other side in
        finally:
            os.close(fd)
    print("done", flush=True)


def main(argv: list[str]) -> None:
    role, class_path, config = argv[:3]
    storage = build(class_path, config)
    if role == "writer":
        anyio.run(writer, storage, int(argv[3]), int(argv[4]))
    elif role == "locker":
        anyio.run(locker, storage, argv[3], int(argv[4]), argv[5])
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
