"""Throwaway plugin distributions and virtual environments for the discovery benchmark.

A plugin wheel is written directly (a zip with the module and its ``.dist-info``), so
that a hundred of them take a moment instead of a hundred setuptools builds; pip then
installs them for real. meshkit itself is built from a clean copy of the checkout.
Nothing is downloaded: an environment sees meshkit's dependencies through a ``.pth``
file naming either a folder that links just meshkit's runtime dependencies out of the
running interpreter's site-packages (what ``pip install meshkit`` gives), or that whole
site-packages (a development environment, with every extra and tool).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from collections.abc import Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]

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

_PLUGIN_SOURCE = """\
from meshkit import SecretNotFoundError, SecretStore, hookimpl


class BenchSecrets(SecretStore):
    connector_id = "bench{n}.secrets.v1"

    async def get(self, name):
        raise SecretNotFoundError(name, store="bench{n}")


@hookimpl
def meshkit_connectors():
    return [BenchSecrets]
"""


def child_env() -> dict[str, str]:
    """The environment for child processes: no MESHKIT_* switches, no PYTHONPATH.

    Byte-code caching stays on, as for any user: a warm-up run writes what is missing.
    """
    dropped = {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHKIT_") and k not in dropped}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def run(args: Sequence[str | Path]) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=child_env(), check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build_meshkit_wheel(work: Path, tree: Path | None = None) -> Path:
    """meshkit's wheel, built offline from a clean copy of ``tree`` (default: the checkout)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in _NOT_SOURCE or n.endswith((".egg-info", ".pyc"))}

    source = work / "meshkit-src"
    shutil.copytree(tree or REPO_ROOT, source, ignore=ignore)
    out = work / "dist"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", out, source])  # fmt: skip
    [wheel] = out.glob("meshkit-*.whl")
    return wheel


def development_site_packages() -> list[Path]:
    """The running interpreter's site-packages: every extra and tool of the checkout."""
    paths = sysconfig.get_paths()
    return [Path(p) for p in dict.fromkeys([paths["purelib"], paths["platlib"]])]


def runtime_dependency_dir(dest: Path, project: str = "meshkit") -> Path:
    """A folder linking the installed files of ``project``'s runtime dependencies, and theirs."""
    dest.mkdir(parents=True)
    wanted = [canonicalize_name(project)]
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        dist = importlib.metadata.distribution(name)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                wanted.append(canonicalize_name(req.name))
        if name == canonicalize_name(project):
            continue  # the environment gets meshkit from its wheel
        site = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            if not (dest / top).exists():
                (dest / top).symlink_to(site / top)
    return dest


def write_plugin_wheel(out: Path, n: int) -> Path:
    """A wheel of distribution ``meshkit-bench-plugin-NNN``: one module, one connector."""
    dist = f"meshkit_bench_plugin_{n:03d}"
    module = dist
    info = f"{dist}-1.0.0.dist-info"
    files = {
        f"{module}.py": _PLUGIN_SOURCE.format(n=n),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: meshkit-bench-plugin-{n:03d}\nVersion: 1.0.0\n"
        "Requires-Dist: meshkit\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: meshkit-bench\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[meshkit]\nbench{n:03d} = {module}\n",
    }
    record = []
    path = out / f"{dist}-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(data)}")
            wheel.writestr(name, data)
        record.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


class BenchVenv:
    """A ``--without-pip`` virtual environment with meshkit and ``plugins`` throwaway plugins."""

    def __init__(self, root: Path, meshkit_wheel: Path, plugins: int, dependencies: Sequence[Path]) -> None:
        self.root = root
        self.plugins = plugins
        run([sys.executable, "-m", "venv", "--without-pip", root])
        bindir = "Scripts" if os.name == "nt" else "bin"
        suffix = ".exe" if os.name == "nt" else ""
        self.python = root / bindir / f"python{suffix}"
        self.meshkit = root / bindir / f"meshkit{suffix}"
        wheels_dir = root.parent / f"{root.name}-plugin-wheels"
        wheels_dir.mkdir()
        wheels = [write_plugin_wheel(wheels_dir, n) for n in range(plugins)]
        run([sys.executable, "-m", "pip", "--python", self.python, "install", "-q", "--no-deps", "--no-index",
             meshkit_wheel, *wheels])  # fmt: skip
        site = run([self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
        # Written after installing, so that pip never sees the project's own meshkit.
        (Path(site) / "_meshkit_bench_dependencies.pth").write_text(
            "".join(f"{p}\n" for p in dependencies), encoding="utf-8"
        )

    def check(self) -> None:
        """Fail loudly unless every plugin loads and meshkit comes from this environment."""
        out = run([self.python, "-c", textwrap.dedent(
            """
            import meshkit, sys
            from meshkit.plugins import discover
            registry = discover()
            assert not registry.failures, registry.failures
            assert meshkit.__file__.startswith(sys.prefix), meshkit.__file__
            print(len(registry.plugins) - 1)
            """
        )])  # fmt: skip
        if int(out) != self.plugins:
            raise SystemExit(f"expected {self.plugins} plugins, discovered {out.strip()}")
