"""``meshkit new``: ask for what the command line left out, then generate a connector package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..enums import ConnectorType
from ..errors import MeshkitError, ScaffoldError
from ._common import Subparsers
from .scaffold import ConnectorPackage, plan, render

__all__ = ["add_parser", "run", "run_new"]


def add_parser(sub: Subparsers) -> None:
    """Add ``new`` to the ``meshkit`` subcommands."""
    p = sub.add_parser("new", help="create a connector package that already passes the conformance suite")
    p.add_argument("type", help=f"connector type: {', '.join(t.value for t in ConnectorType)}")
    p.add_argument("name", help="connector name: lowercase letters, digits, hyphens (e.g. acme)")
    p.add_argument("--vendor", help="first part of the connector id <vendor>.<name>.v1 (default: the name)")
    p.add_argument("--output-dir", default=".", help="where to create meshkit-<name>/ (default: .)")
    p.add_argument("--no-input", action="store_true", help="ask nothing; use the defaults")
    p.add_argument("--overwrite", action="store_true", help="write over an existing meshkit-<name>/")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the connector-package template."""
    return run_new(
        args.type,
        args.name,
        vendor=args.vendor,
        output_dir=args.output_dir,
        no_input=args.no_input,
        overwrite=args.overwrite,
    )


def name_clashes(name: str) -> list[str]:
    """Installed connectors whose bare name is ``name`` (``--connector=<name>`` would be ambiguous)."""
    from ..plugins import get_registry

    try:
        registry = get_registry()
    except MeshkitError:  # strict plugin loading failed: the clash check is only advice
        return []
    return sorted(e.connector_id for e in registry if e.connector_id.split(".")[1] == name)


Prompt = Callable[[str, str], str]


def _ask(question: str, default: str) -> str:
    try:
        answer = input(f"{question} [{default}]: " if default else f"{question}: ")
    except EOFError:
        return default
    return answer.strip() or default


def run_new(
    connector_type: str,
    name: str,
    *,
    vendor: str | None = None,
    output_dir: str = ".",
    no_input: bool = False,
    overwrite: bool = False,
    ask: Prompt = _ask,
) -> int:
    """What ``meshkit new`` does; returns the exit status (0, 1 on failure, 2 on bad input)."""
    try:
        package = plan(connector_type, name, vendor=vendor)
        if not no_input:
            package = _interview(package, ask)
        clashes = name_clashes(package.name)
        path = render(package, output_dir, overwrite=overwrite)
    except ScaffoldError as exc:
        print(f"meshkit new: error: {exc}", file=sys.stderr)
        return exc.exit_status
    _report(package, path, clashes)
    return 0


def _interview(package: ConnectorPackage, ask: Prompt) -> ConnectorPackage:
    """Ask for what the command line did not give; ask again after an invalid answer."""
    answers: dict[str, Any] = {"vendor": package.vendor, "description": package.description, "author": ""}
    questions = (
        ("vendor", "Vendor (the connector id is <vendor>.<name>.v1)"),
        ("description", "One-line description"),
        ("author", "Author (optional)"),
    )
    for key, question in questions:
        while True:
            trial = {**answers, key: ask(question, answers[key])}
            try:
                plan(package.connector_type.value, package.name, **trial)
            except ScaffoldError as exc:
                print(f"  {exc}", file=sys.stderr)
                continue
            answers = trial
            break
    return plan(package.connector_type.value, package.name, **answers)


def _report(package: ConnectorPackage, path: Path, clashes: Sequence[str]) -> None:
    print(
        f"Created {path}: {package.connector_type.value} connector {package.connector_id} "
        f"(class {package.class_name} in {package.package_name})"
    )
    print(
        "\nNext:\n"
        f"  cd {path}\n"
        '  pip install -e ".[test]"\n'
        f"  pytest --connector={package.name}\n\n"
        "The skeleton already passes the conformance suite; fill in the places marked REPLACE "
        "(README.md says what each one is)."
    )
    if clashes:
        print(
            f"\nwarning: installed connector(s) {', '.join(clashes)} share the name {package.name!r}: "
            f"`pytest --connector={package.name}` will be ambiguous; use --connector={package.connector_id}",
            file=sys.stderr,
        )
