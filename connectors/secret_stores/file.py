"""``meshkit.file-secrets.v1``: secrets from a JSON or YAML mapping in a file only its owner can read.

The file is refused when its group or others have any access to it, unless the config
says ``allow_insecure_permissions: true``; the error says which ``chmod`` fixes it. It is
read when first needed and again whenever it changes on disk. Errors name the file, the
line and the secret, never a value.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Literal

import anyio
import attrs
import yaml

from meshkit.config import check
from meshkit.errors import SecretError, SecretNotFoundError
from meshkit.interfaces.secret_store import SecretStore
from meshkit.types import Secret

from .names import validate_name

__all__ = ["FileSecretStore", "FileSecretsConfig"]


@attrs.frozen(kw_only=True)
class FileSecretsConfig:
    """The file, its format, and whether a file others can read is tolerated."""

    #: The file; relative paths start at the working directory.
    path: str = attrs.field(default="secrets.yaml", validator=check(bool, "a file path"))
    #: ``auto`` picks JSON for ``.json`` files and YAML for everything else.
    format: Literal["auto", "json", "yaml"] = "auto"
    #: Accept a file that group or others can access (e.g. inside a container image).
    allow_insecure_permissions: bool = False


class FileSecretStore(SecretStore):
    """Each secret is a top-level ``name: value`` entry of the file."""

    connector_id = "meshkit.file-secrets.v1"
    Config = FileSecretsConfig
    description = "Secrets from a JSON or YAML file readable only by its owner"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = Path(self.config.path).expanduser()
        self._version: tuple[int, int, int, int] | None = None
        self._values: dict[str, Secret] = {}

    def __repr__(self) -> str:
        return f"<FileSecretStore {self.connector_id} name={self.name!r} path={str(self.path)!r}>"

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
                f"{self.connector_id}: no secrets file at {str(self.path)!r} (config.path)"
            ) from None
        self._check_permissions(info.st_mode)
        version = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode)
        if version != self._version:
            self._values = self._parse(self.path.read_bytes())
            self._version = version

    def _check_permissions(self, mode: int) -> None:
        if self.config.allow_insecure_permissions or os.name == "nt":
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretError(
                f"{self.connector_id}: {str(self.path)!r} is accessible to group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {self.path}`, "
                "or set allow_insecure_permissions: true"
            )

    def _format(self) -> str:
        if self.config.format != "auto":
            return self.config.format
        return "json" if self.path.suffix.lower() == ".json" else "yaml"

    def _parse(self, raw: bytes) -> dict[str, Secret]:
        where = f"{self.connector_id}: {str(self.path)!r}"
        fmt = self._format()
        try:
            text = raw.decode("utf-8")
            data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
        except UnicodeDecodeError as exc:
            raise SecretError(f"{where}: not UTF-8 text (byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise SecretError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}") from None
        except yaml.YAMLError as exc:
            raise SecretError(f"{where}: invalid YAML {_yaml_position(exc)}") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise SecretError(f"{where}: expected a mapping of secret names to values, got {_kind(data)}")
        values: dict[str, Secret] = {}
        for name, value in data.items():
            if not isinstance(name, str) or not name:
                raise SecretError(f"{where}: secret names are non-empty strings, got {_kind(name)}")
            if not isinstance(value, str):
                raise SecretError(
                    f"{where}: secret {name!r} must be a string, got {_kind(value)}; quote it in the file"
                )
            values[name] = Secret(value)
        return values


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(value), type(value).__name__)


def _yaml_position(exc: yaml.YAMLError) -> str:
    # str(exc) would quote the offending line, which may hold a secret.
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return ""
    return f"at line {mark.line + 1} column {mark.column + 1}"
