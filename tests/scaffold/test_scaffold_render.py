"""``meshkit new`` renders the template: the files, their content, bad input, existing folders."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from meshkit import __version__
from meshkit.cli import main
from meshkit.cli.new import run_new
from meshkit.cli.scaffold import plan, render, template_dir
from meshkit.connector import Connector
from meshkit.enums import ConnectorType
from meshkit.errors import ScaffoldError
from meshkit.interfaces import BASE_BY_TYPE
from meshkit.testing import ConformanceSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMES = {kind: f"demo-{kind.value.replace('_', '-')}" for kind in ConnectorType}

#: Every file of a generated project, whatever its type.
PROJECT_FILES = {
    ".github/workflows/ci.yml",
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "src/{package}/__init__.py",
    "src/{package}/conformance.py",
    "src/{package}/connector.py",
    "src/{package}/plugin.py",
    "src/{package}/py.typed",
    "tests/conftest.py",
    "tests/test_conformance.py",
    "tests/test_connector.py",
    "tests/test_plugin.py",
}


def files_under(root: Path) -> dict[str, bytes]:
    """Every file below ``root``, by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home folder, to see that nothing is written there."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def generated_modules() -> Iterator[None]:
    """Forget the generated packages imported by a test."""
    yield
    for name in [m for m in sys.modules if m.startswith("meshkit_")]:
        del sys.modules[name]


# --- what is generated ---------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ConnectorType), ids=lambda k: k.value)
def test_each_type_renders_a_complete_project(kind: ConnectorType, tmp_path: Path, home: Path) -> None:
    answers = plan(kind.value, NAMES[kind])
    project = render(answers, tmp_path)
    assert project == tmp_path / answers.project_name
    found = files_under(project)
    assert set(found) == {f.format(package=answers.package_name) for f in PROJECT_FILES}
    for path, content in found.items():
        text = content.decode()
        assert "cookiecutter" not in text, f"{path} holds an unrendered template variable"
        if path.endswith(".py"):
            compile(text, path, "exec")
    assert not any(home.iterdir()), "rendering wrote into the home folder"


@pytest.mark.parametrize("kind", list(ConnectorType), ids=lambda k: k.value)
def test_the_skeleton_is_a_valid_connector_of_its_type(
    kind: ConnectorType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generated_modules: None
) -> None:
    answers = plan(kind.value, NAMES[kind], vendor="acme")
    project = render(answers, tmp_path)
    monkeypatch.syspath_prepend(str(project / "src"))
    plugin = importlib.import_module(f"{answers.package_name}.plugin")
    [cls] = plugin.meshkit_connectors()
    assert issubclass(cls, Connector) and issubclass(cls, BASE_BY_TYPE[kind])
    cls.validate_class()
    assert cls.__name__ == answers.class_name
    assert cls.connector_id == f"acme.{NAMES[kind]}.v1"
    assert cls.connector_type is kind
    assert not getattr(cls, "__abstractmethods__", None), f"{cls.__name__} leaves methods abstract"
    assert isinstance(plugin.meshkit_conformance(cls.connector_id), ConformanceSpec)
    assert plugin.meshkit_conformance("someone-else.thing.v1") is None
    package = importlib.import_module(answers.package_name)
    assert getattr(package, answers.class_name) is cls


def test_the_project_declares_the_entry_point_and_its_dependencies(tmp_path: Path) -> None:
    answers = plan("provider", "acme-llm", vendor="acme", description="Acme's LLM API", author="Ada Lovelace")
    project = render(answers, tmp_path)
    config = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    meta = config["project"]
    assert meta["name"] == "meshkit-acme-llm"
    assert meta["description"] == "Acme's LLM API"
    assert meta["authors"] == [{"name": "Ada Lovelace"}]
    assert meta["dependencies"] == [f"meshkit>={__version__}"]
    assert meta["optional-dependencies"]["test"] == [f"meshkit[testing]>={__version__}"]
    assert meta["entry-points"]["meshkit"] == {"acme-llm": "meshkit_acme_llm.plugin"}
    assert config["tool"]["setuptools"]["packages"]["find"] == {"where": ["src"]}


#: The longest answers accepted, with both kinds of quotes in the texts.
LONGEST = {
    "name": "connector-with-a-long-name-xyz12",
    "vendor": "vendor-with-a-very-long-name-123",
    "description": 'The "quoted" connector, with a description that is as long as allowed: 80 chars',
    "author": "Ada O'Lovelace",
}


