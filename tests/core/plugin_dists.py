"""Throwaway meshkit plugins: their sources, and writers for installed or buildable forms.

The same plugin sources serve the in-process discovery tests (written as installed
``.dist-info`` folders on a path entry) and the virtual-environment test (written as
projects with their own ``pyproject.toml`` and installed with pip).
"""

from __future__ import annotations

import importlib.metadata
import textwrap
from pathlib import Path

import attrs

from meshkit.plugins import BUILTIN_MODULE

_GOOD = '''
from meshkit import (
    ChatMessage, CompletionResponse, Provider, ProviderFeature, Secret, SecretNotFoundError,
    SecretStore, hookimpl,
)
from meshkit.types import Choice


class EchoProvider(Provider):
    """Answers with the last user message."""

    connector_id = "acme.echo.v1"
    features = frozenset({ProviderFeature.TOOLS})
    description = "Echoes the last user message"

    async def complete(self, request):
        text = [m.content for m in request.messages if m.role == "user"][-1]
        return CompletionResponse(
            id="echo-1", model=request.model or "echo",
            choices=(Choice(index=0, message=ChatMessage(role="assistant", content=text)),),
        )


class EchoProviderV2(EchoProvider):
    connector_id = "acme.echo.v2"


class VaultSecrets(SecretStore):
    connector_id = "acme.vault.v1"
    description = "Secrets from the Acme vault"

    async def get(self, name):
        raise SecretNotFoundError(name, store="acme vault")


@hookimpl
def meshkit_connectors():
    return [EchoProvider, EchoProviderV2, VaultSecrets]
'''

_IMPORT_ERROR = """
raise RuntimeError("cannot reach the licence server")
"""

_INTERRUPTS = """
raise KeyboardInterrupt
"""

_EXITS = """
import sys

sys.exit(3)
"""

# Imports at once, unless MESHKIT_TEST_HOLD_IMPORT is set: then it says so on stderr and waits,
# so that a test can interrupt discovery while a plugin import is under way.
_HOLDS = """
import os
import sys
import time

if os.environ.get("MESHKIT_TEST_HOLD_IMPORT"):
    sys.stderr.write("holding the import\\n")
    sys.stderr.flush()
    time.sleep(600)
"""

_HOOK_RAISES = """
from meshkit import hookimpl


@hookimpl
def meshkit_connectors():
    raise ValueError("misconfigured plugin")


@hookimpl
def meshkit_conformance(connector_id):
    return "must never be asked"
"""

_WRONG_BASE = '''
from meshkit import ConnectorType, SecretStore, Storage, StorageFeature, hookimpl


class LooksLikeAProvider(SecretStore):
    """Declares one type, subclasses the base of another."""

    connector_id = "bent.secrets.v1"
    connector_type = ConnectorType.PROVIDER

    async def get(self, name):
        raise KeyError(name)


class NotAConnector:
    connector_id = "bent.plain.v1"


class FineStorage(Storage):
    """Proves the other classes of the same plugin still load."""

    connector_id = "bent.fine.v1"
    features = frozenset({StorageFeature.PERSISTENT})

    async def load(self, key): return None
    async def save(self, key, data): return None
    async def delete(self, key): return False
    async def list(self, prefix=""): return []
    async def stat(self, key): return None


@hookimpl
def meshkit_connectors():
    return [LooksLikeAProvider, NotAConnector, FineStorage]
'''

_DUPLICATE = """
from meshkit import Storage, hookimpl


class Impostor(Storage):
    connector_id = "meshkit.memory.v1"

    async def load(self, key): return b"hijacked"
    async def save(self, key, data): return None
    async def delete(self, key): return False
    async def list(self, prefix=""): return []
    async def stat(self, key): return None


@hookimpl
def meshkit_connectors():
    return [Impostor]
"""

_FUTURE = """
from meshkit import SecretStore, hookimpl


class FutureSecrets(SecretStore):
    connector_id = "future.secrets.v1"
    interface_version = 99

    async def get(self, name):
        raise KeyError(name)


@hookimpl
def meshkit_connectors():
    return [FutureSecrets]
"""

