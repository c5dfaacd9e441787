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
import textwrap
import zipfile
from collections.abc import Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from meshkit.testing.venvs import (
    ThrowawayVenv,
    build_wheels,
    child_env,
    copy_source_tree,
    run,
    running_site_packages,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Byte-code caching stays on in every child, as for any user: a warm-up run writes what is missing.
BENCH_ENV = child_env(write_bytecode=True)

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


def build_meshkit_wheel(work: Path, tree: Path | None = None) -> Path:
    """meshkit's wheel, built offline from a clean copy of ``tree`` (default: the checkout)."""
    source = copy_source_tree(tree or REPO_ROOT, work / "meshkit-src")
    [wheel] = build_wheels([source], work / "dist", env=BENCH_ENV)
    return wheel


def development_site_packages() -> list[Path]:
    """The running interpreter's site-packages: every extra and tool of the checkout."""
    return running_site_packages()


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


class BenchVenv(ThrowawayVenv):
    """A ``--without-pip`` virtual environment with meshkit and ``plugins`` throwaway plugins."""

    def __init__(self, root: Path, meshkit_wheel: Path, plugins: int, dependencies: Sequence[Path]) -> None:
        super().__init__(root, env=BENCH_ENV)
        self.plugins = plugins
        self.meshkit = self.script("meshkit")
        wheels_dir = root.parent / f"{root.name}-plugin-wheels"
        wheels_dir.mkdir()
        self.install(meshkit_wheel, *(write_plugin_wheel(wheels_dir, n) for n in range(plugins)))
        self.see_packages(dependencies)

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
        )], env=self.env).stdout  # fmt: skip
        if int(out) != self.plugins:
            raise SystemExit(f"expected {self.plugins} plugins, discovered {out.strip()}")
