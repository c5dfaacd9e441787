"""What every request of one provider shares, worked out once: the URL, the headers, the timeouts."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["ACCEPT_ENCODING", "PREPARED", "USER_AGENT", "PreparedRequests"]

#: The headers httpx's client sends by default, sent by ``http_request`` too.
USER_AGENT = f"python-httpx/{httpx.__version__}"
ACCEPT_ENCODING = "gzip, deflate"
#: The extension that marks a request ``http_request`` built (see ``HTTPProvider._send``).
PREPARED = "meshkit.prepared"


class PreparedRequests:
    """What every request of one provider shares: the base URL, the headers, the timeouts."""

    __slots__ = (
        "_connect",
        "_lengthless",
        "_routes",
        "_timeout",
        "base",
        "extensions",
        "headers",
        "json_headers",
    )

    def __init__(
        self, base: httpx.URL, headers: httpx.Headers, timeout: dict[str, Any], connect: float
    ) -> None:
        raw_path = base.raw_path
        self.base = base if raw_path.endswith(b"/") else base.copy_with(raw_path=raw_path + b"/")
        self.headers = headers
        self.json_headers = httpx.Headers(headers)
        self.json_headers["Content-Type"] = "application/json"
        self._timeout = timeout
        self._connect = connect
        self.extensions: dict[str, Any] = {"timeout": timeout, PREPARED: True}
        self._routes: dict[str, tuple[httpx.URL, httpx.Headers]] = {}
        # The headers seen lately that hold no Content-Length, by identity, with their encoding.
        self._lengthless: dict[int, tuple[httpx.Headers, str]] = {}

    def route(self, path: str) -> tuple[httpx.URL, httpx.Headers]:
        """The URL of ``path`` under the base URL (as httpx's client merges them; an absolute URL
        as it is), and the headers of a JSON request to it, ``Host`` included."""
        found = self._routes.get(path)
        if found is None:
            url = httpx.URL(path)
            if url.is_relative_url:
                url = self.base.copy_with(raw_path=self.base.raw_path + url.raw_path.lstrip(b"/"))
            headers = httpx.Headers({"Host": url.netloc.decode("ascii")})
            headers.update(self.json_headers)
            found = (url, headers)
            if len(self._routes) < 64:
                self._routes[path] = found
        return found

    def with_body(
        self, method: str, url: httpx.URL, headers: httpx.Headers, body: bytes, extensions: dict[str, Any]
    ) -> httpx.Request:
        """The request httpx would build with ``content=body``, its ``Content-Length`` added.

        Set up field by field: httpx's constructor re-checks the URL, copies the headers and
        wraps the body in layers this request does not need. A test holds it equal to
        httpx's own (tests/connectors/providers/test_http_send_path.py).
        """
        request = httpx.Request.__new__(httpx.Request)
        request.method = method.upper()
        request.url = url
        known = self._lengthless.get(id(headers))
        if known is not None and known[0] is headers:
            # What ``copy()`` and ``copy["Content-Length"] = ...`` give headers without one, with
            # no search of the list for a Content-Length to replace.
            request.headers = copy = httpx.Headers.__new__(httpx.Headers)
            copy._list = [*headers._list, (b"Content-Length", b"content-length", b"%d" % len(body))]
            copy._encoding = known[1]
        else:
            request.headers = copy = headers.copy()
            copy["Content-Length"] = str(len(body))
            if len(copy._list) == len(headers._list) + 1 and len(self._lengthless) < 64:
                self._lengthless[id(headers)] = (headers, headers.encoding)  # held: its id stays its own
        request.extensions = dict(extensions)  # a request of its own, as httpx gives it
        request.stream = httpx.ByteStream(body)
        request._content = body  # what ``read()`` stores: the body is in memory already
        return request

    def timed(self, seconds: float) -> dict[str, Any]:
        """The extensions of a request with its own timeout of ``seconds``."""
        timeout = {"connect": min(self._connect, seconds), "read": seconds, "write": seconds, "pool": seconds}
        return {"timeout": timeout, PREPARED: True}
