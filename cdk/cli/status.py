"""``meshkit status``: load a mesh configuration and its stored state; print the status."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

import anyio

from ..errors import ConfigError, MeshkitError, SecretNotFoundError
from ..interfaces.secret_store import SecretStore
from ..types import Secret
from ._common import Printer, Subparsers, print_table, short_time

__all__ = ["Printer", "add_parser", "print_status", "run", "run_status"]


def add_parser(sub: Subparsers) -> None:
    """Add ``status`` to the ``meshkit`` subcommands."""
    p = sub.add_parser("status", help="load a mesh configuration and its stored state; print the status")
    p.add_argument("config", help="path to mesh.yaml")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print a configured mesh's status (pools, models, providers)."""
    return run_status(args.config, as_json=args.json)


def print_status(status: Mapping[str, Any], out: Printer = print) -> None:
    """``mesh.status()`` as a table that fits the terminal; times shown relative to now."""
    now = status.get("time")
    for pool_id, pool in status["pools"].items():
        out(f"  pool {pool_id}: {pool['active']}/{pool['size']} active, rotation {pool['rotation']}")
    rows = []
    for model_id, model in status["models"].items():
        c = model["counters"]
        rows.append(
            (
                model_id,
                model["status"],
                model["reason"] or "-",
                str(c["requests"]),
                str(c["successes"]),
                str(c["failures"]),
                short_time(model["cooldown_until"] or model["resets_at"], now),
            )
        )
    header = ("MODEL", "STATUS", "REASON", "REQ", "OK", "FAIL", "BACK")
    print_table(header, rows, out=out, keep=(0, 1), indent=2)
    for provider_id, provider in status["providers"].items():
        if provider["status"] != "active":
            out(f"  provider {provider_id}: {provider['status']} ({provider['reason']})")
    storage = status.get("storage")
    if storage is not None and storage["status"] != "ok":
        unread = "; the stored state is not read yet" if storage["unread"] else ""
        since = short_time(storage["since"], now)
        out(
            f"  storage {storage['connector']}: {storage['status']} since {since} ({storage['error']}); "
            f"{storage['pending']} changed records wait to be written{unread}"
        )


def run_status(path: str, *, as_json: bool = False, out: Printer = print) -> int:
    """Load a mesh configuration and its stored state, and print the status.

    No provider is called, so the secrets they need may be unset: each missing one is
    named, and the status is printed all the same.
    """
    from ..runtime.mesh import Mesh
    from ..runtime.plan import load_config_file

    try:
        config = load_config_file(path)
        config["startup_probe"] = False  # a status read calls no provider
        plain = Mesh.from_config(config, source=path)
        spec = plain.plan.secret_store
        inner = spec.cls(spec.cls.build_config(spec.data, path=spec.path), name=spec.name)
        assert isinstance(inner, SecretStore)
        secrets = _LenientSecrets(inner)
        mesh = Mesh.from_config(config, source=path, secret_store=secrets)
    except ConfigError as exc:
        out(f"meshkit: {exc}")
        return 2

    async def main() -> dict[str, Any]:
        try:
            async with mesh:
                return mesh.status()
        finally:
            await secrets.aclose()

    try:
        status = anyio.run(main)
    except MeshkitError as exc:
        out(f"meshkit: {exc}")
        return 2
    if as_json:
        out(json.dumps(status, indent=2))
        return 0
    print_status(status, out)
    for note in _notes(mesh, secrets.missing):
        out(f"  note: {note}")
    return 0


def _notes(mesh: Any, missing: list[str]) -> list[str]:
    from ..enums import StorageFeature, SyncPolicy

    notes = []
    storage = mesh.settings.storage
    persistent = StorageFeature.PERSISTENT in type(mesh.storage).features
    if storage.sync_policy is SyncPolicy.IN_MEMORY or not persistent:
        why = "sync_policy is in-memory" if persistent else f"storage {storage.connector!r} does not persist"
        notes.append(
            f"{why}, so these counters start at zero in every process; configure e.g. "
            "storage: {connector: file, config: {path: .meshkit/state}} to keep them"
        )
    if missing:
        names = ", ".join(sorted(set(missing)))
        notes.append(f"not set: {names} (status calls no provider; requests will need them)")
    return notes


class _LenientSecrets(SecretStore):
    """The configured secret store, answering a placeholder for a secret that is not set."""

    connector_id = "meshkit.status-secrets.v1"

    def __init__(self, inner: SecretStore) -> None:
        super().__init__()
        self.inner = inner
        self.missing: list[str] = []

    async def _start(self) -> None:
        await self.inner.start()

    async def _aclose(self) -> None:
        await self.inner.aclose()

    async def get(self, name: str) -> Secret:
        try:
            return await self.inner.get(name)
        except SecretNotFoundError:
            self.missing.append(name)
            return Secret("<not set>")
