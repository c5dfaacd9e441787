"""The results the discovery connectors share: a sync's diff with the catalogue, a probe that failed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from meshkit import ModelChange, ModelInfo, ProbeResult, SyncResult
from meshkit.interfaces import diff_catalogue


def sync_result(
    asked: Sequence[str],
    listed: Mapping[str, Sequence[ModelInfo]],
    catalogue: Mapping[str, ModelInfo],
    *,
    errors: Mapping[str, str],
    skipped: Iterable[str] = (),
) -> SyncResult:
    """Each listed provider's models diffed with the catalogue, in the order ``asked`` (not of arrival)."""
    new: list[ModelInfo] = []
    deprecated: list[ModelInfo] = []
    changed: list[ModelChange] = []
    for provider_id in asked:
        if provider_id in listed:
            n, d, c = diff_catalogue(provider_id, listed[provider_id], catalogue)
            new += n
            deprecated += d
            changed += c
    return SyncResult(
        new_models=tuple(new),
        deprecated_models=tuple(deprecated),
        changed_models=tuple(changed),
        errors={pid: errors[pid] for pid in asked if pid in errors},
        skipped=tuple(skipped),
    )


def failed_probe(
    provider_id: str, checked_at: datetime, error: str, *, latency_ms: float | None = None
) -> ProbeResult:
    """A probe that found ``provider_id`` unavailable, ``error`` saying why (secrets already scrubbed)."""
    return ProbeResult(
        provider_id=provider_id, ok=False, checked_at=checked_at, latency_ms=latency_ms, error=error
    )


def unknown_provider_probe(provider_id: str, checked_at: datetime) -> ProbeResult:
    """The probe of a provider id nothing is attached under."""
    return failed_probe(provider_id, checked_at, f"unknown provider {provider_id!r}")
