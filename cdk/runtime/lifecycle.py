"""``Lifecycle``: the one object the router, the pools and the mesh ask about models and providers.

It wires its parts to one another and answers for them: the status changes, each stamped and
announced once (:mod:`.transitions`); what each call's outcome changes (:mod:`.outcomes`); what
time and probes bring back or set aside (:mod:`.recovery`); caps and budgets (:mod:`.caps`); the
views of a model (:mod:`.model_views`). It also knows each model's home pool, the one used
outside any request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from ..clock import Clock, now_reader
from ..interfaces.rotation import RotationPolicy
from .book import ModelBook
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
        #: ``clock.now``, read the cheapest way (every selection reads it).
        self.now = now_reader(clock)
        self.pools: dict[str, Pool] = {}
        self._home: dict[str, Pool] = {}
        self._homeless = Pool(None, default_policy)
        book = ModelBook(state, entries, clock, provider_budgets)
        # Traces keep this module's name as their component, whichever part raises them.
        self.transitions = Transitions(book, telemetry=telemetry, trace=telemetry.tracer(__name__))
        self.views = ModelViews(book, error_window=error_window)
        self.caps = CapGuard(book, transitions=self.transitions)
        self.outcomes = Outcomes(book, transitions=self.transitions, caps=self.caps, views=self.views)
        self.recovery = Recovery(book, transitions=self.transitions, caps=self.caps, views=self.views)
        # What the router, the pools and the mesh ask and report, answered by the part that holds
        # it: each is that part's own method (its signature and docstring written once, there).
        # Views: ``snapshot`` (what rotation policies see), ``usable`` (active, provider not aside).
        self.snapshot = self.views.snapshot
        self.usable = self.views.usable
        # Transitions: a model to STANDBY and back, a provider set aside and back, availability.
        self.deactivate = self.transitions.deactivate
        self.activate = self.transitions.activate
        self.deactivate_provider = self.transitions.deactivate_provider
        self.recover_provider = self.transitions.recover_provider
        self.set_health = self.transitions.set_health
        # Outcomes: a call begins, then succeeds, fails or is cancelled.
        self.begin = self.outcomes.begin
        self.succeeded = self.outcomes.succeeded
        self.failed = self.outcomes.failed
        self.cancelled = self.outcomes.cancelled
        # Probes: a provider answered, so it and its models set aside for errors come back.
        self.probe_succeeded = self.recovery.probe_succeeded

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

    # --- time and probes -----------------------------------------------------------

    def evaluate(self, model_id: str, pool: Pool | None = None) -> None:
        """Apply time-based rules now: maintenance windows, caps, resets, cooldowns."""
        self.recovery.evaluate(model_id, pool or self.home_pool(model_id))

    def evaluate_all(self) -> None:
        """Apply time-based rules to every model now."""
        for model_id in list(self.entries):
            self.evaluate(model_id)
