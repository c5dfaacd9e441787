"""meshkit.serialization: plain data ⇄ bytes in JSON, YAML and MessagePack."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshkit.enums import SerializationFormat
from meshkit.errors import StorageCorruptError
from meshkit.serialization import decode, encode

FORMATS = list(SerializationFormat)

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@pytest.mark.parametrize("fmt", FORMATS)
@given(value=plain)
def test_plain_data_round_trips(fmt: SerializationFormat, value: Any) -> None:
    assert decode(encode(value, fmt), fmt) == value


@pytest.mark.parametrize("fmt", [*FORMATS, "json", "yaml", "msgpack"])
def test_a_model_state_document_round_trips(fmt: SerializationFormat | str) -> None:
    state = {"models": {"local.small": {"status": "standby", "failures": 3, "cost": 0.25, "until": None}}}
    assert decode(encode(state, fmt), fmt) == state


def test_json_is_compact_utf8() -> None:
    assert encode({"a": "ü", "b": [1, 2]}, "json") == '{"a":"ü","b":[1,2]}'.encode()


@pytest.mark.parametrize(
    ("fmt", "data", "words"),
    [
        ("json", b'{"a": ', "stored json is malformed: Expecting value at line 1 column 7"),
        ("json", b"\xff\xfe", "not valid UTF-8"),
        ("yaml", b"a: [1, 2", "stored yaml is malformed"),
        ("yaml", b"\xff", "not valid UTF-8"),
        ("msgpack", b"\xc1", "stored msgpack is malformed"),
        ("msgpack", b"\x92\x01", "stored msgpack is malformed"),
    ],
)
def test_bad_bytes_are_a_corrupt_error_saying_where(fmt: str, data: bytes, words: str) -> None:
    with pytest.raises(StorageCorruptError) as info:
        decode(data, fmt)
    assert words in str(info.value)


def test_a_yaml_error_does_not_quote_the_stored_text() -> None:
    with pytest.raises(StorageCorruptError) as info:
        decode(b"key: sk-very-secret-value\n  bad: [", "yaml")
    assert "sk-very-secret-value" not in str(info.value)
    assert "line 2" in str(info.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_what_cannot_be_encoded_is_a_type_error_naming_the_format(fmt: SerializationFormat) -> None:
    with pytest.raises(TypeError, match=f"cannot encode as {fmt.value}"):
        encode({"when": object()}, fmt)


def test_an_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'json', 'yaml', 'msgpack'"):
        encode({}, "xml")
    with pytest.raises(TypeError, match="decode takes bytes"):
        decode("text", "json")  # type: ignore[arg-type]


def test_msgpack_without_the_library_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msgpack", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'meshkit\[msgpack\]'"):
        encode({}, "msgpack")
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'meshkit\[msgpack\]'"):
        decode(b"\x80", "msgpack")
