"""``meshkit.webhook.v1``: batches of records POSTed as JSON, in the background, with retries."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx

from meshkit import Secret
from meshkit.interfaces import BufferedConfig, BufferedObservability, check, parse_retry_after

logger = logging.getLogger("meshkit.observability")

#: Answers worth another try: the server is overloaded, restarting or asks us to wait.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def _is_http_url(value: Secret) -> bool:
    return urlsplit(value.reveal()).scheme in ("http", "https") and bool(urlsplit(value.reveal()).netloc)


def _seconds_positive(value: timedelta) -> bool:
    return value.total_seconds() > 0


@attrs.frozen(kw_only=True)
class WebhookConfig(BufferedConfig):
    """Where the batches go and how hard to try."""

    #: The endpoint; kept as a secret because webhook URLs often embed a token.
    url: Secret = attrs.field(validator=check(_is_http_url, "an http:// or https:// URL"))
    #: Extra request headers, e.g. ``Authorization: ${secrets:HOOK_TOKEN}``; values stay redacted.
    headers: dict[str, Secret] = attrs.field(factory=dict)
    #: Timeout of one POST.
    timeout: timedelta = attrs.field(
        default=timedelta(seconds=10), validator=check(_seconds_positive, "a positive duration")
    )
    #: Further tries after a 5xx/408/429 answer or a connection error; then the batch counts as failed.
    max_retries: int = attrs.field(default=5, validator=check(lambda v: v >= 0, "0 or more"))
    #: First wait between tries; doubles each time up to ``max_backoff``.
    initial_backoff: timedelta = attrs.field(
        default=timedelta(milliseconds=500), validator=check(_seconds_positive, "a positive duration")
    )
    #: Longest wait between tries, a server's Retry-After included.
    max_backoff: timedelta = attrs.field(
        default=timedelta(seconds=30), validator=check(_seconds_positive, "a positive duration")
    )


@attrs.frozen
class _Outcome:
    """How one POST went."""

    problem: str | None = None
    retryable: bool = False
    retry_after: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None


class _MaskURL(logging.Filter):
    """Shows only scheme, host and port of one URL in httpx's own request log lines."""

    def __init__(self, url: httpx.URL, shown: str) -> None:
        super().__init__()
        self.url = url
        self.shown = shown

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.shown if isinstance(a, httpx.URL) and a == self.url else a for a in record.args
            )
        return True


class WebhookDeliveryError(Exception):
    """A batch could not be delivered; the message never holds the URL or a header value."""


class WebhookObservability(BufferedObservability[WebhookConfig]):
    """POSTs ``{"source", "sent_at", "records": [...]}`` batches to a URL.

    Start it (``async with`` or the mesh) for background delivery; ``flush()`` delivers
    what is buffered from the calling task. Waits between retries go through the
    injected clock.
    """

    connector_id = "meshkit.webhook.v1"
    description = "Batched JSON POSTs to a URL, with retries"
    Config = WebhookConfig

    def __init__(
        self, config: Any = None, *, transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any
    ) -> None:
        super().__init__(config, **kwargs)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._mask: _MaskURL | None = None
        #: Tries beyond the first, over the connector's life.
        self.retries = 0
        parts = urlsplit(self.config.url.reveal())
        # Only scheme, host and port ever appear in a log line: path and query may hold a token.
        self.endpoint = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {name: value.reveal() for name, value in self.config.headers.items()}
            headers.setdefault("content-type", "application/json")
            self._client = httpx.AsyncClient(
                transport=self._transport,
                headers=headers,
                timeout=self.config.timeout.total_seconds(),
                follow_redirects=False,
            )
            # httpx logs every request with its full URL at INFO; the path may hold a token.
            self._mask = _MaskURL(httpx.URL(self.config.url.reveal()), self.endpoint)
            logging.getLogger("httpx").addFilter(self._mask)
        return self._client

    async def deliver(self, batch: list[dict[str, Any]]) -> None:
        body = json.dumps(
            {"source": self.name, "sent_at": self.clock.now().isoformat(), "records": batch},
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        ).encode()
        backoff = self.config.initial_backoff.total_seconds()
        ceiling = self.config.max_backoff.total_seconds()
        for attempt in range(self.config.max_retries + 1):
            outcome = await self._post(body)
            if outcome.ok:
                return
            if not outcome.retryable:
                raise WebhookDeliveryError(f"{self.endpoint} {outcome.problem}; not retried")
            if attempt == self.config.max_retries:
                raise WebhookDeliveryError(
                    f"{self.endpoint}: gave up after {attempt + 1} tries: {outcome.problem}"
                )
            wait = min(ceiling, max(backoff, outcome.retry_after))
            logger.info("%s: %s (%s); trying again in %.1fs", self.name, self.endpoint, outcome.problem, wait)
            self.retries += 1
            await self.clock.sleep(wait)
            backoff = min(ceiling, backoff * 2)

    async def _post(self, body: bytes) -> _Outcome:
        try:
            response = await self._http().post(self.config.url.reveal(), content=body)
        except httpx.TransportError as exc:
            return _Outcome(problem=type(exc).__name__, retryable=True)
        if response.is_success:
            return _Outcome()
        if response.status_code not in RETRYABLE_STATUS:
            return _Outcome(problem=f"rejected the batch with HTTP {response.status_code}", retryable=False)
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=self.clock.now())
        return _Outcome(
            problem=f"HTTP {response.status_code}", retryable=True, retry_after=retry_after or 0.0
        )

    async def close_sink(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._mask is not None:
            logging.getLogger("httpx").removeFilter(self._mask)
            self._mask = None
