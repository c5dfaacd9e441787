"""Throwaway virtual environments reusing the running interpreter's packages, for testing installation.

Nothing is downloaded: wheels are built by the running interpreter with
``--no-build-isolation``, installed with ``--no-deps`` by the running interpreter's pip,
and the environment then sees already-installed dependencies (httpx, pytest…) through a
``.pth`` file naming folders found at run time, so it works wherever the calling
project's own virtual environment lives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "NOT_SOURCE",
    "CommandFailed",
    "ThrowawayVenv",
    "build_wheels",
    "child_env",
    "copy_source_tree",
    "run",
    "running_site_packages",
]

#: Folders of a checkout that have no place in a source tree handed to a build.
NOT_SOURCE = frozenset(
    {
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
)

#: Default limit on one command, in seconds: a wheel build or an install is quicker by far.
DEFAULT_TIMEOUT = 600.0


class CommandFailed(RuntimeError):
    """A command exited non-zero; the message carries its output, so a test report shows why."""


def child_env(*, write_bytecode: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a child process: no MESHKIT_* switches, no PYTHONPATH, no pip chatter.

    Byte-code caching is off unless ``write_bytecode``: a benchmark keeps it on, as any user
    does, while a test leaves no ``__pycache__`` behind.
    """
    dropped = {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHKIT_") and k not in dropped}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run a command in :func:`child_env` (or ``env``); if it fails, raise :class:`CommandFailed`."""
    command = [str(a) for a in args]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else child_env(),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise CommandFailed(f"{' '.join(command)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def copy_source_tree(source: Path, dest: Path) -> Path:
    """A clean copy of a checkout at ``dest``, so that no stale ``build/`` folder leaks into a wheel."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in NOT_SOURCE or n.endswith((".egg-info", ".pyc"))}

    shutil.copytree(source, dest, ignore=ignore)
    return dest


def build_wheels(projects: Sequence[Path], out: Path, *, env: Mapping[str, str] | None = None) -> list[Path]:
    """Each project's wheel, built offline by the running interpreter into ``out``; the new ones, sorted."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*.whl"))
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    run([sys.executable, "-m", "pip", "wheel", "-q", *offline, "-w", out, *projects], env=env)
    return sorted(set(out.glob("*.whl")) - before)


def running_site_packages() -> list[Path]:
    """The running interpreter's site-packages folders (pure and platform), without repeats."""
    paths = sysconfig.get_paths()
    return [Path(p) for p in dict.fromkeys([paths["purelib"], paths["platlib"]])]


class ThrowawayVenv:
    """A virtual environment made ``--without-pip``: the running interpreter's pip installs into it."""

    def __init__(self, root: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        #: The environment every command run on this virtual environment's behalf gets.
        self.env: dict[str, str] = dict(env) if env is not None else child_env()
        run([sys.executable, "-m", "venv", "--without-pip", root], env=self.env)
        self.python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        code = "import sysconfig\nfor k, v in sysconfig.get_paths().items(): print(f'{k}={v}')"
        lines = run([self.python, "-c", code], env=self.env).stdout.splitlines()
        #: The environment's own ``sysconfig`` paths (``purelib``, ``scripts``…).
        self.paths: dict[str, str] = dict(line.split("=", 1) for line in lines)

    @property
    def site_packages(self) -> Path:
        """Where packages installed into this environment go."""
        return Path(self.paths["purelib"])

    def script(self, name: str) -> Path:
        """A console script installed into this environment."""
        return Path(self.paths["scripts"]) / (f"{name}.exe" if os.name == "nt" else name)

    def install(self, *wheels: Path) -> None:
        """Install wheels without their dependencies, offline."""
        pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", self.python]
        run([*pip, "install", "-q", "--no-deps", "--no-index", *wheels], env=self.env)

    def see_packages(self, folders: Iterable[Path | str] | None = None) -> None:
        """Make ``folders`` (default: the running interpreter's site-packages) importable here, last.

        Call it after the last :meth:`install`: pip must not find, and skip or replace, a
        package of the borrowed folders (the calling project's own editable install above all).
        """
        found = running_site_packages() if folders is None else list(folders)
        (self.site_packages / "_meshkit_borrowed_packages.pth").write_text(
            "".join(f"{folder}\n" for folder in found), encoding="utf-8"
        )
