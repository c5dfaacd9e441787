"""Saving, loading and sharing the runtime state through a storage connector.

Layout, under the configured ``key`` (``K``, default ``meshkit/state``):

* ``K/models/<model id>``, ``K/ledgers/<scope>``, ``K/providers/<provider id>``: one record
  each, written only when it changed. Writing a record first reads the stored one and merges
  (:mod:`.merge`): the newer status change wins, counters add up. So several processes
  sharing one storage see one state.
* ``K/epoch``: a token rewritten whenever a status change is written; reading it is the
  cheap check that tells whether another process changed a status since our last look.
* ``K`` itself: the single-blob layout of earlier versions, read once and migrated.

A record that cannot be read is never fatal and never lost: its bytes are copied aside under
``<its key>.corrupt-<timestamp>``, a warning is logged and traced, and that record starts
fresh (the next write replaces it).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import anyio

from ..clock import Clock
from ..enums import SerializationFormat, Severity
from ..errors import StateFormatError, StorageCorruptError
from ..interfaces.storage import Storage
from ..serialization import decode, encode
from .merge import merge_model, merge_provider, merge_usage, status_newer, takes_status
from .state import (
    LEDGERS,
    MODELS,
    PROVIDERS,
    MeshState,
    ModelState,
    PeriodUsage,
    ProviderState,
    RecordKind,
    record_name,
)

__all__ = ["RECORD_FORMAT", "StatePersistence"]

logger = logging.getLogger("meshkit.runtime.state")

TraceSink = Callable[[Severity, str, dict[str, object]], None]

RECORD_FORMAT = "meshkit-state-record"
RECORD_VERSION = 2
_KINDS = (MODELS, LEDGERS, PROVIDERS)
_CORRUPT = ".corrupt-"
_UNREADABLE = (StorageCorruptError, StateFormatError, ModuleNotFoundError, TypeError, ValueError)


class StatePersistence:
    """Reads and writes the state's records under ``key``; one operation at a time."""

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
        self.epoch_key = f"{key}/epoch"
        self._epoch: bytes | None = None  # the epoch as of our last pull or status write
        self._epoch_due = False  # a status change was written and the epoch not yet moved
        self._base: dict[str, dict[str, Any]] = {}  # record → the stored data our copy builds on
        self._seen: dict[str, str] = {}  # record → the stored revision last merged
        self._bad: dict[str, bytes] = {}  # key → unreadable bytes already set aside
        self._news = False  # another process's writes were merged in since take_news()
        self.saves = 0  # records written
        self.pulls = 0  # full reads of every record

    # --- the operations the mesh uses ----------------------------------------------------

    async def load_into(self, state: MeshState) -> bool:
        """Read every record into ``state`` (migrating the old single blob); False when none.

        A backend that fails raises (the caller decides what an outage means); a record that
        cannot be decoded is set aside and starts fresh.
        """
        async with self._lock:
            found = await self._pull(state)
            legacy = await self.storage.load(self.key)
            if legacy is None:
                return found
            if found:
                self._trace(
                    Severity.WARNING,
                    f"state {self.key!r} holds both per-model records and an old single blob; "
                    "the records are used and the blob is left as it is",
                    {"key": self.key},
                )
                return True
            return await self._migrate(state, legacy)

    async def save(self, state: MeshState) -> bool:
        """Write every changed record (merged with what is stored); True when anything was written."""
        async with self._lock:
            return await self._push(state)

    async def refresh(self, state: MeshState) -> bool:
        """Read every record again if another process changed a status since we last looked."""
        async with self._lock:
            epoch = await self.storage.load(self.epoch_key)
            if epoch == self._epoch:
                return False
            await self._pull(state)
            return True

    async def sync(self, state: MeshState) -> bool:
        """Take in what other processes wrote, then write what changed here."""
        async with self._lock:
            await self._pull(state)
            return await self._push(state)

    def take_news(self) -> bool:
        """True (once) when other processes' writes were merged in since the last call."""
        news, self._news = self._news, False
        return news

    # --- reading ---------------------------------------------------------------------------

    async def _pull(self, state: MeshState) -> bool:
        # The epoch is read first: a status written after this read moves it again.
        epoch = await self.storage.load(self.epoch_key)
        prefix = f"{self.key}/"
        found = False
        skipped: list[str] = []
        for key in await self.storage.list(prefix):
            kind_name, _, ident = key[len(prefix) :].partition("/")
            if kind_name not in _KINDS or not ident or _CORRUPT in ident:
                continue
            kind = RecordKind(kind_name)
            found = True
            if kind == MODELS and ident not in state.models:
                skipped.append(ident)
                continue
            raw = await self.storage.load(key)
            if raw is None:
                continue
            stored = await self._read(key, raw, kind, ident)
            name = record_name(kind, ident)
            if stored is None or stored[0] == self._seen.get(name):
                continue
            revision, data = stored
            self._take(state, kind, ident, data, merged_base=data)
            self._seen[name] = revision
            self._news = True
        self._epoch = epoch
        self.pulls += 1
        if skipped and self.pulls == 1:
            self._trace(
                Severity.INFO,
                "stored state names models this mesh does not configure; ignored",
                {"models": sorted(skipped)},
            )
        return found

    async def _read(
        self, key: str, raw: bytes, kind: RecordKind, ident: str
    ) -> tuple[str, dict[str, Any]] | None:
        """The revision and data of a stored record; None (set aside, warned) when unreadable."""
        try:
            envelope = decode(raw, self.format)
            if not isinstance(envelope, dict) or envelope.get("format") != RECORD_FORMAT:
                raise StateFormatError("not a meshkit state record")
            if envelope.get("version") != RECORD_VERSION:
                raise StateFormatError(f"unsupported record version {envelope.get('version')!r}")
            data = _check(kind, ident, envelope.get("data"))
            return str(envelope.get("rev")), data
        except _UNREADABLE as exc:
            await self._unreadable(key, raw, exc)
            return None

    def _take(
        self,
        state: MeshState,
        kind: RecordKind,
        ident: str,
        stored: dict[str, Any],
        *,
        merged_base: dict[str, Any],
    ) -> None:
        """Merge ``stored`` into our copy of one record; ``merged_base`` is what the store now holds."""
        name = record_name(kind, ident)
        base = self._base.get(name)
        if kind == MODELS:
            model = state.models[ident]
            local = model.to_data()
            adopted = takes_status(stored, local) and stored.get("status") != local.get("status")
            model.restore(merge_model(stored, base, local))
            if adopted:
                self._trace(
                    Severity.INFO,
                    f"model {ident} is {model.status.value} as another process recorded"
                    + (f" ({model.reason.value})" if model.reason else ""),
                    {"model_id": ident, "changed_by": model.changed_by},
                )
        elif kind == LEDGERS:
            current = state.ledgers.get(ident)
            local = current.to_data() if current is not None else PeriodUsage().to_data()
            state.ledgers[ident] = PeriodUsage.from_data(merge_usage(stored, base, local))
        else:
            previous = state.providers.get(ident)
            local = previous.to_data() if previous is not None else ProviderState().to_data()
            provider = ProviderState.from_data(merge_provider(stored, local))
            provider.available = previous.available if previous is not None else None
            state.providers[ident] = provider
        self._base[name] = merged_base

    # --- writing ----------------------------------------------------------------------------

    async def _push(self, state: MeshState) -> bool:
        names = sorted(state.dirty)
        state.dirty.clear()
        wrote = False
        try:
            while names:
                if await self._push_one(state, names[0]):
                    self._epoch_due = True
                names.pop(0)
                wrote = True
        except BaseException:
            state.dirty.update(names)  # what could not be written is due again
            raise
        if self._epoch_due:
            epoch = secrets.token_hex(8).encode()
            await self.storage.save(self.epoch_key, epoch)
            self._epoch = epoch
            self._epoch_due = False
        return wrote

    async def _push_one(self, state: MeshState, name: str) -> bool:
        """Read, merge and write one record; True when it carried a new status change."""
        kind_name, _, ident = name.partition("/")
        kind = RecordKind(kind_name)
        key = f"{self.key}/{name}"
        raw = await self.storage.load(key)
        stored = await self._read(key, raw, kind, ident) if raw is not None else None
        stored_data = stored[1] if stored is not None else None
        # From here to the write's await nothing else runs, so the merge sees one consistent copy.
        if kind == MODELS and ident not in state.models:
            return False
        if stored is not None:
            if stored[0] != self._seen.get(name):
                self._news = True
            self._take(state, kind, ident, stored[1], merged_base=stored[1])
        data = self._local(state, kind, ident)
        revision = f"{state.writer}:{secrets.token_hex(6)}"
        envelope = {
            "format": RECORD_FORMAT,
            "version": RECORD_VERSION,
            "kind": kind.value,
            "id": ident,
            "rev": revision,
            "saved_at": self.clock.now().isoformat(),
            "data": data,
        }
        await self.storage.save(key, encode(envelope, self.format))
        self._base[name] = data
        self._seen[name] = revision
        self.saves += 1
        return kind != LEDGERS and status_newer(data, stored_data)

    def _local(self, state: MeshState, kind: RecordKind, ident: str) -> dict[str, Any]:
        if kind == MODELS:
            return state.models[ident].to_data()
        if kind == LEDGERS:
            return state.ledger(ident).to_data()
        return state.provider(ident).to_data()

    # --- the old layout and unreadable bytes -------------------------------------------------

    async def _migrate(self, state: MeshState, legacy: bytes) -> bool:
        try:
            skipped = state.restore(decode(legacy, self.format))
        except (StorageCorruptError, StateFormatError, ModuleNotFoundError) as exc:
            await self._unreadable(self.key, legacy, exc)
            await self.storage.delete(self.key)  # kept aside; the records replace it
            return False
        if skipped:
            self._trace(
                Severity.INFO,
                "stored state names models this mesh does not configure; ignored",
                {"models": sorted(skipped)},
            )
        state.touch(*state.all_records())
        await self._push(state)
        await self.storage.delete(self.key)
        self._trace(
            Severity.INFO,
            f"state {self.key!r} moved from one blob to one record per model",
            {"key": self.key, "records": len(state.all_records())},
        )
        return True

    async def _unreadable(self, key: str, raw: bytes, exc: BaseException) -> None:
        if self._bad.get(key) == raw:
            return  # already set aside and reported
        self._bad[key] = raw
        aside = await self._keep_aside(key, raw)
        where = f"; the bytes are kept under {aside!r}" if aside else ""
        self._warn(f"state {key!r} is unreadable ({exc}); starting it fresh{where}", key=key, aside=aside)

    async def _keep_aside(self, key: str, raw: bytes) -> str | None:
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%S.%fZ")
        aside = f"{key}{_CORRUPT}{stamp}"
        try:
            await self.storage.save(aside, raw)
        except Exception as exc:
            logger.error("could not keep the unreadable state aside under %r: %s", aside, exc)
            return None
        return aside

    def _warn(self, message: str, **metadata: object) -> None:
        logger.warning(message)
        self._trace(Severity.WARNING, message, {"key": self.key, **metadata})


def _check(kind: RecordKind, ident: str, data: Any) -> dict[str, Any]:
    """``data`` when it is a well-formed record of ``kind``; StateFormatError otherwise."""
    if not isinstance(data, dict):
        raise StateFormatError(f"{kind}/{ident}: expected a mapping")
    if kind == MODELS:
        ModelState(model_id=ident, provider_id=str(data.get("provider_id", ""))).restore(data)
    elif kind == LEDGERS:
        PeriodUsage.from_data(data)
    else:
        ProviderState.from_data(data)
    return data
