"""meshkit.testing.venvs: child environments, commands that explain their failure, throwaway venvs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from meshkit.testing.venvs import (
    NOT_SOURCE,
    CommandFailed,
    ThrowawayVenv,
    child_env,
    copy_source_tree,
    run,
    running_site_packages,
)


def test_child_env_drops_meshkit_switches_and_pythonpath(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHKIT_STRICT_PLUGINS", "1")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("KEEP_ME", "yes")
    env = child_env(EXTRA="1")
    assert "MESHKIT_STRICT_PLUGINS" not in env and "PYTHONPATH" not in env
    assert env["KEEP_ME"] == "yes" and env["EXTRA"] == "1"
    assert env["PIP_DISABLE_PIP_VERSION_CHECK"] == "1" and env["PIP_NO_INPUT"] == "1"


def test_child_env_writes_bytecode_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    assert child_env()["PYTHONDONTWRITEBYTECODE"] == "1"
    assert "PYTHONDONTWRITEBYTECODE" not in child_env(write_bytecode=True)


def test_run_returns_the_output_of_a_command_that_succeeds(tmp_path: Path) -> None:
    code = "import os; print(os.getcwd(), os.environ['ONLY'])"
    done = run([sys.executable, "-c", code], cwd=tmp_path, env={"ONLY": "this"})
    assert done.stdout.split() == [str(tmp_path), "this"]


def test_a_failing_command_says_what_it_printed() -> None:
    code = "import sys; print('to stdout'); sys.exit('to stderr')"
    with pytest.raises(CommandFailed) as info:
        run([sys.executable, "-c", code])
    message = str(info.value)
    assert "exited 1" in message and "to stdout" in message and "to stderr" in message


def test_a_copied_source_tree_leaves_build_products_behind(tmp_path: Path) -> None:
    source = tmp_path / "checkout"
    for folder in [*NOT_SOURCE, "pkg", "pkg/__pycache__", "meshkit.egg-info"]:
        (source / folder).mkdir(parents=True, exist_ok=True)
    (source / "pkg" / "module.py").write_text("x = 1\n")
    (source / "pkg" / "stale.pyc").write_bytes(b"")
    copied = copy_source_tree(source, tmp_path / "copy")
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*")) == ["pkg", "pkg/module.py"]


def test_running_site_packages_holds_this_interpreters_packages() -> None:
    import attrs

    folders = running_site_packages()
    assert folders and len(set(folders)) == len(folders)
    assert any(Path(attrs.__file__).is_relative_to(folder) for folder in folders)


@pytest.mark.slow
def test_a_throwaway_venv_sees_borrowed_folders_after_its_own(tmp_path: Path) -> None:
    borrowed = tmp_path / "borrowed"
    borrowed.mkdir()
    (borrowed / "borrowed_module.py").write_text("WHERE = 'borrowed'\n")
    venv = ThrowawayVenv(tmp_path / "venv")
    assert venv.site_packages.is_relative_to(venv.root)
    code = "import borrowed_module, sys; print(borrowed_module.WHERE, sys.prefix)"
    with pytest.raises(CommandFailed, match="No module named 'borrowed_module'"):
        run([venv.python, "-c", code])
    venv.see_packages([borrowed])
    where, prefix = run([venv.python, "-c", code]).stdout.split()
    assert where == "borrowed" and Path(prefix).resolve() == venv.root.resolve()
