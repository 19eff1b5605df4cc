"""The state of the Amazon sandbox: listings, orders, feeds and per-operation usage plans.

Everything is held in memory under one lock and shaped as the official models shape it:
orders as ``Order`` of ``orders_2026-01-01.json``, listings as ``Item`` of
``listingsItems_2021-08-01.json`` (``summaries``, ``fulfillmentAvailability``), feeds as
``Feed`` and ``FeedDocument`` of ``feeds_2021-06-30.json``. The HTTP layer
(:mod:`.sandbox`) only reads requests and writes answers.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMAS = Path(__file__).resolve().parent / "schemas"
MARKETPLACE = "ATVPDKIKX0DER"  # amazon.com
FBA_CODE = "AMAZON_NA"  # the fulfillment channel code of Amazon's North American network
DEFAULT_CODE = "DEFAULT"  # the merchant's own (MFN) offer

#: Usage plans (requests per second, burst) as the models publish them, per operation:
#: orders_2026-01-01.json, ordersV0.json (confirmShipment), listingsItems_2021-08-01.json,
#: feeds_2021-06-30.json, each operation's "Usage Plan" table.
USAGE_PLANS: dict[str, tuple[float, float]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "searchListingsItems": (5.0, 5),
    "getListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
}


def schema(name: str) -> dict[str, Any]:
    """One of the official JSON schemas shipped in ``schemas/`` (read from the package)."""
    return dict(json.loads((SCHEMAS / name).read_text()))


def stamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Amazon writes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SandboxError(Exception):
    """A request the sandbox refuses: HTTP status, Amazon error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Bucket:
    """A token bucket of one operation's usage plan."""

    rate: float
    burst: float
    tokens: float = -1.0
    at: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        """Take a token when one is free; False when the caller is throttled."""
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Listing:
    """A seller SKU: the merchant's own offer (``mfn``) and Amazon's stock of it (``fba``).

    None means the SKU has no offer of that kind: an FBA-only SKU has ``mfn`` None.
    """

    sku: str
    asin: str
    title: str
    price: str
    mfn: int | None
    fba: int | None = None
    created: str = ""
    updated: str = ""


@dataclass
class Feed:
    """A submitted feed and where its processing stands."""

    feed_id: str
    feed_type: str
    document_id: str
    created: str
    polls_left: int
    status: str = "IN_QUEUE"
    report_id: str = ""
    messages: int = 0


