"""A throwaway ``redis-server`` on a free loopback port, for tests and the conformance suite.

It runs without persistence (``--save '' --appendonly no``) in a directory of the
caller's choosing. Readiness is read from the server's own log line, then confirmed with a
PING, so starting it needs no sleeps; a watchdog bounds the wait.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import attrs

__all__ = ["RedisServer", "RedisServerNotFoundError", "start_redis_server"]

_READY = "Ready to accept connections"


class RedisServerNotFoundError(FileNotFoundError):
    """There is no ``redis-server`` executable on PATH."""


@attrs.define
class RedisServer:
    """A running server; ``stop()`` ends it."""

    process: subprocess.Popen[str]
    port: int
    directory: Path
    output: deque[str]
    #: How it was started, for ``restart()``.
    command: list[str] = attrs.field(factory=list)

    @property
    def url(self) -> str:
        """The url a client connects with."""
        return f"redis://127.0.0.1:{self.port}/0"

    def restart(self, *, timeout: float = 20.0) -> None:
        """Start the server again on the same port, in the same directory (after ``stop()``)."""
        if self.process.poll() is None:
            raise RuntimeError("the server is still running; stop() it first")
        again = _start(self.command, self.port, self.directory, timeout=timeout)
        self.process, self.output = again.process, again.output

    def stop(self) -> None:
        """Terminate the server and wait for it (kill it if it will not go)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_redis_server(
    directory: str | Path,
    *,
    extra_args: Sequence[str] = (),
    executable: str = "redis-server",
    timeout: float = 20.0,
    attempts: int = 3,
) -> RedisServer:
    """Start ``redis-server`` in ``directory`` on a free port; RedisServerNotFoundError without one.

    ``extra_args`` are more server options, e.g. ``("--requirepass", "...")``.
    """
    found = shutil.which(executable)
    if found is None:
        raise RedisServerNotFoundError(f"{executable!r} is not installed (not found on PATH)")
    problems: list[str] = []
    for _ in range(attempts):  # a port found free can be taken before the server binds it
        port = _free_port()
        command = [
            *(found, "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(directory), "--logfile", ""),
            *extra_args,
        ]
        try:
            return _start(command, port, Path(directory), timeout=timeout)
        except RuntimeError as exc:
            problems.append(str(exc))
    raise RuntimeError(f"redis-server did not start after {attempts} attempts:\n" + "\n---\n".join(problems))


def _start(command: Sequence[str], port: int, directory: Path, *, timeout: float) -> RedisServer:
    """Run ``command`` and wait until the server on ``port`` is ready; RuntimeError if it is not."""
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: deque[str] = deque(maxlen=50)
    server = RedisServer(
        process=process, port=port, directory=directory, output=output, command=list(command)
    )
    if _wait_until_ready(process, output, timeout) and _pings(port):
        threading.Thread(target=_drain, args=(process, output), daemon=True).start()
        return server
    server.stop()
    raise RuntimeError("".join(output).strip()[-500:] or f"exit status {process.returncode}")


def _wait_until_ready(process: subprocess.Popen[str], output: deque[str], timeout: float) -> bool:
    watchdog = threading.Timer(timeout, process.kill)  # unblocks readline if it hangs
    watchdog.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if _READY in line:
                return True
        return False
    finally:
        watchdog.cancel()


def _drain(process: subprocess.Popen[str], output: deque[str]) -> None:
    # The server keeps logging; an unread pipe would fill up and stall it.
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
    except (OSError, ValueError):
        pass


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith((b"+PONG", b"-NOAUTH"))  # NOAUTH: up, with a password
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
