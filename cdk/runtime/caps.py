"""Caps and budgets: whether a model has used up its requests, tokens or spend, and setting it aside."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from ..enums import DeactivationReason, ModelStatus
from .book import ModelBook
from .catalogue import ModelEntry
from .periods import Period, next_boundary
from .pool import Pool
from .settings import BudgetSettings
from .state import LedgerKind, MeshState, PeriodUsage, ledger_scope
from .transitions import Transitions

__all__ = ["Breach", "CapGuard", "find_breach"]


@attrs.frozen
class Breach:
    """A cap or budget reached: the reason to set the model aside, and when the period resets."""

    reason: DeactivationReason
    detail: str
    resets_at: datetime


def find_breach(
    entry: ModelEntry,
    state: MeshState,
    *,
    provider_budget: BudgetSettings | None,
    pools: Iterable[Pool],
    now: datetime,
) -> Breach | None:
    """The first cap or budget ``entry``'s model has reached: its own, its provider's, its pools'."""
    model_id = entry.model_id
    usage = state.models[model_id].usage
    usage.roll(now)
    limits = entry.limits
    if limits is not None:
        window = limits.window
        if limits.requests is not None and usage.requests(window) >= limits.requests:
            return Breach(
                DeactivationReason.REQUEST_LIMIT,
                f"{usage.requests(window)} of {limits.requests} {window} requests used",
                next_boundary(now, window),
            )
        if limits.tokens is not None and usage.tokens(window) >= limits.tokens:
            return Breach(
                DeactivationReason.TOKEN_LIMIT,
                f"{usage.tokens(window)} of {limits.tokens} {window} tokens used",
                next_boundary(now, window),
            )
    # Each budget's label and ledger are looked up only when it is set: most models have none.
    if entry.budget is not None:
        spent = _over_budget(f"model {model_id}", entry.budget, usage, now)
        if spent is not None:
            return spent
    if provider_budget is not None:
        ledger = state.ledgers.get(ledger_scope(LedgerKind.PROVIDER, entry.provider_id))
        spent = _over_budget(f"provider {entry.provider_id}", provider_budget, ledger, now)
        if spent is not None:
            return spent
    for pool in pools:
        if pool.id is not None and pool.budget is not None and model_id in pool.members:
            ledger = state.ledgers.get(ledger_scope(LedgerKind.POOL, pool.id))
            spent = _over_budget(f"pool {pool.id}", pool.budget, ledger, now)
            if spent is not None:
                return spent
    return None


def _over_budget(
    label: str, budget: BudgetSettings, ledger: PeriodUsage | None, now: datetime
) -> Breach | None:
    if ledger is None:
        return None
    ledger.roll(now)
    # Monthly first: when both are spent, the stay lasts until the month turns.
    for period, cap in ((Period.MONTHLY, budget.monthly), (Period.DAILY, budget.daily)):
        if cap is not None and ledger.cost(period) >= cap:
            return Breach(
                DeactivationReason.BUDGET_EXCEEDED,
                f"{label} {period} budget spent ({ledger.cost(period):.4f} of {cap:g})",
                next_boundary(now, period),
            )
    return None


class CapGuard:
    """Sets an active model aside when it reaches a cap or budget, until the period resets."""

    def __init__(
        self,
        book: ModelBook,
        *,
        transitions: Transitions,
    ) -> None:
        self.state, self.entries, self.clock = book.state, book.entries, book.clock
        self.provider_budgets = book.provider_budgets
        self.transitions = transitions
        #: The configured pools, whose budgets count too.
        self.pools: tuple[Pool, ...] = ()
        # model id -> (its entry, the pools then) for the models no cap or budget can reach.
        self._uncapped: dict[str, tuple[ModelEntry, tuple[Pool, ...]]] = {}

    def can_breach(self, model_id: str) -> bool:
        """False when no cap or budget applies to ``model_id`` (its own, its provider's, its pools')."""
        entry = self.entries[model_id]
        known = self._uncapped.get(model_id)
        if known is not None and known[0] is entry and known[1] is self.pools:
            return False
        capped = (
            entry.limits is not None
            or entry.budget is not None
            or self.provider_budgets.get(entry.provider_id) is not None
            or any(p.budget is not None and model_id in p.members for p in self.pools if p.id is not None)
        )
        if capped:
            self._uncapped.pop(model_id, None)
        else:
            self._uncapped[model_id] = (entry, self.pools)
        return capped

    def breach(self, model_id: str, now: datetime) -> Breach | None:
        """The first cap or budget ``model_id`` has reached, or None."""
        entry = self.entries[model_id]
        budget = self.provider_budgets.get(entry.provider_id)
        return find_breach(entry, self.state, provider_budget=budget, pools=self.pools, now=now)

    def enforce(self, model_id: str, *, pool_id: str | None, now: datetime | None = None) -> None:
        """Set ``model_id`` aside if it is active and has reached a cap or budget (as of ``now``)."""
        model = self.state.models[model_id]
        if model.status is not ModelStatus.ACTIVE or not self.can_breach(model_id):
            return  # usage windows roll when they are read, so skipping the roll here loses nothing
        breach = self.breach(model_id, self.clock.now() if now is None else now)
        if breach is not None:
            self.transitions.deactivate(
                model_id, breach.reason, pool_id=pool_id, resets_at=breach.resets_at, detail=breach.detail
            )
