"""The status report: pools → models → status, reason, counters; providers; the storage.

What ``mesh.status()`` returns, and what observability connectors get as a stats report.
A model's counters are the fields its state declares as counters (:mod:`.state`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..enums import ModelStatus
from ..interfaces.provider import Provider
from .lifecycle import Lifecycle
from .schema import counter_fields
from .state import LedgerKind, ModelState, ledger_scope
from .targets import Targets

__all__ = ["StatusReport"]

_COUNTERS = counter_fields(ModelState)


class StatusReport:
    """Builds the status of every pool, model and provider from the live state."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        targets: Targets,
        providers: Mapping[str, Provider],
        *,
        storage: Callable[[], dict[str, Any]],
    ) -> None:
        self.lifecycle = lifecycle
        self.targets = targets
        self.providers = providers
        self.storage = storage  # the storage's status: ok or degraded, and what waits to be written

    def build(self) -> dict[str, Any]:
        """The whole report, as plain data."""
        lifecycle = self.lifecycle
        state = lifecycle.state
        models = {mid: self.model(mid) for mid in lifecycle.entries}
        pools: dict[str, Any] = {}
        for pool_id, pool in self.targets.pools.items():
            settings = pool.settings
            budget = None
            if pool.budget is not None:
                ledger = state.ledgers.get(ledger_scope(LedgerKind.POOL, pool_id))
                budget = {
                    "daily": pool.budget.daily,
                    "monthly": pool.budget.monthly,
                    "spent_today": ledger.daily_cost if ledger else 0.0,
                    "spent_this_month": ledger.monthly_cost if ledger else 0.0,
                }
            pools[pool_id] = {
                "capability": settings.capability if settings else None,
                "rotation": pool.policy.connector_id,
                "active": sum(1 for m in pool.members if lifecycle.usable(m)),
                "size": len(pool.members),
                "budget": budget,
                "models": {m: models[m] for m in pool.members},
            }
        providers = {}
        for pid, provider in sorted(self.providers.items()):
            pstate = state.providers.get(pid)
            providers[pid] = {
                "connector": provider.connector_id,
                "status": "deactivated" if pstate is not None and pstate.deactivated else "active",
                "reason": pstate.reason if pstate else None,
                "available": pstate.available if pstate else None,
            }
        return {
            "time": lifecycle.clock.now().isoformat(),
            "pools": pools,
            "models": models,
            "providers": providers,
            "storage": self.storage(),
        }

    def model(self, model_id: str) -> dict[str, Any]:
        """One model's entry of the report."""
        state = self.lifecycle.state
        model = state.models[model_id]
        pstate = state.providers.get(model.provider_id)
        provider_down = pstate is not None and pstate.deactivated
        status = ModelStatus.STANDBY if provider_down else model.status
        return {
            "status": status.value,
            "reason": model.reason.value
            if model.reason
            else ("provider_deactivated" if provider_down else None),
            "detail": model.detail,
            "provider": model.provider_id,
            "cooldown_until": model.cooldown_until.isoformat() if model.cooldown_until else None,
            "resets_at": model.resets_at.isoformat() if model.resets_at else None,
            "counters": {name: _reported(getattr(model, name)) for name in _COUNTERS},
            "latency_ewma_ms": model.latency_ewma_ms,
            "spent_today": model.usage.daily_cost,
            "spent_this_month": model.usage.monthly_cost,
        }


def _reported(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 10)  # sums of prices: no float noise in the report
    return dict(value) if isinstance(value, dict) else value
