"""{{ cookiecutter.description }}.

Connector id: ``{{ cookiecutter.__connector_id }}``.

A rotation policy decides, with no I/O, which active model of a pool serves a request
and when a model is set aside or comes back. The runtime keeps the counters and hands
the policy immutable ``ModelSnapshot`` objects. Usable from mesh.yaml::

    pools:
      chat:
        capability: generation.text-generation
        rotation:
          connector: {{ cookiecutter.__connector_id }}
          config: {failure_threshold: 3, cooldown: 60s}

The skeleton sends each request to the least-used active model (fewest requests in
the current window), ties broken by the pool's order. REPLACE ``select`` with your
own rule; override ``should_deactivate`` / ``cooldown_for`` / ``should_recover`` only
when the inherited threshold-and-cooldown behaviour is not what you want.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
from meshkit import CompletionRequest, ModelSnapshot
from meshkit.interfaces import RotationPolicy, ThresholdConfig

__all__ = ["{{ cookiecutter.__class_name }}", "{{ cookiecutter.__class_name }}Config"]


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class_name }}Config(ThresholdConfig):
    """The inherited thresholds (failure_threshold, error_rate_threshold, cooldown...) plus yours."""

    # REPLACE: add your policy's settings, e.g.
    # prefer_cheaper: bool = False


class {{ cookiecutter.__class_name }}(
    {{ cookiecutter.__base_class }}[{{ cookiecutter.__class_name }}Config],
):
    """{{ cookiecutter.description }}."""

    connector_id = "{{ cookiecutter.__connector_id }}"
    Config = {{ cookiecutter.__class_name }}Config
    description = {{ cookiecutter.__description_literal }}

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        """REPLACE: one of the active candidates, or None when none is active.

        It must be deterministic: the same snapshots in the same order give the same
        answer (a policy may keep cursors, but two fresh policies fed the same
        history must agree).
        """
        best: ModelSnapshot | None = None
        for snapshot in candidates:
            if not snapshot.is_active:
                continue
            # Strictly fewer: on a tie the earlier model in the pool's order keeps its place.
            if best is None or snapshot.window_requests < best.window_requests:
                best = snapshot
        return best