_ABSTRACT = """
from meshkit import Storage, hookimpl


class HalfStorage(Storage):
    connector_id = "half.storage.v1"

    async def load(self, key): return None


@hookimpl
def meshkit_connectors():
    return [HalfStorage]
"""


@attrs.frozen
class PluginDist:
    """One throwaway distribution holding one plugin module."""

    entry_name: str
    dist_name: str
    version: str
    module: str
    source: str

    @property
    def requirement_name(self) -> str:
        return self.dist_name.replace("-", "_")


GOOD = PluginDist("acme", "acme-meshkit", "1.2.3", "acme_meshkit_plugin", _GOOD)
IMPORT_ERROR = PluginDist(
    "broken-import", "broken-import-meshkit", "0.1.0", "broken_import_plugin", _IMPORT_ERROR
)
HOOK_RAISES = PluginDist("broken-hook", "broken-hook-meshkit", "0.2.0", "broken_hook_plugin", _HOOK_RAISES)
WRONG_BASE = PluginDist("bent", "bent-meshkit", "0.3.0", "bent_meshkit_plugin", _WRONG_BASE)
DUPLICATE = PluginDist("impostor", "impostor-meshkit", "6.6.6", "impostor_meshkit_plugin", _DUPLICATE)
FUTURE = PluginDist("future", "future-meshkit", "9.0.0", "future_meshkit_plugin", _FUTURE)
ABSTRACT = PluginDist("half", "half-meshkit", "0.0.1", "half_meshkit_plugin", _ABSTRACT)

INTERRUPTS = PluginDist("interrupting", "interrupting-meshkit", "0.4.0", "interrupting_plugin", _INTERRUPTS)
EXITS = PluginDist("exiting", "exiting-meshkit", "0.5.0", "exiting_plugin", _EXITS)
HOLDS = PluginDist("holding", "holding-meshkit", "0.6.0", "holding_plugin", _HOLDS)

ALL = (GOOD, IMPORT_ERROR, HOOK_RAISES, WRONG_BASE, DUPLICATE, FUTURE, ABSTRACT)
#: Plugins whose import raises what is not an Exception, or waits when asked to.
HOSTILE = (INTERRUPTS, EXITS, HOLDS)


def write_installed(site: Path, plugin: PluginDist) -> None:
    """Write ``plugin`` into ``site`` as pip would have installed it (module + .dist-info)."""
    (site / f"{plugin.module}.py").write_text(textwrap.dedent(plugin.source), encoding="utf-8")
    info = site / f"{plugin.requirement_name}-{plugin.version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {plugin.dist_name}\nVersion: {plugin.version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[meshkit]\n{plugin.entry_name} = {plugin.module}\n", encoding="utf-8"
    )


def write_project(root: Path, plugin: PluginDist) -> Path:
    """Write ``plugin`` as a source project with its own pyproject.toml; return its folder."""
    project = root / plugin.dist_name
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=77"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{plugin.dist_name}"
            version = "{plugin.version}"
            dependencies = ["meshkit"]

            [project.entry-points.meshkit]
            {plugin.entry_name} = "{plugin.module}"

            [tool.setuptools]
            py-modules = ["{plugin.module}"]
            """
        ),
        encoding="utf-8",
    )
    (project / f"{plugin.module}.py").write_text(textwrap.dedent(plugin.source), encoding="utf-8")
    return project


def install(site: Path, *plugins: PluginDist) -> list[importlib.metadata.EntryPoint]:
    """Install ``plugins`` into ``site`` (a path entry); their entry points, in the order given."""
    for plugin in plugins:
        write_installed(site, plugin)
    found = {ep.dist.name: ep for ep in importlib.metadata.entry_points(group="meshkit") if ep.dist}
    return [found[p.dist_name] for p in plugins]


def builtin_entry_point() -> importlib.metadata.EntryPoint:
    """meshkit's own entry point, as installed."""
    [ep] = [ep for ep in importlib.metadata.entry_points(group="meshkit") if ep.value == BUILTIN_MODULE]
    return ep
