"""{{ cookiecutter.description }}.

Connector id: ``{{ cookiecutter.__connector_id }}``.

Storage is where the router keeps model state between runs: an async key → bytes
store. The skeleton keeps everything in a dict; REPLACE each method with calls to
your backend, keeping the semantics the conformance suite checks (sorted prefix
listing, atomic saves, exact bytes, None/False for missing keys). Usable from
mesh.yaml::

    storage:
      connector: {{ cookiecutter.__connector_id }}
      sync_policy: periodic
"""

from __future__ import annotations

import builtins
from typing import Any

import attrs
from meshkit import EntryMetadata
from meshkit.interfaces import Storage, validate_key

__all__ = ["{{ cookiecutter.__class_name }}", "{{ cookiecutter.__class_name }}Config"]


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class_name }}Config:
    """REPLACE: how to reach your backend (an address, a bucket, credentials as Secret)."""


class {{ cookiecutter.__class_name }}(
    {{ cookiecutter.__base_class }}[{{ cookiecutter.__class_name }}Config],
):
    """{{ cookiecutter.description }}."""

    connector_id = "{{ cookiecutter.__connector_id }}"
    Config = {{ cookiecutter.__class_name }}Config
    description = {{ cookiecutter.__description_literal }}
    # Declare what your backend offers: StorageFeature.PERSISTENT (data outlives the
    # process), SHARED (several processes see one store) and LOCKING (implement
    # acquire/release; the suite then tests expiry, ownership and waiting).

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._data: dict[str, tuple[bytes, EntryMetadata]] = {}

    # REPLACE: open the connection to your backend here, and close it in _aclose.
    # async def _start(self) -> None: ...
    # async def _aclose(self) -> None: ...

    async def load(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None."""
        item = self._data.get(validate_key(key))
        return item[0] if item else None

    async def save(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; a reader sees the old value or the new one, never a mix."""
        validate_key(key)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"storage values are bytes, got {type(data).__name__}")
        value = bytes(data)
        # One assignment: the value and its metadata change together.
        self._data[key] = (value, EntryMetadata(key=key, size=len(value), modified_at=self.clock.now()))

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""
        return self._data.pop(validate_key(key), None) is not None

    async def list(self, prefix: str = "") -> builtins.list[str]:
        """The keys starting with ``prefix``, sorted."""
        if not isinstance(prefix, str):
            raise TypeError(f"a prefix is a string, got {type(prefix).__name__}")
        return sorted(key for key in self._data if key.startswith(prefix))

    async def stat(self, key: str) -> EntryMetadata | None:
        """Size and modification time of ``key``, or None."""
        item = self._data.get(validate_key(key))
        return item[1] if item else None
