"""Talk to the GraphQL Admin API through the ``ShopifyAPI`` library, within the cost budget.

The library keeps its session (site, token) in class attributes shared by the whole
process. :func:`_endpoint` activates our session under a lock, takes the endpoint and
headers the library builds for it into a :class:`shopify.GraphQL` object of our own,
and clears the session again, so two channels (two shops) never see each other's
token. The request itself runs outside the lock with a time-out (the library's
``execute`` has none, and prints error bodies to stdout).

Every answer carries ``extensions.cost``; the client remembers the throttle status and
what each document cost last time, and waits before a call until the bucket holds
that much again. A ``THROTTLED`` answer (HTTP 200) is retried after the restore time.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from typing import Any
from urllib.parse import SplitResult, urlsplit

import shopify

from hub import ChannelError, RateLimited

from .auth import TokenSource

log = logging.getLogger(__name__)
_SESSION_LOCK = threading.Lock()
THROTTLE_RETRIES = 5


@functools.cache
def document(name: str) -> str:
    """The text of ``graphql/<name>.graphql`` shipped with the plugin (read once)."""
    return resources.files(__package__).joinpath("graphql", f"{name}.graphql").read_text()


class _Endpoint(shopify.GraphQL):
    """The library's GraphQL endpoint, frozen for one shop, posting with a time-out."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.headers: dict[str, str] = dict(self.headers)  # a copy: the session is cleared
        self.timeout = timeout

    def post(self, query: str, variables: Mapping[str, Any]) -> tuple[int, Any, bytes]:
        default_headers = {"Accept": "application/json", "Content-Type": "application/json"}
        headers = self.merge_headers(default_headers, self.headers)
        data = json.dumps({"query": query, "variables": dict(variables)}).encode()
        request = urllib.request.Request(self.endpoint, data, headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()


def _split(shop: str) -> SplitResult:
    return urlsplit(shop if "://" in shop else f"https://{shop}")


def base_url(shop: str) -> str:
    """``https://acme.myshopify.com`` for ``acme.myshopify.com`` (a URL stays as it is)."""
    parts = _split(shop)
    return f"{parts.scheme}://{parts.netloc}"


def _endpoint(shop: str, version: str, token: str, timeout: float) -> _Endpoint:
    """Build the endpoint for ``shop`` with the library's own session handling."""
    parts = _split(shop)
    with _SESSION_LOCK:
        session = shopify.Session(parts.hostname or shop, version, token)
        if parts.port or parts.scheme == "http":  # a local sandbox: the library drops ports
            session.url = parts.netloc
            session.protocol = parts.scheme  # instance attributes: the class stays https
        shopify.ShopifyResource.activate_session(session)
        try:
            return _Endpoint(timeout)
        finally:
            shopify.ShopifyResource.clear_session()


class ShopifyClient:
    """GraphQL calls to one shop, paced by the shop's cost bucket."""

    def __init__(
        self,
        shop: str,
        tokens: TokenSource,
        *,
        version: str = "2026-04",
        timeout: float = 10.0,
        channel: str = "shopify",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.shop = shop
        self.channel = channel
        self.tokens = tokens
        self._version = version
        self._timeout = timeout
        self._endpoint: tuple[str, _Endpoint] | None = None  # for the current token
        self._sleep = sleep
        self._lock = threading.Lock()
        self._status: dict[str, float] = {}
        self._status_at = 0.0
        self._costs: dict[str, float] = {}

    def _endpoint_for(self, token: str) -> _Endpoint:
        with self._lock:
            if self._endpoint is None or self._endpoint[0] != token:
                self._endpoint = (token, _endpoint(self.shop, self._version, token, self._timeout))
            return self._endpoint[1]

    # -- the cost bucket ----------------------------------------------------------------------

    def rate_status(self) -> dict[str, float] | None:
        """The bucket as the shop last reported it, restored to now (points)."""
        with self._lock:
            if not self._status:
                return None
            elapsed = time.monotonic() - self._status_at
            available = min(
                self._status["capacity"],
                self._status["available"] + elapsed * self._status["restore_rate"],
            )
            return {**self._status, "available": available}

    def _observe(self, cost: Mapping[str, Any] | None) -> None:
        throttle = (cost or {}).get("throttleStatus")
        if not throttle:
            return
        with self._lock:
            self._status = {
                "available": float(throttle["currentlyAvailable"]),
                "capacity": float(throttle["maximumAvailable"]),
                "restore_rate": float(throttle["restoreRate"]),
            }
            self._status_at = time.monotonic()

    def _seconds_until(self, points: float) -> float:
        """How long until the bucket holds ``points`` again (0: it does now)."""
        status = self.rate_status()
        if not status or status["restore_rate"] <= 0:
            return 0.0
        deficit = min(points, status["capacity"]) - status["available"]
        return _margin(deficit / status["restore_rate"]) if deficit > 0 else 0.0

    # -- calls --------------------------------------------------------------------------------

    def execute(self, name: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run the document ``graphql/<name>.graphql`` and return its ``data``.

        Waits first until the bucket holds what the document cost last time; a
        ``THROTTLED`` answer waits for the restore time and is sent again. Raises
        ChannelError on failure.
        """
        query = document(name)
        for attempt in range(THROTTLE_RETRIES + 1):
            wait = self._seconds_until(self._costs.get(name, 1.0))
            if wait:
                log.debug("shopify %s: waiting %.2fs before %s", self.channel, wait, name)
                self._sleep(wait)
            body = self._post(name, query, variables or {})
            cost = body.get("extensions", {}).get("cost")
            if cost:
                self._observe(cost)
                self._costs[name] = float(cost.get("requestedQueryCost") or 1.0)
            errors = body.get("errors") or []
            if not any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                if errors:
                    raise self._graphql_error(name, errors)
                return body.get("data") or {}
            log.info("shopify %s: %s throttled (attempt %d)", self.channel, name, attempt + 1)
        raise RateLimited(
            f"Shopify channel {self.channel!r}: {name} throttled {THROTTLE_RETRIES + 1} "
            "times; the shop's cost bucket stays empty",
            retry_after=self._seconds_until(self._costs.get(name, 1.0)) or 1.0,
        )

    def pages(
        self, name: str, variables: Mapping[str, Any], *path: str
    ) -> Iterator[dict[str, Any]]:
        """Each page of the connection at ``path`` in ``name``'s data, following cursors.

        Starts after ``variables["after"]`` when given; each page's ``pageInfo`` says
        where the next one starts.
        """
        after = variables.get("after")
        while True:
            connection: Any = self.execute(name, {**variables, "after": after})
            for key in path:
                connection = connection[key]
            yield connection
            info = connection["pageInfo"]
            if not info["hasNextPage"]:
                return
            after = info["endCursor"]

    def _post(self, name: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        where = f"Shopify channel {self.channel!r}: {name}"
        token = self.tokens.current()
        endpoint = self._endpoint_for(token)
        try:
            status, headers, raw = endpoint.post(query, variables)
            if status == 401 and self.tokens.refused(token):  # expired early: renewed
                endpoint = self._endpoint_for(self.tokens.current())
                status, headers, raw = endpoint.post(query, variables)
        except TimeoutError as error:
            raise ChannelError(f"{where} timed out", retryable=True) from error
        except (urllib.error.URLError, ConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ChannelError(
                f"{where}: cannot reach {self.shop} ({reason})", retryable=True
            ) from error
        if status == 429:
            retry = _seconds(headers.get("Retry-After"))
            raise RateLimited(f"{where}: HTTP 429 Too Many Requests", retry_after=retry)
        if status >= 500:
            raise ChannelError(
                f"{where}: HTTP {status} from Shopify", retryable=True, status=status
            )
        if status == 401:
            what = "client_id and client_secret" if self.tokens.renewable else "access_token"
            raise ChannelError(
                f"{where}: the access token was refused (HTTP 401); check {what}",
                status=status,
            )
        if status == 402:
            raise ChannelError(
                f"{where}: the shop is frozen (HTTP 402 Payment Required)", status=status
            )
        if status == 404:
            raise ChannelError(
                f"{where}: HTTP 404; check shop and api_version ({endpoint.endpoint})",
                status=status,
            )
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise ChannelError(
                f"{where}: the answer is not valid JSON (HTTP {status}, {len(raw)} bytes)",
                retryable=True,
                status=status,
            ) from error
        if status >= 400 or not isinstance(body, dict):
            detail = body.get("errors") if isinstance(body, dict) else body
            raise ChannelError(f"{where}: HTTP {status}: {detail}", status=status)
        return body

    def _graphql_error(self, name: str, errors: list[Mapping[str, Any]]) -> ChannelError:
        codes = {(e.get("extensions") or {}).get("code") for e in errors}
        text = "; ".join(str(e.get("message")) for e in errors)
        retryable = bool(codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"})
        return ChannelError(
            f"Shopify channel {self.channel!r}: {name} failed: {text}", retryable=retryable
        )


def _margin(seconds: float) -> float:
    """A wait with room for clock skew between us and the shop's bucket."""
    return seconds * 1.05 + 0.01


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
