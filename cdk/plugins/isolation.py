"""Importing a plugin in isolation: what its import raises is its failure, not the process's.

A plugin's import may raise anything, ``KeyboardInterrupt`` and ``SystemExit`` included: it is
recorded like any other failure. A Ctrl-C the operating system delivers while plugins load
still stops the process: a SIGINT handler notes real interrupts for the time of the scan.
Each import is timed, and ``meshkit doctor`` reports those slower than :func:`slow_import_seconds`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from types import FrameType

__all__ = [
    "SLOW_IMPORT_SECONDS",
    "ImportFailed",
    "Interrupts",
    "current_watch",
    "described",
    "import_isolated",
    "slow_import_seconds",
    "watching_interrupts",
]

#: A plugin import slower than this is reported by ``meshkit doctor``; MESHKIT_SLOW_IMPORT overrides it.
SLOW_IMPORT_SECONDS = 0.5


def slow_import_seconds() -> float:
    """The import time above which doctor reports a plugin: MESHKIT_SLOW_IMPORT, else the default."""
    raw = os.environ.get("MESHKIT_SLOW_IMPORT", "").strip()
    try:
        value = float(raw) if raw else SLOW_IMPORT_SECONDS
    except ValueError:
        return SLOW_IMPORT_SECONDS
    return value if value >= 0 else SLOW_IMPORT_SECONDS


def described(exc: BaseException) -> str:
    """``Type: message``, or the type alone when the message is empty."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Interrupts:
    """Whether the operating system delivered SIGINT while plugins were loading."""

    def __init__(self) -> None:
        self.delivered = False
        self.raises = True  # whether the handler we replaced would have raised KeyboardInterrupt

    def raise_if_delivered(self) -> None:
        """Raise the ``KeyboardInterrupt`` a real Ctrl-C owed, if a plugin swallowed it."""
        if self.delivered and self.raises:
            raise KeyboardInterrupt


#: The watch of the scan running now; a scan outside the main thread sees no SIGINT at all.
_current_watch = Interrupts()


def current_watch() -> Interrupts:
    """The watch of the scan running now (a fresh, quiet one outside a scan)."""
    return _current_watch


@contextlib.contextmanager
def watching_interrupts() -> Iterator[Interrupts]:
    """Note every SIGINT the operating system delivers while the block runs."""
    global _current_watch
    watch = Interrupts()
    previous_watch = _current_watch
    if threading.current_thread() is not threading.main_thread():
        yield watch  # signals go to the main thread: whatever reaches this one came from a plugin
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        yield watch
        return

    def note(signum: int, frame: FrameType | None) -> None:
        watch.delivered = True
        if callable(previous) and previous is not signal.default_int_handler:
            watch.raises = False
            previous(signum, frame)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    _current_watch = watch
    try:
        yield watch
    finally:
        _current_watch = previous_watch
        signal.signal(signal.SIGINT, previous)


class ImportFailed(Exception):
    """A plugin's import raised; ``error`` is what it raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(described(error))
        self.error = error


def import_isolated(ep: metadata.EntryPoint, interrupts: Interrupts) -> tuple[object, float]:
    """Import what ``ep`` names: the loaded object and the seconds its import took.

    Whatever the import raises comes out as :class:`ImportFailed`, unless a real Ctrl-C
    arrived meanwhile: that one stops the scan.
    """
    started = time.perf_counter()
    try:
        module = ep.load()
    except BaseException as exc:  # a plugin may even call sys.exit or raise KeyboardInterrupt
        if interrupts.delivered:
            raise  # a real Ctrl-C: stop, whatever the plugin was doing
        raise ImportFailed(exc) from exc
    interrupts.raise_if_delivered()  # a plugin that swallowed a real Ctrl-C does not cancel it
    return module, time.perf_counter() - started
