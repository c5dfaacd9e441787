"""Discovery benchmark: what finding the plugins costs, against a bare entry-point scan.

Run it with::

    .venv/bin/python bench/discovery.py                  # 0, 10 and 100 plugins
    .venv/bin/python bench/discovery.py --repeat 30 --plugins 0 10 100 --json

For each plugin count a virtual environment is built holding meshkit's wheel and that many
throwaway plugin distributions (one connector each). Two things are measured there, each
side by side with its baseline, the two taking turns so that they share the machine:

(a) a cold process: ``meshkit connectors`` versus ``python -c`` doing a bare
    ``importlib.metadata.entry_points(group="meshkit")`` scan (and, for scale, ``python -c pass``);
(b) in process: ``meshkit.plugins.discover()`` (scan, import, hooks, checks, registry)
    versus the bare scan alone, both warm, in one process of that environment.

Medians are reported, and the ratio meshkit / baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _plugins import BenchVenv, build_meshkit_wheel, child_env

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
discover_ms = []
scan_ms = []
for _ in range(3):  # interleave rounds so both see the same conditions
    discover_ms.append(median_ms(discover, repeat))
    scan_ms.append(median_ms(lambda: importlib.metadata.entry_points(group="meshkit"), repeat))
print(json.dumps({"discover_ms": min(discover_ms), "scan_ms": min(scan_ms)}))
"""


def time_process(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return (time.perf_counter() - start) * 1000


def measure(venv: BenchVenv, repeat: int) -> dict[str, Any]:
    env = child_env()
    commands = {
        "startup": [str(venv.python), "-c", "pass"],
        "scan": [str(venv.python), "-c", SCAN],
        "connectors": [str(venv.meshkit), "connectors"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, args in commands.items():  # warm the file-system cache
        time_process(args, env)
    for _ in range(repeat):
        for name, args in commands.items():
            times[name].append(time_process(args, env))
    cold = {name: statistics.median(values) for name, values in times.items()}
    done = subprocess.run(
        [str(venv.python), "-c", IN_PROCESS, str(max(repeat * 5, 50))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    warm = json.loads(done.stdout)
    return {
        "plugins": venv.plugins,
        "cold_connectors_ms": cold["connectors"],
        "cold_scan_ms": cold["scan"],
        "cold_startup_ms": cold["startup"],
        "cold_ratio": cold["connectors"] / cold["scan"],
        "discover_ms": warm["discover_ms"],
        "scan_ms": warm["scan_ms"],
        "warm_ratio": warm["discover_ms"] / warm["scan_ms"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| plugins | `meshkit connectors` (cold) | entry-point scan (cold) | `python -c pass` | ratio "
        "| `discover()` (in process) | entry-point scan (in process) | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['plugins']} | {r['cold_connectors_ms']:.0f} ms | {r['cold_scan_ms']:.0f} ms "
            f"| {r['cold_startup_ms']:.0f} ms | {r['cold_ratio']:.1f}× "
            f"| {r['discover_ms']:.1f} ms | {r['scan_ms']:.2f} ms | {r['warm_ratio']:.1f}× |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, nargs="+", default=[0, 10, 100], help="plugin counts")
    parser.add_argument("--repeat", type=int, default=20, help="cold runs per command (default 20)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    command = " ".join([Path(sys.executable).name, *sys.argv])
    with tempfile.TemporaryDirectory(prefix="meshkit-bench-discovery-") as tmp:
        work = Path(tmp)
        wheel = build_meshkit_wheel(work)
        rows = []
        for count in args.plugins:
            venv = BenchVenv(work / f"venv-{count}", wheel, count)
            venv.check()
            rows.append(measure(venv, args.repeat))
            print(f"measured {count} plugins", file=sys.stderr)
    print(f"Command: {command}\n")
    print(f"Python {sys.version.split()[0]} on {sys.platform}; medians of {args.repeat} cold runs each.\n")
    print(table(rows))
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
