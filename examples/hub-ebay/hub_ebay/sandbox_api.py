"""The HTTP side of :class:`hub_ebay.sandbox.EbaySandbox`: eBay's routes, as the contracts in
``reference/`` describe them, with faults first, then the token check.

Errors are eBay's ``{"errors": [Error]}`` with the ids and messages each operation's
``x-response-codes`` document; the token endpoint answers RFC 6749 errors as eBay's does.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.sandbox import Faults, fault_middleware

from .contract import documented_error, error_body, problems

if TYPE_CHECKING:
    from .sandbox import EbaySandbox

FULFILLMENT = "/sell/fulfillment/v1"
INVENTORY = "/sell/inventory/v1"
TOKEN = "/identity/v1/oauth2/token"
PUBLIC_KEY = "/commerce/notification/v1/public_key/{public_key_id}"
APPLICATION_SCOPE = "https://api.ebay.com/oauth/api_scope"
SELL_SCOPES = {
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
}
BULK_LIMIT = 25  # BulkPriceQuantity.requests: "one or more inventory items (up to 25)"
WINDOW = timedelta(days=90)  # getOrders' filter covers the last 90 days only
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")
RANGE = re.compile(r"^\[(.*?)\.\.(.*)\]$")


def make_app(store: EbaySandbox) -> web.Application:
    """The aiohttp app of ``store``."""
    app = web.Application(middlewares=[fault_middleware(store.faults, _throttled), _auth(store)])
    routes = Routes(store)
    app.router.add_post(TOKEN, routes.token)
    app.router.add_get(FULFILLMENT + "/order", routes.get_orders)
    app.router.add_get(FULFILLMENT + "/order/{orderId}", routes.get_order)
    app.router.add_get(FULFILLMENT + "/order/{orderId}/shipping_fulfillment", routes.fulfillments)
    app.router.add_post(FULFILLMENT + "/order/{orderId}/shipping_fulfillment", routes.ship)
    app.router.add_get(INVENTORY + "/inventory_item", routes.inventory_items)
    app.router.add_post(INVENTORY + "/bulk_update_price_quantity", routes.bulk_update)
    app.router.add_get(PUBLIC_KEY, routes.public_key)
    return app


def _throttled(faults: Faults) -> web.Response:
    # eBay's answer when a call limit is reached, with the wait in Retry-After (which the
    # contracts do not document; integrators report eBay sending it, and hub.rest reads it).
    body = error_body(
        2001,
        "ACCESS",
        "REQUEST",
        "Too many requests. The request limit has been reached for the resource.",
    )
    return web.json_response(body, status=429, headers={"Retry-After": f"{faults.retry_after:g}"})


def _auth(store: EbaySandbox) -> Any:
    """Every API call needs a live Bearer token of the right kind: a User token for the
    Sell APIs, an Application token for the Notification API."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == TOKEN:
            return await handler(request)
        sent = request.headers.get("Authorization", "")
        with store.lock:
            kind, expires = store.tokens.get(sent.removeprefix("Bearer "), ("", 0.0))
        if not sent.startswith("Bearer ") or time.monotonic() >= expires:
            body = error_body(1001, "OAuth", "REQUEST", "Invalid access token")
            body["errors"][0]["longMessage"] = (
                "Invalid access token. Check the value of the Authorization HTTP request header."
            )
            return web.json_response(body, status=401)
        wanted = "application" if request.path.startswith("/commerce/") else "user"
        if kind != wanted:
            message = "Insufficient permissions to fulfill the request."
            return web.json_response(error_body(1100, "ACCESS", "REQUEST", message), status=403)
        return await handler(request)

    return middleware


def _refuse(api: str, path: str, method: str, error_id: int, **values: str) -> web.Response:
    return web.json_response(
        documented_error(api, path, method, 400, error_id, **values), status=400
    )