@pytest.mark.parametrize("longest", [False, True], ids=["usual", "longest"])
@pytest.mark.parametrize("kind", list(ConnectorType), ids=lambda k: k.value)
def test_the_generated_code_is_ruff_clean(kind: ConnectorType, longest: bool, tmp_path: Path) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.is_file():
        pytest.skip("ruff is not installed next to this interpreter (the dev extra brings it)")
    answers = plan(kind.value, **LONGEST) if longest else plan(kind.value, NAMES[kind])
    project = render(answers, tmp_path)
    for command in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        done = subprocess.run([str(ruff), *command], capture_output=True, text=True, cwd=project, timeout=60)
        assert done.returncode == 0, f"ruff {command[0]}:\n{done.stdout}{done.stderr}"


def test_the_ci_workflow_runs_the_suite_and_the_tests(tmp_path: Path) -> None:
    project = render(plan("storage", "kv"), tmp_path)
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["test"]["steps"]
    commands = [step["run"] for step in steps if "run" in step]
    assert any(c.startswith("python -m pytest --connector=kv --require-certified") for c in commands), (
        commands
    )
    assert 'meshkit connectors --type storage | grep -F "kv.kv.v1"' in commands
    assert "python -m pytest" in commands
    assert 'python -m pip install -e ".[test]"' in commands
    # GitHub's own expressions survive the template engine.
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "${{ matrix.python-version }}"


@pytest.mark.parametrize("kind", list(ConnectorType), ids=lambda k: k.value)
def test_the_readme_tells_what_to_fill_in_for_the_type(kind: ConnectorType, tmp_path: Path) -> None:
    answers = plan(kind.value, NAMES[kind])
    project = render(answers, tmp_path)
    readme = (project / "README.md").read_text(encoding="utf-8")
    connector = (project / "src" / answers.package_name / "connector.py").read_text(encoding="utf-8")
    assert f"pytest --connector={answers.name}" in readme
    assert answers.connector_id in readme
    assert "REPLACE" in readme and "REPLACE" in connector
    # Each type's section starts by naming what to change first.
    sections = {
        ConnectorType.PROVIDER: "`connector.py`: the wire format",
        ConnectorType.ROTATION: "`connector.py`: `select`",
        ConnectorType.SECRET_STORE: "`connector.py`: `get`",
        ConnectorType.STORAGE: "`connector.py`: the five calls",
        ConnectorType.OBSERVABILITY: "`connector.py`: the `handle_*` methods",
        ConnectorType.DISCOVERY: "`connector.py`: `sync`",
    }
    assert [k for k, heading in sections.items() if heading in readme] == [kind]


# --- the command line --------------------------------------------------------------


def test_meshkit_new_creates_the_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    status = main(
        ["new", "rotation", "fair", "--vendor", "acme", "--output-dir", str(tmp_path), "--no-input"]
    )
    out = capsys.readouterr().out
    assert status == 0
    project = tmp_path / "meshkit-fair"
    assert 'connector_id = "acme.fair.v1"' in (project / "src/meshkit_fair/connector.py").read_text()
    assert f"Created {project}" in out and "pytest --connector=fair" in out


def test_an_unknown_type_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["new", "widget", "acme", "--output-dir", str(tmp_path / "out"), "--no-input"])
    err = capsys.readouterr().err
    assert status == 2
    assert "unknown connector type 'widget'" in err and "secret_store" in err
    assert not any(tmp_path.iterdir()), "bad input created something"


def test_an_invalid_name_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["new", "provider", "Bad Name!", "--output-dir", str(tmp_path), "--no-input"])
    err = capsys.readouterr().err
    assert status == 2
    assert "invalid name 'Bad Name!'" in err
    assert not any(tmp_path.iterdir()), "bad input created something"


def test_an_existing_project_is_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["new", "storage", "kv", "--output-dir", str(tmp_path), "--no-input"]
    assert main(args) == 0
    project = tmp_path / "meshkit-kv"
    (project / "README.md").write_text("my own notes\n", encoding="utf-8")
    (project / "src/meshkit_kv/backend.py").write_text("# mine\n", encoding="utf-8")
    before = files_under(project)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert files_under(project) == before, "a refused run changed the existing project"


