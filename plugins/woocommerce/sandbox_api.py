"""The ``/wp-json/wc/v3`` routes of the sandbox: products, variations, orders, notes,
webhooks and their batch endpoints, with Woo's error bodies
``{"code", "message", "data": {"status"}}``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .sandbox_auth import KeyChecker
from .sandbox_query import paginate, select
from .sandbox_store import JSON, StoreError, WooStore
from .sandbox_webhooks import WebhookDispatcher

PREFIX = "/wp-json/wc/v3"
BATCH_LIMIT = 100
EDIT = ("POST", "PUT", "PATCH")
BATCH_ITEMS = web.RequestKey("batch_items", int)


def woo_error(status: int, code: str, message: str) -> web.Response:
    """An error answer in WooCommerce's format."""
    return web.json_response(
        {"code": code, "message": message, "data": {"status": status}}, status=status
    )


@dataclass
class ApiCall:
    """One request the API answered: for tests that count calls and batch sizes."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    items: int = 0  # create + update + delete entries of a batch body


@dataclass
class Api:
    """Handlers bound to one store, key checker and webhook dispatcher."""

    store: WooStore
    keys: KeyChecker
    hooks: WebhookDispatcher
    batch_limit: int = BATCH_LIMIT
    calls: list[ApiCall] = field(default_factory=list)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Authenticate, turn StoreError and unknown routes into Woo errors, log the call."""
        if not request.path.startswith("/wp-json/"):
            return await handler(request)
        try:
            self.keys.check(request)
            response = await handler(request)
        except StoreError as error:
            response = woo_error(error.status, error.code, error.message)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            response = woo_error(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
        items = request.get(BATCH_ITEMS, 0)
        self.calls.append(
            ApiCall(
                request.method,
                request.path[len(PREFIX) + 1 :],
                dict(request.query),
                response.status,
                items,
            )
        )
        return response

    def routes(self) -> list[web.RouteDef]:
        """Every route of the emulated API."""
        products = PREFIX + "/products"
        product = products + r"/{id:\d+}"
        variation = product + r"/variations/{vid:\d+}"
        order = PREFIX + r"/orders/{id:\d+}"
        return [
            web.get(products, self.list_products),
            web.post(products, self.create_product),
            web.post(products + "/batch", self.batch_products),
            web.get(product, self.get_product),
            *[web.route(m, product, self.edit_product) for m in EDIT],
            web.get(product + "/variations", self.list_variations),
            web.post(product + "/variations", self.create_variation),
            web.post(product + "/variations/batch", self.batch_variations),
            web.get(variation, self.get_variation),
            *[web.route(m, variation, self.edit_variation) for m in EDIT],
            web.get(PREFIX + "/orders", self.list_orders),
            web.get(order, self.get_order),
            *[web.route(m, order, self.edit_order) for m in EDIT],
            web.delete(order, self.delete_order),
            web.get(order + "/notes", self.list_notes),
            web.get(order + "/refunds", self.list_refunds),
            web.post(order + "/refunds", self.create_refund),
            web.post(order + "/notes", self.create_note),
            web.get(PREFIX + "/webhooks", self.list_webhooks),
            web.post(PREFIX + "/webhooks", self.create_webhook),
        ]

    # -- products ---------------------------------------------------------------------

    async def list_products(self, request: web.Request) -> web.Response:
        with self.store.lock:
            items = select(list(self.store.products.values()), request.query)
            return paginate(request, items, self._view(request))

    async def get_product(self, request: web.Request) -> web.Response:
        with self.store.lock:
            product = self.store.products.get(int(request.match_info["id"]))
            if product is None:
                raise StoreError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return web.json_response(self._view(request)(product))

    async def create_product(self, request: web.Request) -> web.Response:
        return web.json_response(self.store.add_product(await body(request)), status=201)

    async def edit_product(self, request: web.Request) -> web.Response:
        product = self.store.item(int(request.match_info["id"]))
        return web.json_response(self.store.edit_item(product, await body(request)))

    async def batch_products(self, request: web.Request) -> web.Response:
        def update(data: JSON) -> JSON:
            product = self.store.products.get(int(data.get("id") or 0))
            if product is None:
                raise StoreError(400, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return self.store.edit_item(product, data)

        return await self._batch(request, self.store.add_product, update)

    # -- variations -------------------------------------------------------------------

    def _parent(self, request: web.Request) -> int:
        parent_id = int(request.match_info["id"])
        if parent_id not in self.store.products:
            raise StoreError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return parent_id

    async def list_variations(self, request: web.Request) -> web.Response:
        with self.store.lock:
            parent = self.store.products[self._parent(request)]
            own = [self.store.variations[v] for v in parent["variations"]]
            return paginate(request, select(own, request.query), self._view(request))

    async def get_variation(self, request: web.Request) -> web.Response:
        found = self.store.variation(self._parent(request), int(request.match_info["vid"]))
        return web.json_response(self._view(request)(found))

    async def create_variation(self, request: web.Request) -> web.Response:
        created = self.store.add_variation(self._parent(request), await body(request))
        return web.json_response(created, status=201)

    async def edit_variation(self, request: web.Request) -> web.Response:
        found = self.store.variation(self._parent(request), int(request.match_info["vid"]))
        return web.json_response(self.store.edit_item(found, await body(request)))

    async def batch_variations(self, request: web.Request) -> web.Response:
        parent_id = self._parent(request)

        def update(data: JSON) -> JSON:
            found = self.store.variation(parent_id, int(data.get("id") or 0))
            return self.store.edit_item(found, data)

        return await self._batch(request, lambda d: self.store.add_variation(parent_id, d), update)

    def _view(self, request: web.Request) -> Callable[[JSON], JSON]:
        context = request.query.get("context", "view")
        return lambda obj: self.store.product_view(obj, context)

    async def _batch(
        self, request: web.Request, create: Callable[[JSON], JSON], update: Callable[[JSON], JSON]
    ) -> web.Response:
        data = await body(request)
        count = sum(len(data.get(k) or ()) for k in ("create", "update", "delete"))
        request[BATCH_ITEMS] = count
        if count > self.batch_limit:
            raise StoreError(
                413,
                "rest_request_entity_too_large",
                f"Unable to accept more than {self.batch_limit} items for this request.",
            )
        answer: dict[str, list[JSON]] = {}
        for key, action in (("create", create), ("update", update)):
            if key in data:
                answer[key] = [batch_item(action, entry) for entry in data[key] or ()]
        if "delete" in data:
            refusal = {
                "code": "woocommerce_rest_trash_not_supported",
                "message": "The sandbox does not delete products.",
                "data": {"status": 501},
            }
            answer["delete"] = [{"id": i, "error": refusal} for i in data["delete"] or ()]
        return web.json_response(answer)

    # -- orders and notes -------------------------------------------------------------------

    async def list_orders(self, request: web.Request) -> web.Response:
        with self.store.lock:
            items = select(list(self.store.orders.values()), request.query)
            return paginate(request, items, self.store.order_view)

    async def get_order(self, request: web.Request) -> web.Response:
        with self.store.lock:
            order = self.store.order(int(request.match_info["id"]))
            return web.json_response(self.store.order_view(order))

    async def edit_order(self, request: web.Request) -> web.Response:
        changed = self.store.update_order(int(request.match_info["id"]), await body(request))
        return web.json_response(changed)

    async def delete_order(self, request: web.Request) -> web.Response:
        force = request.query.get("force", "").lower() in ("1", "true")
        return web.json_response(self.store.delete_order(int(request.match_info["id"]), force))

    async def list_notes(self, request: web.Request) -> web.Response:
        order_id = int(request.match_info["id"])
        with self.store.lock:
            self.store.order(order_id)
            return web.json_response(list(self.store.notes.get(order_id, [])))

    async def create_note(self, request: web.Request) -> web.Response:
        data = await body(request)
        note = self.store.add_note(
            int(request.match_info["id"]),
            str(data.get("note") or ""),
            bool(data.get("customer_note")),
            bool(data.get("added_by_user")),
        )
        return web.json_response(note, status=201)

    async def list_refunds(self, request: web.Request) -> web.Response:
        """``GET orders/<id>/refunds``: the refund objects, line items with negative quantity."""
        order_id = int(request.match_info["id"])
        refunds = self.store.order_refunds(order_id)
        for refund in refunds:
            refund["_links"] = refund_links(self.store.site_url, order_id, refund["id"])
        return web.json_response(refunds)

    async def create_refund(self, request: web.Request) -> web.Response:
        """``POST orders/<id>/refunds``: ``amount``, ``reason``, ``line_items`` (``id``,
        ``quantity``) and ``api_restock`` (default true: the refunded units go back to stock)."""
        order_id = int(request.match_info["id"])
        data = await body(request)
        try:
            lines = [
                (int(i["id"]), int(i.get("quantity") or 0)) for i in data.get("line_items") or ()
            ]
        except (KeyError, TypeError, ValueError):
            raise StoreError(
                400, "rest_invalid_param", "Invalid parameter(s): line_items"
            ) from None
        amount = data.get("amount")
        refund = self.store.refund_order(
            order_id,
            str(amount) if amount not in (None, "") else None,
            str(data.get("reason") or ""),
            lines,
            restock=data.get("api_restock", True) is not False,
        )
        refund["_links"] = refund_links(self.store.site_url, order_id, refund["id"])
        return web.json_response(refund, status=201)

    # -- webhooks ----------------------------------------------------------------------------

    async def list_webhooks(self, request: web.Request) -> web.Response:
        return web.json_response([webhook_view(s) for s in self.hooks.subscriptions])

    async def create_webhook(self, request: web.Request) -> web.Response:
        data = await body(request)
        if not data.get("topic") or not data.get("delivery_url"):
            raise StoreError(
                400, "rest_missing_callback_param", "Missing parameter(s): topic, delivery_url"
            )
        sub = self.hooks.subscribe(
            data["topic"],
            data["delivery_url"],
            str(data.get("secret") or ""),
            str(data.get("name") or ""),
        )
        return web.json_response(webhook_view(sub), status=201)


async def body(request: web.Request) -> JSON:
    """The JSON object of a request body, or Woo's 400 for anything else."""
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        raise StoreError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
    if not isinstance(data, dict):
        raise StoreError(400, "rest_invalid_json", "Invalid JSON body passed.")
    return data


def batch_item(action: Callable[[JSON], JSON], entry: JSON) -> JSON:
    """Run one batch entry; a refusal becomes an ``error`` entry, as Woo answers it."""
    try:
        return action(entry)
    except StoreError as error:
        return {
            "id": entry.get("id", 0),
            "error": {
                "code": error.code,
                "message": error.message,
                "data": {"status": error.status},
            },
        }


def refund_links(site_url: str, order_id: int, refund_id: int) -> JSON:
    """The ``_links`` of a refund object."""
    orders = f"{site_url}wp-json/wc/v3/orders/{order_id}"
    return {
        "self": [{"href": f"{orders}/refunds/{refund_id}"}],
        "collection": [{"href": f"{orders}/refunds"}],
        "up": [{"href": orders}],
    }


def webhook_view(sub: Any) -> JSON:
    """A subscription as ``GET webhooks`` shows it (the secret is write-only)."""
    resource, _, event = sub.topic.partition(".")
    return {
        "id": sub.id,
        "name": sub.name,
        "status": sub.status,
        "topic": sub.topic,
        "resource": resource,
        "event": event,
        "hooks": [],
        "delivery_url": sub.delivery_url,
    }
