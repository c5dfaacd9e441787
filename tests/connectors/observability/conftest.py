"""Fixtures of the observability connector tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from observability_helpers import RecordingServer, Script, WatchedClock


@pytest.fixture
def watched_clock() -> WatchedClock:
    """A fake clock whose sleepers a test can wait for."""
    return WatchedClock()


@pytest.fixture
def http_server() -> Iterator[Callable[..., RecordingServer]]:
    """Starts recording servers on loopback (``http_server(script)``); stops them afterwards."""
    started: list[RecordingServer] = []

    def start(script: Script | None = None) -> RecordingServer:
        server = RecordingServer(script).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
