"""Turning YAML or dict configuration into attrs objects, with errors people can act on.

One cattrs converter, configured here, builds every connector's ``Config`` and the
mesh configuration. Problems are reported as ``path: message`` lines, e.g.
``pools.chat.rotation.config.cooldown: expected a duration such as 500ms, 30s, 5m, 1h or 7d``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from enum import Enum, IntEnum, StrEnum
from types import UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from .errors import ConfigError, SecretError
from .types import Secret

__all__ = [
    "SECRET_REF",
    "check",
    "converter",
    "format_duration",
    "parse_duration",
    "resolve_secret_refs",
    "structure",
    "unstructure",
]

T = TypeVar("T")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
SECRET_REF = re.compile(r"\$\{secrets:([^}]+)\}")


#: The longest duration a configuration may ask for; anything longer is a typo, not a plan.
MAX_DURATION = timedelta(days=3650)
_DURATION_EXAMPLE = "a duration such as 500ms, 30s, 5m, 1h or 7d"
#: The largest whole number a configuration may hold: what storage formats and clocks can take.
MAX_INT = 2**63 - 1


def parse_duration(value: object) -> timedelta:
    """``500ms``, ``30s``, ``5m``, ``1h``, ``7d``, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        return _bounded_duration(value, value)
    if isinstance(value, bool):
        raise ValueError(f"expected {_DURATION_EXAMPLE}")
    seconds: float | None = None
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds < 0:
            raise ValueError("a duration cannot be negative")
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds is not None and math.isfinite(seconds):
        if seconds > MAX_DURATION.total_seconds():
            raise _too_long(value)
        return timedelta(seconds=seconds)
    if seconds is not None:  # inf, or a number too big for a float
        raise _too_long(value)
    raise ValueError(f"expected {_DURATION_EXAMPLE}, got {value!r}")


def _bounded_duration(value: timedelta, given: object) -> timedelta:
    if value > MAX_DURATION:
        raise _too_long(given)
    return value


