"""``Outcomes``: what each call's outcome changes, and the rules that set a model or its provider aside.

A success updates counters, latency and spend, then checks the caps and budgets it counted
against. A failure updates counters, then: an authentication error sets the whole provider
aside; a model the provider refuses to the key goes to standby alone; an exhausted quota sets
the model aside until Retry-After, its quota reset or the policy's cooldown; an error that says
something about the model's health counts toward the rotation policy's threshold. Errors that
are the request's fault change nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import now_reader, posix_seconds
from ..enums import DeactivationReason
from ..errors import AuthenticationError, ModelAccessError, QuotaExhaustedError
from ..types import TokenUsage
from .book import ModelBook
from .caps import CapGuard
from .catalogue import ModelEntry
from .model_views import ModelViews
from .periods import next_boundary
from .pool import Pool
from .state import LEDGERS, LedgerKind, ledger_scope, record_name
from .transitions import Transitions

__all__ = ["HEALTH_ERRORS", "Outcomes"]

#: Error categories that say something about a model's health and count toward its threshold.
HEALTH_ERRORS = frozenset({"rate_limit", "unavailable", "timeout", "protocol", "unknown"})
_EWMA_ALPHA = 0.3


class Outcomes:
    """Counts each call's start and outcome, and applies what a failure implies."""

    def __init__(
        self,
        book: ModelBook,
        *,
        transitions: Transitions,
        caps: CapGuard,
        views: ModelViews,
    ) -> None:
        self.state, self.entries, self.clock = book.state, book.entries, book.clock
        self._now = now_reader(book.clock)
        self.provider_budgets = book.provider_budgets
        self.transitions = transitions
        self.caps = caps
        self.views = views

    def begin(self, model_id: str) -> None:
        """A call to ``model_id`` starts."""
        model = self.state.models[model_id]
        model.requests += 1
        model.in_flight += 1
        # A call counts against a per-minute request limit when it is sent, whatever its outcome.
        model.minute.add(posix_seconds(self.clock), requests=1)
        self.state.touch_model(model_id)

    def cancelled(self, model_id: str) -> None:
        """A call was cancelled by the caller: neither a success nor the model's failure."""
        model = self.state.models[model_id]
        model.in_flight -= 1
        model.cancelled += 1
        self.state.touch_model(model_id)

    def succeeded(
        self, model_id: str, pool: Pool, *, latency_ms: float, usage: TokenUsage | None, cost: float
    ) -> None:
        """Count a success: counters, latency, spend; enforce caps and budgets."""
        now = self._now()
        stamp = now.timestamp()
        model = self.state.models[model_id]
        model.in_flight -= 1
        model.successes += 1
        model.consecutive_failures = 0
        model.last_success_at = now
        model.outcomes.add(stamp, requests=1)
        model.latency_ewma_ms = (
            latency_ms
            if model.latency_ewma_ms is None
            else _EWMA_ALPHA * latency_ms + (1 - _EWMA_ALPHA) * model.latency_ewma_ms
        )
        tokens = usage.total_tokens if usage else 0
        model.tokens += tokens
        model.cost += cost
        model.usage.add(now, requests=1, tokens=tokens, cost=cost, stamp=stamp)
        model.minute.add(stamp, amount=tokens)
        others: set[str] = set()  # the models a shared budget spent here may have reached
        provider_budget = self.provider_budgets.get(model.provider_id)
        if provider_budget is not None:
            ledger = ledger_scope(LedgerKind.PROVIDER, model.provider_id)
            self.state.ledger(ledger).add(now, requests=1, tokens=tokens, cost=cost)
            self.state.touch(record_name(LEDGERS, ledger))
            others.update(m for m, e in self.entries.items() if e.provider_id == model.provider_id)
        if pool.id is not None and pool.budget is not None:
            ledger = ledger_scope(LedgerKind.POOL, pool.id)
            self.state.ledger(ledger).add(now, requests=1, tokens=tokens, cost=cost)
            others.update(pool.members)
            self.state.touch(record_name(LEDGERS, ledger))
        self.state.touch_model(model_id)
        if not others:
            self.caps.enforce(model_id, pool_id=pool.id, now=now)
            return
        for other in sorted(others | {model_id}):
            self.caps.enforce(other, pool_id=pool.id, now=now)

    def failed(self, model_id: str, pool: Pool, error: BaseException, *, latency_ms: float) -> None:
        """Count a failure and apply what it implies (threshold, quota, provider-wide)."""
        now = self.clock.now()
        model = self.state.models[model_id]
        entry = self.entries[model_id]
        model.in_flight -= 1
        model.failures += 1
        model.last_failure_at = now
        model.last_error = str(error)
        category = str(getattr(error, "category", "unknown"))
        model.errors[category] = model.errors.get(category, 0) + 1
        self.state.touch_model(model_id)
        if isinstance(error, AuthenticationError):  # the credential itself is refused
            self.transitions.deactivate_provider(model.provider_id, error, reason="authentication")
            return
        if isinstance(error, ModelAccessError):  # only this model is refused to the key
            snapshot = self.views.snapshot(model_id, pool.id)
            self.transitions.deactivate(
                model_id,
                DeactivationReason.ERROR_THRESHOLD,
                pool_id=pool.id,
                cooldown=pool.policy.cooldown_for(snapshot, DeactivationReason.ERROR_THRESHOLD),
                detail="the provider refused this model to the key",
                error=error,
            )
            return
        if isinstance(error, QuotaExhaustedError):
            self._quota_exhausted(model_id, entry, pool, error, now)
            return
        if category not in HEALTH_ERRORS:
            return  # the request's fault (bad request, context window), not the model's health
        model.consecutive_failures += 1
        model.outcomes.add(now.timestamp(), requests=1, amount=1)
        self.state.touch_model(model_id)  # so that the snapshot below counts this failure
        snapshot = self.views.snapshot(model_id, pool.id)
        reason = pool.policy.should_deactivate(snapshot, now)
        if reason is None:
            return
        cooldown = pool.policy.cooldown_for(snapshot, reason)
        retry_after = getattr(error, "retry_after", None)
        if cooldown is not None and retry_after is not None:
            cooldown = max(cooldown, timedelta(seconds=retry_after))
        self.transitions.deactivate(model_id, reason, pool_id=pool.id, cooldown=cooldown, error=error)

    def _quota_exhausted(
        self, model_id: str, entry: ModelEntry, pool: Pool, error: QuotaExhaustedError, now: datetime
    ) -> None:
        """Set the model aside until Retry-After, else its quota reset, else the policy's cooldown."""
        reason = DeactivationReason.QUOTA_EXHAUSTED
        retry_after = error.retry_after
        if retry_after is not None:
            self.transitions.deactivate(
                model_id,
                reason,
                pool_id=pool.id,
                cooldown=timedelta(seconds=retry_after),
                detail="until Retry-After",
                error=error,
            )
        elif entry.quota_reset is not None:
            self.transitions.deactivate(
                model_id,
                reason,
                pool_id=pool.id,
                resets_at=next_boundary(now, entry.quota_reset),
                detail=f"until the {entry.quota_reset} quota reset",
                error=error,
            )
        else:
            cooldown = pool.policy.cooldown_for(self.views.snapshot(model_id, pool.id), reason)
            self.transitions.deactivate(model_id, reason, pool_id=pool.id, cooldown=cooldown, error=error)
