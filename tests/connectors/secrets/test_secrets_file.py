"""meshkit.file-secrets.v1: a JSON or YAML mapping that only its owner may read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from meshkit.connectors.secret_stores import FileSecretStore
from meshkit.errors import ConfigError, SecretError, SecretNotFoundError

pytestmark = pytest.mark.anyio

VALUE = "sk-live-0c1d2e3f4a5b6c7d"


def private_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


async def test_yaml_and_json_files_are_read(tmp_path: Path) -> None:
    yaml_file = private_file(tmp_path / "secrets.yaml", f"OPENAI_KEY: {VALUE}\nOTHER: 'x: y'\n")
    json_file = private_file(tmp_path / "secrets.json", json.dumps({"OPENAI_KEY": VALUE}))
    odd_name = private_file(tmp_path / "secrets.txt", json.dumps({"OPENAI_KEY": VALUE}))
    async with FileSecretStore({"path": str(yaml_file)}) as store:
        assert (await store.get("OPENAI_KEY")).reveal() == VALUE
        assert (await store.get("OTHER")).reveal() == "x: y"
    assert (await FileSecretStore({"path": str(json_file)}).get("OPENAI_KEY")).reveal() == VALUE
    forced = FileSecretStore({"path": str(odd_name), "format": "json"})
    assert (await forced.get("OPENAI_KEY")).reveal() == VALUE


async def test_a_missing_name_is_not_found_naming_the_file(tmp_path: Path) -> None:
    store = FileSecretStore({"path": str(private_file(tmp_path / "s.yaml", "A: b\n"))})
    with pytest.raises(SecretNotFoundError, match=r"secret 'B' not found in .*s\.yaml"):
        await store.get("B")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o620, 0o644])
async def test_a_file_others_can_access_is_refused_with_the_chmod_to_run(tmp_path: Path, mode: int) -> None:
    path = private_file(tmp_path / "secrets.yaml", f"KEY: {VALUE}\n", mode)
    store = FileSecretStore({"path": str(path)})
    with pytest.raises(SecretError) as info:
        await store.get("KEY")
    message = str(info.value)
    assert f"chmod 600 {path}" in message and f"{mode:04o}" in message
    assert "allow_insecure_permissions: true" in message
    assert VALUE not in message


async def test_insecure_permissions_can_be_allowed(tmp_path: Path) -> None:
    path = private_file(tmp_path / "secrets.yaml", f"KEY: {VALUE}\n", 0o644)
    store = FileSecretStore({"path": str(path), "allow_insecure_permissions": True})
    assert (await store.get("KEY")).reveal() == VALUE


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("s.yaml", f"KEY: {VALUE}\n  broken: [", "invalid YAML at line 2"),
        ("s.json", f'{{"KEY": "{VALUE}",}}', "invalid JSON at line 1"),
        ("s.yaml", f"- {VALUE}\n", "expected a mapping of secret names to values, got a list"),
        ("s.yaml", "PORT: 6379\n", "secret 'PORT' must be a string, got int; quote it"),
        ("s.yaml", f"NESTED: {{inner: {VALUE}}}\n", "secret 'NESTED' must be a string, got a mapping"),
        ("s.yaml", f"123: {VALUE}\n", "secret names are non-empty strings, got int"),
    ],
)
async def test_bad_content_is_reported_without_any_value(
    tmp_path: Path, name: str, text: str, words: str
) -> None:
    store = FileSecretStore({"path": str(private_file(tmp_path / name, text))})
    with pytest.raises(SecretError) as info:
        await store.get("KEY")
    assert words in str(info.value)
    assert VALUE not in str(info.value)
    # A chained parser error would quote the file's text in the traceback.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


async def test_an_empty_file_holds_no_secrets(tmp_path: Path) -> None:
    store = FileSecretStore({"path": str(private_file(tmp_path / "s.yaml", ""))})
    with pytest.raises(SecretNotFoundError):
        await store.get("KEY")


async def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        SecretError, match=r"no secrets file at .*absent\.yaml.*config\.path.*create it or point config\.path"
    ):
        await FileSecretStore({"path": str(tmp_path / "absent.yaml")}).start()


async def test_the_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = private_file(tmp_path / "s.yaml", "KEY: first\n")
    store = FileSecretStore({"path": str(path)})
    assert (await store.get("KEY")).reveal() == "first"
    path.write_text("KEY: rotated\n")
    os.utime(path, ns=(1, 1))
    assert (await store.get("KEY")).reveal() == "rotated"
    path.chmod(0o644)  # loosened afterwards: refused from then on
    with pytest.raises(SecretError, match="chmod 600"):
        await store.get("KEY")


def test_bad_config_is_reported_by_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.format: expected one of 'auto', 'json', 'yaml'"):
        FileSecretStore({"format": "toml"})
    with pytest.raises(ConfigError, match=r"config\.allow_insecure_permissions: expected true or false"):
        FileSecretStore({"allow_insecure_permissions": "yes"})
