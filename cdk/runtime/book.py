"""``ModelBook``: what every part of the lifecycle works on, handed to each as one object."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ..clock import Clock
from .catalogue import ModelEntry
from .settings import BudgetSettings
from .state import MeshState

__all__ = ["ModelBook"]


@attrs.frozen
class ModelBook:
    """The models' mutable state, their catalogue entries, each provider's budget, and the clock."""

    state: MeshState
    entries: Mapping[str, ModelEntry]
    clock: Clock
    provider_budgets: Mapping[str, BudgetSettings | None] = attrs.field(factory=dict)
