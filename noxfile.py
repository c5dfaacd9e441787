"""Project sessions (`nox -s <name>`): tests, lint, typecheck, template, conformance, bench."""

from __future__ import annotations

import json
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
    """mypy (strict) on the kit."""
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


#: One built-in connector of every type: the module whose mutants the suite must kill, and the id
#: ``pytest --connector`` runs. Small modules keep each type's session within minutes.
MUTATION_TARGETS = {
    "provider": ("connectors/providers/openai_compatible.py", "meshkit.openai-compatible.v1"),
    "rotation": ("connectors/rotation/round_robin.py", "meshkit.round-robin.v1"),
    "storage": ("connectors/storage/memory.py", "meshkit.memory.v1"),
    "secret_store": ("connectors/secret_stores/memory.py", "meshkit.memory-secrets.v1"),
    "observability": ("connectors/observability/callback.py", "meshkit.callback.v1"),
    "discovery": ("connectors/discovery/static.py", "meshkit.static.v1"),
}

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
    summary: dict[str, dict[str, int]] = {}
    for kind in kinds:
        module, connector_id = MUTATION_TARGETS[kind]
        config = tmp / f"{kind}.toml"
        db = tmp / f"{kind}.sqlite"
        db.unlink(missing_ok=True)
        test = (
            "python -m pytest -x -q -p no:cacheprovider -p no:cov -p no:randomly "
            f"--connector={connector_id} -k 'not trio'"
        )
        config.write_text(
            "[cosmic-ray]\n"
            f'module-path = "{copy / module}"\n'
            "timeout = 240.0\n"
            "excluded-modules = []\n"
            f'test-command = "{test}"\n\n'
            "[cosmic-ray.distributor]\n"
            'name = "local"\n\n'
            "[cosmic-ray.filters.operators-filter]\n"
            f"exclude-operators = {json.dumps(_SKIPPED_OPERATORS)}\n"
        )
        with session.chdir(empty):
            session.run("cosmic-ray", "init", str(config), str(db))
            session.run("cr-filter-operators", str(db), str(config))
            session.run("cosmic-ray", "baseline", str(config))
            session.run("cosmic-ray", "exec", str(config), str(db))
            session.run("cr-report", "--show-pending", str(db))
            dump = session.run("cosmic-ray", "dump", str(db), silent=True) or ""
        summary[kind] = _mutation_counts(dump)
        (tmp / f"{kind}.json").write_text(dump)
        session.log(f"{kind} ({module}): {summary[kind]}")
    for kind, counts in summary.items():
        session.log(
            f"{kind:14} killed {counts['killed']:4}  survived {counts['survived']:4}  of {counts['total']}"
        )


def _mutation_counts(dump: str) -> dict[str, int]:
    """Killed / survived / total from ``cosmic-ray dump`` (one JSON ``[work item, result]`` a line)."""
    counts = {"killed": 0, "survived": 0, "total": 0}
    for line in dump.splitlines():
        if not line.strip():
            continue
        _, result = json.loads(line)
        counts["total"] += 1
        if result and result.get("test_outcome") == "survived":
            counts["survived"] += 1
        elif result:
            counts["killed"] += 1
    return counts
