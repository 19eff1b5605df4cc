"""Calls to the Selling Partner API through ``python-amazon-sp-api``, pointed where the
configuration says, paced per operation, with failures turned into ``ChannelError``.

The library's clients take the SP-API host from the marketplace; its supported override is
the client's ``endpoint`` attribute (set after construction, as its own sandbox switch
does with the base URL). The Login with Amazon token request goes through the class passed
as ``auth_token_client_class``: a subclass of its ``AccessTokenClient`` whose ``scheme``,
``host`` and ``path`` name the configured token URL and which keeps tokens for as long as
LWA's ``expires_in`` says, forgetting them when the SP-API refuses one (403
``Unauthorized``: the call is made once more with a new token). Nothing of the library is
patched.

Orders use the library's 2026-01-01 client (``OrdersV20260101.search_orders`` /
``get_order``); shipment confirmation is v0's ``confirmShipment`` (``OrdersV0``), which
2026-01-01 does not have.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from sp_api.api import FeedsV20210630, ListingsItemsV20210801, OrdersV0, OrdersV20260101
from sp_api.auth import AccessTokenClient, AccessTokenResponse
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse, Marketplaces, SellingApiException
from sp_api.base.exceptions import SellingApiForbiddenException

from hub import ChannelError, RateLimited

from .usage import UsagePlans

log = logging.getLogger(__name__)

#: The keys each operation's answer has by its model; an answer without them was cut short.
REQUIRED = {
    "searchOrders": "orders",
    "getOrder": "order",
    "searchListingsItems": "items",
    "getListingsItem": "sku",
    "patchListingsItem": "status",
    "createFeedDocument": "url",
    "createFeed": "feedId",
    "getFeed": "processingStatus",
    "getFeedDocument": "url",
}


def marketplace(marketplace_id: str) -> Marketplaces:
    """The library's marketplace for an id; raises ValueError naming it when unknown."""
    for member in Marketplaces:
        if member.marketplace_id == marketplace_id:
            return member
    raise ValueError(f"marketplace id {marketplace_id!r} is not an Amazon marketplace")


class ConfiguredAccessTokenClient(AccessTokenClient):
    """The library's token client, asking the configured URL, with a cache of its own.

    The library keeps tokens in one process-wide cache for a fixed 3,200 s whatever LWA
    says; this one keeps each token for 90 % of its ``expires_in`` (seconds) and can
    :meth:`forget` them, so a token Amazon refuses (revoked, expired early) is replaced.
    """

    tokens: dict[str, tuple[float, dict[str, Any]]]

    def get_auth(self) -> AccessTokenResponse:
        """A valid access token: from the cache, or asked for at the configured URL.

        Raises the library's AuthorizationError when LWA refuses the credentials.
        """
        key = self._get_cache_key()
        held = self.tokens.get(key)
        if held is None or held[0] <= time.monotonic():
            data = self._request(self.scheme + self.host + self.path, self.data, self.headers)
            lifetime = float(data.get("expires_in") or 3600) * 0.9
            held = (time.monotonic() + lifetime, data)
            self.tokens[key] = held
        return AccessTokenResponse(**held[1])

    @classmethod
    def forget(cls) -> None:
        """Drop the cached tokens: the next call asks LWA for a new one."""
        cls.tokens.clear()


def token_client(url: str) -> type[ConfiguredAccessTokenClient]:
    """A token client class, with a cache of its own, asking for tokens at ``url``."""
    parts = urlsplit(url)
    return type(
        "ConfiguredAccessTokenClient",
        (ConfiguredAccessTokenClient,),
        {
            "scheme": f"{parts.scheme}://",
            "host": parts.netloc,
            "path": parts.path or "/auth/o2/token",
            "tokens": {},
        },
    )


class _HostHeader:
    """Sends the ``host`` header of the configured endpoint (the library cuts 8 characters
    off ``https://``, which would mangle an ``http://`` address)."""

    endpoint: str

    @property
    def headers(self) -> dict[str, str]:
        """The library's request headers with ``host`` taken from ``endpoint``."""
        sent: dict[str, str] = super().headers  # type: ignore[misc]
        sent["host"] = urlsplit(self.endpoint).netloc
        return sent


def _client(base: type, endpoint: str | None, **kwargs: Any) -> Any:
    cls = type(f"Configured{base.__name__}", (_HostHeader, base), {})
    client = cls(**kwargs)
    if endpoint:
        client.endpoint = endpoint.rstrip("/")
    return client


