"""``DeclaredViews``: snapshots for a policy that declares the fields it reads, kept till they change.

A policy's ``reads`` names the snapshot fields its ``select`` and ``fallback`` read (the
conformance suite holds it to that). A snapshot made for it is kept while those fields stay as
they are, and when one moves only they are written anew, into a copy of the kept snapshot:

- a field copied from the model's record (its status, its latency) is compared with the
  record's value when the record's revision has moved;
- a count (``COUNTED_FIELDS``: the windows, the period's usage) moves with every call and
  with time, so a snapshot that holds one is renewed when the record's revision or a second
  of the windows moves on.

The other fields of a kept snapshot are those of when it was made, as docs/plugins.md says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ..trusted import copier
from ..types import ModelSnapshot
from .catalogue import ModelEntry
from .state import MINUTE, RECORD_FIELDS, ModelState

if TYPE_CHECKING:
    from .model_views import ModelViews

__all__ = ["COUNTED_FIELDS", "Cutoffs", "DeclaredViews", "cutoffs_at"]

#: The counts a snapshot holds, in groups that are counted together.
_WINDOW = ("window_requests", "window_failures")
_USAGE = ("requests", "tokens", "cost")
_MINUTE = ("requests_last_minute", "tokens_last_minute")

#: Snapshot fields counted afresh: they move with every call and with time.
COUNTED_FIELDS = frozenset({*_WINDOW, *_USAGE, *_MINUTE})

#: The error window's cut-off second and the minute window's.
Cutoffs = tuple[int, int]


def cutoffs_at(stamp: float, span: float) -> Cutoffs:
    """The seconds the error window (``span`` long) and the minute window start after, at ``stamp``:
    the windows count whole seconds, so a count read at ``stamp`` holds while neither moves."""
    return int((stamp - span) // 1), int((stamp - MINUTE) // 1)


#: A full snapshot of a model as of now: (entry, record, now) → snapshot.
FullMaker = Callable[[ModelEntry, ModelState, datetime], ModelSnapshot]


class DeclaredViews:
    """Snapshots of one pool's models for a policy that reads only ``reads``."""

    __slots__ = ("_counted", "_full", "_kept", "_renew", "_source", "_span", "_values_of")

    def __init__(self, reads: frozenset[str], source: ModelViews, full: FullMaker) -> None:
        from_record = sorted(field for field in reads if field in RECORD_FIELDS)
        self._values_of = _values_of([RECORD_FIELDS[field] for field in from_record])
        groups = [group for group in (_WINDOW, _USAGE, _MINUTE) if reads.intersection(group)]
        self._counted = tuple(groups)
        changed = tuple(from_record) + tuple(field for group in groups for field in group)
        self._renew = copier(ModelSnapshot, changed)
        self._source = source  # its entries and records, read at each use: the catalogue may change
        self._span = source.error_window.total_seconds()
        self._full = full
        # Per model: the entry and record a snapshot was made from, the record's revision and
        # values of the fields read then, the windows' cut-offs (counts only), the snapshot.
        self._kept: dict[str, list[Any]] = {}

    @property
    def counts(self) -> bool:
        """True when a field read is a count, so a selection's snapshots depend on its now."""
        return bool(self._counted)

    def steady(self, model_id: str) -> ModelSnapshot:
        """The snapshot of ``model_id``, for a policy that reads no count: it needs no now."""
        source = self._source
        entry, model = source.entries[model_id], source.state.models[model_id]
        found = self._kept.get(model_id)
        if found is not None and found[0] is entry and found[1] is model:
            if found[2] == model.revision:
                return found[5]  # type: ignore[no-any-return]
            values = self._values_of(model)
            found[2] = model.revision
            if found[3] != values:
                found[3], found[5] = values, self._renew(found[5], *values)
            return found[5]  # type: ignore[no-any-return]
        made = self._full(entry, model, source.clock.now())
        self._kept[model_id] = [entry, model, model.revision, self._values_of(model), None, made]
        return made

    def at(self, now: datetime) -> Callable[[str], ModelSnapshot]:
        """Snapshots as of ``now``, for a policy that reads a count: one clock reading a selection."""
        stamp = now.timestamp()
        cutoffs = cutoffs_at(stamp, self._span)
        entries, models, kept = self._source.entries, self._source.state.models, self._kept

        def make(model_id: str) -> ModelSnapshot:
            entry, model = entries[model_id], models[model_id]
            found = kept.get(model_id)
            if found is not None and found[0] is entry and found[1] is model:
                if found[2] == model.revision and found[4] == cutoffs:
                    return found[5]  # type: ignore[no-any-return]
                counts = self._counts(entry, model, now, stamp)
                found[2], found[4] = model.revision, cutoffs
                found[5] = self._renew(found[5], *self._values_of(model), *counts)
                return found[5]  # type: ignore[no-any-return]
            made = self._full(entry, model, now)
            kept[model_id] = [entry, model, model.revision, None, cutoffs, made]
            return made

        return make

    def _counts(self, entry: ModelEntry, model: ModelState, now: datetime, stamp: float) -> list[Any]:
        counts: list[Any] = []
        for group in self._counted:
            if group is _WINDOW:
                counts += model.outcomes.totals(stamp, self._span)
            elif group is _USAGE:
                model.usage.roll(now, stamp)
                counts += model.usage.totals(entry.limit_window)
            else:
                counts += model.minute.totals(stamp, MINUTE)
        return counts


def _values_of(names: list[str]) -> Callable[[ModelState], tuple[Any, ...]]:
    """The values of ``names`` of a record, always as a tuple (a C getter for two or more)."""
    if not names:
        return _nothing
    if len(names) == 1:
        getter = attrgetter(names[0])
        return lambda model: (getter(model),)
    many: Callable[[ModelState], tuple[Any, ...]] = attrgetter(*names)
    return many


def _nothing(model: ModelState) -> tuple[Any, ...]:
    return ()
