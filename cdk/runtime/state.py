"""The runtime's mutable state: per-model counters and status, spend ledgers, provider status.

Everything here is plain data that round-trips through ``to_data`` / ``restore``, so the
storage connector can keep it between runs and share it between processes: each model,
ledger and provider is one *record* (named ``models/<id>``, ``ledgers/<scope>``,
``providers/<id>``), and the state remembers which records changed since they were last
written. Windows (daily, monthly) are UTC calendar periods.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from ..enums import DeactivationReason, ModelStatus
from ..errors import StateFormatError
from ..types import ModelPricing, ModelSnapshot
from .minute_window import MinuteWindow
from .outcome_window import OutcomeWindow

__all__ = [
    "LEDGERS",
    "MODELS",
    "PROVIDERS",
    "STATE_VERSION",
    "MeshState",
    "ModelState",
    "PeriodUsage",
    "ProviderState",
    "next_boundary",
    "record_name",
]

#: The version of the old single-blob layout (read and migrated, never written).
STATE_VERSION = 1

#: Record kinds: one record per model, per spend ledger, per provider.
MODELS, LEDGERS, PROVIDERS = "models", "ledgers", "providers"


def record_name(kind: str, ident: str) -> str:
    """The name of one record, e.g. ``models/local.small``."""
    return f"{kind}/{ident}"


def new_writer_id() -> str:
    """An id for this process's writes: breaks ties between changes made at the same instant."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _day(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def _month(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


def next_boundary(now: datetime, window: str) -> datetime:
    """The start of the next UTC day (``daily``) or month (``monthly``) after ``now``."""
    now = now.astimezone(UTC)
    if window == "daily":
        return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    if now.month == 12:
        return datetime(now.year + 1, 1, 1, tzinfo=UTC)
    return datetime(now.year, now.month + 1, 1, tzinfo=UTC)


@attrs.define
class PeriodUsage:
    """Requests, tokens and spend in the current UTC day and month."""

    day: str = ""
    month: str = ""
    daily_requests: int = 0
    daily_tokens: int = 0
    daily_cost: float = 0.0
    monthly_requests: int = 0
    monthly_tokens: int = 0
    monthly_cost: float = 0.0
    # When the current UTC day ends (POSIX seconds): until then neither period can change, so
    # the hot path skips formatting dates. Not persisted.
    _day_ends: float = attrs.field(default=0.0, init=False, eq=False, repr=False)

    def roll(self, now: datetime) -> None:
        """Start new periods when the day or month has changed."""
        if now.timestamp() < self._day_ends:
            return
        self._day_ends = next_boundary(now, "daily").timestamp()
        day, month = _day(now), _month(now)
        if day != self.day:
            self.day = day
            self.daily_requests = self.daily_tokens = 0
            self.daily_cost = 0.0
        if month != self.month:
            self.month = month
            self.monthly_requests = self.monthly_tokens = 0
            self.monthly_cost = 0.0

    def add(self, now: datetime, *, requests: int = 0, tokens: int = 0, cost: float = 0.0) -> None:
        """Count one call's usage in both periods."""
        self.roll(now)
        self.daily_requests += requests
        self.monthly_requests += requests
        self.daily_tokens += tokens
        self.monthly_tokens += tokens
        self.daily_cost += cost
        self.monthly_cost += cost

    def requests(self, window: str) -> int:
        return self.daily_requests if window == "daily" else self.monthly_requests

    def tokens(self, window: str) -> int:
        return self.daily_tokens if window == "daily" else self.monthly_tokens

    def cost(self, window: str) -> float:
        return self.daily_cost if window == "daily" else self.monthly_cost

    def to_data(self) -> dict[str, Any]:
        return attrs.asdict(self, filter=lambda a, _: not a.name.startswith("_"))

    @classmethod
    def from_data(cls, data: Any) -> PeriodUsage:
        if not isinstance(data, dict):
            raise StateFormatError(f"usage: expected a mapping, got {type(data).__name__}")
        known = {a.name: a.type for a in attrs.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            if key in ("day", "month"):
                values[key] = str(value)
            elif "cost" in key:
                values[key] = float(value)
            else:
                values[key] = int(value)
        return cls(**values)


@attrs.define
class ModelState:
    """One model's status and counters; the runtime mutates it, policies see snapshots."""

    model_id: str
    provider_id: str
    status: ModelStatus = ModelStatus.ACTIVE
    reason: DeactivationReason | None = None
    detail: str | None = None
    cooldown_until: datetime | None = None
    resets_at: datetime | None = None
    deactivated_at: datetime | None = None
    activated_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    requests: int = 0
    successes: int = 0
    failures: int = 0
    cancelled: int = 0
    in_flight: int = 0
    deactivations: int = 0
    activations: int = 0
    tokens: int = 0
    cost: float = 0.0
    latency_ewma_ms: float | None = None
    errors: dict[str, int] = attrs.field(factory=dict)
    usage: PeriodUsage = attrs.field(factory=PeriodUsage)
    # When and by which process the status last changed: the newer change wins between processes.
    changed_at: datetime | None = None
    changed_by: str | None = None
    # Recent outcomes for the windowed error rate; not persisted (a restart starts a new window).
    outcomes: OutcomeWindow = attrs.field(factory=OutcomeWindow, eq=False, repr=False)
    # Requests and tokens of the last 60 seconds, for per-minute rate limits; not persisted.
    minute: MinuteWindow = attrs.field(factory=MinuteWindow, eq=False, repr=False)

    _PERSISTED = (
        "status",
        "reason",
        "detail",
        "cooldown_until",
        "resets_at",
        "deactivated_at",
        "activated_at",
        "last_success_at",
        "last_failure_at",
        "last_error",
        "consecutive_failures",
        "requests",
        "successes",
        "failures",
        "cancelled",
        "deactivations",
        "activations",
        "tokens",
        "cost",
        "latency_ewma_ms",
        "errors",
        "changed_at",
        "changed_by",
    )

    def window(self, now: datetime, span: timedelta) -> tuple[int, int]:
        """Requests and failures within ``span`` before ``now``."""
        return self.outcomes.counts(now, span)

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
        window: str,
    ) -> ModelSnapshot:
        """The immutable view a rotation policy gets."""
        window_requests, window_failures = self.window(now, span)
        minute_requests, minute_tokens = self.minute.totals(now)
        self.usage.roll(now)
        return ModelSnapshot(
            model_id=self.model_id,
            provider_id=self.provider_id,
            pool_id=pool_id,
            status=self.status,
            deactivation_reason=self.reason,
            consecutive_failures=self.consecutive_failures,
            window_requests=window_requests,
            window_failures=window_failures,
            requests=self.usage.requests(window),
            tokens=self.usage.tokens(window),
            cost=self.usage.cost(window),
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
        out: dict[str, Any] = {"provider_id": self.provider_id}
        for name in self._PERSISTED:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, ModelStatus | DeactivationReason):
                value = value.value
            elif isinstance(value, dict):
                value = dict(value)
            out[name] = value
        out["usage"] = self.usage.to_data()
        return out

    def restore(self, data: Any) -> None:
        """Take over persisted values; raises StateFormatError on a bad shape."""
        if not isinstance(data, dict):
            raise StateFormatError(f"model {self.model_id}: expected a mapping")
        try:
            for name in self._PERSISTED:
                if name not in data:
                    continue
                value = data[name]
                setattr(self, name, _decode_field(name, value))
            if "usage" in data:
                self.usage = PeriodUsage.from_data(data["usage"])
        except (TypeError, ValueError) as exc:
            raise StateFormatError(f"model {self.model_id}: {exc}") from None


