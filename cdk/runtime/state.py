"""The runtime's mutable state: per-model counters and status, spend ledgers, provider status.

Each persisted field is declared once, here, with how it merges between processes
(:class:`~.schema.Merge`), and for a model whether rotation policies see it (``snapshot``) and
whether the status report lists it among the counters (``counter``). Encoding and decoding
(:class:`~.schema.Codec`), merging (:mod:`.merge`), snapshots and the report all read that
declaration. Each model, ledger and provider is one *record* (named ``models/<id>``,
``ledgers/<scope>``, ``providers/<id>``), and the state remembers which records changed
since they were last written. Periods (daily, monthly) are UTC calendar periods.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import attrs

from ..enums import DeactivationReason, ModelStatus
from ..errors import StateFormatError
from ..trusted import maker
from ..types import ModelPricing, ModelSnapshot
from . import status_generation
from .periods import Period, day_of, month_of, next_boundary
from .schema import (
    LOCAL_COUNTER,
    Codec,
    Merge,
    persisted,
    persisted_fields,
)
from .window import SlidingWindow

__all__ = [
    "LEDGERS",
    "MODELS",
    "PROVIDERS",
    "RECORD_FIELDS",
    "STATE_VERSION",
    "LedgerKind",
    "MeshState",
    "ModelState",
    "PeriodUsage",
    "ProviderState",
    "RecordKind",
    "ledger_scope",
    "new_writer_id",
    "next_boundary",
    "record_name",
]

#: The version of the old single-blob layout (read and migrated, never written).
STATE_VERSION = 1

#: The span of the per-minute window, in seconds.
MINUTE = 60.0


class RecordKind(StrEnum):
    """What one stored record holds: a model, a spend ledger or a provider."""

    MODELS = "models"
    LEDGERS = "ledgers"
    PROVIDERS = "providers"


MODELS, LEDGERS, PROVIDERS = RecordKind.MODELS, RecordKind.LEDGERS, RecordKind.PROVIDERS


class LedgerKind(StrEnum):
    """Whose spend a ledger counts: a provider's or a pool's (a model's is in its own record)."""

    PROVIDER = "provider"
    POOL = "pool"


def ledger_scope(kind: LedgerKind, ident: str) -> str:
    """The name of one ledger, e.g. ``pool:chat``."""
    return f"{kind}:{ident}"


def record_name(kind: RecordKind, ident: str) -> str:
    """The name of one record, e.g. ``models/local.small``."""
    return f"{kind}/{ident}"


def new_writer_id() -> str:
    """An id for this process's writes: breaks ties between changes made at the same instant."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


# --- the state classes ---------------------------------------------------------------------


@attrs.define
class PeriodUsage:
    """Requests, tokens and spend in the current UTC day and month."""

    day: str = attrs.field(default="", metadata=persisted(Merge.PERIOD))
    month: str = attrs.field(default="", metadata=persisted(Merge.PERIOD))
    daily_requests: int = attrs.field(default=0, metadata=persisted(Merge.PERIOD, by="day"))
    daily_tokens: int = attrs.field(default=0, metadata=persisted(Merge.PERIOD, by="day"))
    daily_cost: float = attrs.field(default=0.0, metadata=persisted(Merge.PERIOD, by="day"))
    monthly_requests: int = attrs.field(default=0, metadata=persisted(Merge.PERIOD, by="month"))
    monthly_tokens: int = attrs.field(default=0, metadata=persisted(Merge.PERIOD, by="month"))
    monthly_cost: float = attrs.field(default=0.0, metadata=persisted(Merge.PERIOD, by="month"))
    # When the current UTC day ends (POSIX seconds): until then neither period can change, so
    # the hot path skips formatting dates.
    _day_ends: float = attrs.field(default=0.0, init=False, eq=False, repr=False)

    def roll(self, now: datetime, stamp: float | None = None) -> None:
        """Start new periods when the day or month has changed (``stamp``: ``now`` in POSIX seconds)."""
        if (now.timestamp() if stamp is None else stamp) < self._day_ends:
            return
        self._day_ends = next_boundary(now, Period.DAILY).timestamp()
        day, month = day_of(now), month_of(now)
        if day != self.day:
            self.day = day
            self.daily_requests = self.daily_tokens = 0
            self.daily_cost = 0.0
        if month != self.month:
            self.month = month
            self.monthly_requests = self.monthly_tokens = 0
            self.monthly_cost = 0.0

    def add(
        self,
        now: datetime,
        *,
        requests: int = 0,
        tokens: int = 0,
        cost: float = 0.0,
        stamp: float | None = None,
    ) -> None:
        """Count one call's usage in both periods (``stamp``: ``now`` in POSIX seconds, if known)."""
        self.roll(now, stamp)
        self.daily_requests += requests
        self.monthly_requests += requests
        self.daily_tokens += tokens
        self.monthly_tokens += tokens
        self.daily_cost += cost
        self.monthly_cost += cost

    def totals(self, period: Period) -> tuple[int, int, float]:
        """Requests, tokens and spend in ``period`` (daily or monthly)."""
        if period == Period.DAILY:
            return self.daily_requests, self.daily_tokens, self.daily_cost
        return self.monthly_requests, self.monthly_tokens, self.monthly_cost

    def requests(self, period: Period) -> int:
        return self.daily_requests if period == Period.DAILY else self.monthly_requests

    def tokens(self, period: Period) -> int:
        return self.daily_tokens if period == Period.DAILY else self.monthly_tokens

    def cost(self, period: Period) -> float:
        return self.daily_cost if period == Period.DAILY else self.monthly_cost

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = _CODEC.encode(self)
        return data

    @classmethod
    def from_data(cls, data: Any) -> PeriodUsage:
        usage = cls()
        usage.restore(data)
        return usage

    def restore(self, data: Any) -> None:
        """Take over persisted values; raises StateFormatError on a bad shape."""
        _CODEC.restore(self, data, "usage")
        status_generation.bump()  # usage spent elsewhere may have reached a cap or budget here


@status_generation.counted("status")
@attrs.define
class ModelState:
    """One model's status and counters; the runtime mutates it, policies see snapshots."""

    model_id: str
    provider_id: str = attrs.field(metadata=persisted(Merge.OURS))
    status: ModelStatus = attrs.field(
        default=ModelStatus.ACTIVE,
        metadata=persisted(Merge.STATUS, snapshot="status"),
    )
    reason: DeactivationReason | None = attrs.field(
        default=None, metadata=persisted(Merge.STATUS, snapshot="deactivation_reason")
    )
    detail: str | None = attrs.field(default=None, metadata=persisted(Merge.STATUS))
    cooldown_until: datetime | None = attrs.field(
        default=None, metadata=persisted(Merge.STATUS, snapshot="cooldown_until")
    )
    resets_at: datetime | None = attrs.field(default=None, metadata=persisted(Merge.STATUS))
    deactivated_at: datetime | None = attrs.field(
        default=None, metadata=persisted(Merge.STATUS, snapshot="deactivated_at")
    )
    activated_at: datetime | None = attrs.field(
        default=None, metadata=persisted(Merge.STATUS, snapshot="activated_at")
    )
    last_success_at: datetime | None = attrs.field(
        default=None, metadata=persisted(Merge.LATEST, by="last_success_at", snapshot="last_success_at")
    )
    last_failure_at: datetime | None = attrs.field(
        default=None, metadata=persisted(Merge.LATEST, by="last_failure_at", snapshot="last_failure_at")
    )
    last_error: str | None = attrs.field(default=None, metadata=persisted(Merge.LATEST, by="last_failure_at"))
    requests: int = attrs.field(default=0, metadata=persisted(Merge.SUM, counter=True))
    successes: int = attrs.field(default=0, metadata=persisted(Merge.SUM, counter=True))
    failures: int = attrs.field(default=0, metadata=persisted(Merge.SUM, counter=True))
    cancelled: int = attrs.field(default=0, metadata=persisted(Merge.SUM, counter=True))
    in_flight: int = attrs.field(default=0, metadata=LOCAL_COUNTER)
    consecutive_failures: int = attrs.field(
        default=0, metadata=persisted(Merge.STATUS, snapshot="consecutive_failures", counter=True)
    )
    deactivations: int = attrs.field(default=0, metadata=persisted(Merge.SUM, counter=True))
    activations: int = attrs.field(default=0, metadata=persisted(Merge.SUM, counter=True))
    tokens: int = attrs.field(default=0, metadata=persisted(Merge.SUM, counter=True))
    cost: float = attrs.field(default=0.0, metadata=persisted(Merge.SUM, counter=True))
    errors: dict[str, int] = attrs.field(factory=dict, metadata=persisted(Merge.SUM, counter=True))
    latency_ewma_ms: float | None = attrs.field(
        default=None, metadata=persisted(Merge.LATEST, by="last_success_at", snapshot="latency_ewma_ms")
    )
    usage: PeriodUsage = attrs.field(factory=PeriodUsage, metadata=persisted(Merge.NESTED))
    # When and by which process the status last changed: the newer change wins between processes.
    changed_at: datetime | None = attrs.field(default=None, metadata=persisted(Merge.STATUS))
    changed_by: str | None = attrs.field(default=None, metadata=persisted(Merge.STATUS))
    # Recent outcomes (requests, failures) for the windowed error rate; a restart starts anew.
    outcomes: SlidingWindow = attrs.field(factory=SlidingWindow, eq=False, repr=False)
    # Requests and tokens of the last 60 seconds, for per-minute rate limits.
    minute: SlidingWindow = attrs.field(factory=SlidingWindow, eq=False, repr=False)
    # Moves on with every change to the record (MeshState.touch_model, restore): snapshots keep till then.
    revision: int = attrs.field(default=0, eq=False, repr=False)

    def window(self, now: datetime, span: timedelta) -> tuple[int, int]:
        """Requests and failures within ``span`` before ``now``."""
        return self.outcomes.totals(now.timestamp(), span.total_seconds())

    def snapshot(
        self,
        *,
        now: datetime,
        span: timedelta,
        pool_id: str | None,
        pricing: ModelPricing | None,
        priority: int,
        weight: float,
        limits: dict[str, float],
        window: Period,
    ) -> ModelSnapshot:
        """The immutable view a rotation policy gets."""
        stamp = now.timestamp()
        window_requests, window_failures = self.outcomes.totals(stamp, span.total_seconds())
        minute_requests, minute_tokens = self.minute.totals(stamp, MINUTE)
        usage = self.usage
        usage.roll(now, stamp)
        requests, tokens, cost = usage.totals(window)
        # Every field by name (a missing one is a TypeError); those from the record are the
        # ones its declaration marks ``snapshot=`` (RECORD_FIELDS), which a test holds.
        return _new_snapshot(
            model_id=self.model_id,
            provider_id=self.provider_id,
            pool_id=pool_id,
            status=self.status,
            deactivation_reason=self.reason,
            consecutive_failures=self.consecutive_failures,
            window_requests=window_requests,
            window_failures=window_failures,
            requests=requests,
            tokens=tokens,
            cost=cost,
            latency_ewma_ms=self.latency_ewma_ms,
            cooldown_until=self.cooldown_until,
            deactivated_at=self.deactivated_at,
            activated_at=self.activated_at,
            last_success_at=self.last_success_at,
            last_failure_at=self.last_failure_at,
            pricing=pricing,
            priority=priority,
            weight=weight,
            limits=limits,
            requests_last_minute=minute_requests,
            tokens_last_minute=minute_tokens,
        )

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = _CODEC.encode(self)
        return data

    def restore(self, data: Any) -> None:
        """Take over persisted values (all but ``provider_id``); raises StateFormatError on a bad shape."""
        _CODEC.restore(self, data, f"model {self.model_id}", keep=("provider_id",))
        self.revision += 1
        status_generation.bump()


@status_generation.counted("deactivated")
@attrs.define
class ProviderState:
    """Provider-wide status: set aside after an authentication failure until a probe passes."""

    deactivated: bool = attrs.field(default=False, metadata=persisted(Merge.STATUS))
    reason: str | None = attrs.field(default=None, metadata=persisted(Merge.STATUS))
    since: datetime | None = attrs.field(default=None, metadata=persisted(Merge.STATUS))
    available: bool | None = attrs.field(default=None)  # the latest health verdict; this process's own
    changed_at: datetime | None = attrs.field(default=None, metadata=persisted(Merge.STATUS))
    changed_by: str | None = attrs.field(default=None, metadata=persisted(Merge.STATUS))

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = _CODEC.encode(self)
        return data

    @classmethod
    def from_data(cls, data: Any) -> ProviderState:
        provider = cls()
        provider.restore(data)
        return provider

    def restore(self, data: Any) -> None:
        """Take over persisted values; raises StateFormatError on a bad shape."""
        _CODEC.restore(self, data, "provider")


#: Plain data ⇄ the state classes, derived from their declarations.
_CODEC = Codec(PeriodUsage, ModelState, ProviderState)


_SNAPSHOT_FIELDS = tuple(
    (name, spec.snapshot) for name, spec in persisted_fields(ModelState) if spec.snapshot is not None
)
#: Each snapshot field copied from a model's record, with the record's attribute it comes from.
RECORD_FIELDS = {field: name for name, field in _SNAPSHOT_FIELDS}


#: Snapshots are made from the runtime's own counts and records: nothing to convert or check.
_new_snapshot = maker(ModelSnapshot)


# --- the whole state ------------------------------------------------------------------------


@attrs.define
class MeshState:
    """Every model's state, spend ledgers by scope (``provider:x``, ``pool:y``), provider status."""

    models: dict[str, ModelState] = attrs.field(factory=dict)
    ledgers: dict[str, PeriodUsage] = attrs.field(factory=dict)
    providers: dict[str, ProviderState] = attrs.field(factory=dict)
    version: int = 0  # bumped on every change
    writer: str = attrs.field(factory=new_writer_id)
    dirty: set[str] = attrs.field(factory=set)  # records changed since they were last written
    # Each model's record name, made once: every call touches its model's record twice.
    _model_records: dict[str, str] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def touch(self, *records: str) -> None:
        """Mark the state changed; ``records`` (from :func:`record_name`) are due to be written."""
        self.version += 1
        self.dirty.update(records)

    def touch_model(self, model_id: str) -> None:
        """Mark one model's record changed."""
        name = self._model_records.get(model_id)
        if name is None:
            name = self._model_records[model_id] = record_name(MODELS, model_id)
        self.version += 1
        self.dirty.add(name)
        model = self.models.get(model_id)
        if model is not None:
            model.revision += 1

    def all_records(self) -> list[str]:
        """The name of every record this state holds."""
        return [
            *(record_name(MODELS, m) for m in self.models),
            *(record_name(LEDGERS, s) for s in self.ledgers),
            *(record_name(PROVIDERS, p) for p in self.providers),
        ]

    def ledger(self, scope: str) -> PeriodUsage:
        """The spend ledger of ``scope`` (see :func:`ledger_scope`), created on first use."""
        found = self.ledgers.get(scope)
        if found is None:
            found = self.ledgers[scope] = PeriodUsage()
        return found

    def provider(self, provider_id: str) -> ProviderState:
        """The provider-wide state of ``provider_id``, created on first use."""
        found = self.providers.get(provider_id)
        if found is None:
            found = self.providers[provider_id] = ProviderState()
        return found

    def to_data(self, now: datetime) -> dict[str, Any]:
        """The whole state as one blob: the layout of earlier versions, which ``restore`` reads."""
        return {
            "format": "meshkit-state",
            "version": STATE_VERSION,
            "saved_at": now.isoformat(),
            "models": {mid: m.to_data() for mid, m in sorted(self.models.items())},
            "ledgers": {scope: u.to_data() for scope, u in sorted(self.ledgers.items())},
            "providers": {pid: p.to_data() for pid, p in sorted(self.providers.items())},
        }

    def restore(self, data: Any) -> list[str]:
        """Take over a single-blob state for the models this mesh knows; returns the ids skipped.

        Raises StateFormatError when ``data`` is not a state blob of a known version.
        """
        if not isinstance(data, dict) or data.get("format") != "meshkit-state":
            raise StateFormatError("not a meshkit state blob")
        if data.get("version") != STATE_VERSION:
            raise StateFormatError(f"unsupported state version {data.get('version')!r}")
        models, ledgers, providers = (
            data.get("models", {}),
            data.get("ledgers", {}),
            data.get("providers", {}),
        )
        if not all(isinstance(x, dict) for x in (models, ledgers, providers)):
            raise StateFormatError("models, ledgers and providers must be mappings")
        # Decode everything first, so a bad blob changes nothing.
        staged: list[tuple[ModelState, Any]] = []
        skipped: list[str] = []
        for model_id, entry in models.items():
            target = self.models.get(model_id)
            if target is None:
                skipped.append(model_id)
                continue
            probe = ModelState(model_id=target.model_id, provider_id=target.provider_id)
            probe.restore(entry)
            staged.append((target, entry))
        try:
            new_ledgers = {str(scope): PeriodUsage.from_data(u) for scope, u in ledgers.items()}
            new_providers = {str(pid): ProviderState.from_data(p) for pid, p in providers.items()}
        except StateFormatError as exc:
            raise StateFormatError(f"ledgers or providers: {exc}") from None
        for target, entry in staged:
            target.restore(entry)
        self.ledgers.update(new_ledgers)
        self.providers.update(new_providers)
        return skipped
