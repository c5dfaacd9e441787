"""``meshkit.memory-secrets.v1``: secrets held in process memory, settable at run time."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

import attrs

from meshkit import Secret, SecretNotFoundError, SecretStoreFeature
from meshkit.interfaces import SecretStore, check

from .names import validate_name

__all__ = ["MemorySecretStore", "MemorySecretsConfig"]


@attrs.frozen(kw_only=True)
class MemorySecretsConfig:
    """``secrets`` seeds the store: a mapping of name to value (or ``${secrets:...}``)."""

    secrets: dict[str, Secret] = attrs.field(
        factory=dict, validator=check(lambda found: all(found), "a mapping with non-empty names")
    )


class MemorySecretStore(SecretStore[MemorySecretsConfig]):
    """A dict of secrets; ``set``, ``delete`` and ``list`` work, nothing outlives the process."""

    connector_id = "meshkit.memory-secrets.v1"
    Config = MemorySecretsConfig
    features: ClassVar[frozenset[SecretStoreFeature]] = frozenset({SecretStoreFeature.MANAGEMENT})  # type: ignore[assignment]
    description = "Secrets in process memory, with set/delete/list (tests, embedding)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._secrets: dict[str, Secret] = {}
        for name, value in self.config.secrets.items():
            self._secrets[validate_name(name)] = value

    async def get(self, name: str) -> Secret:
        secret = self._secrets.get(validate_name(name))
        if secret is None:
            raise SecretNotFoundError(name, store=f"{self.connector_id} ({self.name})")
        return secret

    async def set(self, name: str, value: str | Secret) -> None:
        validate_name(name)
        if isinstance(value, str):
            value = Secret(value)
        elif not isinstance(value, Secret):
            raise TypeError(f"a secret's value is a str or a Secret, got {type(value).__name__}")
        self._secrets[name] = value

    async def delete(self, name: str) -> bool:
        return self._secrets.pop(validate_name(name), None) is not None

    async def list(self) -> builtins.list[str]:
        return sorted(self._secrets)
