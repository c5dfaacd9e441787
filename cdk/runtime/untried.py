"""Why a request ran out of models: which members it did not call, and why none could be called."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ..enums import ModelStatus
from ..errors import NotTried
from .pool import Pool
from .state import MeshState

__all__ = ["not_tried", "standby_reason", "why_none"]


def standby_reason(state: MeshState, model_id: str) -> str | None:
    """Why ``model_id`` cannot be called now (its reason, or its provider's), or None."""
    model = state.models[model_id]
    provider = state.providers.get(model.provider_id)
    if provider is not None and provider.deactivated:
        return f"provider {model.provider_id} deactivated: {provider.reason}"
    if model.status is not ModelStatus.ACTIVE:
        return model.reason.value if model.reason else model.status.value
    return None


def not_tried(
    state: MeshState,
    pool: Pool,
    excluded: Collection[str],
    gaps: Mapping[str, tuple[str, ...]],
    stop: str | None,
) -> list[NotTried]:
    """The members the request did not call, in pool order, each with why.

    ``excluded`` are the members tried (or passed over), ``gaps`` what each passed-over member
    lacks, ``stop`` why the loop stopped before running out of models, if it did.
    """
    out: list[NotTried] = []
    for model_id in pool.members:
        if model_id in gaps:
            out.append(NotTried(model_id, "lacks " + ", ".join(gaps[model_id])))
        elif model_id not in excluded:
            standby = standby_reason(state, model_id)
            if standby is not None:
                out.append(NotTried(model_id, f"in standby: {standby}"))
            else:
                out.append(NotTried(model_id, stop or "not picked by the rotation policy"))
    return out


def why_none(state: MeshState, pool: Pool, gaps: Mapping[str, tuple[str, ...]]) -> str:
    """Why no member could be called at all: each member with what it lacks or why it stands by."""
    if not pool.members:
        return "the pool has no models"
    parts = []
    for model_id in pool.members:
        if model_id in gaps:
            parts.append(f"{model_id} (lacks {', '.join(gaps[model_id])})")
        else:
            parts.append(f"{model_id} ({standby_reason(state, model_id) or 'active'})")
    head = "every model that can serve the request is in standby" if gaps else "every model is in standby"
    return f"{head}: " + ", ".join(parts)
