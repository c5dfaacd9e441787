"""meshkit.dotenv.v1: a real .env file, parsed by python-dotenv."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from meshkit.connectors.secret_stores import DotenvSecretStore
from meshkit.errors import SecretError, SecretNotFoundError

pytestmark = pytest.mark.anyio

pytest.importorskip("dotenv", reason="python-dotenv is not installed: pip install 'meshkit[dotenv]'")

ENV_FILE = """\
# comments and blank lines are fine

OPENAI_KEY=sk-abc123
export EXPORTED=yes
QUOTED="two words # not a comment"
BASE=https://api.example
URL=${BASE}/v1
EMPTY=
BARE
"""


def rewrite(path: Path, text: str) -> None:
    """Replace the file's content."""
    path.write_text(text)


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text(ENV_FILE)
    return path


async def test_values_are_read_as_python_dotenv_reads_them(env_file: Path) -> None:
    async with DotenvSecretStore({"path": str(env_file)}) as store:
        assert (await store.get("OPENAI_KEY")).reveal() == "sk-abc123"
        assert (await store.get("EXPORTED")).reveal() == "yes"
        assert (await store.get("QUOTED")).reveal() == "two words # not a comment"
        assert (await store.get("URL")).reveal() == "https://api.example/v1"
        assert (await store.get("EMPTY")).reveal() == ""


async def test_interpolation_can_be_turned_off(env_file: Path) -> None:
    store = DotenvSecretStore({"path": str(env_file), "interpolate": False})
    assert (await store.get("URL")).reveal() == "${BASE}/v1"


async def test_a_bare_name_and_an_absent_name_are_not_found(env_file: Path) -> None:
    store = DotenvSecretStore({"path": str(env_file)})
    for name in ("BARE", "ABSENT"):
        with pytest.raises(SecretNotFoundError, match=f"secret '{name}' not found in .*\\.env"):
            await store.get(name)


async def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    store = DotenvSecretStore({"path": str(tmp_path / "nope.env")})
    with pytest.raises(SecretError, match=r"no \.env file at .*nope\.env.*config\.path"):
        await store.start()
    with pytest.raises(SecretError, match=r"no \.env file"):
        await store.get("X")


async def test_a_malformed_line_is_reported_by_number_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("GOOD=1\nthis line leaks sk-hidden-999 if quoted\nALSO=2\n")
    store = DotenvSecretStore({"path": str(path)})
    with pytest.raises(SecretError) as info:
        await store.get("GOOD")
    assert "line 2" in str(info.value)
    assert "sk-hidden-999" not in str(info.value)


async def test_the_file_is_read_again_when_it_changes(env_file: Path) -> None:
    store = DotenvSecretStore({"path": str(env_file)})
    assert (await store.get("OPENAI_KEY")).reveal() == "sk-abc123"
    rewrite(env_file, "OPENAI_KEY=sk-rotated-key-value\n")
    os.utime(env_file, ns=(1, 1))  # a new mtime, whatever the file system's resolution
    assert (await store.get("OPENAI_KEY")).reveal() == "sk-rotated-key-value"
    with pytest.raises(SecretNotFoundError):
        await store.get("EXPORTED")


async def test_values_never_show_in_reprs(env_file: Path) -> None:
    store = DotenvSecretStore({"path": str(env_file)})
    secret = await store.get("OPENAI_KEY")
    assert "sk-abc123" not in repr(store) + repr(secret) + str(secret)


async def test_without_python_dotenv_the_error_says_what_to_install(
    env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'meshkit\[dotenv\]'"):
        await DotenvSecretStore({"path": str(env_file)}).get("OPENAI_KEY")


async def test_carriage_returns_in_quoted_values_and_crlf_lines_are_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"\xef\xbb\xbfFIRST='a\rb'\r\nSECOND=plain\r\n")  # a BOM, as some editors write
    store = DotenvSecretStore({"path": str(path)})
    assert (await store.get("FIRST")).reveal() == "a\rb"
    assert (await store.get("SECOND")).reveal() == "plain"


async def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"KEY=caf\xe9\n")
    with pytest.raises(SecretError, match="is not UTF-8"):
        await DotenvSecretStore({"path": str(path)}).get("KEY")
