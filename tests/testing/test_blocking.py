"""The blocking-work detectors the observability suite relies on, without timing anything."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from meshkit.testing.blocking import StallGate, watch_blocking_calls


def test_a_wait_from_a_guarded_thread_is_recorded_and_returns() -> None:
    gate = StallGate()
    with gate.guard():
        gate.wait()  # would block for ever if the gate did not see the guard
    assert gate.caught == [threading.current_thread().name]
    assert gate.waits == 0


def test_a_wait_from_another_thread_blocks_until_released() -> None:
    gate = StallGate()
    entered, finished = threading.Event(), threading.Event()

    def deliver() -> None:
        entered.set()
        gate.wait()
        finished.set()

    with gate.guard():  # guards this thread only
        worker = threading.Thread(target=deliver)
        worker.start()
        entered.wait()
        assert not finished.is_set()
    gate()
    worker.join()
    assert finished.is_set() and gate.caught == [] and gate.released


def test_blocking_calls_of_this_thread_are_recorded(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = server.getsockname()
        with watch_blocking_calls() as found:
            (tmp_path / "out.txt").write_text("x")
            (tmp_path / "out.txt").read_text()  # reading is not recorded
            with socket.create_connection(address):
                pass
    assert any("for writing" in f and "out.txt" in f for f in found), found
    assert any(f.startswith("socket.connect") for f in found), found


def test_other_threads_and_other_moments_are_not_recorded(tmp_path: Path) -> None:
    def write() -> None:
        (tmp_path / "other.txt").write_text("x")

    with watch_blocking_calls() as found:
        worker = threading.Thread(target=write)
        worker.start()
        worker.join()
    (tmp_path / "after.txt").write_text("x")
    assert found == []
