"""The HTTP plumbing's fast paths give what httpx's constructors give.

``with_body`` sets a request's headers up field by field once a route's headers are known to
hold no Content-Length; the aiohttp transport builds its ``httpx.Response`` field by field.
"""

from __future__ import annotations

import json

import httpx
import pytest

from meshkit.connectors.providers import OpenAICompatibleProvider
from meshkit.interfaces.aiohttp_transport import _BY_FIELDS, _FIELDS


def test_the_transport_builds_its_responses_field_by_field_here() -> None:
    # The fast response builder is in use on the httpx this runs with, and sets what it sets.
    reference = httpx.Response(200, headers=[(b"a", b"b")], stream=httpx.ByteStream(b""))
    assert _BY_FIELDS
    assert set(vars(reference)) == _FIELDS


@pytest.mark.parametrize("reason", ["OK", "", "Not Found"])
def test_the_transport_response_is_what_httpx_builds(reason: str) -> None:
    from meshkit.interfaces import aiohttp_transport

    class Upstream:  # what ``_response`` reads of an aiohttp response
        status = 404 if reason == "Not Found" else 200
        raw_headers = ((b"Content-Type", b"application/json"), (b"X-Odd", b"caf\xc3\xa9"), (b"x-odd", b"2"))

    Upstream.reason = reason or None  # type: ignore[attr-defined]
    request = httpx.Request("POST", "http://h/x")
    stream = httpx.ByteStream(b"{}")
    built = aiohttp_transport._response(Upstream(), request, stream)  # type: ignore[arg-type]
    extensions = {"http_version": b"HTTP/1.1", **({"reason_phrase": reason.encode()} if reason else {})}
    want = httpx.Response(
        Upstream.status, headers=Upstream.raw_headers, stream=stream, request=request, extensions=extensions
    )
    assert set(vars(built)) == set(vars(want))
    for name, value in vars(want).items():
        if name != "headers":
            assert getattr(built, name) == value, name
    assert built.headers.raw == want.headers.raw
    assert built.headers.multi_items() == want.headers.multi_items()
    assert built.headers.encoding == want.headers.encoding
    assert built.reason_phrase == want.reason_phrase and built.request is request


@pytest.mark.parametrize("headers", [{}, {"X-Team": "a", "X-Name": "b"}, {"content-length": "5"}])
def test_a_request_built_again_has_the_headers_httpx_would_give_it(headers: dict[str, str]) -> None:
    # The second request of a route takes the fast path; each holds what copying the route's
    # headers and setting Content-Length on the copy gives.
    p = OpenAICompatibleProvider({"base_url": "http://127.0.0.1:9/v1", "headers": headers})
    for body in ({"a": 1}, {"a": "x" * 1000}, {"a": "é"}):
        built = p.http_request("POST", "chat/completions", json=body)
        assert p._prepared is not None
        want = p._prepared.route("chat/completions")[1].copy()
        want["Content-Length"] = str(len(built.content))
        assert built.headers.raw == want.raw
        assert built.headers.encoding == want.encoding
        assert built.headers["content-length"] == str(
            len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
        )
    assert len(p._prepared._lengthless) == (0 if headers.get("content-length") else 1)
