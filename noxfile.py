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
