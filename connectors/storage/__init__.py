"""Built-in storage backends."""

from __future__ import annotations

from typing import Any

from .file import FileStorage
from .memory import MemoryStorage
from .redis import RedisStorage
from .sqlite import SqliteStorage

__all__ = ["FileStorage", "MemoryStorage", "RedisStorage", "SqliteStorage", "conformance_spec"]

CONNECTORS = [MemoryStorage, FileStorage, SqliteStorage, RedisStorage]


def conformance_spec(connector_id: str) -> Any:
    """How the conformance suite gives each persistent backend a fresh place (None for the others)."""
    from . import _conformance

    specs = {
        FileStorage.connector_id: _conformance.file_spec,
        SqliteStorage.connector_id: _conformance.sqlite_spec,
        RedisStorage.connector_id: _conformance.redis_spec,
    }
    make = specs.get(connector_id)
    return None if make is None else make()
