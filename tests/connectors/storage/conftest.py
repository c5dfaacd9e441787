"""Fixtures for the storage tests: a real redis-server, and each backend built on a fresh place."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from meshkit.connectors.storage.redis_server import (
    RedisServer,
    RedisServerNotFoundError,
    start_redis_server,
)
from meshkit.interfaces.storage import Storage
from meshkit.testing import FakeClock

BACKENDS = ["memory", "file", "sqlite", "redis"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for the whole session.

    Without redis-server the tests that need it are skipped loudly (a warning and a
    skip reason in the summary), except under CI (``CI`` set), where that is a failure.
    """
    pytest.importorskip("redis", reason="the redis library is not installed: pip install 'meshkit[redis]'")
    try:
        server = start_redis_server(tmp_path_factory.mktemp("redis"))
    except RedisServerNotFoundError as exc:
        reason = f"Redis storage tests NOT RUN: {exc}; install redis-server (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} — it is required under CI", pytrace=False)
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    yield server
    server.stop()


@pytest.fixture
def redis_config(redis_server: RedisServer) -> dict[str, Any]:
    """Config for a RedisStorage on the session server, in a namespace of its own."""
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
