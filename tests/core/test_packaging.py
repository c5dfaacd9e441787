"""One distribution, ``meshkit``: cdk/ is ``meshkit``, connectors/ is ``meshkit.connectors``."""

from __future__ import annotations

import configparser
import email.parser
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import meshkit
import meshkit.connectors

from .conftest import REPO_ROOT, BuiltWheel

#: Source folder → the import name it is installed as.
PACKAGE_ROOTS = {"cdk": "meshkit", "connectors": "meshkit.connectors"}

#: What every user installs; everything else is an extra.
RUNTIME_DEPENDENCIES = {"anyio", "attrs", "cattrs", "httpx", "pluggy", "pyyaml", "sniffio"}


def package_folders(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Every directory under cdk/ or connectors/ holding an __init__.py, by dotted import name."""
    found: dict[str, Path] = {}
    for folder, import_name in PACKAGE_ROOTS.items():
        base = root / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if any(part.startswith((".", "__")) for part in rel.parts):
                continue
            found[".".join([import_name, *rel.parts])] = init.parent
    return found


def missing_from_wheel(names: Iterable[str], packages: Iterable[str]) -> list[str]:
    """The packages whose ``__init__.py`` the wheel's file list lacks."""
    listed = set(names)
    return sorted(p for p in packages if p.replace(".", "/") + "/__init__.py" not in listed)


def test_import_names_map_to_the_source_folders() -> None:
    assert Path(meshkit.__file__).resolve().parent == REPO_ROOT / "cdk"
    assert Path(meshkit.connectors.__file__).resolve().parent == REPO_ROOT / "connectors"


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    package_dir: dict[str, str] = setuptools["package-dir"]
    assert {k: package_dir.get(k) for k in PACKAGE_ROOTS.values()} == {v: k for k, v in PACKAGE_ROOTS.items()}
    listed = set(setuptools["packages"])
    folders = set(package_folders())
    assert not folders - listed, (
        f"package folders missing from [tool.setuptools] packages: {sorted(folders - listed)}"
    )
    for package in sorted(listed):
        assert source_folder(package, package_dir).is_dir(), f"{package} is listed but has no folder"


def source_folder(package: str, package_dir: dict[str, str]) -> Path:
    """Where setuptools takes ``package`` from: the longest ``package-dir`` prefix decides."""
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in package_dir:
            return REPO_ROOT / package_dir[prefix] / Path(*parts[cut:])
    return REPO_ROOT / Path(*parts)


def test_the_wheel_check_catches_a_missing_package() -> None:
    names = ["meshkit/__init__.py", "meshkit/connectors/__init__.py"]
    assert missing_from_wheel(names, ["meshkit", "meshkit.connectors"]) == []
    assert missing_from_wheel(names, ["meshkit", "meshkit.connectors.storage"]) == [
        "meshkit.connectors.storage"
    ]


def test_project_metadata() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "meshkit"
    assert project["version"] == meshkit.__version__
    assert project["entry-points"]["meshkit"] == {"meshkit": "meshkit.connectors._plugin"}
    assert project["scripts"] == {"meshkit": "meshkit.cli:main"}


@pytest.fixture(scope="module")
def wheel(meshkit_wheel: BuiltWheel) -> zipfile.ZipFile:
    return zipfile.ZipFile(meshkit_wheel.path)


@pytest.fixture(scope="module")
def built_from(meshkit_wheel: BuiltWheel) -> dict[str, Path]:
    """The package folders of the tree the wheel was built from (a copy of the checkout)."""
    return package_folders(meshkit_wheel.source)


@pytest.mark.slow
class TestWheel:
    def test_holds_every_package_folder(self, wheel: zipfile.ZipFile, built_from: dict[str, Path]) -> None:
        assert set(built_from) == set(package_folders()), "the copy of the checkout is incomplete"
        missing = missing_from_wheel(wheel.namelist(), built_from)
        assert not missing, f"package folders missing from the wheel: {missing}"

    def test_holds_every_module_of_every_package(
        self, wheel: zipfile.ZipFile, built_from: dict[str, Path]
    ) -> None:
        names = set(wheel.namelist())
        for import_name, folder in built_from.items():
            for module in folder.glob("*.py"):
                assert f"{import_name.replace('.', '/')}/{module.name}" in names

    def test_is_typed(self, wheel: zipfile.ZipFile) -> None:
        assert "meshkit/py.typed" in wheel.namelist()

    def test_installs_only_under_the_meshkit_name(self, wheel: zipfile.ZipFile) -> None:
        # `cdk` and `connectors` are other projects' names on PyPI.
        tops = {name.split("/", 1)[0] for name in wheel.namelist()}
        assert tops == {"meshkit", f"meshkit-{meshkit.__version__}.dist-info"}

    def test_declares_the_entry_points(self, wheel: zipfile.ZipFile) -> None:
        parser = configparser.ConfigParser()
        parser.read_string(wheel.read(f"meshkit-{meshkit.__version__}.dist-info/entry_points.txt").decode())
        assert dict(parser["meshkit"]) == {"meshkit": "meshkit.connectors._plugin"}
        assert dict(parser["console_scripts"]) == {"meshkit": "meshkit.cli:main"}
        assert dict(parser["pytest11"]) == {"meshkit": "meshkit.testing.plugin"}

    def test_runtime_dependencies_stay_few(self, wheel: zipfile.ZipFile) -> None:
        metadata = email.parser.Parser().parsestr(
            wheel.read(f"meshkit-{meshkit.__version__}.dist-info/METADATA").decode()
        )
        requirements = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
        runtime = {canonicalize_name(r.name) for r in requirements if r.marker is None}
        assert runtime == RUNTIME_DEPENDENCIES