class Routes:
    """The handlers; each counts its call under eBay's operationId."""

    def __init__(self, store: EbaySandbox) -> None:
        self.store = store

    async def token(self, request: web.Request) -> web.Response:
        """The OAuth token endpoint: Basic client_id:client_secret, a form body."""
        try:
            scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
            client, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            scheme = client = secret = ""
        if scheme != "Basic" or (client, secret) != (
            self.store.client_id,
            self.store.client_secret,
        ):
            return _oauth_error(401, "invalid_client", "client authentication failed")
        form = await request.post()
        grant, scopes = form.get("grant_type"), set(str(form.get("scope", "")).split())
        if grant == "client_credentials":
            if scopes != {APPLICATION_SCOPE}:
                return _oauth_error(400, "invalid_scope", "the requested scope is invalid")
            kind, label = "application", "Application Access Token"
        elif grant == "refresh_token":
            if form.get("refresh_token") != self.store.refresh_token:
                return _oauth_error(
                    400,
                    "invalid_grant",
                    "the provided authorization refresh token is invalid or was issued to "
                    "another client",
                )
            if not scopes <= SELL_SCOPES:
                return _oauth_error(400, "invalid_scope", "the requested scope is invalid")
            kind, label = "user", "User Access Token"
        else:
            return _oauth_error(
                400, "unsupported_grant_type", "grant type in request is not supported"
            )
        self.store.grants[str(grant)] += 1
        token = self.store.mint(kind)
        return web.json_response(
            {"access_token": token, "expires_in": self.store.token_lifetime, "token_type": label}
        )

    async def get_orders(self, request: web.Request) -> web.Response:
        """getOrders: ``filter`` by lastmodifieddate/creationdate, ``limit``/``offset``."""
        store, query = self.store, request.query

        def refuse(error_id: int, **values: str) -> web.Response:
            return _refuse("fulfillment", "/order", "get", error_id, **values)

        try:
            limit, offset = int(query.get("limit", "50")), int(query.get("offset", "0"))
        except ValueError:
            return refuse(31100, limitvalue=query.get("limit", ""))
        if not 1 <= limit <= 1000:
            return refuse(31100, limitvalue=str(limit))
        if offset < 0:
            return refuse(31000, offsetvalue=str(offset))
        with store.lock:
            store.calls["getOrders"] += 1
            orders = sorted(store.by_id.values(), key=lambda o: (o["creationDate"], o["orderId"]))
            if "orderIds" in query:
                wanted = [i for i in query["orderIds"].split(",") if i]
                if len(wanted) > 50:
                    return refuse(30900)
                orders = [o for o in orders if o["orderId"] in wanted]
            else:
                for criterion in filter(None, query.get("filter", "").split(",")):
                    name, _, value = criterion.strip().partition(":")
                    if name not in ("lastmodifieddate", "creationdate"):
                        return refuse(30700, fieldname=name)
                    kept = _in_range(orders, name, value)
                    if isinstance(kept, int):
                        return refuse(kept, fieldname=name, fieldvalue=value)
                    orders = kept
            page = orders[offset : offset + limit]
            body: dict[str, Any] = {
                "href": str(request.rel_url),
                "limit": limit,
                "offset": offset,
                "total": len(orders),
                "orders": page,
            }
            if offset + limit < len(orders):
                body["next"] = _link(request, limit, offset + limit)
            if offset > 0:
                body["prev"] = _link(request, limit, max(0, offset - limit))
            return web.json_response(body)

    async def get_order(self, request: web.Request) -> web.Response:
        """getOrder."""
        with self.store.lock:
            self.store.calls["getOrder"] += 1
            order = self.store.by_id.get(request.match_info["orderId"])
            if order is None:
                return _refuse(
                    "fulfillment",
                    "/order/{orderId}",
                    "get",
                    32100,
                    orderId=request.match_info["orderId"],
                )
            return web.json_response(order)

    async def fulfillments(self, request: web.Request) -> web.Response:
        """getShippingFulfillments."""
        order_id = request.match_info["orderId"]
        with self.store.lock:
            self.store.calls["getShippingFulfillments"] += 1
            if order_id not in self.store.by_id:
                path = "/order/{orderId}/shipping_fulfillment"
                return _refuse("fulfillment", path, "get", 32100, orderId=order_id)
            held = self.store.fulfillments[order_id]
            return web.json_response({"fulfillments": held, "total": len(held), "warnings": []})

    async def ship(self, request: web.Request) -> web.Response:
        """createShippingFulfillment: 201 with the new fulfilment's Location, no body."""
        order_id = request.match_info["orderId"]

        def refuse(error_id: int) -> web.Response:
            path = "/order/{orderId}/shipping_fulfillment"
            return _refuse("fulfillment", path, "post", error_id)

        try:
            body = await request.json()
        except ValueError:
            return refuse(32600)
        if problems("fulfillment", "ShippingFulfillmentDetails", body) or not body.get("lineItems"):
            return refuse(32600)
        with self.store.lock:
            self.store.calls["createShippingFulfillment"] += 1
            order = self.store.by_id.get(order_id)
            if order is None or order["cancelStatus"]["cancelState"] == "CANCELED":
                return refuse(32100)
            lines = {ln["lineItemId"]: ln for ln in order["lineItems"]}
            for ref in body["lineItems"]:
                line = lines.get(ref.get("lineItemId"))
                if (
                    line is None
                    or not 1 <= ref.get("quantity", line["quantity"]) <= line["quantity"]
                ):
                    return refuse(32200)
            if not body.get("trackingNumber") or not body.get("shippingCarrierCode"):
                return refuse(32300)
            shipped = body.get("shippedDate") or self.store._tick()
            if not DATE.match(shipped):
                return refuse(32500)
            refs = [
                {
                    "lineItemId": r["lineItemId"],
                    "quantity": r.get("quantity", lines[r["lineItemId"]]["quantity"]),
                }
                for r in body["lineItems"]
            ]
            made = self.store.ship(
                order, refs, body["shippingCarrierCode"], body["trackingNumber"], shipped
            )
        location = f"{FULFILLMENT}/order/{order_id}/shipping_fulfillment/{made}"
        return web.Response(status=201, headers={"Location": str(request.url.with_path(location))})

    async def inventory_items(self, request: web.Request) -> web.Response:
        """getInventoryItems: ``limit`` 1..100 per page, ``offset`` the page number (0 first),
        as the contract says of it."""
        try:
            limit, page = (
                int(request.query.get("limit", "100")),
                int(request.query.get("offset", "0")),
            )
        except ValueError:
            limit = page = -1
        if not 1 <= limit <= 100 or page < 0:
            body = documented_error(
                "inventory",
                "/inventory_item",
                "get",
                400,
                25706,
                additionalInfo="limit must be 1 to 100 and offset a page number from 0",
            )
            return web.json_response(body, status=400)
        with self.store.lock:
            self.store.calls["getInventoryItems"] += 1
            items = [self.store._public(i) for i in self.store.items.values()]
            shown = items[page * limit : (page + 1) * limit]
            body = {
                "href": str(request.rel_url),
                "inventoryItems": shown,
                "limit": limit,
                "size": len(shown),
                "total": len(items),
            }
            if (page + 1) * limit < len(items):
                body["next"] = _link(request, limit, page + 1)
            if page > 0:
                body["prev"] = _link(request, limit, page - 1)
            return web.json_response(body)

    async def bulk_update(self, request: web.Request) -> web.Response:
        """bulkUpdatePriceQuantity: at most 25 requests; a PriceQuantityResponse per request,
        200 when every one succeeded, else 207."""
        path = "/bulk_update_price_quantity"

        def refuse(field: str, info: str) -> web.Response:
            return _refuse("inventory", path, "post", 25709, fieldName=field, additionalInfo=info)

        try:
            body = await request.json()
        except ValueError:
            return refuse("body", "The request body is not JSON.")
        wrong = problems("inventory", "BulkPriceQuantity", body)
        if wrong:
            return refuse("requests", wrong[0])
        requests = body.get("requests") or []
        if not 1 <= len(requests) <= BULK_LIMIT:
            return refuse("requests", f"Send 1 to {BULK_LIMIT} requests, not {len(requests)}.")
        with self.store.lock:
            self.store.calls["bulkUpdatePriceQuantity"] += 1
            answers = [self._update(r) for r in requests]
        status = 200 if all(a["statusCode"] == 200 for a in answers) else 207
        return web.json_response({"responses": answers}, status=status)

    def _update(self, request: dict[str, Any]) -> dict[str, Any]:
        """One PriceQuantity: the ship-to-home quantity of one SKU (offers not emulated)."""
        sku = request.get("sku", "")
        item = self.store.items.get(sku)
        quantity = (request.get("shipToLocationAvailability") or {}).get("quantity")
        path, method = "/bulk_update_price_quantity", "post"
        if item is None:
            info = f"No inventory item with SKU {sku!r}."
            error = documented_error("inventory", path, method, 400, 25002, additionalInfo=info)
            return {"sku": sku, "statusCode": 404, **error}
        if request.get("offers") or not isinstance(quantity, int) or quantity < 0:
            error = documented_error(
                "inventory",
                path,
                method,
                400,
                25709,
                fieldName="shipToLocationAvailability.quantity",
                additionalInfo="Send a whole number from 0 (offers are not emulated).",
            )
            return {"sku": sku, "statusCode": 400, **error}
        self.store._set_quantity(item, quantity)
        return {"sku": sku, "statusCode": 200}

    async def public_key(self, request: web.Request) -> web.Response:
        """getPublicKey: the key that signs this account's notifications."""
        self.store.calls["getPublicKey"] += 1
        if request.match_info["public_key_id"] != self.store.key_id:
            # The sliced contracts do not cover the Notification API: an id of our own.
            body = error_body(195001, "API_NOTIFICATION", "REQUEST", "The key ID is invalid.")
            return web.json_response(body, status=404)
        return web.json_response(self.store.public_key())


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _link(request: web.Request, limit: int, offset: int) -> str:
    """The URL of another page: the same query with ``limit`` and ``offset`` replaced."""
    return str(request.url.update_query(limit=str(limit), offset=str(offset)))


def _in_range(orders: list[dict[str, Any]], name: str, value: str) -> list[dict[str, Any]] | int:
    """The orders whose date ``name`` lies in ``[start..end]``, or the documented error id."""
    bounds = RANGE.match(value)
    if bounds is None:
        return 30800
    start, end = bounds.groups()
    if not start:
        return 30820
    if not DATE.match(start) or (end and not DATE.match(end)):
        return 30810
    now = datetime.now(UTC)
    first = datetime.fromisoformat(start)
    last = datetime.fromisoformat(end) if end else None  # open-ended: up to the newest
    if last is not None and first > last:
        return 30840
    if first > now + timedelta(minutes=1):
        return 30850
    if first < now - WINDOW:
        return 30830
    field = "lastModifiedDate" if name == "lastmodifieddate" else "creationDate"
    kept = [o for o in orders if first <= datetime.fromisoformat(o[field])]
    return kept if last is None else [o for o in kept if datetime.fromisoformat(o[field]) <= last]
