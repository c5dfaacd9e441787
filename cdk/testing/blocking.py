"""Catching blocking work inside calls that must return at once (observability's ``emit``).

Neither detector times anything, so neither depends on how busy the machine is:

- :class:`StallGate` is a delivery target's switch, stuck until released. The suite marks
  the thread that is inside ``emit``/``log``/``trace``/``report``; a wait on the gate from
  that thread is a synchronous delivery, recorded (and let through, so the test ends).
- :func:`watch_blocking_calls` records, for the current thread while it is active, what
  Python's audit hooks report of blocking work: socket connects and sends, name lookups,
  files opened for writing, processes started and (from Python 3.12) ``time.sleep``.

A spec's ``stall_delivery`` may return a :class:`StallGate` (it is callable: calling it
releases the target) and call :meth:`StallGate.wait` wherever its delivery would block.

A call blocked on something else (a full queue that a stuck delivery thread never drains)
shows neither way. :class:`CallWatch` tells, from another thread, what a thread inside a
call is waiting for: a lock, a condition, a sleep, a socket (the built-in function it is in,
or a frame of ``threading``, ``queue``, ``socket``…). It is asked only once the call has
made no progress for a while, and what it says, not how long that was, is the verdict.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["CallWatch", "StallGate", "watch_blocking_calls"]


class StallGate:
    """A delivery target that is stuck until released; it knows who waited on it."""

    def __init__(self) -> None:
        self._released = threading.Event()
        self._guarded: set[int] = set()
        self._lock = threading.Lock()
        #: Waits from a guarded thread: each one a delivery done inside the call.
        self.caught: list[str] = []
        #: Waits from other threads (background delivery), counted.
        self.waits = 0

    def wait(self) -> None:
        """Block until released; from a guarded thread, record the wait and return."""
        ident = threading.get_ident()
        with self._lock:
            if ident in self._guarded and not self._released.is_set():
                self.caught.append(threading.current_thread().name)
                return
            self.waits += 1
        self._released.wait()

    def release(self) -> None:
        """Unstick the target: every wait returns, now and later."""
        self._released.set()

    def __call__(self) -> None:
        self.release()

    @property
    def released(self) -> bool:
        """True once released."""
        return self._released.is_set()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Mark the current thread as inside a call that must not wait on the target."""
        ident = threading.get_ident()
        with self._lock:
            self._guarded.add(ident)
        try:
            yield
        finally:
            with self._lock:
                self._guarded.discard(ident)


# --- audit hooks -------------------------------------------------------------------------

_BLOCKING_EVENTS = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "socket.sendmsg",
        "subprocess.Popen",
        "os.system",
        "os.posix_spawn",
        "os.fork",
        "time.sleep",  # Python 3.12 and later
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT
_watched: dict[int, list[str]] = {}
_installed = False
_install_lock = threading.Lock()


def _opens_for_writing(args: tuple[Any, ...]) -> bool:
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def _is_bytecode_cache(path: object) -> bool:
    # A first import writes its .pyc; that is Python's doing, not the connector's.
    text = os.fsdecode(path) if isinstance(path, str | bytes) else ""
    return "__pycache__" in text or text.endswith(".pyc")


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _watched:  # the common case: nobody is watching
        return
    found = _watched.get(threading.get_ident())
    if found is None:
        return
    if event in _BLOCKING_EVENTS:
        found.append(f"{event}{_short(args)}")
    elif event == "open" and _opens_for_writing(args) and not _is_bytecode_cache(args[0]):
        found.append(f"open({args[0]!r}) for writing")


def _short(args: tuple[Any, ...]) -> str:
    text = repr(args)
    return text if len(text) <= 120 else text[:117] + "..."


@contextmanager
def watch_blocking_calls() -> Iterator[list[str]]:
    """Collect the blocking calls the current thread makes inside the ``with`` block."""
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)  # cannot be removed; costs one dict check while unwatched
            _installed = True
    found: list[str] = []
    ident = threading.get_ident()
    _watched[ident] = found
    try:
        yield found
    finally:
        _watched.pop(ident, None)


# --- what a call that does not return is waiting for ---------------------------------------

#: Modules whose frames, on a call's stack, mean it waits for another thread or for I/O.
_WAITING_MODULES = frozenset(
    {
        "threading",
        "queue",
        "selectors",
        "socket",
        "ssl",
        "subprocess",
        "concurrent.futures._base",
        "multiprocessing.connection",
        "multiprocessing.queues",
        "multiprocessing.synchronize",
    }
)
#: Built-in functions that wait: a lock, a condition, a sleep, a socket, a select.
_WAITING_BUILTINS = frozenset(
    {
        "acquire",
        "wait",
        "sleep",
        "select",
        "poll",
        "join",
        "connect",
        "accept",
        "recv",
        "recv_into",
        "recvfrom",
        "send",
        "sendall",
        "sendto",
        "getaddrinfo",
    }
)


class CallWatch:
    """Knows, for the threads inside :meth:`watching`, the built-in function each one is in."""

    def __init__(self) -> None:
        self._builtins: dict[int, list[str]] = {}

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Follow the current thread's calls into built-in functions inside the block."""
        ident = threading.get_ident()
        stack = self._builtins.setdefault(ident, [])

        def profile(frame: FrameType, event: str, arg: Any) -> None:
            if event == "c_call":
                stack.append(str(getattr(arg, "__qualname__", None) or getattr(arg, "__name__", "?")))
            elif event in ("c_return", "c_exception") and stack:
                stack.pop()

        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            yield
        finally:
            sys.setprofile(previous)
            stack.clear()

    def waiting(self, ident: int) -> str | None:
        """What thread ``ident`` waits for right now, or None when it is running (or gone)."""
        frame = sys._current_frames().get(ident)
        builtins = self._builtins.get(ident) or []
        inner = builtins[-1] if builtins else ""
        frames: list[str] = []
        while frame is not None:
            frames.append(f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_name}")
            frame = frame.f_back
        in_module = [f for f in frames if f.rpartition(".")[0] in _WAITING_MODULES]
        if inner.rpartition(".")[2] in _WAITING_BUILTINS:
            return " <- ".join([inner, *frames[:4]])
        if in_module:
            return " <- ".join(frames[:5])
        return None
