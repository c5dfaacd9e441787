"""The secret-store interface."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from ..connector import ConfigT, Connector
from ..enums import ConnectorType, SecretStoreFeature
from ..errors import FeatureNotSupportedError
from ..types import Secret

__all__ = ["SecretStore"]

INTERFACE_VERSION = 1


class SecretStore(Connector[ConfigT]):
    """Resolves secret names to values. ``set``/``delete``/``list`` need MANAGEMENT."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.SECRET_STORE
    interface_version: ClassVar[int] = INTERFACE_VERSION

    @abstractmethod
    async def get(self, name: str) -> Secret:
        """The secret called ``name``; SecretNotFoundError when there is none."""

    async def set(self, name: str, value: str | Secret) -> None:
        """Store a secret (MANAGEMENT)."""
        raise self._unsupported("set")

    async def delete(self, name: str) -> bool:
        """Remove a secret; True when it existed (MANAGEMENT)."""
        raise self._unsupported("delete")

    async def list(self) -> list[str]:
        """The names of the stored secrets, sorted (MANAGEMENT)."""
        raise self._unsupported("list")

    def _unsupported(self, op: str) -> FeatureNotSupportedError:
        return FeatureNotSupportedError(
            f"{self.connector_id} cannot {op} secrets: it does not declare "
            f"{SecretStoreFeature.MANAGEMENT.value!r}"
        )
