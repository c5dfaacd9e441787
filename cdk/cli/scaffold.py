"""The connector-package template of ``meshkit new``: check the answers, then render it.

The template (``templates/connector`` in the source tree, ``meshkit/_templates`` once
installed) is a plain cookiecutter template; this module checks the answers first,
so that bad input is reported before anything is written, then hands them to the
``cookiecutter`` library (the ``scaffold`` extra), imported only here.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from pathlib import Path

import attrs

from ..enums import ConnectorType
from ..errors import ScaffoldError

__all__ = [
    "CONNECTOR_NAME_PATTERN",
    "VENDOR_PATTERN",
    "ConnectorPackage",
    "plan",
    "render",
    "template_dir",
]

#: A connector's name: a segment of its id and part of a Python name, so it starts with a letter.
CONNECTOR_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
#: A vendor: the first segment of the id (the same rule as ``vendor.name.vN``).
VENDOR_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SEGMENT_RULE = "lowercase letters and digits, with single hyphens inside"
#: Longer answers would push generated lines past a readable width.
MAX_NAME = 32
MAX_TEXT = 80
#: Text the template copies into docstrings, TOML and Jinja; these would break one of them.
_UNSAFE_TEXT = ("\n", "\r", "\\", '"""', "{{", "{%", "{#")

#: The class-name suffix of each type's skeleton.
CLASS_SUFFIX = {
    ConnectorType.PROVIDER: "Provider",
    ConnectorType.ROTATION: "Policy",
    ConnectorType.SECRET_STORE: "SecretStore",
    ConnectorType.STORAGE: "Storage",
    ConnectorType.OBSERVABILITY: "Observability",
    ConnectorType.DISCOVERY: "Discovery",
}

INSTALL_HINT = "pip install 'meshkit[scaffold]'"


@attrs.frozen(kw_only=True)
class ConnectorPackage:
    """The answers that decide a generated connector package."""

    connector_type: ConnectorType
    name: str
    vendor: str
    description: str
    author: str = ""

    @property
    def project_name(self) -> str:
        """The distribution name, ``meshkit-<name>``."""
        return f"meshkit-{self.name}"

    @property
    def package_name(self) -> str:
        """The import package, ``meshkit_<name>``."""
        return "meshkit_" + self.name.replace("-", "_")

    @property
    def connector_id(self) -> str:
        """``<vendor>.<name>.v1``."""
        return f"{self.vendor}.{self.name}.v1"

    @property
    def class_name(self) -> str:
        """The skeleton's class, e.g. ``AcmeProvider``."""
        return "".join(p.capitalize() for p in self.name.split("-")) + CLASS_SUFFIX[self.connector_type]

    def context(self) -> dict[str, str]:
        """The template variables these answers set."""
        from .. import __version__

        return {
            "connector_type": self.connector_type.value,
            "name": self.name,
            "vendor": self.vendor,
            "description": self.description,
            "author": self.author,
            "_meshkit_version": __version__,
        }


def default_description(connector_type: ConnectorType, name: str) -> str:
    """The description used when none is given."""
    return f"A meshkit {connector_type.value.replace('_', ' ')} connector for {name}"


