"""The layers of docs/architecture.md, checked against the imports the code really makes.

Every ``import`` and ``from … import`` counts wherever it sits: at module level, under
``TYPE_CHECKING`` or inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import attrs
import pytest

REPO = Path(__file__).resolve().parents[2]

#: Bottom to top: a module may import its own layer and the layers below it, never one above.
LAYERS = ("foundation", "interfaces", "plugins", "runtime", "serve", "testing", "cli")

#: The modules of ``meshkit`` everything else builds on.
FOUNDATION = frozenset(
    {
        "enums",
        "types",
        "errors",
        "events",
        "config",
        "clock",
        "connector",
        "hookspecs",
        "serialization",
        "trusted",
    }
)

#: The public surfaces: applications use ``meshkit``; connectors also ``meshkit.interfaces``, and
#: ``meshkit.testing`` for their conformance specs. What lies behind them is private.
SURFACES = ("meshkit", "meshkit.interfaces", "meshkit.testing")

#: Where each import root lives in the checkout (most specific first).
ROOTS = {"meshkit.connectors": REPO / "connectors", "meshkit": REPO / "cdk"}

TEMPLATE = REPO / "templates" / "connector"


@attrs.frozen
class Import:
    """One imported meshkit module, the names taken from it, and where the import is written."""

    source: Path
    line: int
    importer: str
    target: str
    names: tuple[str, ...] = ()

    def where(self) -> str:
        return f"{self.source.relative_to(REPO)}:{self.line}"


def module_name(path: Path, root: Path, package: str) -> str:
    """``cdk/runtime/mesh.py`` → ``meshkit.runtime.mesh``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


@cache
def is_module(name: str) -> bool:
    """True when ``name`` is a module or package of this checkout."""
    for package, root in ROOTS.items():
        if name == package or name.startswith(package + "."):
            base = root.joinpath(*name[len(package) :].split(".")[1:])
            return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()
    return False


def untemplated(text: str) -> str:
    """A template file with its Jinja tags blanked out, so that ``ast`` can read it."""
    text = re.sub(r"\{\{.*?\}\}", lambda m: "X" * len(m.group(0)), text)
    return re.sub(r"\{%.*?%\}", lambda m: " " * len(m.group(0)), text)


