"""When the state meets storage: the sync policy applied around requests, changes and jobs."""

from __future__ import annotations

from ..clock import Clock
from ..enums import Severity, SyncPolicy
from ..interfaces.storage import Storage
from .lifecycle import Lifecycle
from .persistence import StatePersistence
from .settings import StorageSettings
from .state import MeshState
from .telemetry import Telemetry

__all__ = ["StateSync"]


class StateSync:
    """Loads, refreshes and saves the state through storage as ``storage.sync_policy`` says."""

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
        self.state = state
        self.lifecycle = lifecycle
        self.policy = settings.sync_policy
        self.key = settings.key
        self._immediate = self.policy is SyncPolicy.IMMEDIATE
        self._trace = telemetry.tracer(__name__)
        self.persistence = StatePersistence(
            storage,
            key=settings.key,
            fmt=settings.format,
            clock=clock,
            trace=telemetry.tracer("meshkit.runtime.persistence"),
        )

    @property
    def keeps_state(self) -> bool:
        """False under ``in-memory``: storage is never touched."""
        return self.policy is not SyncPolicy.IN_MEMORY

    async def load(self) -> None:
        """Take in the stored state at start (unless ``in-memory``)."""
        if self.keeps_state:
            await self.persistence.load_into(self.state)

    async def before_route(self) -> None:
        """Under ``immediate``, take in a status another process wrote before selecting."""
        if not self._immediate:
            return
        try:
            await self.persistence.refresh(self.state)
        except Exception as exc:  # routing goes on with what this process knows
            self._trace(
                Severity.WARNING,
                f"could not check the shared state for changes: {type(exc).__name__}: {exc}",
                {"key": self.key},
            )

    async def after_change(self) -> None:
        """Under ``immediate``, write what changed; apply what other processes counted meanwhile."""
        if not self._immediate:
            return
        persistence = self.persistence
        await persistence.save(self.state)
        if persistence.take_news():
            # Other processes' counts came in with the write: a shared cap or budget may be spent now.
            self.lifecycle.evaluate_all()
            if self.state.dirty:
                await persistence.save(self.state)

    async def save(self) -> bool:
        """Write the state now (if it changed since the last write)."""
        return await self.persistence.save(self.state)

    async def exchange(self) -> None:
        """Take in what other processes wrote, then write what changed here (the periodic job)."""
        await self.persistence.sync(self.state)