def plan(
    connector_type: str,
    name: str,
    *,
    vendor: str | None = None,
    description: str | None = None,
    author: str = "",
) -> ConnectorPackage:
    """Check the answers; raise ScaffoldError listing every problem, or return the package."""
    problems: list[str] = []
    kind: ConnectorType | None = None
    try:
        kind = ConnectorType(connector_type)
    except ValueError:
        choices = [t.value for t in ConnectorType]
        close = difflib.get_close_matches(str(connector_type).replace("-", "_"), choices, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(
            f"unknown connector type {connector_type!r}: expected one of {', '.join(choices)}{hint}"
        )
    if not CONNECTOR_NAME_PATTERN.fullmatch(name) or len(name) > MAX_NAME:
        problems.append(
            f"invalid name {name!r}: expected {_SEGMENT_RULE}, starting with a letter, at most "
            f"{MAX_NAME} characters (e.g. 'acme', 'my-llm')"
        )
    if vendor is None:
        vendor = name  # valid whenever the name is: a name is a vendor that starts with a letter
    elif not VENDOR_PATTERN.fullmatch(vendor) or len(vendor) > MAX_NAME:
        problems.append(
            f"invalid vendor {vendor!r}: expected {_SEGMENT_RULE}, "
            f"at most {MAX_NAME} characters (e.g. 'acme')"
        )
    for label, text in (("description", description), ("author", author)):
        if text is not None and (len(text) > MAX_TEXT or any(bad in text for bad in _UNSAFE_TEXT)):
            problems.append(
                f"invalid {label} {text!r}: one line of plain text, at most {MAX_TEXT} characters, "
                'without backslashes, triple quotes or template braces ("{{", "{%")'
            )
    if problems or kind is None:
        raise ScaffoldError("; ".join(problems))
    return ConnectorPackage(
        connector_type=kind,
        name=name,
        vendor=vendor,
        description=description if description else default_description(kind, name),
        author=author,
    )


def template_dir() -> Path:
    """The connector template: inside the installed package, else in the source checkout."""
    package_dir = Path(__file__).resolve().parents[1]  # meshkit/, beside _templates/
    for candidate in (package_dir / "_templates", package_dir.parent / "templates"):
        if (candidate / "connector" / "cookiecutter.json").is_file():
            return candidate / "connector"
    raise ScaffoldError(
        f"the connector template is missing from this meshkit installation ({package_dir}); "
        "reinstall meshkit",
        exit_status=1,
    )


def render(package: ConnectorPackage, output_dir: str | Path = ".", *, overwrite: bool = False) -> Path:
    """Generate the package's project folder under ``output_dir``; return its path.

    An existing project folder is an error unless ``overwrite`` is true, in which case
    the template's files are written over it and other files are left alone.
    """
    output = Path(output_dir)
    target = output / package.project_name
    if output.exists() and not output.is_dir():
        raise ScaffoldError(f"output directory {str(output)!r} is a file")
    if target.exists() and not overwrite:
        raise ScaffoldError(
            f"{str(target)!r} already exists; choose another --output-dir or name, or pass --overwrite "
            "to write the template's files over it (other files are kept)"
        )
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{str(target)!r} exists and is not a folder")
    try:
        from cookiecutter.exceptions import CookiecutterException
        from cookiecutter.main import cookiecutter
    except ImportError:
        raise ScaffoldError(
            f"`meshkit new` needs the cookiecutter library: {INSTALL_HINT}", exit_status=1
        ) from None
    template = template_dir()
    output.mkdir(parents=True, exist_ok=True)
    # A private cookiecutter config: its replay file and cache go to a temporary folder,
    # not to the user's home, and a ~/.cookiecutterrc cannot change the answers.
    with tempfile.TemporaryDirectory(prefix="meshkit-new-") as scratch:
        config = Path(scratch, "cookiecutter.yaml")
        config.write_text(
            f"replay_dir: {_yaml_str(Path(scratch, 'replay'))}\n"
            f"cookiecutters_dir: {_yaml_str(Path(scratch, 'cache'))}\n",
            encoding="utf-8",
        )
        try:
            result = cookiecutter(
                str(template),
                no_input=True,
                extra_context=package.context(),
                output_dir=str(output),
                overwrite_if_exists=overwrite,
                config_file=str(config),
            )
        except CookiecutterException as exc:
            raise ScaffoldError(
                f"rendering the template failed: {type(exc).__name__}: {exc}", exit_status=1
            ) from exc
    return Path(result)


def _yaml_str(path: Path) -> str:
    # Single-quoted YAML: only the quote itself needs escaping.
    return "'" + str(path).replace("'", "''") + "'"
