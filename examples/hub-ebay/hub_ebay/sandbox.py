"""An eBay seller account to develop and test against, in memory, served over real HTTP::

    store = EbaySandbox()
    store.seed([DemoItem("MUG", "Mug", "12.50", 7)])
    with store.serve() as server:
        channel = EbayChannel("ebay", EbayConfig(**store.config_for(server.url)))
        store.faults.rate_limited = 1     # the next call is answered 429 in eBay's format
        store.sell("MUG", 2)              # an order, 5 left, notifications queued
        store.deliver()                   # signed POSTs to the subscribed URL

It answers what the plugin calls, as eBay's OpenAPI contracts in ``reference/`` describe
it (the routes are in :mod:`hub_ebay.sandbox_api`): the OAuth token endpoint (both
grants), ``getOrders`` / ``getOrder`` / ``getShippingFulfillments`` /
``createShippingFulfillment``, ``getInventoryItems`` / ``bulkUpdatePriceQuantity`` (at
most 25 requests, a status per item) and the Notification API's ``getPublicKey``. Its
notifications are signed as eBay signs them (``X-EBAY-SIGNATURE``, ECDSA with SHA-1 over
the body) with a key pair of its own.

The notification topics (``ORDER_CHANGE`` carrying the order as ``getOrder`` answers it,
``INVENTORY_CHANGE`` carrying the inventory item) are this sandbox's: the envelope
(``metadata``, ``notification.data``) is eBay's. It implements
:class:`hub.sandbox.DemoStore`, so ``hub demo``, the benchmarks and the plugin kit drive it.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.sandbox import (
    DemoItem,
    DemoOrder,
    Faults,
    SandboxServer,
    SoldOut,
    Subscription,
    WebhookDispatcher,
)

TOPICS = ("ORDER_CHANGE", "INVENTORY_CHANGE")
JSON = dict[str, Any]


def ebay_time(moment: datetime) -> str:
    """A time as eBay writes it: 2026-11-02T10:00:00.000Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def amount(value: Decimal, currency: str) -> JSON:
    """eBay's ``Amount``: the value as a string with its currency."""
    return {"currency": currency, "value": f"{value:.2f}"}


