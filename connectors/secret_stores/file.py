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
from typing import Literal

import attrs
import yaml

from meshkit import Secret, SecretError
from meshkit.interfaces import check

from ._file_backed import FileBackedSecretStore

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


class FileSecretStore(FileBackedSecretStore[FileSecretsConfig]):
    """Each secret is a top-level ``name: value`` entry of the file."""

    connector_id = "meshkit.file-secrets.v1"
    Config = FileSecretsConfig
    description = "Secrets from a JSON or YAML file readable only by its owner"
    file_kind = "secrets file"

    def _read_secrets(self) -> dict[str, Secret]:
        return self._parse(self.path.read_bytes())

    def _check_file(self, info: os.stat_result) -> None:
        mode = info.st_mode
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