class SpApi:
    """The four library clients of one seller account and the pacing of their operations.

    ``call(operation, fn, ...)`` waits for the operation's token (sleeping at most
    ``max_wait`` seconds; longer raises RateLimited so the hub's limiter pauses instead),
    calls, follows ``x-amzn-RateLimit-Limit``, and raises ChannelError on failure:
    429 → RateLimited (retry after the bucket's next token), 5xx, time-outs and answers cut
    short → retryable, 4xx → not retryable, with Amazon's code and message.
    """

    def __init__(
        self,
        *,
        channel: str,
        refresh_token: str,
        client_id: str,
        client_secret: str,
        marketplace_id: str,
        endpoint: str | None,
        lwa_endpoint: str,
        timeout: float,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channel = channel
        self.max_wait = max_wait
        self._sleep = sleep
        self.plans = UsagePlans()
        self.token_client = token_client(lwa_endpoint)
        common: dict[str, Any] = {
            "marketplace": marketplace(marketplace_id),
            "refresh_token": refresh_token,
            "credentials": {
                "refresh_token": refresh_token,
                "lwa_app_id": client_id,
                "lwa_client_secret": client_secret,
            },
            "timeout": timeout,
            "auth_token_client_class": self.token_client,
        }
        self.orders = _client(OrdersV20260101, endpoint, **common)
        self.orders_v0 = _client(OrdersV0, endpoint, **common)
        self.listings = _client(ListingsItemsV20210801, endpoint, **common)
        self.feeds = _client(FeedsV20210630, endpoint, **common)
        self.timeout = timeout

    def close(self) -> None:
        """Close the clients' connections."""
        for client in (self.orders, self.orders_v0, self.listings, self.feeds):
            client.close()
            tokens = getattr(getattr(client, "_auth", None), "_transport", None)
            if tokens is not None:  # the token client's own connection pool
                tokens.close()

    def call(self, operation: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` (a method of one of the clients) as operation ``operation``."""
        where = f"Amazon channel {self.channel!r}: {operation}"
        wait = self.plans.reserve(operation)
        if wait > self.max_wait:
            self.plans.refund(operation)
            raise RateLimited(
                f"{where}: its usage plan allows the next call in {wait:.0f} s", retry_after=wait
            )
        if wait > 0:
            log.debug("%s: waiting %.2f s for the usage plan", where, wait)
            self._sleep(wait)
        try:
            try:
                response = fn(*args, **kwargs)
            except SellingApiForbiddenException as error:
                if getattr(error, "amzn_code", "") != "Unauthorized":
                    raise
                log.info("%s: the access token was refused; asking LWA for a new one", where)
                self.token_client.forget()
                response = fn(*args, **kwargs)
        except SellingApiException as error:
            raise self._error(where, operation, error) from None
        except AuthorizationError as error:
            retry = int(error.status_code or 0) >= 500
            raise ChannelError(
                f"{where}: Login with Amazon refused the token request "
                f"({error.status_code} {error.error_code}: {error.message}); check "
                f"refresh_token, lwa_client_id and lwa_client_secret",
                retryable=retry,
                status=int(error.status_code or 0) or None,
            ) from None
        except ValueError as error:  # the token endpoint answered something not JSON
            raise ChannelError(
                f"{where}: an answer was not JSON ({error})", retryable=True
            ) from None
        except httpx.TimeoutException:
            raise ChannelError(
                f"{where}: no answer within {self.timeout:g} s", retryable=True
            ) from None
        except httpx.HTTPError as error:
            raise ChannelError(
                f"{where}: could not reach Amazon ({type(error).__name__}); check endpoint "
                "and the network",
                retryable=True,
            ) from None
        if not isinstance(response, ApiResponse):
            return response  # getFeedDocument's contents: the library fetched the URL
        self.plans.observe(operation, (response.headers or {}).get("x-amzn-RateLimit-Limit"))
        key = REQUIRED.get(operation)
        if key and (not isinstance(response.payload, dict) or key not in response.payload):
            raise ChannelError(
                f"{where}: the answer has no {key!r} (cut short or not JSON)", retryable=True
            )
        return response

    def _error(self, where: str, operation: str, error: SellingApiException) -> ChannelError:
        headers = error.headers or {}
        self.plans.observe(operation, headers.get("x-amzn-RateLimit-Limit"))
        status = int(getattr(error, "code", 0) or 0)
        code = getattr(error, "amzn_code", "") or ""
        message = getattr(error, "message", "") or str(error.error)
        detail = f"{where} answered {status} {code}: {message}"
        if status == 429:
            return RateLimited(
                f"{detail}; waiting for the usage plan", retry_after=self.plans.throttled(operation)
            )
        if status >= 500 or status in (0, 999):
            return ChannelError(detail, retryable=True, status=status or None)
        if status in (401, 403):
            detail += "; check the credentials, seller_id and the app's roles"
        return ChannelError(detail, retryable=False, status=status)
