"""Built-in secret stores."""

from __future__ import annotations

from typing import Any

from .dotenv import DotenvSecretStore
from .env import EnvSecretStore
from .file import FileSecretStore
from .keyring import KeyringSecretStore
from .memory import MemorySecretStore

__all__ = [
    "DotenvSecretStore",
    "EnvSecretStore",
    "FileSecretStore",
    "KeyringSecretStore",
    "MemorySecretStore",
    "conformance_spec",
]

CONNECTORS = [EnvSecretStore, DotenvSecretStore, MemorySecretStore, FileSecretStore, KeyringSecretStore]


def conformance_spec(connector_id: str) -> Any:
    """Where the conformance suite puts secrets for each store that cannot ``set`` them."""
    from . import _conformance

    specs = {
        EnvSecretStore.connector_id: _conformance.env_spec,
        DotenvSecretStore.connector_id: _conformance.dotenv_spec,
        FileSecretStore.connector_id: _conformance.file_spec,
        KeyringSecretStore.connector_id: _conformance.keyring_spec,
    }
    make = specs.get(connector_id)
    return None if make is None else make()
