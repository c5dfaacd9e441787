"""Merging one stored record with this process's copy of it, for state shared between processes.

Two rules, applied to the plain-data form of a record:

* **Status** (a model's status, reason, cooldown and resets; a provider's deactivation) goes
  by the newer change: each record carries ``changed_at`` / ``changed_by``, the time and the
  process of its last status change, and the later one wins (the process id breaks a tie). A
  copy whose status never changed holds no news, so the stored status replaces it.
* **Counters** (requests, tokens, spend, per-period usage) add up: what this process counted
  since it last read or wrote the record (``local - base``) is added to what is stored, so
  every process's counts survive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["merge_model", "merge_provider", "merge_usage", "status_newer", "takes_status"]

Data = dict[str, Any]

_ADDITIVE = (
    "requests",
    "successes",
    "failures",
    "cancelled",
    "deactivations",
    "activations",
    "tokens",
    "cost",
)
_STATUS = (
    "status",
    "reason",
    "detail",
    "cooldown_until",
    "resets_at",
    "deactivated_at",
    "activated_at",
    "consecutive_failures",
    "changed_at",
    "changed_by",
)
_PERIODS = (
    ("day", ("daily_requests", "daily_tokens", "daily_cost")),
    ("month", ("monthly_requests", "monthly_tokens", "monthly_cost")),
)
_NEVER = datetime.min.replace(tzinfo=UTC)


def _time(value: Any) -> datetime:
    if not value:
        return _NEVER
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _stamp(data: Data | None) -> tuple[datetime, str]:
    if not data:
        return _NEVER, ""
    return _time(data.get("changed_at")), str(data.get("changed_by") or "")


def status_newer(candidate: Data | None, than: Data | None) -> bool:
    """True when ``candidate``'s last status change is newer than ``than``'s."""
    return _stamp(candidate) > _stamp(than)


def takes_status(stored: Data | None, local: Data) -> bool:
    """True when the stored status replaces ours: it is newer, or ours never changed at all."""
    if stored is None:
        return False
    return not local.get("changed_at") or status_newer(stored, local)


def _number(data: Data | None, key: str) -> Any:
    if not data:
        return 0
    value = data.get(key)
    return 0 if value is None else value


def merge_usage(stored: Data | None, base: Data | None, local: Data) -> Data:
    """Per-period usage: the stored counts plus this process's, period by period."""
    out: Data = {}
    for period, fields in _PERIODS:
        mine = str(local.get(period) or "")
        same_base = base is not None and str(base.get(period) or "") == mine
        delta = {f: _number(local, f) - (_number(base, f) if same_base else 0) for f in fields}
        theirs = str(stored.get(period) or "") if stored else ""
        if theirs == mine:
            out[period] = mine
            out.update({f: _number(stored, f) + delta[f] for f in fields})
        elif theirs > mine:  # the store is in a later period: what we counted belongs to an old one
            out[period] = theirs
            out.update({f: _number(stored, f) for f in fields})
        else:
            out[period] = mine
            out.update(delta)
    return out


def merge_model(stored: Data | None, base: Data | None, local: Data) -> Data:
    """One model's record: newer status, summed counters, the latest success and failure."""
    if stored is None:
        return dict(local)
    out = dict(local)
    if takes_status(stored, local):
        for key in _STATUS:
            out[key] = stored.get(key)
    for key in _ADDITIVE:
        out[key] = _number(stored, key) + _number(local, key) - _number(base, key)
    errors: dict[str, int] = {}
    stored_errors, local_errors = stored.get("errors") or {}, local.get("errors") or {}
    base_errors = (base or {}).get("errors") or {}
    for category in {*stored_errors, *local_errors}:
        count = (
            int(stored_errors.get(category, 0))
            + int(local_errors.get(category, 0))
            - int(base_errors.get(category, 0))
        )
        if count:
            errors[category] = count
    out["errors"] = errors
    out["usage"] = merge_usage(stored.get("usage"), (base or {}).get("usage"), local.get("usage") or {})
    if _time(stored.get("last_success_at")) > _time(local.get("last_success_at")):
        out["last_success_at"] = stored.get("last_success_at")
        out["latency_ewma_ms"] = stored.get("latency_ewma_ms")
    if _time(stored.get("last_failure_at")) > _time(local.get("last_failure_at")):
        out["last_failure_at"] = stored.get("last_failure_at")
        out["last_error"] = stored.get("last_error")
    return out


def merge_provider(stored: Data | None, local: Data) -> Data:
    """A provider's record: the newer status change wins whole."""
    if stored is not None and takes_status(stored, local):
        return dict(stored)
    return dict(local)