def _too_long(value: object) -> ValueError:
    return ValueError(f"expected {_DURATION_EXAMPLE}, up to {MAX_DURATION.days} days, got {value!r}")


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration in the config syntax."""
    ms = round(value.total_seconds() * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _structure_secret(value: object, _: type) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ValueError("expected a string or a ${secrets:NAME} reference")


def _structure_str(value: object, _: type) -> str:
    # cattrs would happily turn 3 or a list into a string; a config typo deserves an error.
    if isinstance(value, str):
        return value
    if isinstance(value, Secret):
        # A value that is exactly one ${secrets:NAME} stays a redacted Secret, which only secret
        # fields accept; say so rather than "got Secret", and never show the value.
        raise ValueError(
            "expected a plain value, not a ${secrets:...} reference: those can only fill a secret "
            "field such as api_key; write this value in the configuration itself"
        )
    raise ValueError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"expected a whole number, got {value!r}")
    if abs(value) > MAX_INT:
        raise ValueError(f"expected a whole number up to {MAX_INT}, got {_short_number(value)}")
    return value


def _short_number(value: int) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"a number of {len(text)} digits"


def _structure_float(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"expected a number, got {_short_number(int(value))}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, got {value!r}")


def _structure_enum(value: object, cls: type[Enum]) -> Enum:
    # Registered for StrEnum/IntEnum: the str and int hooks would otherwise win and
    # hand back the raw value, unchecked, instead of the member.
    if isinstance(value, bool):
        raise ValueError(f"expected one of {', '.join(repr(m.value) for m in cls)}")
    return cls(value)


def _is_list_type(tp: Any) -> bool:
    return get_origin(tp) is list


def _strict_list_factory(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # A string is iterable, so cattrs would read `models: abc` as ['a', 'b', 'c'].
    inner = list_structure_factory(tp, conv)

    def structure_list(value: Any, cls: Any) -> Any:
        if isinstance(value, str | bytes | Mapping):
            raise ValueError(f"expected a list, got {type(value).__name__}")
        return inner(value, cls)

    return structure_list


def _make_converter(*, forbid_extra_keys: bool = True) -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=forbid_extra_keys, detailed_validation=True)
    conv.register_structure_hook(timedelta, lambda v, _: parse_duration(v))
    conv.register_unstructure_hook(timedelta, format_duration)
    conv.register_structure_hook(Secret, _structure_secret)
    conv.register_unstructure_hook(Secret, lambda s: "**********")
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    for enum_base in (StrEnum, IntEnum):
        conv.register_structure_hook(enum_base, _structure_enum)
        conv.register_unstructure_hook(enum_base, lambda member: member.value)
    conv.register_structure_hook_factory(_is_list_type, _strict_list_factory)  # type: ignore[type-var]
    return conv


converter = _make_converter()
# Builds what it can while unknown keys are reported, so that later checks still run.
_lenient = _make_converter(forbid_extra_keys=False)


def structure(
    data: Any, cls: type[T], *, path: str = "", source: str | None = None, ignore_unknown: bool = False
) -> T:
    """Build ``cls`` from ``data``; raise :class:`ConfigError` naming every bad path.

    ``ignore_unknown`` skips unknown keys instead of reporting them.
    """
    if data is None:
        data = {}
    try:
        return (_lenient if ignore_unknown else converter).structure(data, cls)
    except RecursionError:
        problem = f"{path or 'config'}: nested too deeply to be a configuration"
        raise ConfigError(problem, source=source) from None
    except Exception as exc:  # cattrs wraps everything; we turn it into paths
        raise ConfigError(_problems(exc, path, cls), source=source) from None


def unstructure(obj: Any) -> Any:
    """The plain-data form of a config object (secrets masked)."""
    return converter.unstructure(obj)


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else str(part)


def _problems(exc: BaseException, path: str, cls: Any) -> list[str]:
    if isinstance(exc, ClassValidationError):
        out: list[str] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            out.extend(_problems(sub, _join(path, note.name), _unoptional(note.type)))
        for sub in without:
            out.extend(_problems(sub, path, cls))
        return out
    if isinstance(exc, IterableValidationError):
        out = []
        indexed, loose = exc.group_exceptions()
        for sub, item in indexed:
            index = item.index if isinstance(item.index, int | str) else str(item.index)
            out.extend(_problems(sub, _join(path, index), item.type))
        for sub in loose:
            out.extend(_problems(sub, path, cls))
        return out
    where = path or "config"
    field_error = _field_prefixed(exc, cls)
    if field_error is not None:
        name, message = field_error
        return [f"{_join(path, name)}: {message}"]
    if isinstance(exc, ForbiddenExtraKeysError):
        known = [a.alias or a.name for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        lines = []
        for key in sorted(exc.extra_fields):
            hint = difflib.get_close_matches(key, known, n=1)
            tail = f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {', '.join(known)}"
            lines.append(f"{_join(path, key)}: unknown key{tail}")
        return lines
    if isinstance(exc, KeyError):
        return [f"{where}: required key missing"]
    if isinstance(exc, AttributeError) and ("items" in str(exc) or "keys" in str(exc)):
        return [f"{where}: expected a mapping"]
    if isinstance(exc, ValueError | TypeError) or get_origin(cls) is Literal:
        return [f"{where}: {_describe(exc, cls)}"]
    return [f"{where}: {type(exc).__name__}: {exc}"]


def _field_prefixed(exc: BaseException, cls: Any) -> tuple[str, str] | None:
    # Validators made with ``check`` say which field failed: "name: message".
    if not isinstance(exc, ValueError) or not attrs.has(cls):
        return None
    head, sep, message = str(exc).partition(": ")
    if sep and any(a.name == head or a.alias == head for a in attrs.fields(cls)):
        return head, message
    return None


def check(predicate: Callable[[Any], bool], expected: str) -> Callable[[Any, Any, Any], None]:
    """An attrs validator whose failure is reported at the field's config path."""

    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if _unresolved(value):
            return  # checked once the mesh has resolved the reference, on the secret's value
        if value is not None and not predicate(value):
            raise ValueError(f"{attribute.alias or attribute.name}: expected {expected}, got {_shown(value)}")

    return validate


