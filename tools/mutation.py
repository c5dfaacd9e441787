"""Helpers of ``nox -s mutation`` around a cosmic-ray session database.

``python tools/mutation.py skip-annotations SESSION.sqlite`` marks as skipped (equivalent) the
mutants that sit inside a type annotation of a module with ``from __future__ import annotations``:
such annotations are never evaluated, so no test can tell them apart.

``python tools/mutation.py skip-definitions SESSION.sqlite NAME...`` marks as skipped (not reached)
the mutants inside shared helpers that the connector under test never calls.

``python tools/mutation.py summary SESSION.sqlite`` prints, as JSON, the counts (killed, survived,
equivalent, skipped, total) and each survivor's diff, for the triage in docs/conformance.md.

``python tools/mutation.py serve SOCKET`` imports pytest, Hypothesis, anyio, trio, httpx and
meshkit's kit once (never ``meshkit.connectors``, where the mutants are), then runs each test
request in a forked child; ``python tools/mutation.py run SOCKET -- PYTEST-ARGS`` is the test
command that sends one. A mutant's run then costs its tests, not the imports: on two shared
cores that is several times faster.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the test client must start fast: cosmic-ray is imported only where needed
    from cosmic_ray.work_db import WorkDB

EQUIVALENT = "equivalent: inside an annotation, never evaluated (from __future__ import annotations)"
UNREACHED = "not reached: a shared helper that this connector does not call"

Span = tuple[tuple[int, int], tuple[int, int]]


def _annotation_nodes(tree: ast.Module) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            yield node.annotation
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            yield node.returns


@cache
def _annotation_spans(path: Path) -> tuple[Span, ...]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy = any(
        isinstance(n, ast.ImportFrom)
        and n.module == "__future__"
        and "annotations" in {a.name for a in n.names}
        for n in tree.body
    )
    if not lazy:
        return ()
    return tuple(
        ((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0))
        for a in _annotation_nodes(tree)
    )


def _spans_of(path: Path) -> tuple[Span, ...]:
    return _annotation_spans(Path(path))


def skip_annotations(db: WorkDB) -> int:
    """Mark every mutant inside a lazy annotation as skipped; return how many."""
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    skipped = 0
    for item in db.pending_work_items:
        inside = all(
            any(
                start <= tuple(m.start_pos) and tuple(m.end_pos) <= end
                for start, end in _spans_of(m.module_path)
            )
            for m in item.mutations
        )
        if item.mutations and inside:
            db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=EQUIVALENT))
            skipped += 1
    return skipped


def skip_definitions(db: WorkDB, names: set[str]) -> int:
    """Mark the mutants inside the functions ``names`` (shared helpers other connectors use) as skipped."""
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    skipped = 0
    for item in db.pending_work_items:
        if item.mutations and all((m.definition_name or "") in names for m in item.mutations):
            db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=UNREACHED))
            skipped += 1
    return skipped


def summary(db: WorkDB) -> dict[str, Any]:
    """Counts by outcome, and the survivors with their diffs."""
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    counts = {
        "killed": 0,
        "survived": 0,
        "equivalent": 0,
        "unreached": 0,
        "skipped": 0,
        "pending": 0,
        "total": 0,
    }
    survivors: list[dict[str, Any]] = []
    done = dict((item.job_id, result) for item, result in db.completed_work_items)
    for item in db.work_items:
        counts["total"] += 1
        result = done.get(item.job_id)
        if result is None:
            counts["pending"] += 1
        elif result.worker_outcome == WorkerOutcome.SKIPPED:
            kind = {EQUIVALENT: "equivalent", UNREACHED: "unreached"}.get(result.output or "", "skipped")
            counts[kind] += 1
        elif result.test_outcome == TestOutcome.SURVIVED:
            counts["survived"] += 1
            m = item.mutations[0]
            where = {"module": Path(m.module_path).name, "line": m.start_pos[0]}
            survivors.append(
                {**where, "operator": m.operator_name, "occurrence": m.occurrence, "diff": result.diff}
            )
        else:
            counts["killed"] += 1
    survivors.sort(key=lambda s: (s["module"], s["line"], s["operator"], s["occurrence"]))
    return {"counts": counts, "survivors": survivors}


#: Imported by the server before it forks: everything a suite run needs but the connectors.
PRELOAD = (
    "pytest",
    "hypothesis",
    "hypothesis.stateful",
    "anyio",
    "anyio.pytest_plugin",
    "trio",
    "httpx",
    "meshkit.plugins",
    "meshkit.testing.plugin",
    "meshkit.testing.base",
    "meshkit.testing.collected",
)

#: A child still running after this many seconds is ended (cosmic-ray's own timeout is longer).
CHILD_TIMEOUT = 200


def serve(path: str) -> None:
    """Answer test requests on the Unix socket ``path`` until killed, one forked child each."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    assert not any(n.startswith("meshkit.connectors") for n in sys.modules), "a connector was preloaded"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    print(f"mutation test server ready on {path}", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            request = json.loads(conn.makefile().readline())
            pid = os.fork()
            if pid == 0:
                _child(conn, request)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            conn.sendall(f"\nexit {code}\n".encode())


def _child(conn: socket.socket, request: dict[str, Any]) -> None:
    code = 3
    try:
        signal.alarm(CHILD_TIMEOUT)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        out = conn.makefile("w", buffering=1)
        sys.stdout = sys.stderr = out
        import pytest

        code = int(pytest.main(request["args"]))
        out.flush()
    finally:
        os._exit(code)


def run(path: str, args: list[str]) -> int:
    """Send one test request to the server; print its output; return its exit code."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(path)
    request = {"cwd": os.getcwd(), "env": dict(os.environ), "args": args}
    client.sendall((json.dumps(request) + "\n").encode())
    output = b""
    while chunk := client.recv(65536):
        output += chunk
    text = output.decode(errors="replace")
    body, _, last = text.rstrip().rpartition("\n")
    sys.stdout.write(body + "\n")
    return int(last.removeprefix("exit ")) if last.startswith("exit ") else 3


def main(argv: list[str]) -> int:
    command, path = argv[0], argv[1]
    if command == "serve":
        serve(path)
        return 0
    if command == "run":
        rest = argv[2:]
        return run(path, rest[1:] if rest[:1] == ["--"] else rest)
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(path, WorkDB.Mode.open) as db:
        if command == "skip-annotations":
            print(f"{skip_annotations(db)} mutants inside annotations marked equivalent")
        elif command == "skip-definitions":
            print(f"{skip_definitions(db, set(argv[2:]))} mutants in helpers this connector does not call")
        elif command == "summary":
            print(json.dumps(summary(db), indent=2))
        else:
            print(f"unknown command {command!r}: skip-annotations or summary", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
