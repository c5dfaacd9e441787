"""Saving and loading the runtime state through a storage connector.

A blob that cannot be read is never fatal and never lost: it is copied aside under
``<key>.corrupt-<timestamp>``, a warning is logged and traced, and the mesh starts fresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio

from ..enums import SerializationFormat, Severity
from ..errors import StorageCorruptError
from ..interfaces.storage import Storage
from ..runtime.clock import Clock
from ..serialization import decode, encode
from .state import MeshState, StateFormatError

__all__ = ["StatePersistence"]

logger = logging.getLogger("meshkit.runtime.state")

TraceSink = Callable[[Severity, str, dict[str, object]], None]


class StatePersistence:
    """Reads and writes one MeshState blob under ``key``; concurrent saves are coalesced."""

    def __init__(
        self,
        storage: Storage,
        *,
        key: str,
        fmt: SerializationFormat,
        clock: Clock,
        trace: TraceSink,
    ) -> None:
        self.storage = storage
        self.key = key
        self.format = fmt
        self.clock = clock
        self._trace = trace
        self._lock = anyio.Lock()
        self.saved_version = -1
        self.saves = 0

    async def load_into(self, state: MeshState) -> bool:
        """Restore ``state`` from storage; False when there was nothing usable."""
        try:
            raw = await self.storage.load(self.key)
        except Exception as exc:  # an unreadable backend must not stop the mesh
            self._warn(f"could not read state {self.key!r}: {type(exc).__name__}: {exc}; starting fresh")
            return False
        if raw is None:
            return False
        try:
            data = decode(raw, self.format)
            skipped = state.restore(data)
        except (StorageCorruptError, StateFormatError, ModuleNotFoundError) as exc:
            aside = await self._keep_aside(raw)
            where = f"; the bytes are kept under {aside!r}" if aside else ""
            self._warn(f"state {self.key!r} is unreadable ({exc}); starting fresh{where}", aside=aside)
            return False
        if skipped:
            self._trace(
                Severity.INFO,
                "stored state names models this mesh does not configure; ignored",
                {"models": sorted(skipped)},
            )
        self.saved_version = state.version
        return True

    async def save(self, state: MeshState) -> bool:
        """Write ``state`` unless a save of this version (or a later one) already happened."""
        async with self._lock:
            version = state.version
            if version <= self.saved_version:
                return False
            data = encode(state.to_data(self.clock.now()), self.format)
            await self.storage.save(self.key, data)
            self.saved_version = version
            self.saves += 1
            return True

    async def _keep_aside(self, raw: bytes) -> str | None:
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%S.%fZ")
        aside = f"{self.key}.corrupt-{stamp}"
        try:
            await self.storage.save(aside, raw)
        except Exception as exc:
            logger.error("could not keep the unreadable state aside under %r: %s", aside, exc)
            return None
        return aside

    def _warn(self, message: str, **metadata: object) -> None:
        logger.warning(message)
        self._trace(Severity.WARNING, message, {"key": self.key, **metadata})
