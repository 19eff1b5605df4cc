"""The Shopify channel adapter: what the hub calls to talk to one shop."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from hub import (
    Channel,
    ChannelConfig,
    ChannelError,
    Listing,
    ListingProblem,
    OrderPage,
    StockResult,
    StockUpdate,
    WebhookEvent,
    utc,
)
from hub.listingcheck import ListingCollector

from . import mapping, webhook
from .auth import TokenSource, has_scope
from .client import ShopifyClient, base_url
from .stock import InventoryReason, set_quantities

log = logging.getLogger(__name__)

#: Scopes the adapter needs, and what for. A write scope includes its read scope.
REQUIRED_SCOPES = {
    "read_products": "to import listings",
    "write_inventory": "to set quantities",
    "read_locations": "to find the location stock is kept at",
    "read_orders": "to pull orders",
    "write_merchant_managed_fulfillment_orders": "to record shipments",
}
OPEN_FULFILLMENT = ("OPEN", "IN_PROGRESS")
DEAD_FULFILLMENT = ("CANCELLED", "ERROR", "FAILURE")  # fulfillments that shipped nothing
MAX_QUERY_COST = 1000  # Shopify refuses a single query priced above this
_SHOP_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+(:[0-9]{1,5})?$")


def orders_cost(orders: int, lines: int) -> int:
    """The requested cost of ``Orders.graphql`` for a page size and lines per order."""
    return 2 + orders * (9 + 3 * lines)


def variants_cost(variants: int) -> int:
    """The requested cost of ``ProductVariants.graphql`` for a page size."""
    return 2 + 5 * variants


def _demo_store() -> Any:
    """A new :class:`~hub_plugins.shopify.demo.ShopifyDemoStore` (the emulator is imported
    here, for demos and tests, not with the plugin: every ``hub`` command loads it)."""
    from .demo import ShopifyDemoStore

    return ShopifyDemoStore()


class ShopifyConfig(ChannelConfig):
    """A ``[channels.<name>]`` section with ``type = "shopify"``.

    ``webhook_secret`` is the app's client secret (it signs webhooks).
    """

    shop: str  # acme.myshopify.com (or http://127.0.0.1:8123 for a sandbox)
    # Either a lasting Admin API access token (shpat_...), or the client id and secret of a
    # Dev Dashboard app installed on the shop: the hub then fetches and renews tokens.
    access_token: SecretStr | None = Field(default=None, min_length=1)
    client_id: str | None = Field(default=None, min_length=1)
    client_secret: SecretStr | None = Field(default=None, min_length=1)
    api_version: str = "2026-04"
    # The location whose available quantity the hub sets: a gid, a numeric id or a name.
    # Unset: the first active location that fulfils online orders.
    location: str | None = Field(default=None, min_length=1)
    timeout: float = Field(default=10.0, gt=0)  # seconds per API call
    order_page_size: int = Field(default=10, ge=1, le=250)  # orders per page when pulling
    lines_per_order: int = Field(default=25, ge=1, le=250)  # more are fetched separately
    variant_page_size: int = Field(default=100, ge=1, le=250)
    notify_customer: bool = True  # Shopify e-mails the customer the tracking details
    reason: InventoryReason = "correction"  # the change reason shown in Shopify's history

    @model_validator(mode="after")
    def _credentials(self) -> ShopifyConfig:
        if self.access_token is None and not (self.client_id and self.client_secret):
            raise ValueError(
                "give access_token, or client_id and client_secret of the app (Dev Dashboard)"
            )
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("client_id and client_secret go together; give both or neither")
        return self

    @field_validator("shop")
    @classmethod
    def _shop_address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if "://" in value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("shop is a my-store.myshopify.com domain or an http(s):// URL")
        elif not _SHOP_DOMAIN.match(value):
            raise ValueError("shop is the shop's my-store.myshopify.com domain")
        try:
            urlsplit(value if "://" in value else f"https://{value}").port  # noqa: B018
        except ValueError:
            raise ValueError("shop has a port that is not a number from 0 to 65535") from None
        return value

    def signing_secret(self) -> str | None:
        """The secret webhooks are signed with: webhook_secret, else the client secret."""
        if self.webhook_secret:
            return self.webhook_key()
        return self.client_secret.get_secret_value() if self.client_secret else None

    @model_validator(mode="after")
    def _pages_within_the_cost_cap(self) -> ShopifyConfig:
        cost = orders_cost(self.order_page_size, self.lines_per_order)
        if cost > MAX_QUERY_COST:
            raise ValueError(
                f"order_page_size {self.order_page_size} with lines_per_order "
                f"{self.lines_per_order} makes a page of orders cost {cost} points, over "
                f"Shopify's {MAX_QUERY_COST} per query; lower one of them"
            )
        cost = variants_cost(self.variant_page_size)
        if cost > MAX_QUERY_COST:
            raise ValueError(
                f"variant_page_size {self.variant_page_size} makes a page of variants cost "
                f"{cost} points, over Shopify's {MAX_QUERY_COST} per query; use at most 199"
            )
        return self

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        parts = value.split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError("api_version looks like 2026-04")
        return value


class ShopifyChannel(Channel):
    """A Shopify shop, spoken to through the GraphQL Admin API with ``ShopifyAPI``.

    After :meth:`fetch_listings` has been iterated to the end, ``listing_problems``
    holds variants without SKU, SKUs on several variants, untracked items and items not
    stocked at the location.
    """

    type_name: ClassVar[str] = "shopify"
    Config: ClassVar[type[ChannelConfig]] = ShopifyConfig
    stock_batch_size: ClassVar[int] = 250  # the API's cap on input arrays
    compare_and_set: ClassVar[bool] = True  # inventorySetQuantities' compareQuantity
    # Points of query cost (Standard plan: 100 restored per second); the client itself
    # waits for the points each document costs, the hub's limiter follows rate_status.
    rate_per_second: ClassVar[float] = 100.0
    rate_burst: ClassVar[float] = 2000.0
    sandbox: ClassVar[Any] = staticmethod(_demo_store)

    config: ShopifyConfig

    def __init__(self, name: str, config: ChannelConfig) -> None:
        super().__init__(name, config)
        cfg = self.config
        tokens = TokenSource(
            base_url(cfg.shop),
            token=cfg.access_token.get_secret_value() if cfg.access_token else None,
            client_id=cfg.client_id,
            client_secret=cfg.client_secret.get_secret_value() if cfg.client_secret else None,
            timeout=cfg.timeout,
            channel=name,
        )
        self.client = ShopifyClient(
            cfg.shop,
            tokens,
            version=cfg.api_version,
            timeout=cfg.timeout,
            channel=name,
        )
        self._location: str | None = None
        self._skus: dict[str, str] = {}  # inventory item id -> SKU
        self._line_tracked: dict[str, bool] = {}  # line item id -> sells a tracked variant

    @property
    def rate_status(self) -> Mapping[str, float] | None:
        """The shop's cost bucket (points) as its last answer reported it."""
        return self.client.rate_status()

    # -- connection and location --------------------------------------------------------

    def check_connection(self) -> list[str]:
        """Check the token, its scopes and the location; return what a person must fix."""
        where = f"Shopify channel {self.name!r}"
        try:
            data = self.client.execute("AccessScopes")
        except ChannelError as error:
            return [str(error)]
        granted = {s["handle"] for s in data["currentAppInstallation"]["accessScopes"]}
        problems = [
            f"{where}: the access token lacks the {scope} scope ({why}); add it to the app "
            f"and reinstall it"
            for scope, why in REQUIRED_SCOPES.items()
            if not has_scope(granted, scope)
        ]
        if has_scope(granted, "read_locations"):
            try:
                self.location_id()
            except ChannelError as error:
                problems.append(str(error))
        return problems

    def location_id(self) -> str:
        """The global id of the location quantities are set at (looked up once)."""
        if self._location is None:
            wanted = self.config.location
            found = [
                loc
                for page in self.client.pages("Locations", {"first": 50}, "locations")
                for loc in page["nodes"]
            ]
            if wanted:
                match = [
                    loc
                    for loc in found
                    if wanted in (loc["id"], loc["name"], mapping.numeric_id(loc["id"]))
                ]
            else:
                match = [loc for loc in found if loc["isActive"] and loc["fulfillsOnlineOrders"]]
            if not match:
                names = ", ".join(f"{loc['name']} ({loc['id']})" for loc in found) or "none"
                raise ChannelError(
                    f"Shopify channel {self.name!r}: no location "
                    f"{'matches ' + repr(wanted) if wanted else 'fulfils online orders'}; "
                    f"the shop has: {names}; set location in the channel's section"
                )
            self._location = str(match[0]["id"])
        return self._location

    # -- listings ---------------------------------------------------------------------------

    def fetch_listings(self) -> Iterator[Listing]:
        """Yield each variant with a SKU as its inventory item at the location."""
        location = self.location_id()
        collector = ListingCollector("Shopify", self.name, untracked="is not tracked")
        variables = {"first": self.config.variant_page_size, "locationId": location}
        for page in self.client.pages("ProductVariants", variables, "productVariants"):
            for node in page["nodes"]:
                item = mapping.listing(node, location)
                if item.sku:
                    self._skus[item.external_id] = item.sku
                if item.managed and item.quantity is None:
                    collector.add(
                        ListingProblem(
                            "not_stocked",
                            f"Shopify channel {self.name!r}: SKU {item.sku!r} "
                            f"({item.title!r}) is not stocked at location {location}; "
                            f"stock it there in Shopify so its quantity can be set",
                            sku=item.sku,
                            external_ids=(item.external_id,),
                        )
                    )
                    continue
                yield from collector.accept(item)
        self.listing_problems = collector.problems()
        for problem in self.listing_problems:
            log.warning("%s", problem.message)

    # -- orders -----------------------------------------------------------------------------

    def fetch_orders(
        self, updated_since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        """Yield pages of orders updated at or after ``updated_since``, oldest change first."""
        if cursor:
            state = json.loads(cursor)
        else:
            since = utc(updated_since)
            state = {"since": since.strftime("%Y-%m-%dT%H:%M:%SZ") if since else None}
        variables = {
            "first": self.config.order_page_size,
            "after": state.get("after"),
            "query": f"updated_at:>='{state['since']}'" if state.get("since") else None,
            "lines": self.config.lines_per_order,
        }
        for page in self.client.pages("Orders", variables, "orders"):
            nodes = [(node, self._all_lines(node)) for node in page["nodes"]]
            tracked = self._tracked(
                [item["id"] for _, lines in nodes for item in lines if mapping.needs_variant(item)]
            )
            orders = tuple(
                mapping.order(self.name, node, lines, self._refund_lines(node, lines), tracked)
                for node, lines in nodes
            )
            info = page["pageInfo"]
            after = info["endCursor"] if info["hasNextPage"] else None
            cursor = json.dumps({"since": state.get("since"), "after": after}) if after else None
            yield OrderPage(orders, cursor)

    def _all_lines(self, node: Mapping[str, Any]) -> list[Any]:
        first = node["lineItems"]
        lines = list(first["nodes"])
        if first["pageInfo"]["hasNextPage"]:
            variables = {"id": node["id"], "first": 250, "after": first["pageInfo"]["endCursor"]}
            for page in self.client.pages("OrderLineItems", variables, "order", "lineItems"):
                lines.extend(page["nodes"])
        return lines

    def _refund_lines(self, node: Mapping[str, Any], lines: list[Any]) -> list[Any]:
        """The refund line items of an order whose lines have shipped units refunded."""
        if not mapping.needs_refunds(lines):
            return []
        found: list[Any] = []
        order = self.client.execute("OrderRefunds", {"id": node["id"]}).get("order") or {}
        for refund in order.get("refunds") or ():
            first = refund["refundLineItems"]
            found.extend(first["nodes"])
            if first["pageInfo"]["hasNextPage"]:
                after = first["pageInfo"]["endCursor"]
                variables = {"id": refund["id"], "first": 250, "after": after}
                for page in self.client.pages(
                    "RefundLineItems", variables, "refund", "refundLineItems"
                ):
                    found.extend(page["nodes"])
        return found

    def _tracked(self, line_ids: list[str]) -> dict[str, bool]:
        """Line item id → whether it sells a variant whose inventory Shopify tracks (a line
        item keeps its variant, so each is asked once)."""
        unknown = [i for i in dict.fromkeys(line_ids) if i not in self._line_tracked]
        for start in range(0, len(unknown), 250):
            found = self.client.execute("LineItemVariants", {"ids": unknown[start : start + 250]})
            for node in found["nodes"]:
                if node:
                    self._line_tracked[node["id"]] = mapping.tracked_variant(node)
        return {i: self._line_tracked[i] for i in line_ids if i in self._line_tracked}

    # -- stock ------------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[StockResult]:
        """Set available quantities, 250 per call, each against the last confirmed value."""
        default = self.location_id() if any(not u.location_id for u in updates) else ""
        results: dict[str, StockResult] = {}
        size = self.stock_batch_size
        for start in range(0, len(updates), size):
            results.update(
                set_quantities(
                    self.client,
                    updates[start : start + size],
                    lambda u: u.location_id or default,
                    self._read_available,
                    reason=self.config.reason,
                )
            )
        return [results[u.external_id] for u in updates]

    def _levels(self, item_ids: list[str], location: str = "") -> list[Mapping[str, Any]]:
        location = location or self.location_id()
        nodes: list[Mapping[str, Any]] = []
        for start in range(0, len(item_ids), 250):
            variables = {"ids": item_ids[start : start + 250], "locationId": location}
            found = self.client.execute("InventoryLevels", variables)["nodes"]
            nodes.extend(n for n in found if n)
        return nodes

    def _read_available(self, updates: list[StockUpdate]) -> dict[str, int | None]:
        answer: dict[str, int | None] = {}
        by_location: dict[str, list[str]] = {}
        for u in updates:
            by_location.setdefault(u.location_id, []).append(u.external_id)
        for location, item_ids in by_location.items():
            for node in self._levels(item_ids, location):
                answer[node["id"]] = mapping.available(node.get("inventoryLevel"))
        return answer

    def _skus_of_items(self, item_ids: list[str]) -> dict[str, str]:
        unknown = [i for i in item_ids if i not in self._skus]
        if unknown:
            for node in self._levels(unknown):
                if node.get("sku"):
                    self._skus[node["id"]] = node["sku"]
        return {i: self._skus[i] for i in item_ids if i in self._skus}

    # -- fulfilment -------------------------------------------------------------------------

    def fulfill(
        self, order_external_id: str, carrier: str, tracking_number: str, tracking_url: str = ""
    ) -> None:
        """Fulfil what is open of the order's fulfillment orders, with tracking details.

        Idempotent: an order that already carries a fulfillment with this tracking
        number (sent before, its answer lost) is done, as is a fully closed order when
        there is no tracking number to tell by. Raises a non-retryable ChannelError for
        an unknown order, one with nothing left to fulfil (cancelled, or shipped in the
        shop under another tracking number), and a refusal by Shopify.
        """
        where = f"Shopify channel {self.name!r}: order {order_external_id}"
        variables = {"id": mapping.order_gid(order_external_id)}
        order = self.client.execute("FulfillmentOrders", variables).get("order")
        if order is None:
            raise ChannelError(f"{where} does not exist in the shop")
        made = [f for f in order.get("fulfillments") or () if f["status"] not in DEAD_FULFILLMENT]
        numbers = {i.get("number") or "" for f in made for i in f["trackingInfo"]}
        if tracking_number and tracking_number in numbers:
            return  # recorded already (a retry after a lost answer): never a second one
        fulfillment_orders = order["fulfillmentOrders"]["nodes"]
        open_ones = [
            fo
            for fo in fulfillment_orders
            if fo["status"] in OPEN_FULFILLMENT
            and any(a["action"] == "CREATE_FULFILLMENT" for a in fo["supportedActions"])
        ]
        if not open_ones:
            if not tracking_number and all(fo["status"] == "CLOSED" for fo in fulfillment_orders):
                return  # shipped already: recording it twice changes nothing
            statuses = sorted({fo["status"] for fo in fulfillment_orders})
            others = sorted(numbers - {""})
            shipped = f"; fulfilled in the shop with tracking {', '.join(others)}" if others else ""
            raise ChannelError(f"{where} has nothing left to fulfil (status {statuses}){shipped}")
        tracking: dict[str, str] = {"company": carrier, "number": tracking_number}
        if tracking_url:
            tracking["url"] = tracking_url
        fulfillment = {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]} for fo in open_ones],
            "trackingInfo": tracking,
            "notifyCustomer": self.config.notify_customer,
        }
        reply = self.client.execute("FulfillmentCreate", {"fulfillment": fulfillment})
        errors = (reply.get("fulfillmentCreate") or {}).get("userErrors") or []
        if errors:
            text = "; ".join(e["message"] for e in errors)
            raise ChannelError(f"{where}: Shopify refused the fulfillment: {text}")

    # -- webhooks ---------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Check ``X-Shopify-Hmac-Sha256`` with webhook_secret, else the client secret."""
        return webhook.verify(self.config.signing_secret(), headers, body)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Turn a verified orders/*, refunds/create or inventory_levels/update delivery."""
        return webhook.parse(
            self.name, headers, body, self._skus_of_items, self._risk_of, self.location_id()
        )

    def _risk_of(self, order_id: str) -> str | None:
        order = self.client.execute("OrderRisk", {"id": mapping.order_gid(order_id)}).get("order")
        return mapping.risk(order.get("risk")) if order else None
