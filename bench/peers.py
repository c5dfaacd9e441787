"""meshkit beside its peers and the bare clients, against one local upstream, in one run.

Run it with (``nox -s bench`` runs it too)::

    .venv/bin/python bench/peers.py                          # 3 rounds, 1,000 requests per cell
    .venv/bin/python bench/peers.py --rounds 1 --requests 300 --latency 0 --concurrency 1 64 --json

Contenders: plain aiohttp, plain httpx, httpx over httpx-aiohttp's transport, meshkit
(``transport: auto`` and ``transport: httpx``), LiteLLM's ``Router`` and ``modelmesh-lite``
0.1.1. Each runs in its own process, from its own virtual environment, which this script
creates under ``--venvs`` the first time: meshkit (this checkout, ``.[fast]``, which also
holds the bare clients), ``litellm`` and ``modelmesh-lite==0.1.1`` from PyPI. The upstream is
the minimal aiohttp server of ``bench/transport.py`` with ``--latency`` added per answer; it is
pinned to the last core and every client to the first, so they do not share a core.

Every (upstream latency, concurrency) cell runs every contender once per round, in turn, so
they share the machine's conditions; medians over the rounds are reported with their spread:
requests/s, p50/p99 latency, CPU per request (all threads of the client process), each also
as a ratio to plain aiohttp and plain httpx in the same cell.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLIENT = HERE / "_peer_client.py"

#: contender → the virtual environment it runs from.
VENV_OF = {
    "aiohttp": "meshkit",
    "httpx": "meshkit",
    "httpx+aiohttp": "meshkit",
    "meshkit": "meshkit",
    "meshkit (httpx)": "meshkit",
    "litellm Router": "litellm",
    "modelmesh-lite": "modelmesh",
}
PACKAGES = {
    "meshkit": [f"{REPO}[fast]", "httpx-aiohttp"],
    "litellm": ["litellm"],
    "modelmesh": ["modelmesh-lite==0.1.1"],
}


def venv_python(venvs: Path, name: str) -> Path:
    """The Python of venv ``name``, created and filled the first time."""
    venv = venvs / name
    python = venv / "bin" / "python"
    marker = venv / ".bench-ready"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES[name]], check=True)
        marker.touch()
    elif name == "meshkit":  # the checkout as it is now, not as it was when the venv was made
        pip = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(REPO)]
        subprocess.run(pip, check=True)
    return python


def version_of(python: Path, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def start_upstream(latency_ms: float, cpu: int | None) -> tuple[subprocess.Popen[str], str]:
    code = (
        "import sys, os, asyncio, json; sys.path.insert(0, sys.argv[1]);"
        "cpu = sys.argv[3];"
        "cpu != '-' and hasattr(os, 'sched_setaffinity') and os.sched_setaffinity(0, {int(cpu)});"
        "import transport; transport.serve(0, latency=float(sys.argv[2]) / 1000)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(HERE), str(latency_ms), "-" if cpu is None else str(cpu)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        raise RuntimeError(f"the upstream did not start (said {url!r})")
    return process, url


def run_client(
    python: Path, contender: str, url: str, requests: int, concurrency: int, cpu: int | None
) -> dict[str, float]:
    argv = [
        str(python),
        str(CLIENT),
        contender,
        url,
        "--requests",
        str(requests),
        "--concurrency",
        str(concurrency),
    ]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=900, env={**os.environ, "LITELLM_LOG": "ERROR"}
    )
    if done.returncode != 0:
        raise RuntimeError(f"{contender} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--latency", type=float, nargs="+", default=[0, 20], help="upstream ms per answer")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--contenders", nargs="+", default=list(VENV_OF), choices=list(VENV_OF))
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "meshkit-bench-venvs")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and upstream to cores")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = not args.no_pin and len(cores) >= 2
    client_cpu, upstream_cpu = (cores[0], cores[-1]) if pin else (None, None)
    args.venvs.mkdir(parents=True, exist_ok=True)
    pythons = {name: venv_python(args.venvs, name) for name in {VENV_OF[c] for c in args.contenders}}
    versions = {
        "litellm": version_of(pythons["litellm"], "litellm") if "litellm" in pythons else None,
        "modelmesh-lite": version_of(pythons["modelmesh"], "modelmesh-lite")
        if "modelmesh" in pythons
        else None,
    }
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    cells: dict[str, dict[str, list[dict[str, float]]]] = {}
    for latency in args.latency:
        upstream, url = start_upstream(latency, upstream_cpu)
        try:
            for _ in range(args.rounds):
                for concurrency in args.concurrency:
                    cell = cells.setdefault(f"{latency:g}ms/{concurrency}", {})
                    for contender in args.contenders:
                        row = run_client(
                            pythons[VENV_OF[contender]],
                            contender,
                            url,
                            args.requests,
                            concurrency,
                            client_cpu,
                        )
                        cell.setdefault(contender, []).append(row)
        finally:
            upstream.terminate()
            upstream.wait(30)
    summary = summarise(cells)
    summary["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "pinned": pin,
        "load_before": load_before,  # taken before the first cell, not after the last
        "load_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    summary["versions"] = versions
    summary["rounds"], summary["requests"] = args.rounds, args.requests
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_table(summary)


def summarise(cells: dict[str, dict[str, list[dict[str, float]]]]) -> dict[str, Any]:
    out: dict[str, Any] = {"cells": {}}
    for name, by_contender in cells.items():
        medians = {
            c: {k: statistics.median(r[k] for r in rows) for k in rows[0]} for c, rows in by_contender.items()
        }
        spread = {
            c: [min(r["rps"] for r in rows), max(r["rps"] for r in rows)] for c, rows in by_contender.items()
        }
        cell = {}
        for contender, row in medians.items():
            entry: dict[str, Any] = {**row, "rps_spread": spread[contender]}
            for base in ("aiohttp", "httpx"):
                if base in medians:
                    entry[f"rps_vs_{base}"] = row["rps"] / medians[base]["rps"]
                    entry[f"cpu_vs_{base}"] = row["cpu_us"] / medians[base]["cpu_us"]
                    entry[f"added_p99_ms_vs_{base}"] = row["p99_ms"] - medians[base]["p99_ms"]
            cell[contender] = entry
        out["cells"][name] = cell
    return out


def print_table(summary: dict[str, Any]) -> None:
    print(
        f"rounds {summary['rounds']}, {summary['requests']} requests per cell; "
        f"{summary['versions']}; {summary['machine']}"
    )
    header = (
        "cell",
        "contender",
        "req/s",
        "vs aiohttp",
        "vs httpx",
        "p50 ms",
        "p99 ms",
        "+p99",
        "CPU µs",
        "CPU x aio",
    )
    print(" | ".join(header))
    for cell, rows in summary["cells"].items():
        for contender, r in rows.items():
            print(
                " | ".join(
                    [
                        cell,
                        contender,
                        f"{r['rps']:.0f}",
                        f"{r.get('rps_vs_aiohttp', float('nan')):.2f}",
                        f"{r.get('rps_vs_httpx', float('nan')):.2f}",
                        f"{r['p50_ms']:.2f}",
                        f"{r['p99_ms']:.2f}",
                        f"{r.get('added_p99_ms_vs_aiohttp', float('nan')):.2f}",
                        f"{r['cpu_us']:.0f}",
                        f"{r.get('cpu_vs_aiohttp', float('nan')):.2f}",
                    ]
                )
            )


if __name__ == "__main__":
    main()
