"""The rotation-policy interface: pure, synchronous decisions about a pool's models."""

from __future__ import annotations

import sys
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import ClassVar

import attrs

from ..config import check
from ..connector import Connector
from ..enums import ConnectorType, DeactivationReason, ModelStatus, RecoveryTrigger
from ..types import CompletionRequest, ModelSnapshot

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # a TypeVar default (PEP 696) needs the backport before 3.13
    from typing_extensions import TypeVar

__all__ = ["TIMED_REASONS", "RotationPolicy", "ThresholdConfig"]

INTERFACE_VERSION = 1

#: Reasons a cooldown ends by itself. Budget, limits and maintenance end on their
#: schedule (QUOTA_RESET, or the window's end), MANUAL only by hand.
TIMED_REASONS = frozenset({DeactivationReason.ERROR_THRESHOLD, DeactivationReason.QUOTA_EXHAUSTED})


@attrs.frozen(kw_only=True)
class ThresholdConfig:
    """When a model is set aside, and for how long. Policies' configs extend it."""

    failure_threshold: int = attrs.field(default=3, validator=check(lambda v: v >= 1, "at least 1"))
    error_rate_threshold: float | None = attrs.field(
        default=None, validator=check(lambda v: 0.0 < v <= 1.0, "a fraction in (0, 1], e.g. 0.5")
    )
    error_rate_min_requests: int = attrs.field(default=10, validator=check(lambda v: v >= 1, "at least 1"))
    cooldown: timedelta = timedelta(seconds=60)


#: The configuration of a rotation policy: ThresholdConfig or a subclass of it.
ThresholdConfigT = TypeVar("ThresholdConfigT", bound=ThresholdConfig, default=ThresholdConfig)


class RotationPolicy(Connector[ThresholdConfigT]):
    """Decides the lifecycle of models in a pool and picks one per request. No I/O.

    The runtime owns the counters and hands the policy immutable snapshots; a policy
    may keep its own cursors (a round-robin position, a session map).
    """

    connector_type: ClassVar[ConnectorType] = ConnectorType.ROTATION
    interface_version: ClassVar[int] = INTERFACE_VERSION
    Config: ClassVar[type] = ThresholdConfig
    #: The ``ModelSnapshot`` fields ``select`` and ``fallback`` read (``error_rate`` reads
    #: ``window_requests`` and ``window_failures``, ``is_active`` reads ``status``), or None
    #: for any. A policy that reads none of the counts that move with every call (window,
    #: usage and last-minute counts) lets the router keep each candidate's snapshot until a
    #: field it reads changes, instead of making a new one per request; its other fields may
    #: then be out of date. The conformance suite holds a policy to what it declares.
    reads: ClassVar[frozenset[str] | None] = None

    @abstractmethod
    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        """One of ``candidates`` (the pool's active models), or None when there are none.

        For ``embed()`` the request is a CompletionRequest holding each text as a user
        message, with ``max_tokens`` 0 (an embedding has no output tokens).
        """

    def fallback(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        """The model a request fails over to, after the model ``select`` picked failed.

        ``candidates`` are the active models the request has not tried. By default the
        same as ``select``. A policy that remembers a preferred model (a current model, a
        session's model) overrides it to answer without moving what it remembers: a model
        that failed once is still preferred until ``should_deactivate`` sets it aside.
        """
        return self.select(candidates, request, now)

    def should_deactivate(self, snapshot: ModelSnapshot, now: datetime) -> DeactivationReason | None:
        """ERROR_THRESHOLD once consecutive failures or the windowed error rate pass the limits."""
        if snapshot.status is not ModelStatus.ACTIVE:
            return None
        cfg = self.config
        if snapshot.consecutive_failures >= cfg.failure_threshold:
            return DeactivationReason.ERROR_THRESHOLD
        if (
            cfg.error_rate_threshold is not None
            and snapshot.window_requests >= cfg.error_rate_min_requests
            and snapshot.error_rate >= cfg.error_rate_threshold
        ):
            return DeactivationReason.ERROR_THRESHOLD
        return None

    def cooldown_for(self, snapshot: ModelSnapshot, reason: DeactivationReason) -> timedelta | None:
        """How long a model deactivated for ``reason`` rests (None: until something else)."""
        return self.config.cooldown if reason in TIMED_REASONS else None

    def should_recover(self, snapshot: ModelSnapshot, now: datetime) -> RecoveryTrigger | None:
        """COOLDOWN_EXPIRED once a timed deactivation's cooldown has passed."""
        if snapshot.status is not ModelStatus.STANDBY:
            return None
        if snapshot.deactivation_reason not in TIMED_REASONS:
            return None
        if snapshot.cooldown_until is not None and snapshot.cooldown_until <= now:
            return RecoveryTrigger.COOLDOWN_EXPIRED
        return None
