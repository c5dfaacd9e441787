"""Building meshkit's wheel and throwaway virtual environments for the packaging tests.

Nothing is downloaded: the wheel is built with ``--no-build-isolation`` by the running
interpreter's setuptools, and a throwaway environment sees meshkit's dependencies
through a ``.pth`` file naming the running interpreter's site-packages (found at run
time, so it works wherever the project's own virtual environment lives).
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

#: Folders of the checkout that have no business in a source tree handed to a build.
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


def quiet_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no MESHKIT_* switches, no PYTHONPATH, no pip chatter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHKIT_") and k != "PYTHONPATH"}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run(args: Sequence[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, raise with its output so the test report shows why."""
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env=quiet_env(),
        timeout=300,
        **kwargs,  # type: ignore[call-overload]
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, args))} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def copy_source(dest: Path) -> Path:
    """A clean copy of the checkout, so that no stale ``build/`` folder leaks into the wheel."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_SOURCE or n.endswith((".egg-info", ".pyc"))}

    shutil.copytree(REPO_ROOT, dest, ignore=ignore)
    return dest


def build_wheels(projects: Sequence[Path], out: Path) -> list[Path]:
    """Build each project's wheel with the running interpreter, offline."""
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


def dependency_paths() -> list[str]:
    """Where the running interpreter finds meshkit's dependencies."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


class Venv:
    """A throwaway virtual environment made with ``--without-pip``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        run([sys.executable, "-m", "venv", "--without-pip", root])
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.python = root / bindir / ("python.exe" if os.name == "nt" else "python")
        self.paths: dict[str, str] = dict(
            line.split("=", 1)
            for line in run(
                [
                    self.python,
                    "-c",
                    "import sysconfig\nfor k, v in sysconfig.get_paths().items(): print(f'{k}={v}')",
                ]
            ).stdout.splitlines()
        )

    @property
    def site_packages(self) -> Path:
        return Path(self.paths["purelib"])

    def script(self, name: str) -> Path:
        """A console script installed into this environment."""
        return Path(self.paths["scripts"]) / (f"{name}.exe" if os.name == "nt" else name)

    def install(self, *wheels: Path) -> None:
        """Install wheels, without their dependencies, with the running interpreter's pip."""
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
        """Make the running interpreter's site-packages importable here, after our own."""
        # Written after installing: pip must not see (and skip) the project's own meshkit.
        (self.site_packages / "_meshkit_test_dependencies.pth").write_text(
            "\n".join(dependency_paths()) + "\n", encoding="utf-8"
        )
