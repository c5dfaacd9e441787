"""``ModelViews``: a model as the router reads it: its snapshot for rotation policies, whether it serves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ..enums import ModelStatus
from ..types import ModelSnapshot
from .book import ModelBook
from .catalogue import ModelEntry
from .declared_views import Cutoffs, DeclaredViews, cutoffs_at
from .state import ModelState

__all__ = ["ModelViews"]


class ModelViews:
    """Read-only views of the models' state, as of the clock's now."""

    def __init__(self, book: ModelBook, *, error_window: timedelta) -> None:
        self.state, self.entries, self.clock = book.state, book.entries, book.clock
        self.error_window = error_window
        self._span = error_window.total_seconds()
        # Per pool, per model: what a snapshot was made from (the record's revision, the windows'
        # cut-offs, the entry, the record) and the snapshot.
        self._kept: dict[
            str | None, dict[str, tuple[int, Cutoffs, ModelEntry, ModelState, ModelSnapshot]]
        ] = {}
        # Per pool and set of fields read: the snapshots for a policy that declares them.
        self._declared: dict[tuple[str | None, frozenset[str]], DeclaredViews] = {}

    def snapshot(self, model_id: str, pool_id: str | None) -> ModelSnapshot:
        """The immutable view of ``model_id`` handed to rotation policies."""
        return self.maker(pool_id)(model_id)

    def maker(
        self, pool_id: str | None, reads: frozenset[str] | None = None
    ) -> Callable[[str], ModelSnapshot]:
        """Snapshots of the models of ``pool_id`` as of now: one clock reading for a whole selection.

        Each is kept until the model's record changes or a second of its windows passes (they
        count whole seconds), so a policy comparing every model of a large pool reads most of
        them from here rather than recounting them. For a policy that declares what it
        ``reads``, each is kept until one of those fields changes (``DeclaredViews``).
        """
        if reads is not None:
            declared = self._declared.get((pool_id, reads))
            if declared is None:
                declared = self._declared[(pool_id, reads)] = self._declare(pool_id, reads)
            return declared.at(self.clock.now()) if declared.counts else declared.steady
        now = self.clock.now()
        stamp = now.timestamp()
        cutoffs = cutoffs_at(stamp, self._span)
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

    def _declare(self, pool_id: str | None, reads: frozenset[str]) -> DeclaredViews:
        def full(entry: ModelEntry, model: ModelState, now: datetime) -> ModelSnapshot:
            return self._make(entry, model, pool_id, now)

        return DeclaredViews(reads, self, full)

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
