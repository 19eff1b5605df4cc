"""The Square point-of-sale adapter: what the hub calls to talk to one seller's shops."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from hub import (
    Channel,
    ChannelConfig,
    ChannelError,
    Listing,
    Order,
    OrderPage,
    StockResult,
    StockUpdate,
    UnreadableWebhook,
    WebhookEvent,
    utc,
)
from hub.listingcheck import ListingCollector

from . import mapping, webhook
from .client import SquareApi, as_dict

log = logging.getLogger(__name__)

#: SearchOrders takes at most 10 location ids (Square's OpenAPI, SearchOrdersRequest).
MAX_LOCATIONS = 10
#: BatchChangeInventory takes at most 100 changes (Square's OpenAPI, BatchChangeInventory).
MAX_CHANGES = 100


def _demo_store() -> Any:
    """A new :class:`~hub_plugins.pos.demo.SquareDemoStore` (the emulator is imported
    here, for demos and tests, not with the plugin: every ``hub`` command loads it)."""
    from .demo import SquareDemoStore

    return SquareDemoStore()


class SquareConfig(ChannelConfig):
    """A ``[channels.<name>]`` section with ``type = "square"``.

    ``location_map`` maps Square location ids to hub location codes (each a shop with its
    own shelf stock); ``locations`` (the hub locations this channel sells from) defaults
    to the mapped codes and must include each of them. ``webhook_secret`` is the
    subscription's signature key, ``notification_url`` the URL the subscription names
    (Square signs it; the hub's public address, e.g. behind a proxy).
    """

    access_token: SecretStr = Field(min_length=1)
    location_map: dict[str, str] = Field(min_length=1, max_length=MAX_LOCATIONS)
    notification_url: str | None = Field(default=None, min_length=1)
    environment: Literal["production", "sandbox"] = "production"
    base_url: str | None = Field(default=None, min_length=1)  # overrides environment
    timeout: float = Field(default=10.0, gt=0)  # seconds per API call
    page_size: int = Field(default=500, ge=1, le=1000)  # orders per SearchOrders page

    @field_validator("location_map")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        for square_id, code in value.items():
            if not square_id.strip() or not str(code).strip():
                raise ValueError(
                    "location_map entries need a Square location id and a hub location code"
                )
        codes = list(value.values())
        for code in codes:
            if codes.count(code) > 1:
                raise ValueError(f"location_map maps two Square locations to hub location {code!r}")
        return value

    @field_validator("base_url", "notification_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local sandbox)")
        return value

    @model_validator(mode="after")
    def _locations(self) -> SquareConfig:
        mapped = list(self.location_map.values())
        if not self.locations:
            self.locations = mapped
        missing = [code for code in mapped if code not in self.locations]
        if missing:
            raise ValueError(
                f"location_map maps to hub location(s) {', '.join(map(repr, missing))} that "
                f"are not in this channel's locations {self.locations}"
            )
        if self.webhook_secret is not None and not self.notification_url:
            raise ValueError(
                "notification_url is required with webhook_secret: Square signs the URL "
                "its subscription names (e.g. https://hub.example.com/webhooks/square)"
            )
        return self


class SquareChannel(Channel):
    """A Square seller's shops, through the ``squareup`` SDK.

    Listings are one per (item variation, mapped location): ``external_id`` is
    ``"<variation id>:<location id>"``, ``location_id`` the Square location. Sales at a
    till are final (:attr:`final_sales`): each order carries the hub location of its shop.
    """

    type_name: ClassVar[str] = "square"
    Config: ClassVar[type[ChannelConfig]] = SquareConfig
    stock_batch_size: ClassVar[int] = MAX_CHANGES
    final_sales: ClassVar[bool] = True
    # Square documents no fixed figure; it answers 429 RATE_LIMITED when pressed.
    rate_per_second: ClassVar[float] = 10.0
    rate_burst: ClassVar[float] = 20.0
    sandbox: ClassVar[Any] = staticmethod(_demo_store)

    config: SquareConfig

    def __init__(self, name: str, config: ChannelConfig) -> None:
        super().__init__(name, config)
        cfg = self.config
        self.api = SquareApi(
            cfg.access_token.get_secret_value(),
            base_url=cfg.base_url,
            environment=cfg.environment,
            timeout=cfg.timeout,
            channel=name,
        )
        self.skus: dict[str, str] = {}  # variation id -> SKU, from listings and lookups

    # -- connection and catalogue ---------------------------------------------------------

    def check_connection(self) -> list[str]:
        """List the account's locations (ListLocations); every mapped one must exist and be
        ``ACTIVE``. Returns one sentence per problem (a failing call included); never raises."""
        try:
            answer = self.api.call(
                "ListLocations", lambda o: self.api.sdk.locations.list(request_options=o)
            )
        except ChannelError as error:
            return [str(error)]
        found = {loc.id: loc for loc in answer.locations or []}
        problems = []
        for square_id, code in self.config.location_map.items():
            if square_id not in found:
                known = ", ".join(f"{k} ({v.name})" for k, v in found.items()) or "none"
                problems.append(
                    f"Square channel {self.name!r}: location_map names Square location "
                    f"{square_id!r} (hub {code!r}) that the account does not have; it has: {known}"
                )
            elif found[square_id].status != "ACTIVE":
                problems.append(
                    f"Square channel {self.name!r}: Square location {square_id!r} is not active"
                )
        return problems

    def stock_location(self, location_id: str) -> str | None:
        """The hub location of a Square location (``location_map``): each shop's count is
        its own shelf's availability."""
        return self.config.location_map.get(location_id)

    def _variations(self) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            page = self.api.call(
                "SearchCatalogObjects",
                lambda o, c=cursor: self.api.sdk.catalog.search(
                    object_types=["ITEM_VARIATION"], cursor=c, limit=1000, request_options=o
                ),
            )
            for obj in page.objects or []:
                yield as_dict(obj)
            cursor = page.cursor
            if not cursor:
                return

    def read_counts(self, variation_ids: Sequence[str]) -> dict[tuple[str, str], int]:
        """IN_STOCK units per (variation id, Square location) at the mapped locations,
        through BatchRetrieveInventoryCounts (every page). A pair without an IN_STOCK row
        is absent: unknown, never 0. Rows in other states are not stock."""
        out: dict[tuple[str, str], int] = {}
        locations = list(self.config.location_map)
        for start in range(0, len(variation_ids), 1000):
            ids = list(variation_ids[start : start + 1000])
            cursor: str | None = None
            while True:
                page = self.api.call(
                    "BatchRetrieveInventoryCounts",
                    lambda o, c=cursor, i=ids: (
                        self.api.sdk.inventory.with_raw_response.batch_get_counts(
                            catalog_object_ids=i,
                            location_ids=locations,
                            cursor=c,
                            limit=1000,
                            request_options=o,
                        ).response
                    ),
                )
                out.update(mapping.in_stock(as_dict(row) for row in page.counts or []))
                cursor = page.cursor
                if not cursor:
                    break
        return out

    def fetch_listings(self) -> Iterator[Listing]:
        """Yield each item variation with a SKU once per mapped location, with its IN_STOCK
        count there (None when Square has no count row: unknown, not 0).

        Raises :class:`hub.ChannelError` when a call fails (retryable for 429, 5xx and
        time-outs). Afterwards ``listing_problems`` holds missing and duplicate SKUs.
        """
        collector = ListingCollector("Square", self.name)
        variations = []
        for obj in self._variations():
            if obj.get("is_deleted"):
                continue
            data = obj.get("item_variation_data") or {}
            probe = Listing(
                sku=str(data.get("sku") or ""),
                external_id=str(obj["id"]),
                parent_id=str(data.get("item_id", "")),
                title=str(data.get("name", "")),
                managed=bool(data.get("track_inventory")),
            )
            for kept in collector.accept(probe):
                variations.append(kept)
                self.skus[kept.external_id] = kept.sku
        counts = self.read_counts([v.external_id for v in variations])
        for item in variations:
            for square_id in self.config.location_map:
                yield Listing(
                    sku=item.sku,
                    external_id=f"{item.external_id}:{square_id}",
                    parent_id=item.parent_id,
                    title=item.title,
                    quantity=counts.get((item.external_id, square_id)),
                    managed=item.managed,
                    location_id=square_id,
                )
        self.listing_problems = collector.problems()
        for problem in self.listing_problems:
            log.warning("%s", problem.message)

    def _lookup_skus(self, ids: set[str]) -> None:
        missing = sorted(i for i in ids if i not in self.skus)
        for start in range(0, len(missing), 1000):
            chunk = missing[start : start + 1000]
            answer = self.api.call(
                "BatchRetrieveCatalogObjects",
                lambda o, c=chunk: self.api.sdk.catalog.batch_get(object_ids=c, request_options=o),
            )
            for obj in answer.objects or []:
                data = as_dict(obj).get("item_variation_data") or {}
                self.skus[str(obj.id)] = str(data.get("sku") or "")

    # -- orders -----------------------------------------------------------------------------

    def _search(
        self, since: datetime | None, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        window = {"start_at": _stamp(since)} if since else {"start_at": "1970-01-01T00:00:00.000Z"}
        query = {
            "filter": {"date_time_filter": {"updated_at": window}},
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        }
        answer = self.api.call(
            "SearchOrders",
            lambda o: self.api.sdk.orders.search(
                location_ids=list(self.config.location_map),
                query=query,  # type: ignore[arg-type]
                cursor=cursor,
                limit=limit,
                request_options=o,
            ),
        )
        return [as_dict(order) for order in answer.orders or []], answer.cursor or None

    def _in_hub_terms(self, orders: list[dict[str, Any]]) -> tuple[Order, ...]:
        """Sales as hub orders; a return order becomes a new version of its sale (with
        every return of that sale counted), a sale with refunds counts its returns too."""
        sources: dict[str, str] = {}  # sale id -> newest updated_at of a return naming it
        sales = []
        for order in orders:
            if mapping.is_return(order):
                for ret in order.get("returns") or []:
                    sid = str(ret.get("source_order_id") or "")
                    if sid:
                        sources[sid] = max(sources.get(sid, ""), str(order.get("updated_at", "")))
            else:
                sales.append(order)
                if order.get("refunds"):
                    sources.setdefault(str(order["id"]), "")
        known = {str(o["id"]): o for o in sales}
        wanted = [sid for sid in sources if sid not in known]
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            answer = self.api.call(
                "BatchRetrieveOrders",
                lambda o, c=chunk: self.api.sdk.orders.batch_get(order_ids=c, request_options=o),
            )
            for found in answer.orders or []:
                data = as_dict(found)
                known[str(data["id"])] = data
                sales.append(data)
        returns = self._returns_of([known[s] for s in sources if s in known])
        self._lookup_skus(
            {
                str(i["catalog_object_id"])
                for o in sales
                for i in o.get("line_items") or []
                if i.get("catalog_object_id")
            }
        )
        out = []
        for sale in sales:
            location = self.config.location_map.get(str(sale.get("location_id")))
            if location is None:
                continue  # not a mapped location (SearchOrders names only mapped ones)
            sid = str(sale["id"])
            returned = mapping.returned_units(returns, sid) if sid in sources else None
            newest = max(str(sale.get("updated_at", "")), sources.get(sid, ""))
            out.append(
                mapping.order(self.name, sale, self.skus, location, returned, newest or None)
            )
        return tuple(out)

    def _returns_of(self, sales: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every return order naming one of ``sales``, found by SearchOrders from the
        earliest sale's creation on (a return is always later than its sale)."""
        if not sales:
            return []
        since = min(utc(str(s["created_at"])) or datetime.now(UTC) for s in sales)
        ids = {str(s["id"]) for s in sales}
        found = []
        cursor: str | None = None
        while True:
            orders, cursor = self._search(since, cursor, 1000)
            found.extend(
                o
                for o in orders
                if mapping.is_return(o)
                and any(r.get("source_order_id") in ids for r in o.get("returns") or [])
            )
            if not cursor:
                return found

    def fetch_orders(
        self, updated_since: datetime | None, cursor: str | None
    ) -> Iterator[OrderPage]:
        """Yield pages of SearchOrders at the mapped locations, updated at or after
        ``updated_since``, oldest change first. The cursor is JSON ``{"since", "cursor"}``
        (Square's cursor belongs to its query, so the query's start travels with it).

        Raises :class:`hub.ChannelError`: retryable for 429, 5xx and time-outs; not for an
        unreadable cursor or a refused request (the message names Square's error code).
        """
        if cursor:
            try:
                state = json.loads(cursor)
                since = utc(state["since"]) if state.get("since") else None
                square_cursor = state.get("cursor")
            except (ValueError, KeyError, TypeError, AttributeError):
                raise ChannelError(
                    f"Square channel {self.name!r}: unreadable pull cursor {cursor[:60]!r}"
                ) from None
        else:
            since, square_cursor = updated_since, None
        while True:
            orders, square_cursor = self._search(since, square_cursor, self.config.page_size)
            page = self._in_hub_terms(orders)
            if not square_cursor:
                yield OrderPage(page, None)
                return
            yield OrderPage(
                page,
                json.dumps({"since": _stamp(since) if since else None, "cursor": square_cursor}),
            )

    # -- stock ------------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[StockResult]:
        """Set IN_STOCK counts with BatchChangeInventory PHYSICAL_COUNT changes, at most 100
        per request, each request with an idempotency key of its own. Square has no
        compare-and-set: ``expected`` is ignored and ``stale`` never set. An update whose
        listing names no mapped location comes back ``ok=False``; a refused request raises
        :class:`hub.ChannelError` (Square refuses the whole batch, e.g. an unknown object).
        """
        results: dict[int, StockResult] = {}
        sendable: list[tuple[int, StockUpdate, str, str]] = []
        for n, update in enumerate(updates):
            vid, _, lid = update.external_id.partition(":")
            lid = lid or update.location_id
            if not vid or lid not in self.config.location_map:
                results[n] = StockResult(
                    update.sku,
                    update.external_id,
                    ok=False,
                    error=f"listing {update.external_id!r} names no mapped Square location",
                )
            else:
                sendable.append((n, update, vid, lid))
        for start in range(0, len(sendable), MAX_CHANGES):
            chunk = sendable[start : start + MAX_CHANGES]
            occurred = _stamp(datetime.now(UTC))
            changes = [
                {
                    "type": "PHYSICAL_COUNT",
                    "physical_count": {
                        "reference_id": f"hub:{self.name}",
                        "catalog_object_id": vid,
                        "state": "IN_STOCK",
                        "location_id": lid,
                        "quantity": str(max(0, update.quantity)),
                        "occurred_at": occurred,
                    },
                }
                for _, update, vid, lid in chunk
            ]
            answer = self.api.call(
                f"BatchChangeInventory ({len(changes)} changes)",
                lambda o, c=changes: self.api.sdk.inventory.batch_create_changes(
                    idempotency_key=str(uuid.uuid4()),
                    changes=c,
                    ignore_unchanged_counts=False,
                    request_options=o,  # type: ignore[arg-type]
                ),
            )
            counts = mapping.in_stock(as_dict(row) for row in answer.counts or [])
            for n, update, vid, lid in chunk:
                held = counts.get((vid, lid))
                results[n] = StockResult(
                    update.sku,
                    update.external_id,
                    ok=True,
                    confirmed=held if held is not None else update.quantity,
                )
        return [results[n] for n in range(len(updates))]

    # -- webhooks ---------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Check ``x-square-hmacsha256-signature`` over the configured notification_url
        and the raw body; never a URL rebuilt from the request."""
        return webhook.verify(
            self.config.webhook_key(), self.config.notification_url, headers, body
        )

    def webhook_calls(self, headers: Mapping[str, str], body: bytes) -> int:
        """One call (BatchRetrieveOrders) for an order event; for a count event one
        BatchRetrieveCatalogObjects per 1,000 variations not yet known, else none. A till
        sale sends both events: charging the count event too halved the sales a second
        the limiter let through. A body that cannot be read counts 1 (parsing it raises)."""
        try:
            event = webhook.decode(body)
            topic, obj = str(event["type"]), event["data"]["object"]
            if topic.startswith("order."):
                return 1
            if topic != "inventory.count.updated":
                return 0
            ids = {vid for vid, _ in mapping.in_stock(obj.get("inventory_counts") or [])}
        except Exception:
            return 1
        missing = len([i for i in ids if i not in self.skus])
        return -(-missing // 1000)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """``order.created`` / ``order.updated``: the order read back with
        BatchRetrieveOrders (the event names it only) in hub terms;
        ``inventory.count.updated``: the SKUs whose count moved, with their IN_STOCK figure
        when the channel maps a single location. ``delivery_id`` is Square's event_id.

        Raises :class:`hub.UnreadableWebhook` for a body without type, event_id or
        data.object (or an order event without order_id); :class:`hub.ChannelError` when
        reading the order back fails (retryable: the core calls again).
        """
        event = webhook.decode(body)
        topic, event_id = str(event["type"]), str(event["event_id"])
        obj = event["data"]["object"]
        if topic.startswith("order."):
            detail = next(
                (v for v in obj.values() if isinstance(v, dict) and "order_id" in v), None
            )
            if detail is None:
                raise UnreadableWebhook(f"Square webhook {topic!r} names no order_id")
            answer = self.api.call(
                "BatchRetrieveOrders",
                lambda o: self.api.sdk.orders.batch_get(
                    order_ids=[str(detail["order_id"])], request_options=o
                ),
            )
            orders = self._in_hub_terms([as_dict(o) for o in answer.orders or []])
            return WebhookEvent(topic, event_id, order=orders[0] if orders else None, payload=event)
        if topic == "inventory.count.updated":
            rows = obj.get("inventory_counts")
            if not isinstance(rows, list):
                raise UnreadableWebhook(
                    "Square webhook 'inventory.count.updated' has no inventory_counts"
                )
            counts = mapping.in_stock(rows)
            self._lookup_skus({vid for vid, _ in counts})
            skus = tuple(
                sorted(
                    {
                        self.skus[v]
                        for v, lid in counts
                        if self.skus.get(v) and lid in self.config.location_map
                    }
                )
            )
            quantities: dict[str, int] = {}
            if len(self.config.location_map) == 1:
                quantities = {
                    self.skus[v]: q
                    for (v, lid), q in counts.items()
                    if self.skus.get(v) and lid in self.config.location_map
                }
            times = [
                t
                for t in (utc(str(r.get("calculated_at"))) for r in rows if r.get("calculated_at"))
                if t
            ]
            return WebhookEvent(
                topic,
                event_id,
                skus=skus,
                quantities=quantities,
                payload=event,
                occurred_at=max(times) if times else None,
            )
        return WebhookEvent(topic, event_id, payload=event)

    def close(self) -> None:
        """Close the SDK's connections."""
        self.api.close()


def _stamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