class AmazonStore:
    """The seller account the sandbox emulates: one seller, one marketplace."""

    def __init__(self, *, seller_id: str = "A1SANDBOXSELLER", currency: str = "USD") -> None:
        self.lock = threading.RLock()
        self.seller_id = seller_id
        self.marketplace_id = MARKETPLACE
        self.currency = currency
        self.client_id = "amzn1.application-oa2-client.sandbox"
        self.client_secret = "sandbox-secret-" + secrets.token_hex(8)
        # A new refresh token per store: the library caches access tokens per refresh
        # token for the whole process, so each store's tokens stay its own.
        self.refresh_token = "Atzr|sandbox-" + secrets.token_hex(12)
        self.access_tokens: dict[str, float] = {}  # token -> when it expires (monotonic)
        self.token_lifetime = 3600.0  # seconds, as LWA's expires_in
        self.token_grants = 0  # tokens issued so far
        self.listings: dict[str, Listing] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.feeds: dict[str, Feed] = {}
        self.documents: dict[str, bytes | None] = {}
        self.page_tokens: dict[str, tuple[list[str], int]] = {}
        self.plans: dict[str, tuple[float, float]] = dict(USAGE_PLANS)
        self.buckets: dict[str, Bucket] = {}
        self.calls: list[tuple[str, int]] = []  # (operation, entries it changed)
        self.feed_polls = 1  # getFeed answers IN_PROGRESS this often before DONE
        self.feed_errors: dict[str, str] = {}  # SKU -> message of an ERROR in the next feed
        self.stuck_paging = False  # searchOrders repeats its first page with a new token
        self.listeners: list[Callable[[str, str], None]] = []  # (order id, change type)
        self._ids = itertools.count(1)
        self._clock = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        self._clock_held: datetime | None = None  # hold_clock()
        self._feed_validator = jsonschema_rs.validator_for(schema("listings-feed-schema-v2.json"))

    # -- time and ids ------------------------------------------------------------------------

    def now(self) -> datetime:
        """The store's clock: real time, but strictly increasing from call to call."""
        with self.lock:
            real = self._clock_held or datetime.now(UTC)
            self._clock = max(real, self._clock + timedelta(milliseconds=1))
            return self._clock

    def hold_clock(self, held: bool) -> None:
        """While ``held``, the clock stays in the second it was held at, one millisecond on
        per change (Amazon's times give milliseconds)."""
        with self.lock:
            self._clock_held = max(datetime.now(UTC), self._clock) if held else None

    def _order_id(self) -> str:
        n = next(self._ids)
        return f"113-{4000000 + n:07d}-{1000000 + n * 7919 % 9000000:07d}"

    # -- access tokens ---------------------------------------------------------------------

    def grant(self) -> str:
        """Issue an access token valid for ``token_lifetime`` seconds."""
        with self.lock:
            token = "Atza|" + secrets.token_urlsafe(24)
            self.access_tokens[token] = time.monotonic() + self.token_lifetime
            self.token_grants += 1
            return token

    def token_problem(self, token: str) -> str:
        """Why ``token`` is refused ("" when it is valid)."""
        with self.lock:
            expires = self.access_tokens.get(token)
        if expires is None:
            return "The access token you provided is revoked, malformed or invalid."
        if expires <= time.monotonic():
            return "The access token you provided has expired."
        return ""

    def revoke_tokens(self) -> None:
        """Every access token issued so far stops working (a revoked authorisation)."""
        with self.lock:
            self.access_tokens.clear()

    # -- usage plans -----------------------------------------------------------------------

    def set_rate(self, operation: str, rate: float, burst: float | None = None) -> None:
        """Change one operation's usage plan (tests and demos speed the slow ones)."""
        with self.lock:
            burst = burst if burst is not None else self.plans[operation][1]
            self.plans[operation] = (rate, burst)
            self.buckets.pop(operation, None)

    def speed_up(self, factor: float) -> None:
        """Multiply every operation's rate by ``factor`` (bursts unchanged)."""
        with self.lock:
            for operation, (rate, burst) in list(self.plans.items()):
                self.plans[operation] = (rate * factor, burst)
            self.buckets.clear()

    def admit(self, operation: str) -> bool:
        """Take a token of ``operation``'s bucket; False: answer 429 QuotaExceeded."""
        with self.lock:
            if operation not in self.buckets:
                self.buckets[operation] = Bucket(*self.plans[operation])
            return self.buckets[operation].take()

    # -- catalogue --------------------------------------------------------------------------

    def add_listing(
        self,
        sku: str,
        *,
        title: str = "",
        price: str = "10.00",
        quantity: int | None = 0,
        fba: int | None = None,
    ) -> Listing:
        """Offer ``sku``: ``quantity`` on the merchant's offer (None: no merchant offer),
        ``fba`` units held by Amazon (None: no FBA offer)."""
        with self.lock:
            moment = stamp(self.now())
            item = Listing(
                sku,
                f"B0{len(self.listings) + 1:08d}",
                title or sku,
                price,
                quantity,
                fba,
                moment,
                moment,
            )
            self.listings[sku] = item
            return item

    def stock(self, sku: str) -> int | None:
        """The merchant offer's quantity of ``sku`` (None: no merchant offer)."""
        with self.lock:
            return self.listings[sku].mfn

    def item(self, sku: str) -> dict[str, Any]:
        """``sku`` as ``Item`` (summaries and fulfillmentAvailability)."""
        with self.lock:
            if sku not in self.listings:
                raise SandboxError(404, "NOT_FOUND", f"SKU '{sku}' not found for this seller.")
            found = self.listings[sku]
            availability = []
            if found.mfn is not None:
                availability.append({"fulfillmentChannelCode": DEFAULT_CODE, "quantity": found.mfn})
            if found.fba is not None:
                availability.append({"fulfillmentChannelCode": FBA_CODE, "quantity": found.fba})
            return {
                "sku": found.sku,
                "summaries": [
                    {
                        "marketplaceId": self.marketplace_id,
                        "asin": found.asin,
                        "productType": "PRODUCT",
                        "conditionType": "new_new",
                        "status": ["BUYABLE", "DISCOVERABLE"],
                        "itemName": found.title,
                        "createdDate": found.created,
                        "lastUpdatedDate": found.updated,
                    }
                ],
                "fulfillmentAvailability": availability,
            }

    def set_availability(self, sku: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply a ``fulfillment_availability`` attribute; returns the issues (none: done).

        Only the merchant's ``DEFAULT`` channel is the seller's to set; Amazon's own
        fulfillment network codes (``AMAZON_*``) are refused with an issue.
        """
        with self.lock:
            if sku not in self.listings:
                return [_issue("4000001", f"The SKU '{sku}' is not listed for this seller.")]
            found = self.listings[sku]
            issues = []
            for entry in entries:
                code = entry.get("fulfillment_channel_code")
                quantity = entry.get("quantity")
                if code != DEFAULT_CODE:
                    issues.append(
                        _issue(
                            "90111",
                            f"fulfillment_channel_code '{code}' is managed by Amazon; "
                            "its quantity cannot be set by the seller.",
                            "fulfillment_availability",
                        )
                    )
                elif not isinstance(quantity, int) or quantity < 0:
                    issues.append(
                        _issue(
                            "90220",
                            "'quantity' must be a whole number of 0 or more.",
                            "fulfillment_availability",
                        )
                    )
                elif found.mfn is None:
                    issues.append(
                        _issue(
                            "8560",
                            f"SKU '{sku}' has no merchant-fulfilled offer.",
                            "fulfillment_availability",
                        )
                    )
            if issues:
                return issues
            for entry in entries:
                found.mfn = int(entry["quantity"])
            found.updated = stamp(self.now())
            return []

    # -- orders -----------------------------------------------------------------------------

    def create_order(
        self,
        lines: list[tuple[str, int]],
        *,
        fulfilled_by: str = "MERCHANT",
        status: str = "UNSHIPPED",
        buyer_name: str = "Jane Doe",
        city: str = "Seattle",
    ) -> dict[str, Any]:
        """A buyer orders ``lines`` (SKU, units); the offer's stock goes down at once.

        ``fulfilled_by`` is MERCHANT (the merchant's DEFAULT quantity is taken) or AMAZON
        (Amazon's FBA stock is taken). Raises SandboxError when there are too few units.
        """
        with self.lock:
            for sku, units in lines:
                held = self._held(sku, fulfilled_by)
                if held is None or held < units:
                    raise SandboxError(400, "InvalidInput", f"only {held or 0} of {sku} left")
            for sku, units in lines:
                self._take(sku, fulfilled_by, units)
            moment = stamp(self.now())
            order_id = self._order_id()
            items = []
            total = Decimal("0")
            for n, (sku, units) in enumerate(lines, start=1):
                price = Decimal(self.listings[sku].price)
                total += price * units
                items.append(
                    {
                        "orderItemId": f"{order_id.replace('-', '')[:10]}{n:04d}",
                        "quantityOrdered": units,
                        "product": {
                            "asin": self.listings[sku].asin,
                            "title": self.listings[sku].title,
                            "sellerSku": sku,
                            "price": {
                                "unitPrice": {"amount": str(price), "currencyCode": self.currency}
                            },
                        },
                        "proceeds": {
                            "proceedsTotal": {
                                "amount": str(price * units),
                                "currencyCode": self.currency,
                            }
                        },
                        "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": units},
                    }
                )
            order = {
                "orderId": order_id,
                "createdTime": moment,
                "lastUpdatedTime": moment,
                "salesChannel": {
                    "channelName": "AMAZON",
                    "marketplaceId": self.marketplace_id,
                    "marketplaceName": "Amazon.com",
                },
                "buyer": {
                    "buyerName": buyer_name,
                    "buyerEmail": f"{order_id}@marketplace.amazon.com",
                },
                "recipient": {
                    "deliveryAddress": {
                        "name": buyer_name,
                        "addressLine1": "410 Terry Ave N",
                        "city": city,
                        "stateOrRegion": "WA",
                        "postalCode": "98109",
                        "countryCode": "US",
                        "addressType": "RESIDENTIAL",
                    }
                },
                "proceeds": {"grandTotal": {"amount": str(total), "currencyCode": self.currency}},
                "fulfillment": {
                    "fulfillmentStatus": status,
                    "fulfilledBy": fulfilled_by,
                    "fulfillmentServiceLevel": "STANDARD",
                },
                "orderItems": items,
                "packages": [],
            }
            self.orders[order_id] = order
            if status == "SHIPPED":
                self._ship_items(order)
        self._tell(order_id, "OrderStatusChange")
        return order

    def _held(self, sku: str, fulfilled_by: str) -> int | None:
        found = self.listings.get(sku)
        if found is None:
            return None
        return found.fba if fulfilled_by == "AMAZON" else found.mfn

    def _take(self, sku: str, fulfilled_by: str, units: int) -> None:
        found = self.listings[sku]
        if fulfilled_by == "AMAZON":
            found.fba = (found.fba or 0) - units
        else:
            found.mfn = (found.mfn or 0) - units
        found.updated = stamp(self.now())

    def order(self, order_id: str) -> dict[str, Any]:
        """The order as stored (raises SandboxError 404 when unknown)."""
        with self.lock:
            if order_id not in self.orders:
                raise SandboxError(404, "NotFound", f"Order {order_id} was not found.")
            return self.orders[order_id]

    def set_status(self, order_id: str, status: str, change: str = "OrderStatusChange") -> None:
        """Move the order to ``status`` (one of FulfillmentStatus); CANCELLED restocks."""
        with self.lock:
            order = self.order(order_id)
            before = order["fulfillment"]["fulfillmentStatus"]
            if before == "CANCELLED":
                raise SandboxError(400, "InvalidInput", f"Order {order_id} is cancelled.")
            if status == "CANCELLED" and before != "SHIPPED":
                for item in order["orderItems"]:
                    sku = item["product"]["sellerSku"]
                    found = self.listings.get(sku)
                    if found is not None:
                        by = order["fulfillment"]["fulfilledBy"]
                        units = item["quantityOrdered"]
                        if by == "AMAZON":
                            found.fba = (found.fba or 0) + units
                        elif found.mfn is not None:
                            found.mfn += units
            order["fulfillment"]["fulfillmentStatus"] = status
            if status == "SHIPPED":
                self._ship_items(order)
            order["lastUpdatedTime"] = stamp(self.now())
        self._tell(order_id, change)

    def touch(self, order_id: str, note: str = "") -> None:
        """A newer version of the order with nothing else changed (a buyer message)."""
        with self.lock:
            order = self.order(order_id)
            order["lastUpdatedTime"] = stamp(self.now())
        self._tell(order_id, "BuyerRequestedChange")

    def _ship_items(self, order: dict[str, Any]) -> None:
        for item in order["orderItems"]:
            item["fulfillment"] = {
                "quantityFulfilled": item["quantityOrdered"],
                "quantityUnfulfilled": 0,
            }

    def confirm_shipment(self, order_id: str, body: dict[str, Any]) -> None:
        """``confirmShipment`` (ordersV0.json): a package with carrier and tracking number.

        A package already confirmed with the same reference and tracking number is
        accepted again unchanged; an Amazon-fulfilled or cancelled order is refused.
        """
        with self.lock:
            order = self.order(order_id)
            detail = body.get("packageDetail")
            if not isinstance(detail, dict) or body.get("marketplaceId") != self.marketplace_id:
                raise SandboxError(400, "InvalidInput", "packageDetail and marketplaceId needed")
            missing = [
                k
                for k in (
                    "packageReferenceId",
                    "carrierCode",
                    "trackingNumber",
                    "shipDate",
                    "orderItems",
                )
                if not detail.get(k)
            ]
            if missing:
                raise SandboxError(400, "InvalidInput", f"packageDetail lacks {', '.join(missing)}")
            if order["fulfillment"]["fulfilledBy"] != "MERCHANT":
                raise SandboxError(400, "InvalidInput", f"Order {order_id} is fulfilled by Amazon.")
            status = order["fulfillment"]["fulfillmentStatus"]
            if status in ("CANCELLED", "PENDING"):
                raise SandboxError(
                    400, "InvalidInput", f"Order {order_id} is {status} and cannot ship."
                )
            for package in order["packages"]:
                if package["packageReferenceId"] == str(detail["packageReferenceId"]):
                    if package["trackingNumber"] == detail["trackingNumber"]:
                        return
                    raise SandboxError(
                        400, "InvalidInput", "packageReferenceId already used for another package"
                    )
            known = {i["orderItemId"]: i for i in order["orderItems"]}
            for line in detail["orderItems"]:
                if line.get("orderItemId") not in known:
                    raise SandboxError(
                        400, "InvalidInput", f"orderItemId {line.get('orderItemId')} unknown"
                    )
            order["packages"].append(
                {
                    "packageReferenceId": str(detail["packageReferenceId"]),
                    "carrier": detail["carrierCode"],
                    "trackingNumber": detail["trackingNumber"],
                    "shipTime": detail["shipDate"],
                    "packageStatus": {"status": "IN_TRANSIT"},
                    "packageItems": [
                        {"orderItemId": i["orderItemId"], "quantity": i["quantity"]}
                        for i in detail["orderItems"]
                    ],
                }
            )
            for line in detail["orderItems"]:
                item = known[line["orderItemId"]]
                done = min(
                    item["quantityOrdered"],
                    item["fulfillment"]["quantityFulfilled"] + int(line["quantity"]),
                )
                item["fulfillment"] = {
                    "quantityFulfilled": done,
                    "quantityUnfulfilled": item["quantityOrdered"] - done,
                }
            shipped = all(i["fulfillment"]["quantityUnfulfilled"] == 0 for i in known.values())
            order["fulfillment"]["fulfillmentStatus"] = (
                "SHIPPED" if shipped else "PARTIALLY_SHIPPED"
            )
            order["lastUpdatedTime"] = stamp(self.now())
        self._tell(order_id, "OrderStatusChange")

    def _tell(self, order_id: str, change: str) -> None:
        for listener in list(self.listeners):
            listener(order_id, change)

    def search(
        self, after: datetime, created: bool, page_size: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of orders updated (or created) at or after ``after``, oldest first.

        The ids of the whole result are fixed by the first call; the ``nextToken`` it
        hands out reads the next ``page_size`` of them. With ``stuck_paging`` every token
        reads the first page again and hands out a fresh token.
        """
        with self.lock:
            if token:
                if token not in self.page_tokens:
                    raise SandboxError(400, "InvalidInput", "Invalid paginationToken.")
                ids, offset = self.page_tokens[token]
                if self.stuck_paging:
                    offset = 0
            else:
                key = "createdTime" if created else "lastUpdatedTime"
                found = [o for o in self.orders.values() if _time(o[key]) >= after]
                found.sort(key=lambda o: (o[key], o["orderId"]))
                ids, offset = [o["orderId"] for o in found], 0
            page = [self.orders[i] for i in ids[offset : offset + page_size]]
            following = offset + page_size
            if following < len(ids) or (self.stuck_paging and ids):
                fresh = secrets.token_urlsafe(18)
                self.page_tokens[fresh] = (ids, following)
                return page, fresh
            return page, None

    # -- feeds ------------------------------------------------------------------------------

    def new_document(self) -> str:
        """A feed document id whose contents are uploaded next."""
        with self.lock:
            document_id = f"amzn1.tortuga.4.na.{secrets.token_hex(10)}"
            self.documents[document_id] = None
            return document_id

    def upload(self, document_id: str, content: bytes) -> None:
        """The PUT to the presigned URL of ``createFeedDocument``."""
        with self.lock:
            if document_id not in self.documents:
                raise SandboxError(404, "NoSuchKey", "The specified key does not exist.")
            self.documents[document_id] = content

    def create_feed(self, feed_type: str, document_id: str, marketplaces: list[str]) -> Feed:
        """``createFeed``: the document must be uploaded; processing starts."""
        with self.lock:
            if feed_type != "JSON_LISTINGS_FEED":
                raise SandboxError(400, "InvalidInput", f"feedType {feed_type} not supported here")
            if self.documents.get(document_id) is None:
                raise SandboxError(
                    400, "InvalidInput", f"inputFeedDocumentId {document_id} has no content"
                )
            if self.marketplace_id not in marketplaces:
                raise SandboxError(400, "InvalidInput", "marketplaceIds must name the seller's")
            feed = Feed(
                str(50000 + len(self.feeds) + 1),
                feed_type,
                document_id,
                stamp(self.now()),
                self.feed_polls,
            )
            self.feeds[feed.feed_id] = feed
            return feed

    def poll_feed(self, feed_id: str) -> Feed:
        """``getFeed``: IN_PROGRESS for ``feed_polls`` polls, then processed and DONE."""
        with self.lock:
            if feed_id not in self.feeds:
                raise SandboxError(404, "NotFound", f"Feed {feed_id} not found.")
            feed = self.feeds[feed_id]
            if feed.status in ("DONE", "FATAL"):
                return feed
            if feed.polls_left > 0:
                feed.polls_left -= 1
                feed.status = "IN_PROGRESS"
                return feed
            self._process(feed)
            return feed

    def _process(self, feed: Feed) -> None:
        content = self.documents[feed.document_id] or b""
        report: dict[str, Any]
        try:
            payload = json.loads(content)
            self._feed_validator.validate(payload)
        except (ValueError, jsonschema_rs.ValidationError) as error:
            feed.status = "FATAL"
            detail = getattr(error, "message", str(error))
            report = {"errorDetails": f"The feed does not match the listings feed schema: {detail}"}
            feed.report_id = self._report(report)
            return
        issues: list[dict[str, Any]] = []
        accepted = 0
        for message in payload["messages"]:
            sku = message["sku"]
            if sku in self.feed_errors:  # refused as a whole: nothing of it applied
                found = [_issue("90000", self.feed_errors.pop(sku))]
            else:
                found = self._message_issues(message)
            for issue in found:
                entry = {"messageId": message["messageId"], "sku": sku}
                entry.update({k: issue[k] for k in ("code", "severity", "message")})
                if issue.get("attributeNames"):
                    entry["attributeName"] = issue["attributeNames"][0]
                issues.append(entry)
            if not found:
                accepted += 1
        entries = len(payload["messages"])
        self.calls.append(("createFeed", accepted))
        report = {
            "header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed.feed_id},
            "issues": issues,
            "summary": {
                "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
                "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
                "messagesProcessed": entries,
                "messagesAccepted": accepted,
                "messagesInvalid": entries - accepted,
            },
        }
        feed.messages = entries
        feed.status = "DONE"
        feed.report_id = self._report(report)

    def _message_issues(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        sku = message["sku"]
        operation = message.get("operationType")
        if operation == "PATCH":
            entries = _availability_from_patches(message.get("patches") or [])
        elif operation == "PARTIAL_UPDATE":
            entries = (message.get("attributes") or {}).get("fulfillment_availability")
        else:
            return [_issue("90001", f"operationType {operation} is not supported by the sandbox")]
        if entries is None:
            return [_issue("90002", "the sandbox only takes fulfillment_availability")]
        return self.set_availability(sku, entries)

    def _report(self, report: dict[str, Any]) -> str:
        document_id = self.new_document()
        self.documents[document_id] = json.dumps(report).encode()
        return document_id


def _availability_from_patches(patches: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    for patch in patches:
        if patch.get("path") == "/attributes/fulfillment_availability" and patch.get("op") in (
            "replace",
            "add",
            "merge",
        ):
            return list(patch.get("value") or [])
    return None


def _issue(code: str, message: str, attribute: str = "") -> dict[str, Any]:
    issue: dict[str, Any] = {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "categories": ["INVALID_ATTRIBUTE"] if attribute else [],
    }
    if attribute:
        issue["attributeNames"] = [attribute]
    return issue


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
