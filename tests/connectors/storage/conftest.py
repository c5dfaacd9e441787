"""Fixtures for the storage tests: each backend built on a fresh place (Redis on the suite's server)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from meshkit.connectors.storage.redis_server import RedisServer
from meshkit.interfaces.storage import Storage
from meshkit.testing import FakeClock

BACKENDS = ["memory", "file", "sqlite", "redis"]


@pytest.fixture
def redis_config(redis_server: RedisServer) -> dict[str, Any]:
    """Config for a RedisStorage on the session's server (``redis_server``), in a namespace of its own."""
    return {"url": redis_server.url, "namespace": f"test-{uuid.uuid4().hex}"}


def backend_config(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """A config that gives backend ``kind`` a place of its own."""
    if kind == "file":
        return {"path": str(tmp_path / "state")}
    if kind == "sqlite":
        return {"path": str(tmp_path / "state.sqlite3")}
    if kind == "redis":
        return dict(request.getfixturevalue("redis_config"))
    return {}


def storage_class(kind: str) -> type[Storage]:
    """The built-in storage class for ``kind``."""
    from meshkit.connectors import storage

    classes: dict[str, type[Storage]] = {
        "memory": storage.MemoryStorage,
        "file": storage.FileStorage,
        "sqlite": storage.SqliteStorage,
        "redis": storage.RedisStorage,
    }
    return classes[kind]


@pytest.fixture(
    params=[
        pytest.param(kind, marks=[pytest.mark.slow, pytest.mark.redis] if kind == "redis" else [])
        for kind in BACKENDS
    ]
)
def make_storage(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Callable[..., Storage]:
    """Builds instances of one backend over one shared place (call it again to 'reopen')."""
    kind = str(request.param)
    config = backend_config(kind, tmp_path, request)

    def make(**overrides: Any) -> Storage:
        return storage_class(kind)({**config, **overrides}, clock=clock)

    make.kind = kind  # type: ignore[attr-defined]
    return make