def imports_of(source: Path, importer: str, text: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every meshkit module ``text`` imports, with relative imports resolved against ``importer``."""
    package = importer if is_package else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(text, filename=str(source))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(source, node.lineno, importer, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names = tuple(alias.name for alias in node.names)
            submodules = [f"{module}.{n}" for n in names if is_module(f"{module}.{n}")]
            # ``from meshkit.cli import demo`` imports the module meshkit.cli.demo.
            for submodule in submodules:
                yield Import(source, node.lineno, importer, submodule)
            if len(submodules) < len(names):
                yield Import(source, node.lineno, importer, module, names)


def meshkit_imports(found: Iterable[Import]) -> list[Import]:
    return [i for i in found if i.target == "meshkit" or i.target.startswith("meshkit.")]


def imports_under(folder: Path, package: str) -> list[Import]:
    found: list[Import] = []
    for path in sorted(folder.rglob("*.py")):
        name = module_name(path, folder, package)
        text = path.read_text(encoding="utf-8")
        found.extend(imports_of(path, name, text, is_package=path.name == "__init__.py"))
    return meshkit_imports(found)


def layer_of(module: str) -> str:
    """The layer of a module of ``meshkit`` (not of the package itself, nor of a connector)."""
    head = module.split(".")[1]
    if head in FOUNDATION:
        return "foundation"
    if head == "__main__":
        return "cli"
    if head in LAYERS:
        return head
    raise AssertionError(
        f"{module} belongs to no layer: place it in FOUNDATION or LAYERS in tests/core/test_layers.py "
        "and in the layers of docs/architecture.md"
    )


def layer_problems(found: Iterable[Import]) -> list[str]:
    """One line per import that reaches a layer above its own, or into the built-in connectors."""
    problems = []
    for imp in found:
        if imp.importer == "meshkit":
            continue  # the application surface: it re-exports every layer (the upper ones lazily)
        mine = LAYERS.index(layer_of(imp.importer))
        if imp.target.startswith("meshkit.connectors"):
            problems.append(
                f"{imp.where()}: {imp.importer} imports {imp.target}: the kit never imports a "
                "built-in connector (they are plugins, found through their entry point)"
            )
            continue
        # ``import meshkit`` runs meshkit/__init__.py, which loads the layers up to the plugins.
        target_layer = "plugins" if imp.target == "meshkit" else layer_of(imp.target)
        theirs = LAYERS.index(target_layer)
        if theirs > mine:
            problems.append(
                f"{imp.where()}: {imp.importer} ({LAYERS[mine]} layer) imports {imp.target} "
                f"({target_layer} layer); the {LAYERS[mine]} layer may import only from "
                f"{', '.join(LAYERS[: mine + 1])}"
            )
    return problems


@cache
def surface_names(surface: str) -> frozenset[str]:
    """The ``__all__`` of a public surface, read from its source."""
    base = ROOTS["meshkit"].joinpath(*surface.split(".")[1:])
    tree = ast.parse((base / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return frozenset(ast.literal_eval(node.value))
    raise AssertionError(f"{surface} has no __all__")


def surface_problems(found: Iterable[Import], *, own: str | None) -> list[str]:
    """One line per import of a connector that goes past the public surfaces."""
    problems = []
    for imp in found:
        if own is not None and (imp.target == own or imp.target.startswith(own + ".")):
            continue  # a connector subpackage's own modules
        if imp.target.startswith("meshkit.connectors"):
            problems.append(
                f"{imp.where()}: {imp.importer} imports {imp.target}: a connector subpackage imports "
                "only its own modules (share code through meshkit.interfaces instead)"
            )
            continue
        if imp.target not in SURFACES:
            public = [s for s in SURFACES if all(n in surface_names(s) for n in imp.names)] or SURFACES
            problems.append(
                f"{imp.where()}: {imp.importer} imports {imp.target}, which is private to meshkit; "
                f"import {', '.join(imp.names) or 'it'} from {' or '.join(public)}"
            )
            continue
        # A name the template fills in (the suite class) is blanked out; the scaffold tests run it.
        missing = [n for n in imp.names if n not in surface_names(imp.target) and set(n) != {"X"}]
        if missing:
            problems.append(
                f"{imp.where()}: {imp.importer} imports {', '.join(missing)} from {imp.target}, "
                f"which does not export it (add it to {imp.target}.__all__ if it is public)"
            )
    return problems


def own_package(importer: str) -> str:
    """The connector subpackage a module belongs to; ``meshkit.connectors`` for the plugin itself."""
    parts = importer.split(".")
    if len(parts) >= 3 and (ROOTS["meshkit.connectors"] / parts[2] / "__init__.py").is_file():
        return ".".join(parts[:3])
    return "meshkit.connectors"


# --- the kit -------------------------------------------------------------------------------


def test_every_module_of_the_kit_belongs_to_a_layer() -> None:
    for path in ROOTS["meshkit"].rglob("*.py"):
        name = module_name(path, ROOTS["meshkit"], "meshkit")
        if name != "meshkit":
            assert layer_of(name) in LAYERS


def test_each_layer_imports_only_itself_and_the_layers_below() -> None:
    problems = layer_problems(imports_under(ROOTS["meshkit"], "meshkit"))
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_the_runtime_never_imports_the_testing_kit_even_lazily() -> None:
    found = imports_under(ROOTS["meshkit"], "meshkit")
    runtime = [i for i in found if i.importer != "meshkit" and layer_of(i.importer) == "runtime"]
    assert runtime, "the runtime's imports were not found"
    assert not [i.where() for i in runtime if i.target.startswith("meshkit.testing")]


# --- connectors and the template --------------------------------------------------------------


def test_built_in_connectors_import_only_the_public_surfaces() -> None:
    found = imports_under(ROOTS["meshkit.connectors"], "meshkit.connectors")
    problems = [p for imp in found for p in surface_problems([imp], own=own_package(imp.importer))]
    assert found, "the connectors' imports were not found"
    assert not problems, "connectors reaching behind the public surfaces:\n" + "\n".join(problems)


def test_the_connector_template_imports_only_the_public_surfaces() -> None:
    found: list[Import] = []
    for path in sorted(TEMPLATE.rglob("*.py")):
        text = untemplated(path.read_text(encoding="utf-8"))
        found.extend(imports_of(path, "generated", text))
    found = meshkit_imports(found)
    assert found, "the template's imports were not found"
    problems = surface_problems(found, own=None)
    assert not problems, "the template reaching behind the public surfaces:\n" + "\n".join(problems)


# --- the checker itself -----------------------------------------------------------------------


def check(module: str, text: str) -> list[str]:
    source = ROOTS["meshkit"] / "example.py"
    return layer_problems(meshkit_imports(imports_of(source, module, text)))


def test_an_upward_import_is_reported_with_the_module_and_the_line() -> None:
    problems = check("meshkit.interfaces.example", "import os\n\nfrom ..runtime.mesh import Mesh\n")
    assert problems == [
        "cdk/example.py:3: meshkit.interfaces.example (interfaces layer) imports meshkit.runtime.mesh "
        "(runtime layer); the interfaces layer may import only from foundation, interfaces"
    ]


def test_a_lazy_import_inside_a_function_counts() -> None:
    text = "def demo():\n    from meshkit.testing.mock_server import MockOpenAIServer\n"
    assert "imports meshkit.testing.mock_server (testing layer)" in check("meshkit.runtime.x", text)[0]


def test_a_submodule_imported_by_name_is_judged_as_that_module() -> None:
    assert check("meshkit.plugins", "from . import errors\n") == []
    assert "imports meshkit.cli.demo (cli layer)" in check("meshkit.plugins", "from .cli import demo\n")[0]


def test_importing_a_private_module_from_a_connector_names_the_surface_to_use() -> None:
    source = ROOTS["meshkit.connectors"] / "example.py"
    text = "from meshkit.interfaces.storage import Storage\nfrom meshkit.runtime.mesh import Mesh\n"
    found = meshkit_imports(imports_of(source, "meshkit.connectors.storage.example", text))
    problems = surface_problems(found, own="meshkit.connectors.storage")
    assert problems[0].endswith(
        "which is private to meshkit; import Storage from meshkit or meshkit.interfaces"
    )
    assert "meshkit.runtime.mesh, which is private to meshkit; import Mesh from meshkit" in problems[1]


@pytest.mark.parametrize("surface", SURFACES)
def test_each_surface_lists_its_names(surface: str) -> None:
    assert surface_names(surface)
