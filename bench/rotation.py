"""Selections per second of each built-in rotation policy, against baselines run alongside.

    python bench/rotation.py            # pool sizes 10, 100, 1000
    python bench/rotation.py --quick    # shorter runs
    python bench/rotation.py --sizes 10 100 1000 --runs 7

Every policy (a fresh instance, with its default configuration) picks from the same pool of
active models (with prices, latencies, weights, limits and recent usage filled in) for a
rotating set of requests and sessions. Two baselines run in the same process with the same
call shape: ``candidates[0]`` (the cheapest possible choice) and ``random.choice``. The
contenders take turns and each keeps its best run. Figures are selections per second and
ratios against ``random.choice``, which stay comparable across machines.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from meshkit.connectors.rotation import CONNECTORS
from meshkit.types import CompletionRequest, ModelPricing, ModelSnapshot

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SIZES = (10, 100, 1000)
Select = Callable[[Sequence[ModelSnapshot], CompletionRequest, datetime], object]


def make_pool(size: int, seed: int = 7) -> list[ModelSnapshot]:
    """``size`` active models with varied, realistic state."""
    rng = random.Random(seed)
    return [
        ModelSnapshot(
            model_id=f"p{i % 7}.model-{i}",
            provider_id=f"p{i % 7}",
            pool_id="bench",
            priority=rng.randint(0, 5),
            weight=float(rng.randint(1, 10)),
            pricing=ModelPricing(
                input_per_1k=rng.uniform(0.0001, 0.01), output_per_1k=rng.uniform(0.0002, 0.03)
            ),
            latency_ewma_ms=rng.uniform(80, 2500),
            last_success_at=NOW - timedelta(seconds=rng.randint(1, 600)),
            requests=rng.randint(0, 900),
            tokens=rng.randint(0, 90_000),
            requests_last_minute=rng.randint(0, 50),
            tokens_last_minute=rng.randint(0, 50_000),
            limits={
                "requests": 1000.0,
                "tokens": 100_000.0,
                "requests_per_minute": 60.0,
                "tokens_per_minute": 100_000.0,
            },
        )
        for i in range(size)
    ]


def make_requests(count: int = 1024) -> list[CompletionRequest]:
    """Requests of varied length, most in one of a thousand sessions."""
    rng = random.Random(11)
    return [
        CompletionRequest(
            messages=[{"role": "user", "content": "x" * rng.randint(10, 4000)}],
            max_tokens=rng.choice([None, 64, 512]),
            session_id=None if i % 5 == 0 else f"session-{rng.randint(0, 999)}",
        )
        for i in range(count)
    ]


def one_run(
    select: Select, pool: list[ModelSnapshot], requests: list[CompletionRequest], seconds: float
) -> float:
    """Selections per second over one run of at least ``seconds``."""
    mask = len(requests) - 1
    done = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for i in range(done, done + 200):
            select(pool, requests[i & mask], NOW)
        done += 200
        elapsed = time.perf_counter() - started
    return done / elapsed


def first(candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime) -> object:
    """The cheapest possible selection, a baseline: the first candidate."""
    return candidates[0]


def make_random_choice() -> Select:
    """A baseline selection: a seeded random candidate."""
    rng = random.Random(3)

    def choose(candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime) -> object:
        return rng.choice(candidates)

    return choose


def main(argv: list[str] | None = None) -> int:
    """Time every policy's ``select`` beside the baselines and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="pool sizes")
    parser.add_argument("--runs", type=int, default=7, help="runs per contender, best kept (default 7)")
    args = parser.parse_args(argv)
    seconds = 0.02 if args.quick else 0.1
    requests = make_requests()
    contenders: list[tuple[str, Callable[[], Select]]] = [
        ("baseline: candidates[0]", lambda: first),
        ("baseline: random.choice", make_random_choice),
    ]
    contenders += [(cls.connector_id, lambda cls=cls: cls().select) for cls in CONNECTORS]
    results: dict[str, dict[int, float]] = {name: {} for name, _ in contenders}
    for size in args.sizes:
        pool = make_pool(size)
        selects = {name: build() for name, build in contenders}
        # Contenders take turns, run after run, and each keeps its best: a busy moment on the
        # machine then costs every contender alike instead of skewing one ratio.
        for _ in range(args.runs):
            for name, select in selects.items():
                best = results[name].get(size, 0.0)
                results[name][size] = max(best, one_run(select, pool, requests, seconds))

    print(f"Python {sys.version.split()[0]}; selections per second (x = ratio to random.choice)\n")
    header = "| policy | " + " | ".join(f"pool {s}" for s in args.sizes) + " |"
    print(header)
    print("|---|" + "---:|" * len(args.sizes))
    base = results["baseline: random.choice"]
    for name, _ in contenders:
        cells = [f"{results[name][s]:,.0f} ({results[name][s] / base[s]:.3f}x)" for s in args.sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
