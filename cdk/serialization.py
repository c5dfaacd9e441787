"""Plain data ⇄ bytes in a :class:`SerializationFormat`, for what the runtime keeps in storage.

Storage backends store bytes; the format is chosen by the ``storage.format`` setting and
applied here. Plain data means what JSON can hold: mappings with string keys, lists,
strings, numbers, booleans and None (YAML and MessagePack read it back the same way; a
tuple comes back as a list). MessagePack needs the optional ``msgpack`` library.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from .enums import SerializationFormat
from .errors import StorageCorruptError

__all__ = ["decode", "encode"]

try:  # the C loader and dumper are several times faster; pure Python is the fallback
    _YamlLoader: Any = yaml.CSafeLoader
    _YamlDumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader
    _YamlDumper = yaml.SafeDumper


def encode(obj: Any, fmt: SerializationFormat | str = SerializationFormat.JSON) -> bytes:
    """``obj`` (plain data) as bytes in ``fmt``; TypeError names what cannot be encoded."""
    fmt = _format(fmt)
    try:
        if fmt is SerializationFormat.JSON:
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if fmt is SerializationFormat.YAML:
            text: str = yaml.dump(obj, Dumper=_YamlDumper, allow_unicode=True, sort_keys=False)
            return text.encode("utf-8")
        packed: bytes = _msgpack().packb(obj, use_bin_type=True)
        return packed
    except (TypeError, ValueError, yaml.YAMLError, OverflowError) as exc:
        raise TypeError(f"cannot encode as {fmt.value}: {_reason(exc)}") from None


def decode(data: bytes, fmt: SerializationFormat | str = SerializationFormat.JSON) -> Any:
    """The plain data in ``data``; StorageCorruptError when the bytes are not valid ``fmt``."""
    fmt = _format(fmt)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"decode takes bytes, got {type(data).__name__}")
    raw = bytes(data)
    try:
        if fmt is SerializationFormat.JSON:
            return json.loads(raw.decode("utf-8"))
        if fmt is SerializationFormat.YAML:
            return yaml.load(raw.decode("utf-8"), Loader=_YamlLoader)  # a safe loader
        return _msgpack().unpackb(raw, raw=False, strict_map_key=False)
    except UnicodeDecodeError as exc:
        raise StorageCorruptError(
            f"stored {fmt.value} is not valid UTF-8 (byte {exc.start} of {len(raw)})"
        ) from None
    except json.JSONDecodeError as exc:
        raise StorageCorruptError(
            f"stored json is malformed: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except yaml.YAMLError as exc:
        raise StorageCorruptError(f"stored yaml is malformed: {_yaml_reason(exc)}") from None
    except ModuleNotFoundError:
        raise
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise StorageCorruptError(f"stored {fmt.value} is malformed: {_reason(exc)}") from None


def _format(fmt: SerializationFormat | str) -> SerializationFormat:
    try:
        return SerializationFormat(fmt)
    except ValueError:
        choices = ", ".join(repr(f.value) for f in SerializationFormat)
        raise ValueError(f"unknown serialization format {fmt!r}; expected one of {choices}") from None


def _msgpack() -> Any:
    try:
        import msgpack
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "the msgpack format needs the msgpack library: pip install 'meshkit[msgpack]'"
        ) from None
    return msgpack


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _yaml_reason(exc: yaml.YAMLError) -> str:
    # A MarkedYAMLError's str() quotes the offending text; say where it is, not what it holds.
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem or 'syntax error'} at line {mark.line + 1} column {mark.column + 1}"
    return type(exc).__name__
