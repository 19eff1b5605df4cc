"""Calls to the WooCommerce REST API through the official ``woocommerce`` library.

The library signs each request: HTTP Basic auth over HTTPS, OAuth 1.0a
(HMAC-SHA256, query-string parameters) over plain HTTP. This module adds what the
library leaves to its caller: reading the pagination headers, and turning every
failure into a :class:`hub.ChannelError` that says whether to retry and what to fix.

OAuth and query-string auth put the consumer key (and secret) in the URL, which
``requests`` repeats in its exceptions and ``urllib3`` in its debug log: errors are raised
without those exceptions chained, and the log has the credentials masked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from woocommerce import API

from hub import ChannelError, RateLimited, utc

_CREDENTIALS_IN_URL = re.compile(r"((?:oauth_)?consumer_(?:key|secret)|oauth_signature)=[^&\s\"']*")


def hide_credentials(text: str) -> str:
    """``text`` with the credentials of any URL query in it masked."""
    return _CREDENTIALS_IN_URL.sub(r"\1=***", text)


class _HideCredentials(logging.Filter):
    """Masks credentials in the URLs urllib3 logs at DEBUG ("GET /wp-json/...?...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = hide_credentials(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                hide_credentials(a) if isinstance(a, str) else a for a in record.args
            )
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HideCredentials())


@dataclass(frozen=True)
class Reply:
    """A decoded answer: the JSON body and the ``X-WP-Total``/``X-WP-TotalPages`` headers."""

    data: Any
    total: int | None = None
    total_pages: int | None = None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = utc(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return None
    assert when is not None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _woo_error(response: requests.Response) -> tuple[str, str]:
    """The ``code`` and ``message`` of a Woo error body, or a short excerpt of another body."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:120].strip()
    if isinstance(body, dict) and "code" in body:
        return str(body.get("code")), str(body.get("message", ""))
    return "", json.dumps(body)[:120]


class WooClient:
    """One store's API: ``get``/``post``/``put`` return a :class:`Reply` or raise ChannelError."""

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        version: str = "wc/v3",
        timeout: float = 10.0,
        verify_ssl: bool = True,
        query_string_auth: bool = False,
        channel: str = "woocommerce",
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.channel = channel
        self.api = API(
            url=self.url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            wp_api=True,
            version=version,
            timeout=timeout,
            verify_ssl=verify_ssl,
            query_string_auth=query_string_auth,
        )

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Reply:
        """GET ``endpoint`` (relative to ``/wp-json/wc/v3/``) with query ``params``."""
        return self._call("GET", endpoint, params=dict(params or {}))

    def post(self, endpoint: str, data: Any) -> Reply:
        """POST a JSON body to ``endpoint``."""
        return self._call("POST", endpoint, data=data)

    def put(self, endpoint: str, data: Any) -> Reply:
        """PUT a JSON body to ``endpoint``."""
        return self._call("PUT", endpoint, data=data)

    def iter_collection(
        self, endpoint: str, params: Mapping[str, Any] | None = None, per_page: int = 100
    ) -> Iterator[Any]:
        """Yield every item of a paginated collection, page by page until X-WP-TotalPages."""
        page = 1
        while True:
            reply = self.get(endpoint, {**(params or {}), "page": page, "per_page": per_page})
            yield from reply.data
            if is_last_page(reply, page, per_page):
                return
            page += 1

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> Reply:
        where = f"WooCommerce channel {self.channel!r}: {method} {endpoint}"
        try:
            if method == "GET":
                response = self.api.get(endpoint, params=kwargs["params"])
            elif method == "POST":
                response = self.api.post(endpoint, kwargs["data"])
            else:
                response = self.api.put(endpoint, kwargs["data"])
        except requests.Timeout:  # not chained: its text holds the signed URL
            raise ChannelError(
                f"{where} got no answer within {self.timeout:g}s", retryable=True
            ) from None
        except requests.RequestException as error:
            raise ChannelError(
                f"{where} could not reach {self.url} ({type(error).__name__}); "
                f"check the url and the network",
                retryable=True,
            ) from None
        check_status(response, where, self.url)
        return decode(response, where)


def is_last_page(reply: Reply, page: int, per_page: int) -> bool:
    """True when ``page`` was the last one, by X-WP-TotalPages (or a short page without it)."""
    if reply.total_pages is not None:
        return page >= reply.total_pages
    return len(reply.data) < per_page


def check_status(response: requests.Response, where: str, url: str) -> None:
    """Raise the ChannelError matching a non-2xx answer; return quietly on success."""
    status = response.status_code
    if status < 400:
        return
    code, message = _woo_error(response)
    detail = f"{where} answered {status}" + (f" {code}" if code else "") + f": {message}"
    if status == 429:
        raise RateLimited(f"{detail}; slowing down", retry_after=retry_after(response.headers))
    if status >= 500 or status == 408:
        raise ChannelError(
            detail, retryable=True, status=status, retry_after=retry_after(response.headers)
        )
    raise ChannelError(f"{detail}{_hint(status, code, url)}", status=status)


def _hint(status: int, code: str, url: str) -> str:
    if status in (401, 403):
        return (
            "; check consumer_key and consumer_secret (WooCommerce > Settings > Advanced > "
            "REST API) and that the key has Read/Write permission"
        )
    if code == "rest_no_route" or (status == 404 and not code):
        return (
            f"; is {url} the WordPress address of a store running WooCommerce 3.5 or "
            f"later, with pretty permalinks enabled?"
        )
    if status == 413:
        return "; send fewer items per batch (WooCommerce accepts at most 100)"
    return ""


def decode(response: requests.Response, where: str) -> Reply:
    """Decode a 2xx JSON answer; a body that is not JSON is a retryable ChannelError."""
    try:
        data = response.json()
    except ValueError as error:
        raise ChannelError(
            f"{where} answered {response.status_code} with a body that is not "
            f"valid JSON (truncated or an HTML page)",
            retryable=True,
            status=response.status_code,
        ) from error
    return Reply(
        data=data,
        total=_int_header(response.headers, "X-WP-Total"),
        total_pages=_int_header(response.headers, "X-WP-TotalPages"),
    )
