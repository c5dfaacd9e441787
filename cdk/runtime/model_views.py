"""``ModelViews``: a model as the router reads it: its snapshot for rotation policies, whether it serves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from ..enums import ModelStatus
from ..types import ModelSnapshot
from .book import ModelBook
from .catalogue import ModelEntry
from .state import MINUTE, RECORD_FIELDS, ModelState

__all__ = ["ModelViews"]

#: The error window's cut-off second and the minute window's.
_Cutoffs = tuple[int, int]

#: Snapshot fields counted afresh for every snapshot: they move with every call and with time.
COUNTED_FIELDS = frozenset(
    {
        "window_requests",
        "window_failures",
        "requests",
        "tokens",
        "cost",
        "requests_last_minute",
        "tokens_last_minute",
    }
)


class ModelViews:
    """Read-only views of the models' state, as of the clock's now."""

    def __init__(self, book: ModelBook, *, error_window: timedelta) -> None:
        self.state, self.entries, self.clock = book.state, book.entries, book.clock
        self.error_window = error_window
        self._span = error_window.total_seconds()
        # Per pool, per model: what a snapshot was made from (the record's revision, the windows'
        # cut-offs, the entry, the record) and the snapshot.
        self._kept: dict[
            str | None, dict[str, tuple[int, _Cutoffs, ModelEntry, ModelState, ModelSnapshot]]
        ] = {}
        # The same for policies that read no counted field, per pool and set of fields read.
        self._steady_makers: dict[tuple[str | None, frozenset[str]], Callable[[str], ModelSnapshot]] = {}
        # Per set of fields read: what of a record a kept snapshot depends on, or None when the
        # set holds a counted field (a snapshot is then made as for a policy that declares none).
        self._plans: dict[frozenset[str], Callable[[ModelState], Any] | None] = {}

    def snapshot(self, model_id: str, pool_id: str | None) -> ModelSnapshot:
        """The immutable view of ``model_id`` handed to rotation policies."""
        return self.maker(pool_id)(model_id)

    def maker(
        self, pool_id: str | None, reads: frozenset[str] | None = None
    ) -> Callable[[str], ModelSnapshot]:
        """Snapshots of the models of ``pool_id`` as of now: one clock reading for a whole selection.

        Each is kept until the model's record changes or a second of its windows passes (they
        count whole seconds), so a policy comparing every model of a large pool reads most of
        them from here rather than recounting them. For a policy that ``reads`` none of the
        counted fields, each is kept until a field it reads changes (see ``steady_maker``).
        """
        if reads is not None:
            steady = self._steady_makers.get((pool_id, reads))
            if steady is not None:
                return steady
            if self._plan(reads) is not None:
                return self.steady_maker(pool_id, reads)
        now = self.clock.now()
        stamp = now.timestamp()
        cutoffs = (int((stamp - self._span) // 1), int((stamp - MINUTE) // 1))
        entries, models = self.entries, self.state.models
        kept = self._kept.setdefault(pool_id, {})

        def make(model_id: str) -> ModelSnapshot:
            entry, model = entries[model_id], models[model_id]
            found = kept.get(model_id)
            if (
                found is not None
                and found[0] == model.revision
                and found[1] == cutoffs
                and found[2] is entry
                and found[3] is model
            ):
                return found[4]
            made = self._make(entry, model, pool_id, now)
            kept[model_id] = (model.revision, cutoffs, entry, model, made)
            return made

        return make

    def steady_maker(self, pool_id: str | None, reads: frozenset[str]) -> Callable[[str], ModelSnapshot]:
        """Snapshots for a policy that reads only ``reads``, none of them counted.

        A snapshot is kept while the entry, the record and the record's values of ``reads``
        stay the same: a call moves the model's counters on every request, but not these.
        """
        known = self._steady_makers.get((pool_id, reads))
        if known is not None:
            return known  # it reads nothing of now, so one serves every selection
        key_of = self._plan(reads)
        if key_of is None:
            raise ValueError(f"reads {sorted(reads & COUNTED_FIELDS)}, which are counted afresh")
        kept: dict[str, tuple[ModelEntry, ModelState, Any, ModelSnapshot]] = {}

        def make(model_id: str) -> ModelSnapshot:
            entry, model = self.entries[model_id], self.state.models[model_id]
            found = kept.get(model_id)
            key = key_of(model)
            if found is not None and found[0] is entry and found[1] is model and found[2] == key:
                return found[3]
            made = self._make(entry, model, pool_id, self.clock.now())
            kept[model_id] = (entry, model, key, made)
            return made

        self._steady_makers[(pool_id, reads)] = make
        return make

    def _plan(self, reads: frozenset[str]) -> Callable[[ModelState], Any] | None:
        if reads not in self._plans:
            names = sorted(RECORD_FIELDS[f] for f in reads if f in RECORD_FIELDS)
            self._plans[reads] = None if reads & COUNTED_FIELDS else _values_of(names)
        return self._plans[reads]

    def _make(
        self, entry: ModelEntry, model: ModelState, pool_id: str | None, now: datetime
    ) -> ModelSnapshot:
        return model.snapshot(
            now=now,
            span=self.error_window,
            pool_id=pool_id,
            pricing=entry.pricing,
            priority=entry.priority,
            weight=entry.weight,
            limits=entry.limit_values(),
            window=entry.limit_window,
        )

    def usable(self, model_id: str) -> bool:
        """True when the model is active and its provider is not set aside."""
        model = self.state.models[model_id]
        if model.status is not ModelStatus.ACTIVE:
            return False
        provider = self.state.providers.get(model.provider_id)
        return provider is None or not provider.deactivated


def _values_of(names: list[str]) -> Callable[[ModelState], Any]:
    """What of a record a snapshot is kept on: the values of ``names`` (a C getter, or none)."""
    if not names:
        return _nothing
    return attrgetter(*names)


def _nothing(model: ModelState) -> None:
    return None
