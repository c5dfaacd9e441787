"""meshkit.keyring.v1 through a real keyring backend class (kept in memory, so it works offline)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from meshkit.errors import SecretError, SecretNotFoundError

keyring = pytest.importorskip(
    "keyring",
    reason="keyring is not installed (pip install 'meshkit[keyring]'): meshkit.keyring.v1 NOT TESTED",
)
from keyring.backend import KeyringBackend  # noqa: E402

from meshkit.connectors.secret_stores import KeyringSecretStore  # noqa: E402

pytestmark = pytest.mark.anyio

VALUE = "sk-keyring-9e8d7c6b5a"


class DictKeyring(KeyringBackend):
    """A keyring backend over a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.store[(service, username)]


class LockedKeyring(DictKeyring):
    """A backend that refuses to read, like a locked system keyring."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the keyring is locked")


@pytest.fixture
def backend() -> Iterator[DictKeyring]:
    previous: Any = keyring.get_keyring()
    ring = DictKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


async def test_secrets_are_read_from_the_service(backend: DictKeyring) -> None:
    keyring.set_password("meshkit", "OPENAI_KEY", VALUE)
    keyring.set_password("elsewhere", "OTHER", "x")
    async with KeyringSecretStore() as store:
        secret = await store.get("OPENAI_KEY")
        assert secret.reveal() == VALUE and VALUE not in repr(secret)
        with pytest.raises(
            SecretNotFoundError, match="secret 'OTHER' not found in keyring service 'meshkit'"
        ):
            await store.get("OTHER")
    custom = KeyringSecretStore({"service": "elsewhere"})
    assert (await custom.get("OTHER")).reveal() == "x"


async def test_a_backend_named_in_config_is_loaded_by_its_dotted_path(backend: DictKeyring) -> None:
    from meshkit.connectors.secret_stores._conformance_keyring import MemoryKeyring

    MemoryKeyring.passwords[("svc", "KEY")] = VALUE
    try:
        path = f"{MemoryKeyring.__module__}.MemoryKeyring"
        store = KeyringSecretStore({"service": "svc", "backend": path})
        assert (await store.get("KEY")).reveal() == VALUE
    finally:
        MemoryKeyring.passwords.clear()


async def test_a_backend_that_cannot_be_loaded_is_a_clear_error() -> None:
    store = KeyringSecretStore({"backend": "no.such.module.Keyring"})
    with pytest.raises(SecretError, match=r"config\.backend 'no\.such\.module\.Keyring' could not be loaded"):
        await store.start()


async def test_a_failing_backend_is_a_secret_error_naming_it(backend: DictKeyring) -> None:
    keyring.set_keyring(LockedKeyring())
    store = KeyringSecretStore()
    with pytest.raises(SecretError, match="LockedKeyring failed to read 'KEY': KeyringLocked"):
        await store.get("KEY")


async def test_without_the_library_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'meshkit\[keyring\]'"):
        await KeyringSecretStore().get("KEY")
