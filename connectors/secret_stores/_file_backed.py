"""The part of a file-backed secret store that is not about the file's format."""

from __future__ import annotations

import os
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import anyio

from meshkit import Secret, SecretError, SecretNotFoundError
from meshkit.interfaces import SecretStore

from .names import validate_name

__all__ = ["FileBackedSecretStore"]


class FileConfig(Protocol):
    """What a file-backed store's config has: the file's path."""

    @property
    def path(self) -> str: ...


FileConfigT = TypeVar("FileConfigT", bound=FileConfig)


class FileBackedSecretStore(SecretStore[FileConfigT]):
    """Secrets from the file at ``config.path``, read when first needed and again whenever it changes.

    A subclass parses the file in :meth:`_read_secrets` and may vet it in :meth:`_check_file`.
    """

    #: What the file is called in the error for a missing one.
    file_kind: ClassVar[str] = "secrets file"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = Path(self.config.path).expanduser()
        self._version: tuple[int, int, int, int] | None = None
        self._values: dict[str, Secret] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.connector_id} name={self.name!r} path={str(self.path)!r}>"

    async def _start(self) -> None:
        await anyio.to_thread.run_sync(self._refresh)

    async def get(self, name: str) -> Secret:
        validate_name(name)
        await anyio.to_thread.run_sync(self._refresh)
        secret = self._values.get(name)
        if secret is None:
            raise SecretNotFoundError(name, store=str(self.path))
        return secret

    def _refresh(self) -> None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            raise SecretError(
                f"{self.connector_id}: no {self.file_kind} at {str(self.path)!r} (config.path); "
                "create it or point config.path at one"
            ) from None
        self._check_file(info)
        # The mode is part of the version so that a chmod is seen, and checked, at once.
        version = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode)
        if version != self._version:
            self._values = self._read_secrets()
            self._version = version

    def _check_file(self, info: os.stat_result) -> None:
        """Raise SecretError if the file must not be used (its permissions…); the default accepts it."""

    @abstractmethod
    def _read_secrets(self) -> dict[str, Secret]:
        """Every secret of the file; SecretError naming the line, never a value, when it is malformed."""
