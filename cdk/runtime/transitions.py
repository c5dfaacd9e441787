"""``Transitions``: a model between ACTIVE and STANDBY, a provider set aside and back.

Every change of status goes through here: it changes the state, stamps it (so that between
processes the newer change wins) and emits exactly one event; a call that would not change
anything emits nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..enums import DeactivationReason, EventType, ModelStatus, RecoveryTrigger, Severity
from ..events import RoutingEvent
from .book import ModelBook
from .state import PROVIDERS, ModelState, ProviderState, record_name
from .telemetry import Telemetry, Tracer

__all__ = ["Transitions"]


class Transitions:
    """The status changes of models and providers, each stamped and announced once."""

    def __init__(
        self,
        book: ModelBook,
        *,
        telemetry: Telemetry,
        trace: Tracer,
    ) -> None:
        self.state, self.entries, self.clock = book.state, book.entries, book.clock
        self.telemetry = telemetry
        self._trace = trace

    # --- models ------------------------------------------------------------------

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
        self.changed(model, model_id)
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
        self.changed(model, model_id)
        metadata: dict[str, Any] = {
            "trigger": trigger.value,
            "previous_reason": previous.value if previous else None,
        }
        if detail:
            metadata["detail"] = detail
        self._emit(EventType.MODEL_ACTIVATED, model_id, model.provider_id, pool_id, metadata)
        self._trace(Severity.INFO, f"model {model_id} activated: {trigger.value}", {"model_id": model_id})
        return True

    def changed(self, model: ModelState, model_id: str) -> None:
        """A status change: stamped, so that between processes the newer one wins."""
        model.changed_at = self.clock.now()
        model.changed_by = self.state.writer
        self.state.touch_model(model_id)

    # --- providers ---------------------------------------------------------------

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

    def _provider_changed(self, provider: ProviderState, provider_id: str) -> None:
        provider.changed_at = self.clock.now()
        provider.changed_by = self.state.writer
        self.state.touch(record_name(PROVIDERS, provider_id))

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
