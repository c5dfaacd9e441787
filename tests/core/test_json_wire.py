"""``json_body`` is ``json.loads``, with msgspec and without.

``json_body`` reads every answer of an HTTP provider through msgspec when ``meshkit[fast]`` is
installed. Each test runs with the decoder of this environment and with it taken away, as on
an install without the extra: both must give ``json.loads``' value (its types too) or its
very error. (``json_bytes`` is held to httpx's ``json=`` in test_http_send_path.py.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshkit.interfaces import json_body, json_wire


@pytest.fixture(params=["fast", "standard library"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fast":
        if json_wire._fast is None:
            pytest.skip("msgspec is not installed (meshkit[fast])")
    else:
        monkeypatch.setattr(json_wire, "_fast", None)
    return str(request.param)


def outcome(body: bytes | str, read: Any) -> tuple[str, Any]:
    """What reading ``body`` gave: its value (with its types), or the error's type and message."""
    try:
        value = read(body)
    except Exception as exc:  # the errors are what is compared
        return "error", (type(exc).__name__, str(exc))
    return "value", (value, typed(value))


def typed(value: Any) -> Any:
    """``value`` with the type of every leaf beside it: 1 and 1.0 and True are equal, but not alike."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return type(value).__name__


HOSTILE = [
    b'{"id": 1, "choices": []}',
    b'  {"a": [1, 2.5, -0, -0.0, 1e5, 1E-5, true, false, null]}  \n',
    b'{"big": 123456789012345678901234567890, "small": -9223372036854775809}',
    b'{"huge": 1e400, "tiny": 1e-400, "x": 1.7976931348623157e309}',
    b'{"nan": NaN, "inf": Infinity, "minus": -Infinity}',
    b'{"a": 1, "a": 2}',
    b'{"s": "\\ud800"}',  # a lone surrogate escaped, which json.loads lets through
    b'{"s": "\xed\xa0\x80"}',  # one encoded
    b'{"s": "\xff"}',
    b'{"s": "tab\there"}',  # a raw control character, which strict JSON refuses
    b'{"s": "\\u00e9\\u2028 \xe2\x98\x83"}',
    "\ufeff".encode() + b'{"a": 1}',
    json.dumps({"a": "é"}).encode("utf-16"),
    json.dumps({"a": "é"}).encode("utf-32-be"),
    b'{"n": 01}',
    b'{"n": 1.}',
    b'{"n": .5}',
    b'{"n": +1}',
    b'{"n": 0x10}',
    b'{"a": 1,}',
    b"[1, 2,]",
    b"{'a': 1}",
    b'{"a": 1} x',
    b'{"a": 1}{}',
    b'{"a": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}",
    b'{"a": 1',
    b"{",
    b"",
    b" ",
    b"null",
    b"1",
    b'"text"',
    b"<html>bad gateway</html>",
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_a_body_reads_as_json_loads_reads_it(decoder: str, body: bytes) -> None:
    assert outcome(body, json_body) == outcome(body, json.loads)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # of any size: beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
LAYOUTS = st.sampled_from(
    [
        {},
        {"separators": (",", ":")},
        {"indent": 2},
        {"ensure_ascii": False},
        {"ensure_ascii": False, "separators": (",", ":")},
    ]
)


@given(value=JSON, layout=LAYOUTS)
def test_any_json_text_reads_as_json_loads_reads_it(value: Any, layout: dict[str, Any]) -> None:
    body = json.dumps(value, **layout).encode("utf-8", "surrogatepass")
    assert outcome(body, json_body) == outcome(body, json.loads)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_wire, "_fast", None)
        assert outcome(body, json_body) == outcome(body, json.loads)


@given(value=JSON, cut=st.integers(min_value=0), junk=st.binary(max_size=3))
def test_a_damaged_body_reads_as_json_loads_reads_it(value: Any, cut: int, junk: bytes) -> None:
    text = json.dumps(value).encode("utf-8", "surrogatepass")
    at = cut % (len(text) + 1)
    body = text[:at] + junk + text[at + len(junk) :]
    assert outcome(body, json_body) == outcome(body, json.loads)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_wire, "_fast", None)
        assert outcome(body, json_body) == outcome(body, json.loads)