def test_overwrite_writes_the_template_over_it_and_keeps_other_files(tmp_path: Path) -> None:
    args = ["new", "storage", "kv", "--output-dir", str(tmp_path), "--no-input"]
    assert main(args) == 0
    project = tmp_path / "meshkit-kv"
    original = (project / "README.md").read_text(encoding="utf-8")
    (project / "README.md").write_text("my own notes\n", encoding="utf-8")
    (project / "src/meshkit_kv/backend.py").write_text("# mine\n", encoding="utf-8")
    assert main([*args, "--overwrite"]) == 0
    assert (project / "README.md").read_text(encoding="utf-8") == original
    assert (project / "src/meshkit_kv/backend.py").read_text(encoding="utf-8") == "# mine\n"
    assert not (project / "_skeletons").exists()


def test_an_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(ScaffoldError, match="is a file"):
        render(plan("storage", "kv"), target)
    assert target.read_text(encoding="utf-8") == "x"


def test_without_cookiecutter_the_message_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("cookiecutter", "cookiecutter.main", "cookiecutter.exceptions"):
        monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    status = main(["new", "storage", "kv", "--output-dir", str(tmp_path), "--no-input"])
    assert status == 1
    assert "pip install 'meshkit[scaffold]'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_installed_connectors_with_the_same_name_are_pointed_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "storage", "memory", "--output-dir", str(tmp_path), "--no-input"]) == 0
    err = capsys.readouterr().err
    assert "meshkit.memory.v1" in err and "--connector=memory.memory.v1" in err


# --- answering questions -------------------------------------------------------------


def test_without_no_input_it_asks_and_asks_again_after_a_bad_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["Not Valid", "acme-corp", "", "Ada"])
    asked: list[tuple[str, str]] = []

    def ask(question: str, default: str) -> str:
        asked.append((question.split(" ")[0], default))
        return next(answers)

    assert run_new("discovery", "catalog", output_dir=str(tmp_path), ask=ask) == 0
    assert [q for q, _ in asked] == ["Vendor", "Vendor", "One-line", "Author"]
    assert asked[0][1] == "catalog" and asked[1][1] == "catalog", "a bad answer is not offered as the default"
    assert "invalid vendor 'Not Valid'" in capsys.readouterr().err
    project = tmp_path / "meshkit-catalog"
    assert (
        'connector_id = "acme-corp.catalog.v1"' in (project / "src/meshkit_catalog/connector.py").read_text()
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["authors"] == [{"name": "Ada"}]
    assert pyproject["project"]["description"] == "A meshkit discovery connector for catalog"


# --- the plain cookiecutter command ------------------------------------------------------


def _cookiecutter(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "cookiecutter"
    env = {"HOME": str(home), "PATH": str(command.parent), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [str(command), "--no-input", str(template_dir()), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_the_template_is_the_one_in_the_source_tree() -> None:
    assert template_dir() == REPO_ROOT / "templates" / "connector"


def test_plain_cookiecutter_renders_what_meshkit_new_renders(tmp_path: Path, home: Path) -> None:
    plain, ours = tmp_path / "plain", tmp_path / "ours"
    plain.mkdir()
    done = _cookiecutter("connector_type=observability", "name=sink", home=home, cwd=plain)
    assert done.returncode == 0, done.stderr
    render(plan("observability", "sink"), ours)
    expected = files_under(ours / "meshkit-sink")
    found = files_under(plain / "meshkit-sink")
    # Only the meshkit version floor may differ: `meshkit new` puts the running version there.
    assert set(found) == set(expected)
    assert {p for p in found if found[p] != expected[p]} <= {"pyproject.toml"}


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ("name=Bad Name!", "name 'Bad Name!'"),
        ("name=" + "a" * 33, "at most 32 characters"),
        ("vendor=Acme Corp", "vendor 'Acme Corp'"),
        ("description=back\\slash", "description"),
    ],
)
def test_plain_cookiecutter_refuses_what_meshkit_new_refuses(
    answer: str, complaint: str, tmp_path: Path, home: Path
) -> None:
    key, value = answer.split("=", 1)
    with pytest.raises(ScaffoldError):
        plan("storage", **{"name": "kv", key: value})
    out = tmp_path / "out"
    out.mkdir()
    done = _cookiecutter("connector_type=storage", "name=kv", answer, home=home, cwd=out)
    assert done.returncode != 0
    assert complaint in done.stderr
    assert not any(out.iterdir()), "a refused run left files behind"


# --- the documentation -----------------------------------------------------------------


def test_the_documented_error_is_the_real_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = (REPO_ROOT / "docs" / "scaffolding.md").read_text(encoding="utf-8")
    command = '$ meshkit new widget "Bad Name!" --no-input\n'
    assert command in doc
    documented = doc.split(command, 1)[1].split("\n", 1)[0]
    assert main(["new", "widget", "Bad Name!", "--no-input", "--output-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == documented
