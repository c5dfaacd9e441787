"""``meshkit.jsonl.v1``: one JSON object per line in a file, rotated by size.

Records are buffered by :class:`~meshkit.interfaces.buffered.BufferedObservability`
and each batch is encoded and written in a worker thread (``anyio.to_thread``): file
writes can stall on a slow or full disk, and a thread keeps that stall off the event
loop under asyncio and trio alike, while the shared buffer gives this sink the same
bounded queue, drop counting and flush semantics as the webhook.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

import anyio
import attrs

from meshkit.interfaces import BufferedConfig, BufferedObservability, check

_MIB = 1024 * 1024


def _is_file_path(value: str) -> bool:
    return bool(value) and not Path(value).expanduser().is_dir()


@attrs.frozen(kw_only=True)
class JsonlConfig(BufferedConfig):
    """The file and its rotation."""

    #: The file written to; its folder is created when missing.
    path: str = attrs.field(
        default="events.jsonl", validator=check(_is_file_path, "a file path, not a folder")
    )
    #: Rotate before a write would take the file past this size; 0 never rotates.
    max_bytes: int = attrs.field(default=10 * _MIB, validator=check(lambda v: v >= 0, "0 or more bytes"))
    #: Rotated files kept: ``events.jsonl.1`` (newest) … ``events.jsonl.N``; 0 keeps none.
    backups: int = attrs.field(default=5, validator=check(lambda v: v >= 0, "0 or more"))


class JsonlObservability(BufferedObservability[JsonlConfig]):
    """Appends events, logs, traces and reports, tagged by ``kind``, to a JSON Lines file."""

    connector_id = "meshkit.jsonl.v1"
    description = "JSON Lines file with size-based rotation"
    Config = JsonlConfig

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.path = Path(self.config.path).expanduser().absolute()
        self._file = RotatingFile(self.path, self.config.max_bytes, self.config.backups)

    async def deliver(self, batch: list[dict[str, Any]]) -> None:
        await anyio.to_thread.run_sync(self._file.write_records, batch)

    async def close_sink(self) -> None:
        await anyio.to_thread.run_sync(self._file.close)


class RotatingFile:
    """A JSON Lines file that rotates by size; used from one thread at a time."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._handle: IO[bytes] | None = None
        self._size = 0

    def write_records(self, records: list[dict[str, Any]]) -> None:
        """Append one line per record, rotating first whenever a line would not fit."""
        for record in records:
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
            self._write(line.encode())
        if self._handle is not None:
            self._handle.flush()

    def _write(self, line: bytes) -> None:
        handle = self._handle or self._open()
        if self.max_bytes and self._size and self._size + len(line) > self.max_bytes:
            self._rotate()
            handle = self._open()
        handle.write(line)
        self._size += len(line)

    def _open(self) -> IO[bytes]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("ab")
        self._size = self._handle.tell()
        return self._handle

    def _rotate(self) -> None:
        self.close()
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
            return
        for index in range(self.backups - 1, 0, -1):
            older = self._backup(index)
            if older.exists():
                os.replace(older, self._backup(index + 1))
        os.replace(self.path, self._backup(1))

    def _backup(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def close(self) -> None:
        """Close the file; the next write opens it again."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
