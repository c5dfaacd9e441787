"""A keyring backend held in process memory, for the conformance suite and tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import ClassVar

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

__all__ = ["SERVICE", "MemoryKeyring", "seed"]

SERVICE = "meshkit-conformance"


class MemoryKeyring(KeyringBackend):
    """Passwords in a class-level dict, shared by every instance in the process."""

    priority: ClassVar[float] = 1  # type: ignore[misc]
    passwords: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}")


@contextmanager
def seed(secrets: Mapping[str, str]) -> Iterator[None]:
    """Put ``secrets`` under :data:`SERVICE` for the duration of the block."""
    for name, value in secrets.items():
        MemoryKeyring.passwords[(SERVICE, name)] = value
    try:
        yield
    finally:
        for name in secrets:
            MemoryKeyring.passwords.pop((SERVICE, name), None)
