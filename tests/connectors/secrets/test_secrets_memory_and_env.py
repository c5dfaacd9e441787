"""meshkit.memory-secrets.v1 (with MANAGEMENT) and meshkit.env.v1 (with a prefix)."""

from __future__ import annotations

import pytest

from meshkit.connectors.secret_stores import EnvSecretStore, MemorySecretStore
from meshkit.enums import SecretStoreFeature
from meshkit.errors import ConfigError, FeatureNotSupportedError, SecretNotFoundError
from meshkit.types import Secret

pytestmark = pytest.mark.anyio

VALUE = "sk-live-4f9a2c7e1b3d5f60"


async def test_memory_store_is_seeded_from_config_and_managed_at_run_time() -> None:
    store = MemorySecretStore({"secrets": {"OPENAI_KEY": VALUE}})
    assert store.supports(SecretStoreFeature.MANAGEMENT)
    assert (await store.get("OPENAI_KEY")).reveal() == VALUE
    await store.set("OTHER", "plain string")
    await store.set("THIRD", Secret("wrapped"))
    assert await store.list() == ["OPENAI_KEY", "OTHER", "THIRD"]
    assert (await store.get("THIRD")).reveal() == "wrapped"
    assert await store.delete("OTHER") is True
    assert await store.delete("OTHER") is False
    with pytest.raises(SecretNotFoundError, match=r"secret 'OTHER' not found in meshkit\.memory-secrets\.v1"):
        await store.get("OTHER")


async def test_memory_store_never_shows_a_value() -> None:
    store = MemorySecretStore({"secrets": {"KEY": VALUE}})
    await store.set("MORE", VALUE + "-2")
    shown = repr(store) + repr(store.config) + str(store.config) + repr(await store.get("KEY"))
    assert VALUE not in shown
    with pytest.raises(TypeError, match="str or a Secret, got int") as info:
        await store.set("BAD", 12345)  # type: ignore[arg-type]
    assert "12345" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [("", ValueError, "empty"), (None, TypeError, "must be a string"), ("a\x00b", ValueError, "NUL")],
)
async def test_memory_store_refuses_bad_names(name: object, error: type[Exception], words: str) -> None:
    store = MemorySecretStore()
    for call in (store.get, store.delete):
        with pytest.raises(error, match=words):
            await call(name)  # type: ignore[arg-type]
    with pytest.raises(error, match=words):
        await store.set(name, "v")  # type: ignore[arg-type]


def test_memory_store_config_errors_name_the_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.secrets: expected a mapping with non-empty names"):
        MemorySecretStore({"secrets": {"": "x"}})
    with pytest.raises(ConfigError, match=r"config\.secrets"):
        MemorySecretStore({"secrets": ["KEY"]})


async def test_env_store_reads_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_OPENAI_KEY", VALUE)
    store = EnvSecretStore({"prefix": "MESH_"})
    assert (await store.get("OPENAI_KEY")).reveal() == VALUE
    with pytest.raises(SecretNotFoundError, match="environment variable MESH_MISSING"):
        await store.get("MISSING")


async def test_env_store_has_no_management() -> None:
    store = EnvSecretStore()
    with pytest.raises(FeatureNotSupportedError, match="does not declare 'management'"):
        await store.set("X", "y")
    with pytest.raises(FeatureNotSupportedError):
        await store.list()
