"""Start-up benchmark: building and starting a mesh of 1,000 models against one of 10.

Run it with (``nox -s bench`` runs it too)::

    .venv/bin/python bench/startup.py                        # 10 and 1,000 models, 7 rounds
    .venv/bin/python bench/startup.py --sizes 10 100 1000 --rounds 3 --json

Every measurement is a fresh Python process, so that the resident memory it reports is its own:
it imports meshkit, builds the configuration (N in-process mock models in one pool, each with a
price, limits and a weight) as plain dicts, then ``Mesh.from_config()`` (plugin discovery, the
validated settings, the plan, the catalogue), ``await mesh.start()`` (connectors, state, the pool
and its rotation policy, the background jobs) and one routed ``mesh.complete()``. The first mesh
in a process also pays for what happens once per process (discovering the plugins, importing the
built-in connectors, cattrs generating its converters); so a second mesh of the same size is then
built and started beside the first (still open, so that it cannot reuse memory the first freed),
which shows what the models themselves cost, and closed. Reported: CPU time (user + system) of
each step, and resident memory (``/proc/self/statm``) after the import, once the first mesh has
started, and what each mesh added. The sizes take turns within each round (their order
alternating), so they share the machine's conditions; medians over the rounds are given with
their spread, and each figure as a ratio of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

MESSAGES = [{"role": "user", "content": "Say hello."}]
STEPS = ("import", "build", "start", "first_request", "close")


def mesh_config(size: int) -> dict[str, Any]:
    """``size`` mock models in one pool, each with a priority, a weight, a price and limits."""
    names = [f"m{i}" for i in range(size)]
    return {
        "providers": {"fake": {"connector": "mock", "config": {"models": names}}},
        "models": {
            f"fake.{n}": {
                "provider": "fake",
                "priority": i % 5,
                "weight": 1 + i % 7,
                "pricing": {"input_per_1k": 0.001 * (1 + i % 11), "output_per_1k": 0.002 * (1 + i % 13)},
                "limits": {"requests_per_minute": 10_000_000, "tokens_per_minute": 100_000_000},
            }
            for i, n in enumerate(names)
        },
        "pools": {"chat": {"models": [f"fake.{n}" for n in names]}},
        "storage": {"sync_policy": "in-memory"},
    }


def resident_mb() -> float:
    """This process's resident set now, in MiB (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(size: int) -> dict[str, float]:
    """One measurement, in this (fresh) process."""
    out: dict[str, float] = {"rss_interpreter_mb": resident_mb()}
    cpu = time.process_time()

    def step(name: str) -> None:
        nonlocal cpu
        now = time.process_time()
        out[f"{name}_cpu_ms"] = (now - cpu) * 1000
        cpu = now

    import anyio

    from meshkit import Mesh
    from meshkit.connectors.providers.mock import MockProvider  # noqa: F401  (what start would import)

    step("import")
    out["rss_imported_mb"] = resident_mb()
    config = mesh_config(size)
    cpu = time.process_time()  # the dicts are the baseline, not the mesh's cost
    out["rss_config_mb"] = resident_mb()

    async def run() -> None:
        mesh = Mesh.from_config(config)
        step("build")
        await mesh.start()
        step("start")
        out["rss_started_mb"] = resident_mb()
        await mesh.complete(model="chat", messages=MESSAGES)
        step("first_request")
        # A second mesh of the same size, the first still open: no one-time import or discovery
        # left, and no memory the first one freed to reuse, so it shows what the models cost.
        again = mesh_config(size)
        rss, cpu_before = resident_mb(), time.process_time()
        second = Mesh.from_config(again)
        await second.start()
        out["warm_build_and_start_cpu_ms"] = (time.process_time() - cpu_before) * 1000
        out["warm_mesh_rss_mb"] = resident_mb() - rss
        step("ignored")
        await second.aclose()
        step("close")
        await mesh.aclose()

    anyio.run(run)
    del out["ignored_cpu_ms"]
    out["mesh_rss_mb"] = out["rss_started_mb"] - out["rss_config_mb"]
    out["build_and_start_cpu_ms"] = out["build_cpu_ms"] + out["start_cpu_ms"]
    return out


def measure(size: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(size)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"size {size} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000], help="models in the pool")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return
    load_before = os.getloadavg()
    runs: dict[int, list[dict[str, float]]] = {size: [] for size in args.sizes}
    for turn in range(args.rounds):
        for size in args.sizes if turn % 2 == 0 else reversed(args.sizes):
            runs[size].append(measure(size))
    summary = {
        "rounds": args.rounds,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "sizes": {
            size: {
                key: {
                    "median": statistics.median(r[key] for r in rows),
                    "min": min(r[key] for r in rows),
                    "max": max(r[key] for r in rows),
                }
                for key in rows[0]
            }
            for size, rows in runs.items()
        },
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        report(summary)


def report(summary: dict[str, Any]) -> None:
    sizes = summary["sizes"]
    low, high = min(sizes), max(sizes)
    keys = [f"{s}_cpu_ms" for s in STEPS]
    keys += ["build_and_start_cpu_ms", "warm_build_and_start_cpu_ms"]
    keys += ["rss_imported_mb", "rss_started_mb", "mesh_rss_mb", "warm_mesh_rss_mb"]
    print(
        f"median of {summary['rounds']} fresh processes per size (min-max); "
        f"load average {summary['load_before'][0]:.2f} before, {summary['load_after'][0]:.2f} after"
    )
    print("| figure | " + " | ".join(f"{s:,} models" for s in sizes) + f" | {high:,} vs {low:,} |")
    print("|---|" + "---:|" * (len(sizes) + 1))
    for key in keys:
        cells = [f"{v['median']:.1f} ({v['min']:.1f}-{v['max']:.1f})" for v in (sizes[s][key] for s in sizes)]
        ratio = sizes[high][key]["median"] / sizes[low][key]["median"] if sizes[low][key]["median"] else 0
        print(f"| {key} | " + " | ".join(cells) + f" | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
