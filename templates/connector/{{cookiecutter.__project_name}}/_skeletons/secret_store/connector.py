"""{{ cookiecutter.description }}.

Connector id: ``{{ cookiecutter.__connector_id }}``.

A secret store resolves the ``${secrets:NAME}`` references of a mesh configuration.
The skeleton reads its secrets from its own config, each value wrapped in a
``Secret`` so that it never shows in a repr, an error or a log line. REPLACE ``get``
with a lookup in your backend (a vault, a cloud secret manager...). Usable from
mesh.yaml::

    secrets:
      store: {{ cookiecutter.__connector_id }}
      config: {secrets: {OPENAI_API_KEY: "sk-..."}}
"""

from __future__ import annotations

import attrs
from meshkit import Secret, SecretNotFoundError
from meshkit.interfaces import SecretStore, check

__all__ = ["{{ cookiecutter.__class_name }}", "{{ cookiecutter.__class_name }}Config"]


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class_name }}Config:
    """REPLACE: how to reach your backend (an address, a namespace, credentials as Secret)."""

    #: Secret name → value.
    secrets: dict[str, Secret] = attrs.field(
        factory=dict, validator=check(lambda found: all(found), "a mapping with non-empty names")
    )


class {{ cookiecutter.__class_name }}(
    {{ cookiecutter.__base_class }}[{{ cookiecutter.__class_name }}Config],
):
    """{{ cookiecutter.description }}."""

    connector_id = "{{ cookiecutter.__connector_id }}"
    Config = {{ cookiecutter.__class_name }}Config
    description = {{ cookiecutter.__description_literal }}
    # A store that can also write declares SecretStoreFeature.MANAGEMENT in `features`
    # and implements set(name, value), delete(name) and list().

    async def get(self, name: str) -> Secret:
        """REPLACE: the secret called ``name``; SecretNotFoundError when there is none."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a secret name is a non-empty string, got {name!r}")
        stored: dict[str, Secret] = self.config.secrets
        secret = stored.get(name)
        if secret is None:
            # Name the secret and the store, never a value.
            raise SecretNotFoundError(name, store=f"{self.connector_id} ({self.name})")
        return secret
