"""The eBay channel adapter: the hub's calls in eBay's Sell APIs, on ``hub.rest`` and nothing
else (no eBay SDK).

- Orders: Fulfillment API ``getOrders`` filtered by ``lastmodifieddate:[since..]``, paged
  by ``limit``/``offset`` through the answer's ``next``; shipments by
  ``createShippingFulfillment`` with the tracking number.
- Stock: Inventory API ``getInventoryItems`` (SKU and ship-to-home quantity) and
  ``bulkUpdatePriceQuantity``, 25 items per call, the most it takes.
- Access: OAuth tokens from :mod:`hub_ebay.oauth`; notifications verified by
  :mod:`hub_ebay.notifications`.

The operations and fields are those of eBay's OpenAPI contracts in
``hub_ebay/reference/`` (see SOURCES.md there).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

import requests
from pydantic import Field, SecretStr

from hub.channels import Channel, ChannelConfig, OrderPage, WebhookEvent
from hub.errors import ChannelError, UnreadableWebhook
from hub.listingcheck import ListingCollector
from hub.orders import Customer, Order, OrderLine, OrderStatus, PaymentStatus, utc
from hub.rest import RestClient, batches, decode_cursor, encode_cursor, paged
from hub.signing import header
from hub.stock import Listing, StockResult, StockUpdate

from .notifications import PUBLIC_KEY_PATH, PublicKeys
from .oauth import TokenSource

FULFILLMENT = "/sell/fulfillment/v1"
INVENTORY = "/sell/inventory/v1"
WINDOW = timedelta(days=90)  # getOrders' filter "returns data from only the last 90 days"
PAID = {
    "PAID": PaymentStatus.PAID,
    "PENDING": PaymentStatus.PENDING,
    "FAILED": PaymentStatus.FAILED,
    "PARTIALLY_REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
    "FULLY_REFUNDED": PaymentStatus.REFUNDED,
}


def _sandbox() -> Any:
    """A new :class:`~hub_ebay.sandbox.EbaySandbox`. Imported here, not at the top: the hub
    loads every plugin for every command, and only demos and tests need the emulator."""
    from .sandbox import EbaySandbox

    return EbaySandbox()


class EbayConfig(ChannelConfig):
    """A ``[channels.<name>]`` section with ``type = "ebay"``: the application's keys
    (``client_id`` is the App ID, ``client_secret`` the Cert ID) and the seller's
    refresh token, which eBay issues when the seller consents (valid 18 months)."""

    api_url: str = Field(default="https://api.ebay.com", pattern=r"^https?://")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = Field(min_length=1)
    refresh_token: SecretStr = Field(min_length=1)
    page_size: int = Field(default=50, ge=1, le=100)  # records per page when listing
    timeout: float = Field(default=10.0, gt=0)  # seconds per API call


class _Bearer(requests.auth.AuthBase):
    """Puts a current access token of ``kind`` on every request of a session."""

    def __init__(self, tokens: TokenSource, kind: str) -> None:
        self.tokens, self.kind = tokens, kind

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.tokens.token(self.kind)}"
        return request


class EbayChannel(Channel):
    """One eBay seller account as a sales channel."""

    type_name: ClassVar[str] = "ebay"
    Config: ClassVar[type[ChannelConfig]] = EbayConfig
    stock_batch_size: ClassVar[int] = 25  # BulkPriceQuantity.requests: "up to 25"
    rate_per_second: ClassVar[float] = 5.0  # eBay counts calls per day; keep bursts modest
    rate_burst: ClassVar[float] = 10.0
    sandbox: ClassVar[Any] = staticmethod(_sandbox)

    def __init__(self, name: str, config: ChannelConfig) -> None:
        super().__init__(name, config)
        assert isinstance(config, EbayConfig)
        self.settings = config
        self.tokens = TokenSource(
            requests.Session(),
            config.api_url,
            config.client_id,
            config.client_secret.get_secret_value,
            config.refresh_token.get_secret_value,
            config.timeout,
        )
        self.clients: dict[str, RestClient] = {}
        for kind in ("user", "application"):  # Sell APIs / Notification API
            client = RestClient(config.api_url, service="eBay", timeout=config.timeout)
            client.session.auth = _Bearer(self.tokens, kind)
            self.clients[kind] = client
        self.keys = PublicKeys(self._public_key)

    # -- the hub's calls ------------------------------------------------------------------

    def check_connection(self) -> list[str]:
        problems = []
        for kind, path in (("user", INVENTORY + "/inventory_item"), ("application", None)):
            try:
                self.tokens.token(kind)
                if path:
                    self._call("GET", path, params={"limit": 1})
            except ChannelError as error:
                problems.append(str(error))
        return problems

    def fetch_listings(self) -> Iterator[Listing]:
        collector = ListingCollector("eBay", self.name)
        params: dict[str, Any] | None = {"limit": self.settings.page_size, "offset": 0}
        while params is not None:
            page = self._call("GET", INVENTORY + "/inventory_item", params=params)
            for item in page.get("inventoryItems") or []:
                ship = (item.get("availability") or {}).get("shipToLocationAvailability") or {}
                quantity, sku = ship.get("quantity"), item.get("sku") or ""
                title = (item.get("product") or {}).get("title", "")
                listing = Listing(sku, sku, title=title, quantity=quantity)
                yield from collector.accept(replace(listing, managed=quantity is not None))
            params = _next(page)
        self.listing_problems = collector.problems()

    def fetch_orders(
        self, updated_since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        # The cursor keeps the pull's own start, so a resumed pull asks the same question.
        state = decode_cursor(cursor) if cursor else {"since": _since(updated_since)}
        since = state.get("since")

        def fetch(offset: str | None) -> tuple[list[Any], str | None]:
            params = {"limit": self.settings.page_size, "offset": offset or "0"}
            if since:
                params["filter"] = f"lastmodifieddate:[{since}..]"
            page = self._call("GET", FULFILLMENT + "/order", params=params)
            following = _next(page)
            after = str(following["offset"]) if following and "offset" in following else None
            return page.get("orders") or [], after

        for orders, offset in paged(fetch, state.get("offset")):
            following = encode_cursor({"since": since, "offset": offset}) if offset else None
            yield OrderPage(tuple(self._order(o) for o in orders), cursor=following)

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[StockResult]:
        results = []
        for chunk in batches(updates, self.stock_batch_size):
            body = {
                "requests": [
                    {"sku": u.external_id, "shipToLocationAvailability": {"quantity": u.quantity}}
                    for u in chunk
                ]
            }
            answer = self._call("POST", INVENTORY + "/bulk_update_price_quantity", body=body)
            said = {r.get("sku"): r for r in (answer or {}).get("responses") or []}
            for u in chunk:
                got = said.get(u.external_id)
                status = (got or {}).get("statusCode")
                if not isinstance(status, int) or status >= 500:
                    continue  # no answer for it: the hub keeps it unconfirmed and sends again
                ok = status == 200
                error = "" if ok else f"eBay answered {status}: {_messages(got)}"
                confirmed = u.quantity if ok else None
                results.append(StockResult(u.sku, u.external_id, ok, confirmed, error=error))
        return results

    def fulfill(
        self, order_external_id: str, carrier: str, tracking_number: str, tracking_url: str = ""
    ) -> None:
        # eBay builds the tracking link from carrier and number itself: tracking_url unused.
        path = f"{FULFILLMENT}/order/{quote(order_external_id, safe='')}"
        held = self._call("GET", path + "/shipping_fulfillment")
        if any(
            f.get("shipmentTrackingNumber") == tracking_number
            for f in (held or {}).get("fulfillments") or []
        ):
            return  # already told (a lost answer made the hub send it again)
        order = self._call("GET", path)
        if (order.get("cancelStatus") or {}).get("cancelState") == "CANCELED":
            raise ChannelError(f"eBay order {order_external_id} is cancelled: cannot ship it")
        lines = [
            {"lineItemId": ln["lineItemId"], "quantity": ln["quantity"]}
            for ln in order.get("lineItems") or []
            if ln.get("lineItemFulfillmentStatus") != "FULFILLED"
        ]
        if not lines:
            return  # eBay shows every line shipped already
        shipped = {"shippedDate": _ebay_time(datetime.now(UTC)), "trackingNumber": tracking_number}
        body = {"lineItems": lines, "shippingCarrierCode": carrier, **shipped}
        self._call("POST", path + "/shipping_fulfillment", body=body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        # An asymmetric signature: nothing secret to compare, so no timing to guard. The
        # one API call: getPublicKey, the first time a key id is seen (then kept an hour).
        value = header(headers, "X-EBAY-SIGNATURE")
        return bool(value) and self.keys.verify(value, body)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        try:
            payload = json.loads(body)
            topic = str(payload["metadata"]["topic"])
            notification = payload["notification"]
            data, delivery = notification["data"], str(notification["notificationId"])
        except (ValueError, KeyError, TypeError):
            raise UnreadableWebhook(
                "an eBay notification without metadata.topic or notification.data"
            ) from None
        if "order" in data:
            return WebhookEvent(topic, delivery, order=self._order(data["order"]), payload=payload)
        if "inventoryItem" in data:  # eBay's own quantity moved (a sale, a cancellation)
            item = data["inventoryItem"]
            ship = item["availability"]["shipToLocationAvailability"]
            sku, at = item["sku"], utc(notification["eventDate"])
            quantities = {sku: ship["quantity"]}
            return WebhookEvent(topic, delivery, skus=(sku,), quantities=quantities, occurred_at=at)
        raise UnreadableWebhook(f"eBay notification {delivery} ({topic}) has no order or item")

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.tokens.session.close()

    # -- eBay's side ----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        kind: str = "user",
    ) -> Any:
        """One API call; a token eBay answers 401 to (expired, revoked) is renewed once."""
        for attempt in (1, 2):
            token = self.tokens.token(kind)
            try:
                return self.clients[kind].request(method, path, params=params, json_body=body)
            except ChannelError as error:
                if error.status != 401 or attempt == 2:
                    raise
                self.tokens.forget(kind, token)

    def _public_key(self, kid: str) -> Any:
        try:
            return self._call("GET", PUBLIC_KEY_PATH + quote(kid, safe=""), kind="application")
        except ChannelError as error:
            if error.status in (400, 404):  # no such key: the signature cannot be eBay's
                return None
            raise

    def _order(self, raw: Mapping[str, Any]) -> Order:
        cancelled = (raw.get("cancelStatus") or {}).get("cancelState") == "CANCELED"
        shipped = raw.get("orderFulfillmentStatus") == "FULFILLED"
        status = OrderStatus.FULFILLED if shipped else OrderStatus.OPEN
        lines = []
        for ln in raw["lineItems"]:
            quantity = int(ln["quantity"])
            done = shipped or ln.get("lineItemFulfillmentStatus") == "FULFILLED"
            cost = Decimal(ln["lineItemCost"]["value"])  # price times quantity, before discounts
            unit = cost / quantity if quantity else cost
            lines.append(
                OrderLine(
                    ln.get("sku") or "",
                    quantity,
                    unit,
                    title=ln.get("title", ""),
                    external_id=str(ln["lineItemId"]),
                    fulfilled_quantity=quantity if done else 0,
                )
            )
        total = raw["pricingSummary"]["total"]
        buyer = raw.get("buyer") or {}
        return Order(
            channel=self.name,
            external_id=str(raw["orderId"]),
            lines=tuple(lines),
            currency=total["currency"],
            total=Decimal(total["value"]),
            status=OrderStatus.CANCELLED if cancelled else status,
            payment_status=PAID.get(raw.get("orderPaymentStatus", ""), PaymentStatus.UNKNOWN),
            customer=Customer(external_id=buyer.get("username", "")),
            placed_at=utc(raw["creationDate"]),
            updated_at=utc(raw["lastModifiedDate"]),
            notes=raw.get("buyerCheckoutNotes", ""),
            number=str(raw.get("salesRecordReference") or raw["orderId"]),
        )


def _next(page: Mapping[str, Any]) -> dict[str, Any] | None:
    """The query of the page's ``next`` link (``limit``, ``offset``), None on the last page."""
    link = page.get("next")
    if not link:
        return None
    return {k: v[-1] for k, v in parse_qs(urlsplit(str(link)).query).items()}


def _since(updated_since: datetime | None) -> str | None:
    """``updated_since`` as getOrders takes it, moved inside its 90-day window."""
    if updated_since is None:
        return None
    floor = datetime.now(UTC) - WINDOW + timedelta(minutes=1)
    return _ebay_time(max(updated_since.astimezone(UTC), floor))


def _ebay_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as eBay writes times: 2026-11-02T10:00:00.000Z
    (truncated, so a filter from it never starts after ``moment``)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _messages(answer: Mapping[str, Any] | None) -> str:
    errors = (answer or {}).get("errors") or []
    return "; ".join(str(e.get("message", e.get("errorId", ""))) for e in errors) or "no reason"
