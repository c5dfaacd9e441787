"""When the state meets storage: the sync policy applied around requests, changes and jobs.

A storage that cannot be reached degrades the mesh; it never fails a request, a background
job or the close. The first failed operation starts an outage (:mod:`.outage`): from then on
requests and jobs leave storage alone and the state changes wait in memory, and the
``state-retry`` job tries again with backoff. The first attempt that succeeds reads what it
could not read before, merges what was held back with what is stored (newer status wins,
counters add up: :mod:`.merge`) and writes it, and the outage ends.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from ..clock import Clock
from ..enums import Severity, SyncPolicy
from ..interfaces.storage import Storage
from .lifecycle import Lifecycle
from .outage import FIRST_RETRY, StorageOutage
from .persistence import StatePersistence
from .settings import StorageSettings
from .state import MeshState
from .telemetry import Telemetry

__all__ = ["RETRY_TICK", "StateSync"]

logger = logging.getLogger("meshkit.runtime.state_sync")

_T = TypeVar("_T")

#: How often, in seconds, the ``state-retry`` job looks whether a retry is due.
RETRY_TICK = FIRST_RETRY


class StateSync:
    """Loads, refreshes and saves the state through storage as ``storage.sync_policy`` says.

    It also starts the storage (in :meth:`load`), so that a storage that does not answer at
    start degrades the mesh like one that stops answering later.
    """

    def __init__(
        self,
        storage: Storage,
        settings: StorageSettings,
        *,
        state: MeshState,
        lifecycle: Lifecycle,
        clock: Clock,
        telemetry: Telemetry,
    ) -> None:
        self.storage = storage
        self.state = state
        self.lifecycle = lifecycle
        self.policy = settings.sync_policy
        self.key = settings.key
        #: True under ``immediate``: only then do ``before_route`` and ``after_change`` do anything.
        self.immediate = self.policy is SyncPolicy.IMMEDIATE
        self._trace = telemetry.tracer(__name__)
        self.persistence = StatePersistence(
            storage,
            key=settings.key,
            fmt=settings.format,
            clock=clock,
            trace=telemetry.tracer("meshkit.runtime.persistence"),
        )
        label = f"{storage.connector_id} ({storage.name})"
        self.outage = StorageOutage(clock, telemetry.tracer("meshkit.runtime.outage"), storage=label)
        self._unread = False  # the stored state is still to be read (the storage was out at start)
        self._lock = anyio.Lock()

    @property
    def keeps_state(self) -> bool:
        """False under ``in-memory``: storage is never touched."""
        return self.policy is not SyncPolicy.IN_MEMORY

    # --- what the mesh calls ----------------------------------------------------------------

    async def load(self) -> None:
        """Start the storage and take in the stored state (unless ``in-memory``)."""
        if not self.keeps_state:
            if not self.storage.started:
                await self.storage.start()
            return
        self._unread = True
        await self._attempt("read the stored state", lambda: self._catch_up(write=False))

    async def before_route(self) -> None:
        """Under ``immediate``, take in a status another process wrote before selecting."""
        if self.immediate:
            await self._attempt("check the shared state for changes", self._refresh)

    async def after_change(self) -> None:
        """Under ``immediate``, write what changed; apply what other processes counted meanwhile."""
        if self.immediate:
            await self._attempt("write the state", self._write)

    async def exchange(self) -> None:
        """Take in what other processes wrote, then write what changed here (the periodic job)."""
        await self._attempt("sync the state", self._exchange)

    async def retry(self) -> None:
        """The ``state-retry`` job: during an outage, once the backoff has passed, try again."""
        if self.outage.active and self.outage.due() and not self._lock.locked():
            write = self.policy is not SyncPolicy.SYNC_ON_BOUNDARY  # that one writes at close only
            await self._attempt("catch up", lambda: self._catch_up(write=write), retry=True)

    async def save(self) -> bool:
        """Write the state now, even during an outage; False when nothing was written."""
        if not self.keeps_state:
            return False
        return bool(await self._attempt("write the state", lambda: self._catch_up(write=True), retry=True))

    async def close(self) -> None:
        """The last write, at close; a storage still out loses what is pending, and says so."""
        if not self.keeps_state:
            return
        await self.save()
        if self.outage.active and self.state.dirty:
            lost = len(self.state.dirty)
            message = (
                f"storage {self.outage.storage} is still unreachable as the mesh closes: "
                f"{lost} changed records of state are not written and are lost"
            )
            logger.warning("%s", message)
            metadata = {"storage": self.outage.storage, "lost": lost, "error": self.outage.error}
            self._trace(Severity.WARNING, message, metadata)

    def status(self) -> dict[str, Any]:
        """The storage's part of the status report: ok or degraded, and what waits to be written."""
        return {
            "connector": self.storage.connector_id,
            "sync_policy": self.policy.value,
            **self.outage.describe(),
            "pending": len(self.state.dirty),
            "unread": self._unread,
        }

    # --- the work, and how an outage is met -------------------------------------------------------

    async def _attempt(
        self, what: str, work: Callable[[], Awaitable[_T]], *, retry: bool = False
    ) -> _T | None:
        """``work()``, unless an outage holds it back; a failure starts (or prolongs) the outage.

        Only ``retry`` attempts touch storage during an outage, so requests never wait on it.
        """
        if self.outage.active and not retry:
            return None
        async with self._lock:
            if self.outage.active and not retry:
                return None  # the outage began while this waited
            saves = self.persistence.saves
            try:
                result = await work()
            except Exception as exc:  # a storage failure degrades the mesh, it fails nothing
                self.outage.failed(what, exc, pending=len(self.state.dirty))
                return None
            self.outage.ended(written=self.persistence.saves - saves)
            return result

    async def _catch_up(self, *, write: bool) -> bool:
        """Start the storage if need be, read what was never read, and write (merging) if ``write``."""
        if not self.storage.started:
            await self.storage.start()
        if self._unread:
            await self.persistence.load_into(self.state)
            self._unread = False
        if not write:
            return False
        if self.immediate:
            return await self._write()
        return await self.persistence.save(self.state)

    async def _refresh(self) -> None:
        await self.persistence.refresh(self.state)

    async def _write(self) -> bool:
        persistence = self.persistence
        wrote = await persistence.save(self.state)
        if persistence.take_news():
            # Other processes' counts came in with the write: a shared cap or budget may be spent now.
            self.lifecycle.evaluate_all()
            if self.state.dirty:
                await persistence.save(self.state)
        return wrote

    async def _exchange(self) -> None:
        await self.persistence.sync(self.state)
