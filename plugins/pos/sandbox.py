"""A Square seller account to develop and demo against: the Connect API v2 endpoints the
plugin uses, served over real HTTP by aiohttp, so the official ``squareup`` SDK talks to
it as to Square::

    square = SquareSandbox()
    shop = square.add_location("High Street", "LSHOP1")
    square.add_variation("MUG", price="12.50", stock={"LSHOP1": 7})
    with square.serve() as server:
        channel = SquareChannel("shop", SquareConfig(**square.config_for(server.url)))
        square.sell("MUG", 2)       # a sale at the till: order.created, count 5
        square.deliver_webhooks()   # signed as Square signs them

Served: ``GET /v2/locations``, ``POST /v2/catalog/search``, ``POST /v2/orders/search``,
``POST /v2/orders/batch-retrieve``, ``POST /v2/orders``, ``POST
/v2/inventory/changes/batch-create`` and ``POST /v2/inventory/counts/batch-retrieve``, with
Square's error bodies (``{"errors": [{"category", "code", "detail", "field"}]}``), opaque
cursors bound to their query, the 100-change limit of BatchChangeInventory, idempotency
keys (the same key and body answer the first answer again; another body is
``IDEMPOTENCY_KEY_REUSED``) and Bearer tokens. The fault knobs (:class:`hub.sandbox.Faults`)
answer 429 ``RATE_LIMITED``, 503 ``SERVICE_UNAVAILABLE``, slow or lost answers and
truncated bodies, and post webhooks twice, newest first or replayed. Nothing here reads a
file at run time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hub.sandbox import (
    Delivery,
    Faults,
    SandboxServer,
    Subscription,
    WebhookDispatcher,
    fault_middleware,
)

from .sandbox_store import JSON, SquareError, SquareStore, bad_request, parse_time, stamp
from .webhook import SIGNATURE_HEADER, signature

#: The webhook event types the plugin subscribes to.
PLUGIN_TOPICS = ("order.created", "order.updated", "inventory.count.updated")
#: BatchChangeInventory accepts at most this many changes per request.
MAX_CHANGES = 100


@dataclass(frozen=True)
class ApiCall:
    """One API request the sandbox answered: method, path and how many changes it carried."""

    method: str
    path: str
    changes: int = 0


def _error_response(error: SquareError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


def _rate_limited(faults: Faults) -> web.Response:
    error = SquareError(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limit exceeded.")
    response = _error_response(error)
    response.headers["Retry-After"] = f"{faults.retry_after:g}"
    return response


@web.middleware
async def _square_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Square's error body for every failure, the injected 503s included."""
    try:
        response = await handler(request)
    except SquareError as error:
        return _error_response(error)
    if response.status == 503 and isinstance(response, web.Response):
        error = SquareError(503, "API_ERROR", "SERVICE_UNAVAILABLE", "Service unavailable.")
        return _error_response(error)
    return response


