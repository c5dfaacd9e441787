"""Model and provider lifecycle: counters after each outcome, deactivation, recovery.

Every transition goes through :meth:`Lifecycle.deactivate` or :meth:`Lifecycle.activate`
(or their provider-wide twins), which change the state and emit exactly one event; a call
that would not change anything emits nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock
from ..enums import DeactivationReason, EventType, ModelStatus, RecoveryTrigger, Severity
from ..errors import AuthenticationError, ModelAccessError, QuotaExhaustedError
from ..events import RoutingEvent
from ..interfaces.rotation import RotationPolicy
from ..types import ModelSnapshot, TokenUsage
from .caps import Breach, find_breach
from .catalogue import ModelEntry
from .maintenance import MaintenanceCalendar
from .periods import next_boundary
from .pool import Pool
from .settings import BudgetSettings
from .state import (
    LEDGERS,
    PROVIDERS,
    LedgerKind,
    MeshState,
    ModelState,
    ProviderState,
    ledger_scope,
    record_name,
)
from .telemetry import Telemetry

__all__ = ["HEALTH_ERRORS", "Lifecycle"]

logger = logging.getLogger("meshkit.runtime.lifecycle")

#: Error categories that say something about a model's health and count toward its threshold.
HEALTH_ERRORS = frozenset({"rate_limit", "unavailable", "timeout", "protocol", "unknown"})
_SCHEDULED = frozenset(
    {DeactivationReason.BUDGET_EXCEEDED, DeactivationReason.REQUEST_LIMIT, DeactivationReason.TOKEN_LIMIT}
)
_PROBE_RECOVERABLE = frozenset({DeactivationReason.ERROR_THRESHOLD})
_STARTUP_RECOVERABLE = frozenset({DeactivationReason.ERROR_THRESHOLD, DeactivationReason.QUOTA_EXHAUSTED})
_EWMA_ALPHA = 0.3


class Lifecycle:
    """Owns the rules that move models between ACTIVE and STANDBY."""

    def __init__(
        self,
        *,
        state: MeshState,
        entries: Mapping[str, ModelEntry],
        provider_budgets: Mapping[str, BudgetSettings | None],
        clock: Clock,
        telemetry: Telemetry,
        error_window: timedelta,
        default_policy: RotationPolicy,
    ) -> None:
        self.state = state
        self.entries = entries
        self.provider_budgets = provider_budgets
        self.clock = clock
        self.telemetry = telemetry
        self._trace = telemetry.tracer(__name__)
        self.error_window = error_window
        self.default_policy = default_policy
        self.pools: dict[str, Pool] = {}
        self._home: dict[str, Pool] = {}
        self._homeless = Pool(None, default_policy)
        self._calendar = MaintenanceCalendar()

    # --- wiring ----------------------------------------------------------------

    def set_pools(self, pools: Iterable[Pool]) -> None:
        """The configured pools; a model's first pool decides its scheduled recoveries."""
        self.pools = {p.id: p for p in pools if p.id is not None}
        self._home = {}
        for pool in self.pools.values():
            for model_id in pool.members:
                self._home.setdefault(model_id, pool)

    def ensure(self, entry: ModelEntry) -> ModelState:
        """The state of ``entry``'s model, created on first use."""
        found = self.state.models.get(entry.model_id)
        if found is None:
            found = self.state.models[entry.model_id] = ModelState(
                model_id=entry.model_id, provider_id=entry.provider_id
            )
        return found

    def home_pool(self, model_id: str) -> Pool:
        """The pool used outside any request: the model's first pool, or the default policy."""
        return self._home.get(model_id) or self._homeless

    # --- views -----------------------------------------------------------------

    def snapshot(self, model_id: str, pool_id: str | None) -> ModelSnapshot:
        """The immutable view of ``model_id`` handed to rotation policies."""
        entry = self.entries[model_id]
        return self.state.models[model_id].snapshot(
            now=self.clock.now(),
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

    # --- transitions -----------------------------------------------------------

    def deactivate(
        self,
        model_id: str,
        reason: DeactivationReason,
        *,
        pool_id: str | None = None,
        cooldown: timedelta | None = None,
        cooldown_until: datetime | None = None,
        resets_at: datetime | None = None,
        detail: str | None = None,
        error: BaseException | None = None,
    ) -> bool:
        """ACTIVE → STANDBY with ``reason``; False (and no event) when already in standby."""
        model = self.state.models[model_id]
        if model.status is ModelStatus.STANDBY:
            return False
        now = self.clock.now()
        if cooldown_until is None and cooldown is not None:
            cooldown_until = now + cooldown
        model.status = ModelStatus.STANDBY
        model.reason = reason
        model.detail = detail
        model.cooldown_until = cooldown_until
        model.resets_at = resets_at
        model.deactivated_at = now
        model.deactivations += 1
        self._changed(model, model_id)
        metadata: dict[str, Any] = {
            "reason": reason.value,
            "cooldown_until": cooldown_until.isoformat() if cooldown_until else None,
            "resets_at": resets_at.isoformat() if resets_at else None,
        }
        if detail:
            metadata["detail"] = detail
        if error is not None:
            metadata["error"] = str(error)
            metadata["error_type"] = type(error).__name__
        self._emit(EventType.MODEL_DEACTIVATED, model_id, model.provider_id, pool_id, metadata)
        self._trace(
            Severity.WARNING,
            f"model {model_id} deactivated: {reason.value}" + (f" ({detail})" if detail else ""),
            {"model_id": model_id, **metadata},
        )
        return True

    def activate(
        self,
        model_id: str,
        trigger: RecoveryTrigger,
        *,
        pool_id: str | None = None,
        detail: str | None = None,
    ) -> bool:
        """STANDBY → ACTIVE by ``trigger``; False (and no event) when already active."""
        model = self.state.models[model_id]
        if model.status is ModelStatus.ACTIVE:
            return False
        previous = model.reason
        model.status = ModelStatus.ACTIVE
        model.reason = None
        model.detail = None
        model.cooldown_until = None
        model.resets_at = None
        model.activated_at = self.clock.now()
        model.consecutive_failures = 0
        model.outcomes.clear()
        model.activations += 1
        self._changed(model, model_id)
        metadata: dict[str, Any] = {
            "trigger": trigger.value,
            "previous_reason": previous.value if previous else None,
        }
        if detail:
            metadata["detail"] = detail
        self._emit(EventType.MODEL_ACTIVATED, model_id, model.provider_id, pool_id, metadata)
        self._trace(Severity.INFO, f"model {model_id} activated: {trigger.value}", {"model_id": model_id})
        return True

    def deactivate_provider(
        self, provider_id: str, error: BaseException | str | None, *, reason: str
    ) -> bool:
        """Set every model of ``provider_id`` aside at once (authentication failure, unavailable)."""
        provider = self.state.provider(provider_id)
        if provider.deactivated:
            return False
        provider.deactivated = True
        provider.reason = reason
        provider.since = self.clock.now()
        self._provider_changed(provider, provider_id)
        models = sorted(m for m, e in self.entries.items() if e.provider_id == provider_id)
        message = None if error is None else str(error)
        metadata: dict[str, Any] = {"reason": reason, "error": message, "models": models}
        if isinstance(error, BaseException):
            metadata["error_type"] = type(error).__name__
        self._emit(EventType.PROVIDER_DEACTIVATED, None, provider_id, None, metadata)
        self._trace(
            Severity.ERROR,
            f"provider {provider_id} deactivated: {reason}",
            {"provider_id": provider_id, "error": message},
        )
        return True

    def recover_provider(self, provider_id: str, trigger: RecoveryTrigger) -> bool:
        """Bring a provider set aside back; False when it was not set aside."""
        provider = self.state.providers.get(provider_id)
        if provider is None or not provider.deactivated:
            return False
        previous = provider.reason
        provider.deactivated = False
        provider.reason = None
        provider.since = None
        self._provider_changed(provider, provider_id)
        self._emit(
            EventType.PROVIDER_RECOVERED,
            None,
            provider_id,
            None,
            {"trigger": trigger.value, "previous_reason": previous},
        )
        return True

    def set_health(self, provider_id: str, available: bool, metadata: Mapping[str, Any]) -> bool:
        """Record a provider's availability; emits PROVIDER_HEALTH_CHANGED when it flips."""
        provider = self.state.provider(provider_id)
        previous = provider.available
        provider.available = available
        if previous is None and available:
            return False  # the first good report is the expected baseline, not a change
        if previous == available:
            return False
        self._emit(
            EventType.PROVIDER_HEALTH_CHANGED,
            None,
            provider_id,
            None,
            {"available": available, "previous": previous, **metadata},
        )
        return True

    # --- outcomes --------------------------------------------------------------

    def begin(self, model_id: str) -> None:
        """A call to ``model_id`` starts."""
        model = self.state.models[model_id]
        model.requests += 1
        model.in_flight += 1
        # A call counts against a per-minute request limit when it is sent, whatever its outcome.
        model.minute.add(self.clock.now(), requests=1)
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
        now = self.clock.now()
        model = self.state.models[model_id]
        model.in_flight -= 1
        model.successes += 1
        model.consecutive_failures = 0
        model.last_success_at = now
        model.outcomes.add(now, requests=1)
        model.latency_ewma_ms = (
            latency_ms
            if model.latency_ewma_ms is None
            else _EWMA_ALPHA * latency_ms + (1 - _EWMA_ALPHA) * model.latency_ewma_ms
        )
        tokens = usage.total_tokens if usage else 0
        model.tokens += tokens
        model.cost += cost
        model.usage.add(now, requests=1, tokens=tokens, cost=cost)
        model.minute.add(now, amount=tokens)
        affected = {model_id}
        provider_budget = self.provider_budgets.get(model.provider_id)
        if provider_budget is not None:
            ledger = ledger_scope(LedgerKind.PROVIDER, model.provider_id)
            self.state.ledger(ledger).add(now, requests=1, tokens=tokens, cost=cost)
            self.state.touch(record_name(LEDGERS, ledger))
            affected.update(m for m, e in self.entries.items() if e.provider_id == model.provider_id)
        if pool.id is not None and pool.budget is not None:
            ledger = ledger_scope(LedgerKind.POOL, pool.id)
            self.state.ledger(ledger).add(now, requests=1, tokens=tokens, cost=cost)
            affected.update(pool.members)
            self.state.touch(record_name(LEDGERS, ledger))
        self.state.touch_model(model_id)
        for other in sorted(affected):
            self._enforce_caps(other, pool_id=pool.id)

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
            self.deactivate_provider(model.provider_id, error, reason="authentication")
            return
        if isinstance(error, ModelAccessError):  # only this model is refused to the key
            snapshot = self.snapshot(model_id, pool.id)
            self.deactivate(
                model_id,
                DeactivationReason.ERROR_THRESHOLD,
                pool_id=pool.id,
                cooldown=pool.policy.cooldown_for(snapshot, DeactivationReason.ERROR_THRESHOLD),
                detail="the provider refused this model to the key",
                error=error,
            )
            return
        if isinstance(error, QuotaExhaustedError):
            retry_after = error.retry_after
            if retry_after is not None:
                self.deactivate(
                    model_id,
                    DeactivationReason.QUOTA_EXHAUSTED,
                    pool_id=pool.id,
                    cooldown=timedelta(seconds=retry_after),
                    detail="until Retry-After",
                    error=error,
                )
            elif entry.quota_reset is not None:
                self.deactivate(
                    model_id,
                    DeactivationReason.QUOTA_EXHAUSTED,
                    pool_id=pool.id,
                    resets_at=next_boundary(now, entry.quota_reset),
                    detail=f"until the {entry.quota_reset} quota reset",
                    error=error,
                )
            else:
                snapshot = self.snapshot(model_id, pool.id)
                cooldown = pool.policy.cooldown_for(snapshot, DeactivationReason.QUOTA_EXHAUSTED)
                self.deactivate(
                    model_id,
                    DeactivationReason.QUOTA_EXHAUSTED,
                    pool_id=pool.id,
                    cooldown=cooldown,
                    error=error,
                )
            return
        if category not in HEALTH_ERRORS:
            return  # the request's fault (bad request, context window), not the model's health
        model.consecutive_failures += 1
        model.outcomes.add(now, requests=1, amount=1)
        snapshot = self.snapshot(model_id, pool.id)
        reason = pool.policy.should_deactivate(snapshot, now)
        if reason is None:
            return
        cooldown = pool.policy.cooldown_for(snapshot, reason)
        retry_after = getattr(error, "retry_after", None)
        if cooldown is not None and retry_after is not None:
            cooldown = max(cooldown, timedelta(seconds=retry_after))
        self.deactivate(model_id, reason, pool_id=pool.id, cooldown=cooldown, error=error)

    # --- scheduled checks --------------------------------------------------------

    def evaluate(self, model_id: str, pool: Pool | None = None) -> None:
        """Apply time-based rules now: maintenance windows, caps, resets, cooldowns."""
        pool = pool or self.home_pool(model_id)
        model = self.state.models[model_id]
        now = self.clock.now()
        window_end = self._maintenance_end(model_id, now)
        if model.status is ModelStatus.ACTIVE:
            if window_end is not None:
                self.deactivate(
                    model_id,
                    DeactivationReason.MAINTENANCE_WINDOW,
                    pool_id=pool.id,
                    cooldown_until=window_end,
                    detail="scheduled maintenance",
                )
                return
            self._enforce_caps(model_id, pool_id=pool.id)
            return
        reason = model.reason
        if reason is DeactivationReason.MANUAL:
            return
        if window_end is not None:
            if reason is DeactivationReason.MAINTENANCE_WINDOW and model.cooldown_until != window_end:
                model.cooldown_until = window_end  # overlapping windows extend the stay
                self._changed(model, model_id)
            return  # nothing recovers during maintenance
        if reason is DeactivationReason.MAINTENANCE_WINDOW:
            if model.cooldown_until is None or model.cooldown_until <= now:
                self.activate(model_id, RecoveryTrigger.COOLDOWN_EXPIRED, pool_id=pool.id)
            return
        if model.resets_at is not None:
            if now < model.resets_at:
                return
            if reason in _SCHEDULED:
                breach = self._breach(model_id, now)
                if breach is not None:
                    model.resets_at = breach.resets_at  # e.g. a new day, but the month is still spent
                    model.reason = breach.reason
                    model.detail = breach.detail
                    self._changed(model, model_id)
                    return
            self.activate(model_id, RecoveryTrigger.QUOTA_RESET, pool_id=pool.id)
            return
        trigger = pool.policy.should_recover(self.snapshot(model_id, pool.id), now)
        if trigger is not None:
            self.activate(model_id, trigger, pool_id=pool.id)

    def evaluate_all(self) -> None:
        """Apply time-based rules to every model now."""
        for model_id in list(self.entries):
            self.evaluate(model_id)

    def probe_succeeded(self, provider_id: str, trigger: RecoveryTrigger) -> list[str]:
        """A provider answered its probe: recover it and its models set aside for errors."""
        self.set_health(provider_id, True, {"trigger": trigger.value})
        self.recover_provider(provider_id, trigger)
        allowed = _STARTUP_RECOVERABLE if trigger is RecoveryTrigger.STARTUP_PROBE else _PROBE_RECOVERABLE
        recovered = []
        now = self.clock.now()
        for model_id, entry in sorted(self.entries.items()):
            if entry.provider_id != provider_id:
                continue
            model = self.state.models[model_id]
            if model.status is ModelStatus.STANDBY and model.reason in allowed:
                if self._maintenance_end(model_id, now) is not None:
                    continue
                if self.activate(model_id, trigger):
                    recovered.append(model_id)
        return recovered

    # --- caps and budgets ----------------------------------------------------------

    def _enforce_caps(self, model_id: str, *, pool_id: str | None) -> None:
        model = self.state.models[model_id]
        if model.status is not ModelStatus.ACTIVE:
            return
        breach = self._breach(model_id, self.clock.now())
        if breach is not None:
            self.deactivate(
                model_id, breach.reason, pool_id=pool_id, resets_at=breach.resets_at, detail=breach.detail
            )

    def _breach(self, model_id: str, now: datetime) -> Breach | None:
        entry = self.entries[model_id]
        budget = self.provider_budgets.get(entry.provider_id)
        return find_breach(entry, self.state, provider_budget=budget, pools=self.pools.values(), now=now)

    def _maintenance_end(self, model_id: str, now: datetime) -> datetime | None:
        return self._calendar.window_end(model_id, self.entries[model_id].maintenance, now)

    # --- change marks ------------------------------------------------------------------

    def _changed(self, model: ModelState, model_id: str) -> None:
        """A status change: stamped, so that between processes the newer one wins."""
        model.changed_at = self.clock.now()
        model.changed_by = self.state.writer
        self.state.touch_model(model_id)

    def _provider_changed(self, provider: ProviderState, provider_id: str) -> None:
        provider.changed_at = self.clock.now()
        provider.changed_by = self.state.writer
        self.state.touch(record_name(PROVIDERS, provider_id))

    # --- events ----------------------------------------------------------------------

    def _emit(
        self,
        event_type: EventType,
        model_id: str | None,
        provider_id: str | None,
        pool_id: str | None,
        metadata: dict[str, Any],
    ) -> None:
        self.telemetry.emit(
            RoutingEvent(
                event_type=event_type,
                timestamp=self.clock.now(),
                model_id=model_id,
                provider_id=provider_id,
                pool_id=pool_id,
                metadata=metadata,
            )
        )
