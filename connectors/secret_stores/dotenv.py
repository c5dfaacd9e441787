"""``meshkit.dotenv.v1``: secrets from a ``.env`` file, read with python-dotenv.

The file is read when first needed and again whenever it changes on disk. A line
python-dotenv cannot parse is an error naming the line number (never its content, which
may hold a value). A bare ``NAME`` line, without ``=``, defines nothing.
"""

from __future__ import annotations

import io
from typing import Any

import attrs

from meshkit import Secret, SecretError
from meshkit.interfaces import check

from ._file_backed import FileBackedSecretStore

__all__ = ["DotenvSecretStore", "DotenvSecretsConfig"]


@attrs.frozen(kw_only=True)
class DotenvSecretsConfig:
    """The file to read, and whether ``${OTHER}`` inside a value is expanded."""

    #: The ``.env`` file; relative paths start at the working directory.
    path: str = attrs.field(default=".env", validator=check(bool, "a file path"))
    #: Expand ``${NAME}`` from earlier lines of the file and from the environment.
    interpolate: bool = True


class DotenvSecretStore(FileBackedSecretStore[DotenvSecretsConfig]):
    """Each secret is a ``NAME=value`` line of the file."""

    connector_id = "meshkit.dotenv.v1"
    Config = DotenvSecretsConfig
    description = "Secrets from a .env file (extra: dotenv)"
    requires = {"dotenv": "meshkit[dotenv]"}
    file_kind = ".env file"

    def _read_secrets(self) -> dict[str, Secret]:
        return self._parse(self._read_text())

    def _read_text(self) -> str:
        # Bytes, not text mode: universal newlines would turn a quoted "\r" into "\n".
        try:
            return self.path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SecretError(
                f"{self.connector_id}: {str(self.path)!r} is not UTF-8 (byte {exc.start})"
            ) from None

    def _parse(self, text: str) -> dict[str, Secret]:
        dotenv = _import_dotenv()
        bindings = dotenv.parser.parse_stream(io.StringIO(text))
        bad = [binding.original.line for binding in bindings if binding.error]
        if bad:
            lines = ", ".join(str(n) for n in bad)
            raise SecretError(
                f"{self.connector_id}: {str(self.path)!r} line {lines}: not a NAME=value line "
                "(quote values that hold spaces or #)"
            )
        values = dotenv.dotenv_values(stream=io.StringIO(text), interpolate=self.config.interpolate)
        return {name: Secret(value) for name, value in values.items() if value is not None}


def _import_dotenv() -> Any:
    try:
        import dotenv
        import dotenv.parser
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "meshkit.dotenv.v1 needs python-dotenv: pip install 'meshkit[dotenv]'"
        ) from None
    return dotenv
