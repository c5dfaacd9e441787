"""Project sessions (`nox -s <name>`): tests, lint, typecheck, template, conformance, bench."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, as CI runs it."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy (strict) on the kit and the built-in connectors."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def template(session: nox.Session) -> None:
    """The connector template: render every type, install it in a fresh environment, run its tests."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", "tests/scaffold", *session.posargs)


#: Prints the id of every connector meshkit itself provides, as a JSON list.
_BUILTIN_IDS = (
    "import json; from meshkit.plugins import BUILTIN_PLUGIN, get_registry; "
    "print(json.dumps([e.connector_id for e in get_registry() if e.plugin == BUILTIN_PLUGIN]))"
)


@nox.session
def conformance(session: nox.Session) -> None:
    """Every built-in connector through the conformance suite, each of them required to be certified."""
    session.install("-e", ".[dev]")
    ids = json.loads(session.run("python", "-c", _BUILTIN_IDS, silent=True) or "[]")
    if not ids:
        session.error("no built-in connectors found; is meshkit installed in this session?")
    # From an empty folder, as a connector author runs it: the suite comes from the installed package.
    folder = Path(session.create_tmp()) / "conformance"
    folder.mkdir(exist_ok=True)
    with session.chdir(folder):
        connectors = (f"--connector={cid}" for cid in ids)
        session.run("python", "-m", "pytest", "--require-certified", *connectors, *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks in bench/; their figures go into docs/performance.md."""
    session.install("-e", ".[dev]")
    for script in sorted(Path("bench").glob("[!_]*.py")):
        session.run("python", str(script), *session.posargs)


#: One built-in connector of every type: the modules whose mutants the suite must kill, and the
#: id ``pytest --connector`` runs. Small modules keep each type's session within minutes.
MUTATION_TARGETS: dict[str, tuple[tuple[str, ...], str]] = {
    "provider": (("connectors/providers/openai_compatible.py",), "meshkit.openai-compatible.v1"),
    "rotation": (
        ("connectors/rotation/round_robin.py", "connectors/rotation/_common.py"),
        "meshkit.round-robin.v1",
    ),
    "storage": (("connectors/storage/memory.py",), "meshkit.memory.v1"),
    "secret_store": (
        ("connectors/secret_stores/memory.py", "connectors/secret_stores/names.py"),
        "meshkit.memory-secrets.v1",
    ),
    "observability": (("connectors/observability/jsonl.py",), "meshkit.jsonl.v1"),
    "discovery": (
        ("connectors/discovery/static.py", "connectors/discovery/_results.py"),
        "meshkit.static.v1",
    ),
}

#: Shared helpers in those modules that the connector tested never calls (other policies use them).
_UNREACHED = {"rotation": ("find_active", "most_preferred")}

#: Operators left out: swaps into shifts, bit operations, powers and modulo say nothing a swap
#: into + - * / does not, and the variable inserter/replacer mostly make equivalent mutants.
_SKIPPED_OPERATORS = [
    r"core/ReplaceBinaryOperator_\w+_(Pow|RShift|LShift|BitOr|BitAnd|BitXor|FloorDiv|Mod)$",
    r"core/VariableInserter",
    r"core/VariableReplacer",
]


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutants of one built-in connector per type, each run through ``pytest --connector``.

    ``nox -s mutation`` runs every type; ``nox -s mutation -- rotation storage`` some of them.
    cosmic-ray mutates a copy of the tracked files in place (installed editable in this
    session), so the work tree is never touched. Results: ``.nox/mutation/tmp/<type>.json``.
    """
    import shutil
    import subprocess

    unknown = sorted(set(session.posargs) - set(MUTATION_TARGETS))
    if unknown:
        session.error(f"unknown types {unknown}; choose from {', '.join(MUTATION_TARGETS)}")
    kinds = session.posargs or list(MUTATION_TARGETS)
    tmp = Path(session.create_tmp()).resolve()
    copy = tmp / "src"
    shutil.rmtree(copy, ignore_errors=True)
    tracked = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and Path(name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(name, copy / name)
    session.install("cosmic-ray>=8.4", "-e", f"{copy}[testing]")
    empty = tmp / "run"
    empty.mkdir(exist_ok=True)
    # The suite as a connector author runs it, cut short: asyncio only, stop at the first failure,
    # no shrinking, no plugin that is not needed.
    session.env["MESHKIT_CONFORMANCE_PROFILE"] = "smoke"
    session.env.pop("PYTEST_ADDOPTS", None)
    session.env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant of the same size must never meet a stale .pyc
    helper = str(copy / "tools" / "mutation.py")
    # One server imports the test stack once and forks a child per mutant's test run.
    socket_path = str(tmp / "tests.sock")
    server = subprocess.Popen(
        [str(Path(session.bin) / "python"), helper, "serve", socket_path],
        cwd=empty,
        env={**os.environ, **{k: v for k, v in session.env.items() if v is not None}},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        session.log(server.stdout.readline().strip())
        results = {kind: _mutate(session, kind, tmp, copy, empty, helper, socket_path) for kind in kinds}
    finally:
        server.terminate()
        server.wait(timeout=30)
    session.log("type            killed  survived  equivalent  (mutants run / made)")
    for kind, counts in results.items():
        ran = counts["killed"] + counts["survived"]
        session.log(
            f"{kind:14} {counts['killed']:7} {counts['survived']:9} {counts['equivalent']:11}"
            f"  ({ran} / {counts['total']})"
        )


def _mutate(
    session: nox.Session, kind: str, tmp: Path, copy: Path, empty: Path, helper: str, socket_path: str
) -> dict[str, int]:
    """One type's cosmic-ray session: make the mutants, run the suite on each, count."""
    modules, connector_id = MUTATION_TARGETS[kind]
    config, db = tmp / f"{kind}.toml", tmp / f"{kind}.sqlite"
    db.unlink(missing_ok=True)
    test = (
        f"python {helper} run {socket_path} -- -x -q -p no:cacheprovider -p no:cov -p no:randomly "
        f"--connector={connector_id} -k 'not trio'"
    )
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps([str(copy / m) for m in modules])}\n"
        "timeout = 240.0\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(test)}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(_SKIPPED_OPERATORS)}\n"
    )
    with session.chdir(empty):
        session.run("cosmic-ray", "init", str(config), str(db))
        session.run("cr-filter-operators", str(db), str(config))
        session.run("python", helper, "skip-annotations", str(db))
        if kind in _UNREACHED:
            session.run("python", helper, "skip-definitions", str(db), *_UNREACHED[kind])
        session.run("cosmic-ray", "baseline", str(config))
        session.run("cosmic-ray", "exec", str(config), str(db))
        found = session.run("python", helper, "summary", str(db), silent=True) or "{}"
    (tmp / f"{kind}.json").write_text(str(found))
    counts: dict[str, int] = json.loads(str(found))["counts"]
    session.log(f"{kind} ({', '.join(modules)}): {counts}")
    return counts
