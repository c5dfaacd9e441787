"""Generated packages, installed for real, pass the conformance suite and their own tests.

meshkit's wheel is built from a clean copy of the checkout and installed into a fresh
virtual environment; that environment's own ``meshkit new`` (the template shipped in
the wheel) renders one package of every type, plus one that is deliberately broken.
Their wheels are installed next to meshkit, and ``pytest --connector=<name>`` runs
there from an empty folder, as a connector author would run it.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from meshkit.enums import ConnectorType
from meshkit.testing.venvs import ThrowawayVenv, build_wheels, child_env, copy_source_tree, run

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Distinct names, none shared with a built-in connector, so that ``--connector=<name>`` is unambiguous.
NAMES = {
    ConnectorType.PROVIDER: "skel-llm",
    ConnectorType.ROTATION: "skel-rotation",
    ConnectorType.SECRET_STORE: "skel-vault",
    ConnectorType.STORAGE: "skel-kv",
    ConnectorType.OBSERVABILITY: "skel-sink",
    ConnectorType.DISCOVERY: "skel-catalog",
}
BROKEN = "skel-broken-kv"


class Installed(NamedTuple):
    """The environment and what went into it."""

    venv: ThrowawayVenv
    meshkit_wheel: Path
    projects: dict[str, Path]
    work: Path


def break_listing(project: Path) -> None:
    """Make a generated storage list its keys in insertion order instead of sorted."""
    connector = project / "src" / "meshkit_skel_broken_kv" / "connector.py"
    text = connector.read_text(encoding="utf-8")
    right = "return sorted(key for key in self._data if key.startswith(prefix))"
    assert right in text, "the storage skeleton changed; update this test's deliberate bug"
    connector.write_text(text.replace(right, "return [key for key in self._data if key.startswith(prefix)]"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("scaffold")
    [meshkit_wheel] = build_wheels([copy_source_tree(REPO_ROOT, work / "checkout")], work / "dist")
    venv = ThrowawayVenv(work / "venv")
    venv.install(meshkit_wheel)
    venv.see_packages()  # cookiecutter, pytest, Hypothesis... from the running interpreter
    out = work / "projects"
    kinds = [*((kind.value, name) for kind, name in NAMES.items()), ("storage", BROKEN)]
    # One interpreter renders them all (quicker than a `meshkit` process each), through the CLI.
    calls = "".join(
        f"assert main(['new', {k!r}, {n!r}, '--no-input', '--output-dir', {str(out)!r}]) == 0\n"
        for k, n in kinds
    )
    run([venv.python, "-c", "from meshkit.cli import main\n" + calls])
    projects = {name: out / f"meshkit-{name}" for _, name in kinds}
    break_listing(projects[BROKEN])
    wheels = build_wheels(list(projects.values()), work / "dist")
    assert len(wheels) == len(projects)
    venv.install(*wheels)
    return Installed(venv, meshkit_wheel, projects, work)


def pytest_in(
    installed: Installed, *args: str | Path, cwd: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """The environment's pytest, run in ``cwd``."""
    return subprocess.run(
        [str(installed.venv.python), "-m", "pytest", "-p", "no:cacheprovider", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=child_env(**env),
        timeout=600,
    )


def empty_folder(installed: Installed, name: str) -> Path:
    folder = installed.work / name
    folder.mkdir()
    return folder


# --- the template ships in the wheel ---------------------------------------------------


def test_the_wheel_ships_every_template_file(installed: Installed) -> None:
    with zipfile.ZipFile(installed.meshkit_wheel) as wheel:
        shipped = {n.removeprefix("meshkit/_templates/") for n in wheel.namelist() if "/_templates/" in n}
    source = {
        p.relative_to(REPO_ROOT / "templates").as_posix()
        for p in (REPO_ROOT / "templates").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped == source
    assert "connector/{{cookiecutter.__project_name}}/.github/workflows/ci.yml" in shipped
    assert "connector/hooks/post_gen_project.py" in shipped


def test_meshkit_new_uses_the_template_of_the_installed_package(installed: Installed) -> None:
    code = "from meshkit.cli.scaffold import template_dir; print(template_dir())"
    where = Path(run([installed.venv.python, "-c", code]).stdout.strip())
    assert where == installed.venv.site_packages / "meshkit" / "_templates" / "connector"
    for project in installed.projects.values():
        assert (project / ".github" / "workflows" / "ci.yml").is_file()
        assert not (project / "_skeletons").exists()


# --- the generated packages ---------------------------------------------------------------


def test_meshkit_lists_every_generated_connector(installed: Installed) -> None:
    listing = json.loads(run([installed.venv.script("meshkit"), "connectors", "--json"]).stdout)
    assert listing["failures"] == []
    by_id = {c["id"]: c for c in listing["connectors"]}
    for kind, name in NAMES.items():
        entry = by_id[f"{name}.{name}.v1"]
        assert entry["type"] == kind.value
        assert entry["distribution"] == f"meshkit-{name}" and entry["version"] == "0.1.0"


def test_every_generated_connector_passes_the_conformance_suite(installed: Installed) -> None:
    report_path = installed.work / "conformance.json"
    connectors = [f"--connector={name}" for name in NAMES.values()]
    done = pytest_in(
        installed,
        *connectors,
        "--require-certified",
        f"--conformance-report={report_path}",
        cwd=empty_folder(installed, "suite"),
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    by_id = {c["id"]: c for c in report["connectors"]}
    assert set(by_id) == {f"{name}.{name}.v1" for name in NAMES.values()}
    for kind, name in NAMES.items():
        found = by_id[f"{name}.{name}.v1"]
        assert found["type"] == kind.value
        assert found["distribution"] == f"meshkit-{name}"
        assert found["spec"] == "plugin hook", "the suite must build it from the package's own hook"
        assert found["summary"]["failed"] == 0 and found["summary"]["passed"] > 0, found["summary"]
        gaps = [f"{g['id']}: {g['reason']}" for g in found["verdict"]["gaps"]]
        assert found["verdict"]["status"] == "certified", f"{name} is not certified: {gaps}"


@pytest.mark.parametrize("kind", list(NAMES), ids=lambda k: k.value)
def test_each_generated_package_passes_its_own_tests(installed: Installed, kind: ConnectorType) -> None:
    project = installed.projects[NAMES[kind]]
    done = pytest_in(installed, "-v", cwd=project)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # Its tests include the subclassed conformance suite, under both backends.
    suite_class = "Test" + "".join(p.capitalize() for p in NAMES[kind].split("-"))
    for backend in ("asyncio", "trio"):
        assert f"::test_aclose_twice_is_harmless[{backend}] PASSED" in done.stdout
    assert f"test_conformance.py::{suite_class}" in done.stdout


def test_the_suite_fails_a_broken_generated_package(installed: Installed) -> None:
    report_path = installed.work / "broken.json"
    done = pytest_in(
        installed,
        f"--connector={BROKEN}",
        f"--conformance-report={report_path}",
        cwd=empty_folder(installed, "broken"),
        # Pass or fail is all this needs: no time spent shrinking Hypothesis' counterexample.
        MESHKIT_CONFORMANCE_PROFILE="smoke",
    )
    assert done.returncode == 1, done.stdout[-3000:]
    [found] = json.loads(report_path.read_text(encoding="utf-8"))["connectors"]
    failed = {t["test"] for t in found["tests"] if t["outcome"] == "failed"}
    assert "test_list_filters_by_prefix" in failed, failed
    assert found["passed"] is False
