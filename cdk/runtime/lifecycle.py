"""``Lifecycle``: the one object the router, the pools and the mesh ask about models and providers.

It wires its parts to one another and answers for them: the status changes, each stamped and
announced once (:mod:`.transitions`); what each call's outcome changes (:mod:`.outcomes`); what
time and probes bring back or set aside (:mod:`.recovery`); caps and budgets (:mod:`.caps`); the
views of a model (:mod:`.model_views`). It also knows each model's home pool, the one used
outside any request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock
from ..enums import DeactivationReason, RecoveryTrigger
from ..interfaces.rotation import RotationPolicy
from ..types import ModelSnapshot, TokenUsage
from .caps import CapGuard
from .catalogue import ModelEntry
from .model_views import ModelViews
from .outcomes import HEALTH_ERRORS, Outcomes
from .pool import Pool
from .recovery import Recovery
from .settings import BudgetSettings
from .state import MeshState, ModelState
from .telemetry import Telemetry
from .transitions import Transitions

__all__ = ["HEALTH_ERRORS", "Lifecycle"]


class Lifecycle:
    """Models and providers between ACTIVE and STANDBY: one front over the parts that decide it."""

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
        self.clock = clock
        self.pools: dict[str, Pool] = {}
        self._home: dict[str, Pool] = {}
        self._homeless = Pool(None, default_policy)
        # Traces keep this module's name as their component, whichever part raises them.
        self.transitions = Transitions(
            state=state, entries=entries, clock=clock, telemetry=telemetry, trace=telemetry.tracer(__name__)
        )
        self.views = ModelViews(state=state, entries=entries, clock=clock, error_window=error_window)
        self.caps = CapGuard(
            state=state,
            entries=entries,
            provider_budgets=provider_budgets,
            clock=clock,
            transitions=self.transitions,
        )
        self.outcomes = Outcomes(
            state=state,
            entries=entries,
            provider_budgets=provider_budgets,
            clock=clock,
            transitions=self.transitions,
            caps=self.caps,
            views=self.views,
        )
        self.recovery = Recovery(
            state=state,
            entries=entries,
            clock=clock,
            transitions=self.transitions,
            caps=self.caps,
            views=self.views,
        )

    # --- wiring ----------------------------------------------------------------

    def set_pools(self, pools: Iterable[Pool]) -> None:
        """The configured pools; a model's first pool decides its scheduled recoveries."""
        self.pools = {p.id: p for p in pools if p.id is not None}
        self.caps.pools = tuple(self.pools.values())
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
        return self.views.snapshot(model_id, pool_id)

    def usable(self, model_id: str) -> bool:
        """True when the model is active and its provider is not set aside."""
        return self.views.usable(model_id)

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
        return self.transitions.deactivate(
            model_id,
            reason,
            pool_id=pool_id,
            cooldown=cooldown,
            cooldown_until=cooldown_until,
            resets_at=resets_at,
            detail=detail,
            error=error,
        )

    def activate(
        self,
        model_id: str,
        trigger: RecoveryTrigger,
        *,
        pool_id: str | None = None,
        detail: str | None = None,
    ) -> bool:
        """STANDBY → ACTIVE by ``trigger``; False (and no event) when already active."""
        return self.transitions.activate(model_id, trigger, pool_id=pool_id, detail=detail)

    def deactivate_provider(
        self, provider_id: str, error: BaseException | str | None, *, reason: str
    ) -> bool:
        """Set every model of ``provider_id`` aside at once (authentication failure, unavailable)."""
        return self.transitions.deactivate_provider(provider_id, error, reason=reason)

    def recover_provider(self, provider_id: str, trigger: RecoveryTrigger) -> bool:
        """Bring a provider set aside back; False when it was not set aside."""
        return self.transitions.recover_provider(provider_id, trigger)

    def set_health(self, provider_id: str, available: bool, metadata: Mapping[str, Any]) -> bool:
        """Record a provider's availability; emits PROVIDER_HEALTH_CHANGED when it flips."""
        return self.transitions.set_health(provider_id, available, metadata)

    # --- outcomes --------------------------------------------------------------

    def begin(self, model_id: str) -> None:
        """A call to ``model_id`` starts."""
        self.outcomes.begin(model_id)

    def cancelled(self, model_id: str) -> None:
        """A call was cancelled by the caller: neither a success nor the model's failure."""
        self.outcomes.cancelled(model_id)

    def succeeded(
        self, model_id: str, pool: Pool, *, latency_ms: float, usage: TokenUsage | None, cost: float
    ) -> None:
        """Count a success: counters, latency, spend; enforce caps and budgets."""
        self.outcomes.succeeded(model_id, pool, latency_ms=latency_ms, usage=usage, cost=cost)

    def failed(self, model_id: str, pool: Pool, error: BaseException, *, latency_ms: float) -> None:
        """Count a failure and apply what it implies (threshold, quota, provider-wide)."""
        self.outcomes.failed(model_id, pool, error, latency_ms=latency_ms)

    # --- time and probes -----------------------------------------------------------

    def evaluate(self, model_id: str, pool: Pool | None = None) -> None:
        """Apply time-based rules now: maintenance windows, caps, resets, cooldowns."""
        self.recovery.evaluate(model_id, pool or self.home_pool(model_id))

    def evaluate_all(self) -> None:
        """Apply time-based rules to every model now."""
        for model_id in list(self.entries):
            self.evaluate(model_id)

    def probe_succeeded(self, provider_id: str, trigger: RecoveryTrigger) -> list[str]:
        """A provider answered its probe: recover it and its models set aside for errors."""
        return self.recovery.probe_succeeded(provider_id, trigger)