class SquareSandbox:
    """An emulated Square seller: state (:attr:`store`), knobs (:attr:`faults`), webhooks."""

    def __init__(
        self,
        *,
        access_token: str = "EAAAsandbox-token-0123456789",
        signature_key: str = "sandbox-signature-key",
        notification_url: str = "https://hub.example.com/webhooks/square",
        currency: str = "USD",
        page_limit: int = 1000,
    ) -> None:
        self.access_token = access_token
        self.signature_key = signature_key
        self.notification_url = notification_url
        self.page_limit = page_limit
        self.store = SquareStore(currency=currency)
        self.faults = Faults()
        self.calls: list[ApiCall] = []
        self.hooks = WebhookDispatcher(self.faults, self._headers, name="square-hooks")
        self._signed_urls: dict[int, str] = {}
        self.store.listeners.append(self._event)

    # -- state ----------------------------------------------------------------------------

    def add_location(self, name: str, location_id: str | None = None) -> str:
        """Add a shop; returns its location id."""
        return str(self.store.add_location(name, location_id)["id"])

    def add_variation(
        self,
        sku: str,
        *,
        name: str = "",
        price: str = "0",
        stock: dict[str, int] | None = None,
        track_inventory: bool = True,
    ) -> str:
        """Add an item variation, counted ``stock`` (location id -> units); returns its id."""
        vid = str(self.store.add_variation(sku, name, price, track_inventory=track_inventory)["id"])
        for lid, units in (stock or {}).items():
            self.store.physical_count(vid, lid, units)
        return vid

    def stock(self, sku: str, location_id: str | None = None) -> int | None:
        """IN_STOCK units of ``sku`` at a location (the first one by default)."""
        lid = location_id or next(iter(self.store.locations))
        with self.store.lock:
            return self.store.in_stock(self.store.variation(sku)["id"], lid)

    def sell(self, sku: str, units: int, location_id: str | None = None, **options: Any) -> JSON:
        """A sale at the till (COMPLETED, paid); see :meth:`SquareStore.create_order`."""
        lid = location_id or next(iter(self.store.locations))
        return self.store.create_order(lid, [(sku, units)], **options)

    # -- serving --------------------------------------------------------------------------

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """The ``[channels.<name>]`` section that connects the hub to this sandbox at
        ``url``: each location mapped to a hub location of the same id, lower-cased, unless
        ``location_map`` is given."""
        mapping = extra.pop("location_map", None) or {
            lid: lid.lower() for lid in self.store.locations
        }
        return {
            "type": "square",
            "access_token": self.access_token,
            "webhook_secret": self.signature_key,
            "notification_url": self.notification_url,
            "base_url": url,
            "location_map": mapping,
            **extra,
        }

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """A server for :meth:`make_app`, not yet started."""
        return SandboxServer(self.make_app(), host, port)

    def make_app(self) -> web.Application:
        """The aiohttp application answering the API."""
        app = web.Application(
            middlewares=[_square_errors, fault_middleware(self.faults, _rate_limited)]
        )
        app.router.add_get("/v2/locations", self._locations)
        app.router.add_post("/v2/catalog/search", self._catalog_search)
        app.router.add_post("/v2/catalog/batch-retrieve", self._catalog_batch)
        app.router.add_post("/v2/orders/search", self._orders_search)
        app.router.add_post("/v2/orders/batch-retrieve", self._orders_batch)
        app.router.add_post("/v2/orders", self._orders_create)
        app.router.add_post("/v2/inventory/changes/batch-create", self._changes)
        app.router.add_post("/v2/inventory/counts/batch-retrieve", self._counts)
        return app

    # -- webhooks -------------------------------------------------------------------------

    def subscribe(
        self,
        delivery_url: str,
        notification_url: str | None = None,
        topics: tuple[str, ...] = PLUGIN_TOPICS,
    ) -> None:
        """Post ``topics`` to ``delivery_url``, signed over ``notification_url`` (the URL
        the subscription names, as Square signs it; ``delivery_url`` when None). They differ
        when the hub sits behind a proxy: Square signs the public URL."""
        for topic in topics:
            sub = self.hooks.subscribe(topic, delivery_url, self.signature_key)
            self._signed_urls[sub.id] = notification_url or delivery_url

    def deliver_webhooks(self) -> list[Delivery]:
        """Post pending deliveries now."""
        return self.hooks.deliver()

    def _headers(
        self, sub: Subscription, topic: str, body: bytes, delivery_id: int
    ) -> dict[str, str]:
        url = self._signed_urls.get(sub.id, sub.delivery_url)
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(sub.secret, url, body),
            "Square-Initial-Delivery-Timestamp": stamp(self.store.now()),
            "Square-Retry-Number": "0",
        }

    def _event(self, topic: str, payload: JSON) -> None:
        moment = stamp(self.store.now())
        event_id = str(uuid.uuid4())
        if topic == "inventory.count.updated":
            data: JSON = {
                "type": "inventory_counts",
                "id": event_id,
                "object": {"inventory_counts": payload["counts"]},
            }
        else:
            kind = topic.replace(".", "_")
            data = {
                "type": "order",
                "id": payload["id"],
                "object": {
                    kind: {
                        "order_id": payload["id"],
                        "version": payload["version"],
                        "location_id": payload["location_id"],
                        "state": payload["state"],
                        "created_at": payload["created_at"],
                        # OrderCreated has no updated_at; OrderUpdated has
                        **(
                            {"updated_at": payload["updated_at"]} if kind == "order_updated" else {}
                        ),
                    }
                },
            }
        self.hooks.enqueue(
            topic,
            {
                "merchant_id": self.store.merchant_id,
                "type": topic,
                "event_id": event_id,
                "created_at": moment,
                "data": data,
            },
        )

    # -- handlers -------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> JSON:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            raise SquareError(
                401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "This request could not be authorized."
            )
        if request.method == "GET":
            self.calls.append(ApiCall(request.method, request.path))
            return {}
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            raise bad_request("INVALID_JSON", "The request body is not valid JSON.") from None  # noqa: B904
        if not isinstance(body, dict):
            raise bad_request("EXPECTED_JSON_BODY", "The request body must be a JSON object.")
        changes = body.get("changes")
        self.calls.append(
            ApiCall(request.method, request.path, len(changes) if isinstance(changes, list) else 0)
        )
        return body

    def _limit(self, body: JSON, default: int, maximum: int) -> int:
        limit = body.get("limit", default)
        if not isinstance(limit, int) or limit < 1:
            raise bad_request("INVALID_VALUE", "`limit` must be at least 1.", "limit")
        if limit > maximum:
            raise bad_request("VALUE_TOO_HIGH", f"`limit` must be at most {maximum}.", "limit")
        return min(limit, self.page_limit)

    @staticmethod
    def _query_hash(body: JSON) -> str:
        kept = {k: v for k, v in body.items() if k not in ("cursor",)}
        return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]

    def _page(
        self, body: JSON, keyed: list[tuple[Any, JSON]], limit: int
    ) -> tuple[list[JSON], str | None]:
        """One page of ``keyed`` (sorted (key, item)) after the cursor's key; a cursor names
        the last key served and the query it belongs to (another query: INVALID_CURSOR)."""
        query = self._query_hash(body)
        after = None
        if body.get("cursor"):
            try:
                token = json.loads(base64.urlsafe_b64decode(str(body["cursor"]).encode()))
                if token["q"] != query:
                    raise ValueError("another query")
                after = tuple(token["after"])
            except (ValueError, KeyError, TypeError):
                raise bad_request("INVALID_CURSOR", "The cursor is invalid.", "cursor") from None  # noqa: B904
        rest = [(k, item) for k, item in keyed if after is None or tuple(k) > after]
        page = rest[:limit]
        if len(rest) <= limit:
            return [item for _, item in page], None
        token = {"q": query, "after": list(page[-1][0])}
        return [item for _, item in page], base64.urlsafe_b64encode(
            json.dumps(token).encode()
        ).decode()

    async def _locations(self, request: web.Request) -> web.Response:
        await self._body(request)
        with self.store.lock:
            return web.json_response({"locations": list(self.store.locations.values())})

    async def _catalog_search(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        types = body.get("object_types") or ["ITEM_VARIATION"]
        limit = self._limit(body, 100, 1000)
        with self.store.lock:
            objects = [
                ((o["id"],), o)
                for o in self.store.variations.values()
                if o["type"] in types
                and (body.get("include_deleted_objects") or not o["is_deleted"])
            ]
            page, cursor = self._page(body, sorted(objects, key=lambda x: x[0]), limit)
        answer: JSON = {"objects": page} if page else {}
        if cursor:
            answer["cursor"] = cursor
        return web.json_response(answer)

    async def _catalog_batch(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        ids = body.get("object_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request(
                "MISSING_REQUIRED_PARAMETER",
                "Missing required parameter `object_ids`.",
                "object_ids",
            )
        with self.store.lock:
            objects = [self.store.variations[i] for i in ids if i in self.store.variations]
        return web.json_response({"objects": objects} if objects else {})

    async def _orders_search(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        locations = body.get("location_ids")
        if not isinstance(locations, list) or not locations:
            raise bad_request(
                "MISSING_REQUIRED_PARAMETER",
                "Missing required parameter `location_ids`.",
                "location_ids",
            )
        if len(locations) > 10:
            raise bad_request("ARRAY_LENGTH_TOO_LONG", "At most 10 location ids.", "location_ids")
        limit = self._limit(body, 500, 1000)
        query = body.get("query") or {}
        filters = query.get("filter") or {}
        sort = query.get("sort") or {"sort_field": "CREATED_AT", "sort_order": "DESC"}
        field = str(sort.get("sort_field", "CREATED_AT")).lower()
        window = (filters.get("date_time_filter") or {}).get(field)
        if field != "created_at" and not window:
            raise bad_request(
                "INVALID_VALUE",
                f"A `{field}` date_time_filter is required when sorting by {field.upper()}.",
                "query.sort.sort_field",
            )
        start = (
            parse_time(window["start_at"], "start_at")
            if window and window.get("start_at")
            else None
        )
        end = parse_time(window["end_at"], "end_at") if window and window.get("end_at") else None
        states = (filters.get("state_filter") or {}).get("states")
        with self.store.lock:
            found = []
            for order in self.store.orders.values():
                when = parse_time(order[field], field)
                if order["location_id"] not in locations:
                    continue
                if states and order["state"] not in states:
                    continue
                if (start and when < start) or (end and when >= end):
                    continue
                found.append(((order[field], order["id"]), json.loads(json.dumps(order))))
            descending = sort.get("sort_order", "DESC") == "DESC"
            found.sort(key=lambda x: x[0], reverse=descending)
            if descending:  # keyset paging compares keys ascending: negate by position
                found = [((str(n).zfill(10),), item) for n, (_, item) in enumerate(found)]
            page, cursor = self._page(body, found, limit)
        answer: JSON = {"orders": page} if page else {}
        if cursor:
            answer["cursor"] = cursor
        return web.json_response(answer)

    async def _orders_batch(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        ids = body.get("order_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request(
                "MISSING_REQUIRED_PARAMETER", "Missing required parameter `order_ids`.", "order_ids"
            )
        with self.store.lock:
            orders = [self.store.orders[i] for i in ids if i in self.store.orders]
            return web.json_response({"orders": orders} if orders else {})

    async def _orders_create(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        order = body.get("order") or {}
        lines = [
            (str(line["catalog_object_id"]), int(line["quantity"]))
            for line in order.get("line_items") or []
        ]
        created = self.store.create_order(
            str(order.get("location_id", "")),
            lines,
            idempotency_key=body.get("idempotency_key") or None,
            state=str(order.get("state", "OPEN")),
        )
        return web.json_response({"order": created})

    async def _changes(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        key = body.get("idempotency_key")
        if not key:
            raise bad_request(
                "MISSING_REQUIRED_PARAMETER",
                "Missing required parameter `idempotency_key`.",
                "idempotency_key",
            )
        changes = body.get("changes") or []
        if len(changes) > MAX_CHANGES:
            raise bad_request(
                "ARRAY_LENGTH_TOO_LONG",
                f"The request contains {len(changes)} changes; at most {MAX_CHANGES} are allowed.",
                "changes",
            )
        digest = hashlib.sha256(json.dumps(changes, sort_keys=True).encode()).hexdigest()
        with self.store.lock:
            if key in self.store.change_keys:
                first, answer = self.store.change_keys[key]
                if first != digest:
                    raise bad_request(
                        "IDEMPOTENCY_KEY_REUSED",
                        "The idempotency key was used before with a different request.",
                        "idempotency_key",
                    )
                return web.json_response(answer)
            touched = []
            checked = [self._physical_count(n, change) for n, change in enumerate(changes)]
            for vid, lid, quantity, at in checked:
                self.store.physical_count(vid, lid, quantity, at)
                if (vid, lid) not in touched:
                    touched.append((vid, lid))
            counts = [
                row
                for vid, lid in touched
                for row in self.store.count_rows(vid, lid)
                if row["state"] == "IN_STOCK"
            ]
            answer = {"counts": counts}
            self.store.change_keys[key] = (digest, answer)
        return web.json_response(answer)

    def _physical_count(self, n: int, change: Any) -> tuple[str, str, int, Any]:
        where = f"changes[{n}]"
        if not isinstance(change, dict) or change.get("type") != "PHYSICAL_COUNT":
            raise bad_request(
                "INVALID_VALUE", "Only PHYSICAL_COUNT changes are supported here.", f"{where}.type"
            )
        count = change.get("physical_count") or {}
        vid, lid = count.get("catalog_object_id"), count.get("location_id")
        if vid not in self.store.variations:
            raise SquareError(
                404,
                "INVALID_REQUEST_ERROR",
                "NOT_FOUND",
                f"Object `{vid}` not found.",
                f"{where}.physical_count.catalog_object_id",
            )
        if lid not in self.store.locations:
            raise SquareError(
                404,
                "INVALID_REQUEST_ERROR",
                "NOT_FOUND",
                f"Location `{lid}` not found.",
                f"{where}.physical_count.location_id",
            )
        if count.get("state") != "IN_STOCK":
            raise bad_request(
                "INVALID_VALUE",
                "A physical count must be IN_STOCK here.",
                f"{where}.physical_count.state",
            )
        try:
            quantity = int(str(count.get("quantity")))
        except ValueError:
            raise bad_request(
                "INVALID_VALUE",
                "`quantity` must be a decimal string.",
                f"{where}.physical_count.quantity",
            ) from None  # noqa: B904
        if not count.get("occurred_at"):
            raise bad_request(
                "MISSING_REQUIRED_PARAMETER",
                "Missing required parameter `occurred_at`.",
                f"{where}.physical_count.occurred_at",
            )
        at = parse_time(count["occurred_at"], f"{where}.physical_count.occurred_at")
        return vid, lid, quantity, at

    async def _counts(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        limit = self._limit(body, 1000, 1000)
        ids = body.get("catalog_object_ids")
        locations = body.get("location_ids")
        states = body.get("states")
        with self.store.lock:
            rows = []
            for vid, lid in sorted(self.store.history):
                if (ids and vid not in ids) or (locations and lid not in locations):
                    continue
                for row in self.store.count_rows(vid, lid):
                    if states and row["state"] not in states:
                        continue
                    rows.append(((vid, lid, row["state"]), row))
            page, cursor = self._page(body, rows, limit)
        answer: JSON = {"counts": page} if page else {}
        if cursor:
            answer["cursor"] = cursor
        return web.json_response(answer)
