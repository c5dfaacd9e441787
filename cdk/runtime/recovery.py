"""``Recovery``: the rules time applies to a model, and a provider's good probe.

Checked before each selection and by the periodic job: a maintenance window sets an active model
aside until it ends (overlapping windows extend the stay) and nothing recovers during one; an
active model over a cap or budget is set aside until the period resets; at its reset a model
comes back unless another cap or budget is still spent; otherwise the rotation policy decides
when a cooldown is over. A provider that answers its probe comes back with the models it had set
aside for errors (at startup, those set aside for quota too).
"""

from __future__ import annotations

from datetime import datetime

from ..enums import DeactivationReason, ModelStatus, RecoveryTrigger
from .book import ModelBook
from .caps import CapGuard
from .maintenance import MaintenanceCalendar
from .model_views import ModelViews
from .pool import Pool
from .transitions import Transitions

__all__ = ["Recovery"]

#: Reasons a period's reset ends, once no other cap or budget is still spent.
_SCHEDULED = frozenset(
    {DeactivationReason.BUDGET_EXCEEDED, DeactivationReason.REQUEST_LIMIT, DeactivationReason.TOKEN_LIMIT}
)
_PROBE_RECOVERABLE = frozenset({DeactivationReason.ERROR_THRESHOLD})
_STARTUP_RECOVERABLE = frozenset({DeactivationReason.ERROR_THRESHOLD, DeactivationReason.QUOTA_EXHAUSTED})


class Recovery:
    """Maintenance windows, resets, cooldowns and probes: when a model leaves or returns to service."""

    def __init__(
        self,
        book: ModelBook,
        *,
        transitions: Transitions,
        caps: CapGuard,
        views: ModelViews,
    ) -> None:
        self.state, self.entries, self.clock = book.state, book.entries, book.clock
        self.transitions = transitions
        self.caps = caps
        self.views = views
        self._calendar = MaintenanceCalendar()

    def steady(self, model_id: str) -> bool:
        """True when only a change of state can set the model aside: active, no maintenance window.

        Its caps and budgets are enforced when usage grows (each answer) and when usage is read
        back from storage (which moves ``status_generation``); time only ever lowers usage.
        """
        model = self.state.models[model_id]
        return model.status is ModelStatus.ACTIVE and not self.entries[model_id].maintenance

    def untimed(self, model_id: str) -> bool:
        """True when time alone cannot change the model: steady, and no cap or budget can reach it."""
        return self.steady(model_id) and not self.caps.can_breach(model_id)

    def evaluate(self, model_id: str, pool: Pool) -> None:
        """Apply time-based rules now: maintenance windows, caps, resets, cooldowns."""
        if self.untimed(model_id):
            return  # the common case, on every selection
        transitions = self.transitions
        model = self.state.models[model_id]
        now = self.clock.now()
        window_end = self._maintenance_end(model_id, now)
        if model.status is ModelStatus.ACTIVE:
            if window_end is not None:
                transitions.deactivate(
                    model_id,
                    DeactivationReason.MAINTENANCE_WINDOW,
                    pool_id=pool.id,
                    cooldown_until=window_end,
                    detail="scheduled maintenance",
                )
                return
            self.caps.enforce(model_id, pool_id=pool.id)
            return
        reason = model.reason
        if reason is DeactivationReason.MANUAL:
            return
        if window_end is not None:
            if reason is DeactivationReason.MAINTENANCE_WINDOW and model.cooldown_until != window_end:
                model.cooldown_until = window_end  # overlapping windows extend the stay
                transitions.changed(model, model_id)
            return  # nothing recovers during maintenance
        if reason is DeactivationReason.MAINTENANCE_WINDOW:
            if model.cooldown_until is None or model.cooldown_until <= now:
                transitions.activate(model_id, RecoveryTrigger.COOLDOWN_EXPIRED, pool_id=pool.id)
            return
        if model.resets_at is not None:
            if now < model.resets_at:
                return
            if reason in _SCHEDULED:
                breach = self.caps.breach(model_id, now)
                if breach is not None:
                    model.resets_at = breach.resets_at  # e.g. a new day, but the month is still spent
                    model.reason = breach.reason
                    model.detail = breach.detail
                    transitions.changed(model, model_id)
                    return
            transitions.activate(model_id, RecoveryTrigger.QUOTA_RESET, pool_id=pool.id)
            return
        trigger = pool.policy.should_recover(self.views.snapshot(model_id, pool.id), now)
        if trigger is not None:
            transitions.activate(model_id, trigger, pool_id=pool.id)

    def probe_succeeded(self, provider_id: str, trigger: RecoveryTrigger) -> list[str]:
        """A provider answered its probe: recover it and its models set aside for errors."""
        self.transitions.set_health(provider_id, True, {"trigger": trigger.value})
        self.transitions.recover_provider(provider_id, trigger)
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
                if self.transitions.activate(model_id, trigger):
                    recovered.append(model_id)
        return recovered

    def _maintenance_end(self, model_id: str, now: datetime) -> datetime | None:
        return self._calendar.window_end(model_id, self.entries[model_id].maintenance, now)
