"""``meshkit.env.v1``: secrets from environment variables."""

from __future__ import annotations

import os

import attrs

from meshkit import Secret, SecretNotFoundError
from meshkit.interfaces import SecretStore


@attrs.frozen(kw_only=True)
class EnvSecretsConfig:
    """``prefix`` is put in front of every name: ``prefix: MESH_`` reads ``MESH_OPENAI_KEY``."""

    prefix: str = ""


class EnvSecretStore(SecretStore[EnvSecretsConfig]):
    """Reads each secret from the environment variable of the same name."""

    connector_id = "meshkit.env.v1"
    Config = EnvSecretsConfig
    description = "Secrets from environment variables; the default"

    async def get(self, name: str) -> Secret:
        variable = f"{self.config.prefix}{name}"
        value = os.environ.get(variable)
        if value is None:
            raise SecretNotFoundError(name, store=f"environment variable {variable}")
        return Secret(value)
