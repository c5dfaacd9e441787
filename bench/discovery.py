"""Discovery benchmark: what finding the plugins costs, against a bare entry-point scan.

Run it with::

    .venv/bin/python bench/discovery.py                     # 0, 10 and 100 plugins, plain install
    .venv/bin/python bench/discovery.py --environment both --repeat 30 --json

For each plugin count a virtual environment is built holding meshkit's wheel and that many
throwaway plugin distributions (one connector each). Its dependencies are either just
meshkit's runtime dependencies (``runtime``: what ``pip install meshkit`` gives) or the
whole development environment of the checkout (``development``: every extra and tool).
Two things are measured there, each side by side with its baseline, the two taking turns
so that they share the machine's conditions:

(a) a cold process: ``meshkit connectors`` versus ``python -c`` doing a bare
    ``importlib.metadata.entry_points(group="meshkit")`` scan (``python -c pass`` for scale);
(b) in process: ``meshkit.plugins.discover()`` (scan, imports, hooks, checks, registry)
    versus the bare scan alone, both warm, in one process of that environment.

Medians are reported, and the ratio meshkit / baseline. For the cold processes both the
wall-clock time and the CPU time (user + system, of the child) are given: on a busy machine
the CPU time is the steadier of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _plugins import (
    BenchVenv,
    build_meshkit_wheel,
    development_site_packages,
    runtime_dependency_dir,
)

SCAN = "import importlib.metadata as m; m.entry_points(group='meshkit')"

IN_PROCESS = """
import importlib.metadata, json, sys, time
from meshkit.plugins import discover

def median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]

repeat = int(sys.argv[1])
discover_ms, scan_ms = [], []
for _ in range(3):  # rounds taking turns, the best of each kept
    discover_ms.append(median_ms(discover, repeat))
    scan_ms.append(median_ms(lambda: importlib.metadata.entry_points(group="meshkit"), repeat))
print(json.dumps({"discover_ms": min(discover_ms), "scan_ms": min(scan_ms)}))
"""


def time_process(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of one run (CPU is NaN where wait4 is missing)."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        cpu = (usage.ru_utime + usage.ru_stime) * 1000
    else:
        child.wait()
        cpu = float("nan")
    wall = (time.perf_counter() - start) * 1000
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {child.returncode}")
    return wall, cpu


def measure(venv: BenchVenv, environment: str, repeat: int) -> dict[str, Any]:
    """One row: cold processes and in-process discovery in ``venv``, each beside its baseline."""
    env = venv.env
    commands = {
        "startup": [str(venv.python), "-c", "pass"],
        "scan": [str(venv.python), "-c", SCAN],
        "connectors": [str(venv.meshkit), "connectors"],
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for args in commands.values():  # warm the file-system cache
        time_process(args, env)
    for _ in range(repeat):
        for name, args in commands.items():
            times[name].append(time_process(args, env))
    cold = {name: statistics.median(wall for wall, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in times.items()}
    done = subprocess.run(
        [str(venv.python), "-c", IN_PROCESS, str(max(repeat * 5, 50))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    warm = json.loads(done.stdout)
    return {
        "environment": environment,
        "plugins": venv.plugins,
        "cold_connectors_ms": cold["connectors"],
        "cold_scan_ms": cold["scan"],
        "cold_startup_ms": cold["startup"],
        "cold_ratio": cold["connectors"] / cold["scan"],
        "cpu_connectors_ms": cpu["connectors"],
        "cpu_scan_ms": cpu["scan"],
        "cpu_startup_ms": cpu["startup"],
        "cpu_ratio": cpu["connectors"] / cpu["scan"],
        "discover_ms": warm["discover_ms"],
        "scan_ms": warm["scan_ms"],
        "warm_ratio": warm["discover_ms"] / warm["scan_ms"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table, as docs/performance.md shows them."""
    lines = [
        "| environment | plugins | cold wall: `meshkit connectors` | bare scan | ratio "
        "| cold CPU: `meshkit connectors` | bare scan | ratio "
        "| in process: `discover()` | bare scan | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['environment']} | {r['plugins']} "
            f"| {r['cold_connectors_ms']:.0f} ms | {r['cold_scan_ms']:.0f} ms | {r['cold_ratio']:.1f}x "
            f"| {r['cpu_connectors_ms']:.0f} ms | {r['cpu_scan_ms']:.0f} ms | {r['cpu_ratio']:.1f}x "
            f"| {r['discover_ms']:.1f} ms | {r['scan_ms']:.1f} ms | {r['warm_ratio']:.1f}x |"
        )
    startup = ", ".join(f"{r['cpu_startup_ms']:.0f}" for r in rows)
    lines.append(f"\n`python -c pass` for scale, CPU ms per row: {startup}.")
    return "\n".join(lines)


def main() -> None:
    """Build the environments, measure each, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--plugins", type=int, nargs="+", default=[0, 10, 100], help="plugin counts")
    parser.add_argument("--repeat", type=int, default=20, help="cold runs per command (default 20)")
    parser.add_argument(
        "--environment",
        choices=["runtime", "development", "both"],
        default="runtime",
        help="which dependencies the environments see (default: runtime)",
    )
    parser.add_argument(
        "--source", type=Path, default=None, help="build meshkit from this tree instead of the checkout"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    command = " ".join([Path(sys.executable).name, *sys.argv])
    environments = ["runtime", "development"] if args.environment == "both" else [args.environment]
    rows = []
    with tempfile.TemporaryDirectory(prefix="meshkit-bench-discovery-") as tmp:
        work = Path(tmp)
        wheel = build_meshkit_wheel(work, args.source)
        dependencies = {
            "runtime": [runtime_dependency_dir(work / "runtime-dependencies")],
            "development": development_site_packages(),
        }
        for environment in environments:
            for count in args.plugins:
                venv = BenchVenv(work / f"{environment}-{count}", wheel, count, dependencies[environment])
                venv.check()
                rows.append(measure(venv, environment, args.repeat))
                print(f"measured: {environment} environment, {count} plugins", file=sys.stderr)
    print(f"Command: {command}\n")
    print(
        f"Python {sys.version.split()[0]} on {sys.platform}; cold: medians of {args.repeat} processes each; "
        "in process: the best of 3 medians.\n"
    )
    print(table(rows))
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
