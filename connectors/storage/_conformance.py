"""How the conformance suite builds the built-in storage backends: a fresh place for each test."""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio

from meshkit.testing import ConformanceSpec

from .redis_server import RedisServer, RedisServerNotFoundError, start_redis_server

__all__ = ["file_spec", "redis_spec", "sqlite_spec"]

#: Point the Redis tests at a server of your own instead of a throwaway one.
REDIS_URL_VARIABLE = "MESHKIT_TEST_REDIS_URL"

_server: RedisServer | None = None


@asynccontextmanager
async def _temp_dir(key: str, name: str | None) -> AsyncIterator[Mapping[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="meshkit-conformance-") as directory:
        yield {key: directory if name is None else os.path.join(directory, name)}


def file_spec() -> ConformanceSpec:
    """Each test gets its own empty directory."""
    return ConformanceSpec(setup=lambda: _temp_dir("path", None))


def sqlite_spec() -> ConformanceSpec:
    """Each test gets its own database file."""
    return ConformanceSpec(setup=lambda: _temp_dir("path", "state.sqlite3"))


@asynccontextmanager
async def _redis_namespace() -> AsyncIterator[Mapping[str, Any]]:
    url = os.environ.get(REDIS_URL_VARIABLE) or await anyio.to_thread.run_sync(_shared_server_url)
    yield {"url": url, "namespace": f"meshkit-conformance-{uuid.uuid4().hex}"}


def _shared_server_url() -> str:
    # One server for the whole run (each test has its own namespace), stopped at exit.
    global _server
    if _server is None or _server.process.poll() is not None:
        try:
            _server = start_redis_server(tempfile.mkdtemp(prefix="meshkit-redis-"))
        except RedisServerNotFoundError as exc:
            import pytest

            reason = f"{exc}: install redis-server, or set {REDIS_URL_VARIABLE} to a server's url"
            if os.environ.get("CI"):
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
        atexit.register(_server.stop)
    return _server.url


def redis_spec() -> ConformanceSpec:
    """A throwaway redis-server (or ``MESHKIT_TEST_REDIS_URL``), a fresh namespace per test."""
    return ConformanceSpec(setup=_redis_namespace, uses_injected_clock=False)