def _decode_field(name: str, value: Any) -> Any:
    if value is None:
        if name in ("status",):
            raise ValueError(f"{name} cannot be empty")
        return None
    if name == "status":
        return ModelStatus(value)
    if name == "reason":
        return DeactivationReason(value)
    if name.endswith(("_at", "_until")):
        parsed = datetime.fromisoformat(str(value))
        if parsed.tzinfo is None:
            raise ValueError(f"{name} is not timezone-aware")
        return parsed
    if name in ("detail", "last_error", "changed_by"):
        return str(value)
    if name in ("cost", "latency_ewma_ms"):
        return float(value)
    if name == "errors":
        if not isinstance(value, dict):
            raise ValueError("errors: expected a mapping")
        return {str(k): int(v) for k, v in value.items()}
    return int(value)


@attrs.define
class ProviderState:
    """Provider-wide status: set aside after an authentication failure until a probe passes."""

    deactivated: bool = False
    reason: str | None = None
    since: datetime | None = None
    available: bool | None = None  # the latest health verdict; this process's own, not persisted
    changed_at: datetime | None = None
    changed_by: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "deactivated": self.deactivated,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "changed_by": self.changed_by,
        }

    @classmethod
    def from_data(cls, data: Any) -> ProviderState:
        if not isinstance(data, dict):
            raise StateFormatError("provider: expected a mapping")
        try:
            return cls(
                deactivated=bool(data.get("deactivated", False)),
                reason=None if data.get("reason") is None else str(data["reason"]),
                since=_optional_time(data.get("since")),
                changed_at=_optional_time(data.get("changed_at")),
                changed_by=None if data.get("changed_by") is None else str(data["changed_by"]),
            )
        except (TypeError, ValueError) as exc:
            raise StateFormatError(f"provider: {exc}") from None


def _optional_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} is not timezone-aware")
    return parsed


@attrs.define
class MeshState:
    """Every model's state, spend ledgers by scope (``provider:x``, ``pool:y``), provider status."""

    models: dict[str, ModelState] = attrs.field(factory=dict)
    ledgers: dict[str, PeriodUsage] = attrs.field(factory=dict)
    providers: dict[str, ProviderState] = attrs.field(factory=dict)
    version: int = 0  # bumped on every change
    writer: str = attrs.field(factory=new_writer_id)
    dirty: set[str] = attrs.field(factory=set)  # records changed since they were last written

    def touch(self, *records: str) -> None:
        """Mark the state changed; ``records`` (from :func:`record_name`) are due to be written."""
        self.version += 1
        self.dirty.update(records)

    def touch_model(self, model_id: str) -> None:
        """Mark one model's record changed."""
        self.touch(record_name(MODELS, model_id))

    def all_records(self) -> list[str]:
        """The name of every record this state holds."""
        return [
            *(record_name(MODELS, m) for m in self.models),
            *(record_name(LEDGERS, s) for s in self.ledgers),
            *(record_name(PROVIDERS, p) for p in self.providers),
        ]

    def ledger(self, scope: str) -> PeriodUsage:
        """The spend ledger of ``scope``, created on first use."""
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
        except (TypeError, ValueError) as exc:
            raise StateFormatError(f"ledgers or providers: {exc}") from None
        for target, entry in staged:
            target.restore(entry)
        self.ledgers.update(new_ledgers)
        self.providers.update(new_providers)
        return skipped