class EbaySandbox:
    """An emulated eBay seller account: inventory, orders, fulfilments, tokens, a signing
    key, notifications and the fault knobs of :mod:`hub.sandbox`."""

    def __init__(
        self,
        *,
        client_id: str = "hubsandb-ox-SBX-0a1b2c3d4-e5f6a7b8",
        client_secret: str = "SBX-0a1b2c3d4e5f-6a7b-8c9d-0e1f-2a3b",
        refresh_token: str = "v^1.1#i^1#r^1#p^3#f^0#I^3#t^sandbox-refresh-token",
        token_lifetime: int = 7200,
        currency: str = "USD",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.token_lifetime = token_lifetime  # expires_in of the tokens it mints, seconds
        self.currency = currency
        self.faults = Faults(retry_after=0.2)
        self.hooks = WebhookDispatcher(self.faults, self._headers, name="ebay-notifications")
        self.items: dict[str, JSON] = {}  # SKU -> InventoryItemWithSkuLocaleGroupid
        self.by_id: dict[str, JSON] = {}  # orderId -> Order
        self.fulfillments: dict[str, list[JSON]] = {}  # orderId -> [ShippingFulfillment]
        self.tokens: dict[str, tuple[str, float]] = {}  # access token -> (kind, expires at)
        self.grants: Counter[str] = Counter()  # tokens minted per grant_type
        self.calls: Counter[str] = Counter()  # API calls answered per operationId
        self.signing_key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = uuid.uuid4().hex
        self.lock = threading.Lock()
        self._ids = itertools.count(10001)
        self._last = datetime(2026, 1, 1, tzinfo=UTC)
        self._held = False  # hold_clock

    # -- the store's side: what buyers and the seller do ----------------------------------

    def seed(self, items: list[DemoItem]) -> None:
        """Create inventory items; quantity None is an item without ship-to-home quantity."""
        with self.lock:
            for item in items:
                record: JSON = {
                    "sku": item.sku,
                    "locale": "en_US",
                    "condition": "NEW",
                    "product": {"title": item.name},
                    "price": item.price,  # the offer's price; not a field of the item
                }
                if item.quantity is not None:
                    ship = {"quantity": item.quantity}
                    record["availability"] = {"shipToLocationAvailability": ship}
                self.items[item.sku] = record

    def sell(self, sku: str, quantity: int) -> str:
        """A buyer checks out ``quantity`` of ``sku`` and pays; returns the orderId."""
        with self.lock:
            item = self.items.get(sku)
            if item is None:
                raise SoldOut(f"eBay lists no {sku!r}")
            held = self._quantity(item)
            if held is not None and held < quantity:
                raise SoldOut(f"only {held} of {sku!r} left")
            if held is not None:
                self._set_quantity(item, held - quantity)
            order_id = self._place(sku, item["product"]["title"], item["price"], quantity)
            if held is not None:
                self._notify("INVENTORY_CHANGE", {"inventoryItem": self._public(item)})
            return order_id

    def sell_without_sku(self, title: str, quantity: int) -> str:
        """A buyer checks out a listing that has no SKU (made in Seller Hub, not through the
        Inventory API); returns the orderId. Its line item carries no ``sku``."""
        with self.lock:
            return self._place(None, title, "5.00", quantity)

    def cancel(self, order_id: str) -> None:
        """The seller cancels an unshipped order: refunded, its units back on sale."""
        with self.lock:
            order = self.by_id[order_id]
            if order["cancelStatus"]["cancelState"] == "CANCELED":
                return
            order["cancelStatus"] = {
                "cancelState": "CANCELED",
                "cancelledDate": self._tick(),
                "cancelRequests": [],
            }
            order["orderPaymentStatus"] = "FULLY_REFUNDED"
            if order["orderFulfillmentStatus"] == "NOT_STARTED":
                for line in order["lineItems"]:
                    item = self.items.get(line.get("sku", ""))
                    held = None if item is None else self._quantity(item)
                    if item is not None and held is not None:
                        self._set_quantity(item, held + line["quantity"])
                        self._notify("INVENTORY_CHANGE", {"inventoryItem": self._public(item)})
            self._changed(order)

    def fulfil(self, order_id: str) -> None:
        """The seller ships the whole order from Seller Hub."""
        with self.lock:
            order = self.by_id[order_id]
            lines = [
                {"lineItemId": ln["lineItemId"], "quantity": ln["quantity"]}
                for ln in order["lineItems"]
            ]
            self.ship(order, lines, "USPS", f"9400{next(self._ids):018d}", self._tick())

    def annotate(self, order_id: str, note: str) -> None:
        """A newer version of the order: the note is kept in ``buyerCheckoutNotes``, the
        one free-text field of eBay's Order."""
        with self.lock:
            order = self.by_id[order_id]
            order["buyerCheckoutNotes"] = note
            self._changed(order)

    def stock(self, sku: str) -> int | None:
        """The ship-to-home quantity eBay shows for ``sku`` now."""
        with self.lock:
            item = self.items.get(sku)
            return None if item is None else self._quantity(item)

    def stock_calls(self) -> int:
        """How many ``bulkUpdatePriceQuantity`` calls were answered."""
        return self.calls["bulkUpdatePriceQuantity"]

    def orders(self) -> list[DemoOrder]:
        """Every order as it stands now."""
        with self.lock:
            return [
                DemoOrder(
                    o["orderId"],
                    "cancelled"
                    if o["cancelStatus"]["cancelState"] == "CANCELED"
                    else "fulfilled"
                    if o["orderFulfillmentStatus"] == "FULFILLED"
                    else "open",
                    {ln.get("sku", ""): ln["quantity"] for ln in o["lineItems"]},
                )
                for o in self.by_id.values()
            ]

    def page_config(self, orders_per_page: int) -> dict[str, Any]:
        """The section's keys that make the plugin read ``orders_per_page`` at a time."""
        return {"page_size": orders_per_page}

    def hold_clock(self, held: bool) -> None:
        """While ``held``, every change is stamped one millisecond after the one before,
        from the start of the next whole second on, whatever the time: versions of an
        order then share a second."""
        with self.lock:
            self._held = held
            if held:
                self._last = self._last.replace(microsecond=0) + timedelta(seconds=1)

    def deliver_unreadable(self) -> int:
        """Post a correctly signed notification cut off halfway to every subscribed address."""
        body = b'{"metadata":{"topic":"ORDER_CHANGE","schemaVersion":"1.0"},"notification":{"da'
        return self.hooks.post_unreadable(body)

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now, as two hours would make it."""
        with self.lock:
            self.tokens = {t: (kind, 0.0) for t, (kind, _) in self.tokens.items()}

    # -- connecting: DemoStore ------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """A server for the account, not started: ``.start()``, ``.url``, ``.stop()``."""
        from .sandbox_api import make_app

        return SandboxServer(make_app(self), host, port)

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """The ``[channels.<name>]`` section that connects the hub to this account."""
        return {
            "type": "ebay",
            "api_url": url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            **extra,
        }

    def subscribe(self, url: str) -> None:
        """Send every topic the adapter understands to ``url``."""
        for topic in TOPICS:
            self.hooks.subscribe(topic, url, secret="", name=topic)

    def deliver(self) -> int:
        """Post pending notifications now; returns how many were posted."""
        return len(self.hooks.deliver())

    def reactivate_webhooks(self) -> int:
        """Turn subscriptions disabled after failed deliveries back on."""
        return self.hooks.reactivate()

    def sign(self, body: bytes) -> str:
        """The ``X-EBAY-SIGNATURE`` value for ``body``, signed with this account's key."""
        signature = self.signing_key.sign(body, ec.ECDSA(hashes.SHA1()))
        fields = {
            "alg": "ecdsa",
            "kid": self.key_id,
            "signature": base64.b64encode(signature).decode(),
            "digest": "SHA1",
        }
        return base64.b64encode(json.dumps(fields).encode()).decode()

    def public_key(self) -> JSON:
        """The ``getPublicKey`` answer for this account's key."""
        pem = self.signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {"algorithm": "ECDSA", "digest": "SHA1", "key": pem.decode()}

    def mint(self, kind: str) -> str:
        """A new access token of ``kind`` ("user" or "application")."""
        token = f"v^1.1#i^1#f^0#p^3#r^0#I^3#t^{secrets.token_urlsafe(24)}"
        with self.lock:
            self.tokens[token] = (kind, time.monotonic() + self.token_lifetime)
        return token

    def _headers(self, sub: Subscription, topic: str, body: bytes, delivery: int) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-EBAY-SIGNATURE": self.sign(body)}

    # -- bookkeeping (call with the lock held) ---------------------------------------------

    def _place(self, sku: str | None, title: str, price: str, quantity: int) -> str:
        """A paid order of one line; returns its orderId."""
        n, now = next(self._ids), self._tick()
        order_id = f"{n % 100:02d}-{n:05d}-{n * 7 % 100000:05d}"
        cost = amount(Decimal(price) * quantity, self.currency)
        line: JSON = {
            "lineItemId": str(10000000000 + n),
            "legacyItemId": str(110000000000 + n),
            "title": title,
            "quantity": quantity,
            "lineItemCost": cost,
            "total": cost,
            "soldFormat": "FIXED_PRICE",
            "listingMarketplaceId": "EBAY_US",
            "purchaseMarketplaceId": "EBAY_US",
            "lineItemFulfillmentStatus": "NOT_STARTED",
        }
        if sku is not None:
            line["sku"] = sku
        self.by_id[order_id] = {
            "orderId": order_id,
            "legacyOrderId": f"{110000000000 + n}-{n}",
            "creationDate": now,
            "lastModifiedDate": now,
            "orderFulfillmentStatus": "NOT_STARTED",
            "orderPaymentStatus": "PAID",
            "sellerId": "hub_sandbox_seller",
            "buyer": {"username": f"buyer_{n}"},
            "salesRecordReference": str(n),
            "pricingSummary": {"priceSubtotal": cost, "total": cost},
            "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
            "fulfillmentHrefs": [],
            "lineItems": [line],
        }
        self.fulfillments[order_id] = []
        self._notify("ORDER_CHANGE", {"order": self.by_id[order_id]})
        return order_id

    def ship(self, order: JSON, lines: list[JSON], carrier: str, tracking: str, at: str) -> str:
        """Record a shipping fulfilment of ``lines``; returns its fulfillmentId."""
        fulfillment_id = f"{tracking}-{len(self.fulfillments[order['orderId']]) + 1}"
        self.fulfillments[order["orderId"]].append(
            {
                "fulfillmentId": fulfillment_id,
                "lineItems": lines,
                "shipmentTrackingNumber": tracking,
                "shippingCarrierCode": carrier,
                "shippedDate": at,
            }
        )
        shipped: Counter[str] = Counter()
        for f in self.fulfillments[order["orderId"]]:
            for ref in f["lineItems"]:
                shipped[ref["lineItemId"]] += ref["quantity"]
        for line in order["lineItems"]:
            done = shipped[line["lineItemId"]] >= line["quantity"]
            line["lineItemFulfillmentStatus"] = "FULFILLED" if done else "NOT_STARTED"
        states = {ln["lineItemFulfillmentStatus"] for ln in order["lineItems"]}
        order["orderFulfillmentStatus"] = "FULFILLED" if states == {"FULFILLED"} else "IN_PROGRESS"
        base = f"/sell/fulfillment/v1/order/{order['orderId']}/shipping_fulfillment/"
        order["fulfillmentHrefs"].append(base + fulfillment_id)
        self._changed(order)
        return fulfillment_id

    def _tick(self) -> str:
        """Now, a millisecond after every earlier change at the least: eBay's times have
        milliseconds, and ``lastmodifieddate`` must tell the changes apart."""
        step = self._last + timedelta(milliseconds=1)
        self._last = step if self._held else max(datetime.now(UTC), step)
        return ebay_time(self._last)

    def _changed(self, order: JSON) -> None:
        order["lastModifiedDate"] = self._tick()
        self._notify("ORDER_CHANGE", {"order": order})

    def _notify(self, topic: str, data: JSON) -> None:
        at = self._tick()
        payload = {
            "metadata": {"topic": topic, "schemaVersion": "1.0", "deprecated": False},
            "notification": {
                "notificationId": str(uuid.uuid4()),
                "eventDate": at,
                "publishDate": at,
                "publishAttemptCount": 1,
                "data": json.loads(json.dumps(data)),  # as it stands now, not later
            },
        }
        self.hooks.enqueue(topic, payload)

    @staticmethod
    def _quantity(item: JSON) -> int | None:
        ship = item.get("availability", {}).get("shipToLocationAvailability", {})
        return ship.get("quantity")

    @staticmethod
    def _set_quantity(item: JSON, quantity: int) -> None:
        item["availability"] = {"shipToLocationAvailability": {"quantity": quantity}}

    @staticmethod
    def _public(item: JSON) -> JSON:
        """The item as getInventoryItems shows it (without the offer's price)."""
        return {k: v for k, v in item.items() if k != "price"}