def _unresolved(value: Any) -> bool:
    """True for a Secret that is still a ``${secrets:NAME}`` reference, not its value."""
    return isinstance(value, Secret) and SECRET_REF.fullmatch(value.reveal().strip()) is not None


def _shown(value: Any) -> str:
    # A value as the user would have written it, not as Python spells it.
    if isinstance(value, timedelta):
        return format_duration(value)
    return repr(value)


def _unoptional(tp: Any) -> Any:
    args = [a for a in get_args(tp) if a is not type(None)]
    if type(None) in get_args(tp) and len(args) == 1:
        return args[0]
    return tp


def _describe(exc: BaseException, cls: Any) -> str:
    text = str(exc)
    if isinstance(cls, type) and issubclass(cls, Enum):
        choices = ", ".join(repr(m.value) for m in cls)
        return f"expected one of {choices}"
    if get_origin(cls) is Literal:
        return "expected one of " + ", ".join(repr(a) for a in get_args(cls))
    if text.startswith(("expected", "a duration")):
        return text
    return f"expected {_type_name(cls)}"


_FRIENDLY_NAMES: dict[Any, str] = {
    timedelta: _DURATION_EXAMPLE,
    int: "a whole number",
    float: "a number",
    str: "a string",
    bool: "true or false",
    Secret: "a string or a ${secrets:NAME} reference",
}


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (list, tuple, set, frozenset):
        return "a list"
    if origin is dict:
        return "a mapping"
    if origin in (Union, UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in get_args(tp))
        return f"{getattr(origin, '__name__', origin)}[{args}]"
    if isinstance(tp, type) and attrs.has(tp):
        return "a mapping"
    if tp in _FRIENDLY_NAMES:
        return _FRIENDLY_NAMES[tp]
    return getattr(tp, "__name__", str(tp))


async def resolve_secret_refs(
    data: Any, lookup: Callable[[str], Awaitable[Secret]], *, path: str | None = None
) -> Any:
    """Replace ``${secrets:NAME}`` references in strings anywhere in ``data``.

    A string that is exactly one reference becomes the :class:`Secret` itself, so the
    value stays redacted; a reference inside a longer string is spliced in. Every missing
    secret is reported, each at the key that referenced it: with ``path`` (the config's own
    path, e.g. ``providers.up.config``) as one ConfigError, else as one SecretError.
    """
    missing: list[str] = []
    resolved = await _resolve(data, lookup, path or "", missing)
    if missing:
        if path is not None:
            raise ConfigError(missing)
        raise SecretError("; ".join(missing))
    return resolved


async def _resolve(
    data: Any, lookup: Callable[[str], Awaitable[Secret]], where: str, missing: list[str]
) -> Any:
    if isinstance(data, str):
        names = dict.fromkeys(m.group(1).strip() for m in SECRET_REF.finditer(data))
        found: dict[str, Secret] = {}
        for name in names:
            try:
                found[name] = await lookup(name)
            except SecretError as exc:
                missing.append(f"{where or 'config'}: {exc}; set it, or remove the reference")
        if len(found) < len(names) or not names:
            return data  # nothing to replace, or a secret is missing and the caller raises
        whole = SECRET_REF.fullmatch(data.strip())
        if whole:
            return found[whole.group(1).strip()]
        return Secret(SECRET_REF.sub(lambda m: found[m.group(1).strip()].reveal(), data))
    if isinstance(data, Mapping):
        return {k: await _resolve(v, lookup, _join(where, str(k)), missing) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [await _resolve(v, lookup, _join(where, i), missing) for i, v in enumerate(data)]
    return data
