"""Replaying seeded pool histories through a rotation policy, here or in a fresh process.

A policy's choices must depend on its inputs only: not on ``PYTHONHASHSEED`` (the order
of a ``set`` of model ids, ``hash(session_id)``), the process or the moment. The
rotation suite replays the same seeded histories in this process and in two child
processes with different hash seeds, and compares what each chose and decided.

The histories are built from :class:`random.Random` over lists only, so they are the same
in every process. ``python -m meshkit.testing.rotation_replay`` reads a job (JSON) on
standard input and prints the decisions (JSON) on standard output.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from ..enums import DeactivationReason, ModelStatus
from ..interfaces.rotation import RotationPolicy
from ..types import CompletionRequest, ModelPricing, ModelSnapshot
from .fake_clock import FakeClock

__all__ = ["Decisions", "Job", "replay", "replay_in_child", "seeded_histories"]

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
LIMIT_KEYS = ("requests", "tokens", "requests_per_minute", "tokens_per_minute")
SESSIONS = (None, "alice", "bob", "carol", "dave")

#: One step of a history: the pool as it stands, and the request's session and max_tokens.
Step = tuple[list[ModelSnapshot], str | None, int | None]
#: Per history: the ids chosen, and each snapshot's (deactivate, recover, cooldown) answers.
Decisions = list[dict[str, list[Any]]]


def _snapshot(rng: random.Random, model_id: str) -> ModelSnapshot:
    standby = rng.random() < 0.3
    window_requests = rng.randint(0, 30)
    limits = {key: float(rng.choice([10, 100, 1000])) for key in LIMIT_KEYS if rng.random() < 0.3}
    return ModelSnapshot(
        model_id=model_id,
        provider_id=rng.choice(["p1", "p2", "p3"]),
        pool_id="pool",
        status=ModelStatus.STANDBY if standby else ModelStatus.ACTIVE,
        deactivation_reason=rng.choice(list(DeactivationReason)) if standby else None,
        consecutive_failures=rng.randint(0, 6),
        window_requests=window_requests,
        window_failures=rng.randint(0, window_requests),
        requests=rng.randint(0, 1200),
        tokens=rng.randint(0, 1200),
        cost=round(rng.uniform(0, 5), 4),
        latency_ewma_ms=None if rng.random() < 0.2 else round(rng.uniform(1, 2000), 1),
        cooldown_until=EPOCH + timedelta(seconds=rng.randint(-60, 60)) if standby else None,
        pricing=None
        if rng.random() < 0.3
        else ModelPricing(
            input_per_1k=rng.choice([0.001, 0.01, 0.03]), output_per_1k=rng.choice([0.002, 0.02])
        ),
        priority=rng.randint(0, 2),
        weight=rng.choice([0.5, 1.0, 2.0, 5.0]),
        limits=limits,
        requests_last_minute=rng.randint(0, 12),
        tokens_last_minute=rng.randint(0, 1200),
    )


def seeded_histories(seed: int, count: int, steps: int = 12) -> list[list[Step]]:
    """``count`` histories of ``steps`` selections each: a pool that changes a little each step."""
    rng = random.Random(seed)
    histories: list[list[Step]] = []
    for _ in range(count):
        names = rng.sample([f"m{i}" for i in range(10)], rng.randint(1, 6))
        pool = [_snapshot(rng, name) for name in names]
        history: list[Step] = []
        for _ in range(steps):
            if rng.random() < 0.4:
                index = rng.randrange(len(pool))
                pool[index] = _snapshot(rng, pool[index].model_id)  # its state moved on
            history.append((list(pool), rng.choice(SESSIONS), rng.choice([None, 16, 256])))
        histories.append(history)
    return histories


def replay(make_policy: Callable[[], RotationPolicy], histories: Sequence[Sequence[Step]]) -> Decisions:
    """Every choice and decision of a fresh policy per history, as plain JSON values."""
    out: Decisions = []
    for history in histories:
        policy = make_policy()
        chosen: list[str | None] = []
        decided: list[list[str | None]] = []
        for step, (pool, session, max_tokens) in enumerate(history):
            now = EPOCH + timedelta(seconds=step)
            request = CompletionRequest(
                messages=[{"role": "user", "content": "hello " * 20}],
                session_id=session,
                max_tokens=max_tokens,
            )
            result = policy.select(list(pool), request, now)
            chosen.append(None if result is None else result.model_id)
            for snapshot in pool:
                reason = policy.should_deactivate(snapshot, now)
                recovery = policy.should_recover(snapshot, now)
                cooldown = policy.cooldown_for(snapshot, reason) if reason is not None else None
                decided.append(
                    [
                        None if reason is None else str(reason),
                        None if recovery is None else str(recovery),
                        None if cooldown is None else str(cooldown.total_seconds()),
                    ]
                )
        out.append({"chosen": chosen, "decided": decided})
    return out


@attrs.frozen(kw_only=True)
class Job:
    """What a child process needs to rebuild the policy and the histories."""

    module: str
    qualname: str
    config: Mapping[str, Any]
    factory: tuple[str, str] | None
    seed: int
    count: int

    def to_json(self) -> str:
        """The job as the child reads it."""
        return json.dumps(attrs.asdict(self))


def _resolve(module: str, qualname: str) -> Any:
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def importable(obj: Any) -> tuple[str, str] | None:
    """``(module, qualname)`` when ``obj`` can be imported by name in another process."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        return None
    try:
        return (module, qualname) if _resolve(module, qualname) is obj else None
    except (ImportError, AttributeError):
        return None


def _run(job: Job) -> Decisions:
    cls = _resolve(job.module, job.qualname)
    make = _resolve(*job.factory) if job.factory is not None else cls
    return replay(lambda: make(dict(job.config), clock=FakeClock()), seeded_histories(job.seed, job.count))


def replay_in_child(job: Job, hash_seed: str) -> subprocess.Popen[str]:
    """Start a child process replaying ``job`` under ``PYTHONHASHSEED=hash_seed``."""
    env = {
        **os.environ,
        "PYTHONHASHSEED": hash_seed,
        # The same import path as this process: connector modules found here are found there.
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "meshkit.testing.rotation_replay"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return process


def main() -> None:
    """Read a :class:`Job` on stdin, print its decisions on stdout."""
    raw = json.loads(sys.stdin.read())
    factory = tuple(raw["factory"]) if raw["factory"] is not None else None
    job = Job(
        module=raw["module"],
        qualname=raw["qualname"],
        config=raw["config"],
        factory=factory,  # type: ignore[arg-type]
        seed=raw["seed"],
        count=raw["count"],
    )
    json.dump(_run(job), sys.stdout)


if __name__ == "__main__":
    main()
