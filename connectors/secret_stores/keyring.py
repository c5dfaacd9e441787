"""``meshkit.keyring.v1``: secrets from the operating system's keyring, through the keyring library.

Each secret is the password stored for (``service``, name). The keyring library cannot
list what a service holds, so this store offers ``get`` only; put secrets in with the
system's tools or ``keyring set <service> <name>``.
"""

from __future__ import annotations

from typing import Any

import anyio
import attrs

from meshkit import Secret, SecretError, SecretNotFoundError
from meshkit.interfaces import SecretStore, check

from .names import validate_name

__all__ = ["KeyringSecretStore", "KeyringSecretsConfig"]


@attrs.frozen(kw_only=True)
class KeyringSecretsConfig:
    """The keyring service the secrets are filed under, and optionally which backend to use."""

    #: The service name every secret is stored under.
    service: str = attrs.field(default="meshkit", validator=check(bool, "a non-empty string"))
    #: A backend class by dotted path (e.g. ``keyrings.alt.file.PlaintextKeyring``); default: keyring's.
    backend: str | None = None


class KeyringSecretStore(SecretStore[KeyringSecretsConfig]):
    """Reads ``keyring.get_password(service, name)`` on a worker thread (backends may block)."""

    connector_id = "meshkit.keyring.v1"
    Config = KeyringSecretsConfig
    description = "Secrets from the system keyring (extra: keyring)"
    requires = {"keyring": "meshkit[keyring]"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backend: Any = None

    async def _start(self) -> None:
        await anyio.to_thread.run_sync(self._keyring)

    async def get(self, name: str) -> Secret:
        validate_name(name)
        value = await anyio.to_thread.run_sync(self._get_password, name)
        if value is None:
            raise SecretNotFoundError(name, store=f"keyring service {self.config.service!r}")
        return Secret(value)

    def _get_password(self, name: str) -> str | None:
        backend = self._keyring()
        try:
            value: str | None = backend.get_password(self.config.service, name)
        except Exception as exc:  # backends raise their own types; the message names no secret
            raise SecretError(
                f"{self.connector_id}: keyring backend {type(backend).__name__} failed to read "
                f"{name!r}: {type(exc).__name__}: {exc}"
            ) from None
        return value

    def _keyring(self) -> Any:
        if self._backend is None:
            keyring = _import_keyring()
            if self.config.backend is None:
                self._backend = keyring.get_keyring()
            else:
                try:
                    self._backend = keyring.core.load_keyring(self.config.backend)
                except Exception as exc:
                    raise SecretError(
                        f"{self.connector_id}: config.backend {self.config.backend!r} could not be "
                        f"loaded: {type(exc).__name__}: {exc}"
                    ) from None
        return self._backend


def _import_keyring() -> Any:
    try:
        import keyring
        import keyring.core
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "meshkit.keyring.v1 needs the keyring library: pip install 'meshkit[keyring]'"
        ) from None
    return keyring
