"""Snapshots, requests and a selection loop shared by the rotation-policy tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from meshkit.enums import ModelStatus
from meshkit.interfaces.rotation import RotationPolicy
from meshkit.types import CompletionRequest, ModelSnapshot

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POOL = "chat"


def snap(model_id: str, **fields: Any) -> ModelSnapshot:
    """A snapshot of ``model_id`` (``provider.name``) in the test pool."""
    fields.setdefault("provider_id", model_id.split(".")[0])
    fields.setdefault("pool_id", POOL)
    return ModelSnapshot(model_id=model_id, **fields)


def standby(model_id: str, **fields: Any) -> ModelSnapshot:
    """A snapshot of a model set aside."""
    return snap(model_id, status=ModelStatus.STANDBY, **fields)


def pool(n: int, **fields: Any) -> list[ModelSnapshot]:
    """``n`` active models ``p.m0`` … ``p.m{n-1}``."""
    return [snap(f"p.m{i}", **fields) for i in range(n)]


def request(
    text: str = "hello", *, max_tokens: int | None = None, session: str | None = None
) -> CompletionRequest:
    """A one-message request."""
    return CompletionRequest(
        messages=[{"role": "user", "content": text}], max_tokens=max_tokens, session_id=session
    )


REQUEST = request()


def picks(
    policy: RotationPolicy,
    candidates: Sequence[ModelSnapshot],
    n: int,
    req: CompletionRequest = REQUEST,
    now: datetime = NOW,
) -> list[str]:
    """The model ids of ``n`` selections over unchanged candidates."""
    out = []
    for _ in range(n):
        chosen = policy.select(candidates, req, now)
        assert chosen is not None
        out.append(chosen.model_id)
    return out
