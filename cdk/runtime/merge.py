"""Merging one stored record with this process's copy of it, for state shared between processes.

The rules come from each field's declaration in :mod:`.state` (:class:`~.schema.Merge`),
applied to the plain-data form of a record:

* **Status** fields (a model's status, reason, cooldown and resets; a provider's
  deactivation) go by the newer change: each record carries ``changed_at`` / ``changed_by``,
  the time and the process of its last status change, and the later one wins (the process id
  breaks a tie). A copy whose status never changed holds no news, so the stored status
  replaces it.
* **Summed** fields (requests, tokens, spend, error counts) add up: what this process counted
  since it last read or wrote the record (``local - base``) is added to what is stored, so
  every process's counts survive. **Period** counts do the same within their UTC period.
* **Latest** fields (the last success, the last failure) follow the later timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .schema import Merge, parse_time, persisted_fields
from .state import ModelState, PeriodUsage, ProviderState

__all__ = ["merge_model", "merge_provider", "merge_usage", "status_newer", "takes_status"]

Data = dict[str, Any]

_NEVER = datetime.min.replace(tzinfo=UTC)


def _by(cls: type, rule: Merge) -> tuple[str, ...]:
    return tuple(name for name, spec in persisted_fields(cls) if spec.merge is rule)


_MODEL_STATUS = _by(ModelState, Merge.STATUS)
_MODEL_SUMS = _by(ModelState, Merge.SUM)
_MODEL_LATEST = tuple(
    (name, spec.by or name) for name, spec in persisted_fields(ModelState) if spec.merge is Merge.LATEST
)
_MODEL_NESTED = _by(ModelState, Merge.NESTED)
_PROVIDER_STATUS = _by(ProviderState, Merge.STATUS)
_PERIODS = tuple(
    (key, tuple(name for name, spec in persisted_fields(PeriodUsage) if spec.by == key))
    for key, spec in persisted_fields(PeriodUsage)
    if spec.merge is Merge.PERIOD and spec.by is None
)


def _time(value: Any) -> datetime:
    # The same reading as decoding (state.parse_time): a naive timestamp is UTC.
    return parse_time(value) if value else _NEVER


def _stamp(data: Mapping[str, Any] | None) -> tuple[datetime, str]:
    if not data:
        return _NEVER, ""
    return _time(data.get("changed_at")), str(data.get("changed_by") or "")


def status_newer(candidate: Mapping[str, Any] | None, than: Mapping[str, Any] | None) -> bool:
    """True when ``candidate``'s last status change is newer than ``than``'s."""
    return _stamp(candidate) > _stamp(than)


def takes_status(stored: Mapping[str, Any] | None, local: Mapping[str, Any]) -> bool:
    """True when the stored status replaces ours: it is newer, or ours never changed at all."""
    if stored is None:
        return False
    return not local.get("changed_at") or status_newer(stored, local)


def _number(data: Mapping[str, Any] | None, key: str) -> Any:
    if not data:
        return 0
    value = data.get(key)
    return 0 if value is None else value


def _sum(stored: Any, base: Any, local: Any) -> Any:
    """``stored + local - base`` for a number, or key by key for a mapping of counts."""
    if isinstance(stored, Mapping) or isinstance(local, Mapping):
        stored, local, base = stored or {}, local or {}, base or {}
        out: dict[str, int] = {}
        for key in {*stored, *local}:
            count = int(stored.get(key, 0)) + int(local.get(key, 0)) - int(base.get(key, 0))
            if count:
                out[key] = count
        return out
    return (stored or 0) + (local or 0) - (base or 0)


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
    base = base or {}
    out = dict(local)
    if takes_status(stored, local):
        for key in _MODEL_STATUS:
            out[key] = stored.get(key)
    for key in _MODEL_SUMS:
        out[key] = _sum(stored.get(key), base.get(key), local.get(key))
    for key in _MODEL_NESTED:  # the per-period usage
        out[key] = merge_usage(stored.get(key), base.get(key), local.get(key) or {})
    for key, by in _MODEL_LATEST:
        if _time(stored.get(by)) > _time(local.get(by)):
            out[key] = stored.get(key)
    return out


def merge_provider(stored: Data | None, local: Data) -> Data:
    """A provider's record: the newer status change wins."""
    out = dict(local)
    if stored is not None and takes_status(stored, local):
        for key in _PROVIDER_STATUS:
            out[key] = stored.get(key)
    return out
