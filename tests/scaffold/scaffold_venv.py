"""Offline wheels and throwaway virtual environments for the generated-package tests.

Nothing is downloaded: wheels are built by the running interpreter with
``--no-build-isolation``, installed with ``--no-deps``, and the environment then sees
the project's already-installed dependencies (pytest, Hypothesis, httpx…) through a
``.pth`` file naming the running interpreter's site-packages, found at run time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Folders of the checkout that have no place in a source tree handed to a build.
_NOT_SOURCE = {
    ".venv",
    ".git",
    "build",
    "dist",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".meshkit",
    "__pycache__",
}


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: no MESHKIT_* switches, no PYTHONPATH, no pip chatter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHKIT_") and k != "PYTHONPATH"}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run(args: Sequence[str | Path], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise with its output, so that the test report shows why."""
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=child_env(), cwd=cwd, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, args))} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def copy_checkout(dest: Path) -> Path:
    """A clean copy of the checkout, so that no stale build/ folder leaks into the wheel."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_SOURCE or n.endswith((".egg-info", ".pyc"))}

    shutil.copytree(REPO_ROOT, dest, ignore=ignore)
    return dest


def build_wheels(projects: Sequence[Path], out: Path) -> list[Path]:
    """Each project's wheel, built offline by the running interpreter."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*.whl"))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            out,
            *projects,
        ]
    )
    return sorted(set(out.glob("*.whl")) - before)


class Venv:
    """A throwaway virtual environment, made without pip (the running interpreter's pip serves)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        run([sys.executable, "-m", "venv", "--without-pip", root])
        code = "import sysconfig\nfor k, v in sysconfig.get_paths().items(): print(f'{k}={v}')"
        self.python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        lines = run([self.python, "-c", code]).stdout.splitlines()
        self.paths = dict(line.split("=", 1) for line in lines)

    @property
    def site_packages(self) -> Path:
        return Path(self.paths["purelib"])

    def script(self, name: str) -> Path:
        """A console script installed into this environment."""
        return Path(self.paths["scripts"]) / (f"{name}.exe" if os.name == "nt" else name)

    def install(self, *wheels: Path) -> None:
        """Install wheels without their dependencies."""
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                self.python,
                "install",
                "-q",
                "--no-deps",
                "--no-index",
                *wheels,
            ]
        )

    def see_dependencies(self) -> None:
        """Make the running interpreter's site-packages importable here, after this environment's own."""
        # Written after installing: pip must not find (and replace) the project's own meshkit there.
        paths = sysconfig.get_paths()
        found = list(dict.fromkeys([paths["purelib"], paths["platlib"]]))
        (self.site_packages / "_scaffold_test_dependencies.pth").write_text(
            "\n".join(found) + "\n", encoding="utf-8"
        )
