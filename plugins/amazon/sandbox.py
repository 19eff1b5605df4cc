"""An Amazon seller account to develop and demo against: the Selling Partner API operations
the plugin uses, served over real HTTP by aiohttp::

    amazon = AmazonSandbox()
    amazon.add_listing("MUG", quantity=12, fba=30)   # merchant offer 12, Amazon holds 30
    with amazon.serve() as server:
        channel = AmazonChannel("amazon", AmazonConfig(**amazon.config_for(server.url)))
        amazon.sell("MUG", 2)                          # a merchant-fulfilled order

Routes, as the official models name them (paths, parameters, field names, error bodies
``{"errors": [{"code", "message", "details"}]}``):

* ``POST /auth/o2/token``: Login with Amazon, ``grant_type=refresh_token``;
* ``GET /orders/2026-01-01/orders`` (searchOrders), ``GET .../orders/{orderId}`` (getOrder)
  of ``orders_2026-01-01.json``; ``POST /orders/v0/orders/{orderId}/shipmentConfirmation``
  (confirmShipment) of ``ordersV0.json``;
* ``GET /listings/2021-08-01/items/{sellerId}`` (searchListingsItems), ``GET|PATCH
  .../items/{sellerId}/{sku}`` (getListingsItem, patchListingsItem);
* ``POST /feeds/2021-06-30/documents`` (createFeedDocument), ``POST .../feeds``
  (createFeed), ``GET .../feeds/{feedId}`` (getFeed), ``GET .../documents/{id}``
  (getFeedDocument), and the presigned upload/download URLs they hand out (``/s3/...``).

Every SP-API answer carries ``x-amzn-RateLimit-Limit`` (the operation's rate); each
operation has its own token bucket at its published usage plan (``store.plans``; tests
and demos speed them with ``speed_up`` / ``set_rate``), and a call over it answers 429
``QuotaExceeded``. Every call needs an access token from the LWA route. The fault knobs
(:attr:`AmazonSandbox.faults`) apply to SP-API calls, not to the token or S3 routes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from hub.sandbox import Faults, SandboxServer, fault_middleware

from .sandbox_notify import Publisher
from .sandbox_store import AmazonStore, SandboxError, stamp

ORDER_DATA = {
    "BUYER": "buyer",
    "RECIPIENT": "recipient",
    "PROCEEDS": "proceeds",
    "FULFILLMENT": "fulfillment",
    "PACKAGES": "packages",
}


def amazon_error(status: int, code: str, message: str, details: str = "") -> web.Response:
    """An SP-API error answer: ``ErrorList`` of the models."""
    body = {"errors": [{"code": code, "message": message, "details": details}]}
    return web.json_response(body, status=status)


def _quota_exceeded(faults: Faults) -> web.Response:
    response = amazon_error(
        429, "QuotaExceeded", "You exceeded your quota for the requested resource."
    )
    response.headers["Retry-After"] = f"{faults.retry_after:g}"
    return response


def _csv(request: web.Request, name: str) -> list[str]:
    return [part for value in request.query.getall(name, []) for part in value.split(",") if part]


def _time(request: web.Request, name: str) -> datetime | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SandboxError(400, "InvalidInput", f"{name} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


UPLOAD_LIMIT = 64 * 1024 * 1024  # bytes of a request body the sandbox accepts


class AmazonSandbox:
    """An emulated Amazon seller account: state, knobs, notifications and the HTTP app."""

    def __init__(self, *, seller_id: str = "A1SANDBOXSELLER") -> None:
        self.faults = Faults(retry_after=1.0, timeout_seconds=10.0)
        self.store = AmazonStore(seller_id=seller_id)
        self.publisher = Publisher(self.store, self.faults)
        self.requests: list[tuple[str, str]] = []  # (operation, method path) of every call

    # -- serving --------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """A server for this account, not yet started: ``with sandbox.serve() as server:``."""
        return SandboxServer(self.make_app(), host, port)

    def make_app(self) -> web.Application:
        """The aiohttp application: LWA, Orders, Listings Items, Feeds, S3 and control."""
        faulty = fault_middleware(self.faults, _quota_exceeded)

        @web.middleware
        async def api_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
            """The fault knobs on SP-API routes only, answered as Amazon answers."""
            if request.path.startswith(("/auth/", "/s3/")):
                return await handler(request)
            response: web.StreamResponse = await faulty(request, handler)
            if response.status == 503:  # only the server_errors knob answers 503: Amazon's body
                response = amazon_error(
                    503, "ServiceUnavailable", "Service temporarily unavailable."
                )
            route = request.match_info.route.name or ""
            if route in self.store.plans and "x-amzn-RateLimit-Limit" not in response.headers:
                response.headers["x-amzn-RateLimit-Limit"] = f"{self.store.plans[route][0]:g}"
            return response

        # a feed document of 25,000 messages (the schema's maxItems) runs to several MB;
        # aiohttp's default body limit (1 MiB) would refuse a 10,000-SKU feed's upload
        app = web.Application(
            middlewares=[api_faults, self._middleware], client_max_size=UPLOAD_LIMIT
        )
        r = app.router
        r.add_post("/auth/o2/token", self._token, name="token")
        r.add_get("/orders/2026-01-01/orders", self._search_orders, name="searchOrders")
        r.add_get("/orders/2026-01-01/orders/{orderId}", self._get_order, name="getOrder")
        r.add_post(
            "/orders/v0/orders/{orderId}/shipmentConfirmation",
            self._confirm_shipment,
            name="confirmShipment",
        )
        r.add_get(
            "/listings/2021-08-01/items/{sellerId}",
            self._search_listings,
            name="searchListingsItems",
        )
        r.add_get(
            "/listings/2021-08-01/items/{sellerId}/{sku}", self._get_listing, name="getListingsItem"
        )
        r.add_patch(
            "/listings/2021-08-01/items/{sellerId}/{sku}",
            self._patch_listing,
            name="patchListingsItem",
        )
        r.add_post("/feeds/2021-06-30/documents", self._create_document, name="createFeedDocument")
        r.add_post("/feeds/2021-06-30/feeds", self._create_feed, name="createFeed")
        r.add_get("/feeds/2021-06-30/feeds/{feedId}", self._get_feed, name="getFeed")
        r.add_get(
            "/feeds/2021-06-30/documents/{documentId}", self._get_document, name="getFeedDocument"
        )
        r.add_put("/s3/tortuga/{documentId}", self._s3_put, name="s3put")
        r.add_get("/s3/tortuga/{documentId}", self._s3_get, name="s3get")
        r.add_get("/_sandbox/state", self._state, name="state")
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.name or ""
        store = self.store
        if route not in store.plans:
            try:
                return await handler(request)
            except SandboxError as error:
                return amazon_error(error.status, error.code, error.message)
        self.requests.append((route, f"{request.method} {request.path_qs}"))
        rate = store.plans[route][0]
        limit = {"x-amzn-RateLimit-Limit": f"{rate:g}", "x-amzn-RequestId": secrets.token_hex(8)}
        refused = store.token_problem(request.headers.get("x-amz-access-token", ""))
        if refused:
            response: web.StreamResponse = amazon_error(
                403, "Unauthorized", "Access to requested resource is denied.", refused
            )
        elif not store.admit(route):
            response = amazon_error(
                429, "QuotaExceeded", "You exceeded your quota for the requested resource."
            )
        else:
            try:
                response = await handler(request)
            except SandboxError as error:
                response = amazon_error(error.status, error.code, error.message)
        response.headers.update(limit)
        return response

    # -- LWA ------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        store = self.store
        if form.get("client_id") != store.client_id or form.get("client_secret") != (
            store.client_secret
        ):
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status=401,
            )
        if form.get("grant_type") != "refresh_token":
            return web.json_response(
                {"error": "unsupported_grant_type", "error_description": "grant_type"},
                status=400,
            )
        if form.get("refresh_token") != store.refresh_token:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "The request has an invalid grant"},
                status=400,
            )
        return web.json_response(
            {
                "access_token": store.grant(),
                "refresh_token": store.refresh_token,
                "token_type": "bearer",
                "expires_in": int(store.token_lifetime),
            }
        )

    # -- orders ---------------------------------------------------------------------------

    def _order_view(self, order: dict[str, Any], included: list[str]) -> dict[str, Any]:
        wanted = {ORDER_DATA[name] for name in included if name in ORDER_DATA}
        left_out = set(ORDER_DATA.values()) - wanted
        view = {k: v for k, v in order.items() if k not in left_out}
        view["orderItems"] = [
            {k: v for k, v in item.items() if k not in left_out} for item in order["orderItems"]
        ]
        return json.loads(json.dumps(view))  # a copy: later changes do not leak into it

    async def _search_orders(self, request: web.Request) -> web.Response:
        if self.store.marketplace_id not in _csv(request, "marketplaceIds"):
            raise SandboxError(400, "InvalidInput", "marketplaceIds must name the seller's")
        updated = _time(request, "lastUpdatedAfter")
        created = _time(request, "createdAfter")
        token = request.query.get("paginationToken")
        if not token and (updated is None) == (created is None):
            raise SandboxError(
                400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required."
            )
        try:
            size = int(request.query.get("maxResultsPerPage", "100"))
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            raise SandboxError(400, "InvalidInput", "maxResultsPerPage must be from 1 to 100.")
        after = updated or created
        assert after is not None or token
        page, following = self.store.search(
            after or datetime.min.replace(tzinfo=UTC), created is not None, size, token
        )
        included = _csv(request, "includedData")
        body: dict[str, Any] = {
            "orders": [self._order_view(o, included) for o in page],
            "lastUpdatedBefore": stamp(self.store.now() - timedelta(minutes=2)),
        }
        if following:
            body["pagination"] = {"nextToken": following}
        return web.json_response(body)

    async def _get_order(self, request: web.Request) -> web.Response:
        order = self.store.order(request.match_info["orderId"])
        view = self._order_view(order, _csv(request, "includedData"))
        return web.json_response({"order": view})

    async def _confirm_shipment(self, request: web.Request) -> web.Response:
        body = await _json(request)
        self.store.confirm_shipment(request.match_info["orderId"], body)
        return web.Response(status=204)

    # -- listings -------------------------------------------------------------------------

    def _seller(self, request: web.Request) -> None:
        if request.match_info["sellerId"] != self.store.seller_id:
            raise SandboxError(403, "Unauthorized", "Access to requested resource is denied.")
        if self.store.marketplace_id not in _csv(request, "marketplaceIds"):
            raise SandboxError(400, "InvalidInput", "marketplaceIds must name the seller's")

    async def _search_listings(self, request: web.Request) -> web.Response:
        self._seller(request)
        try:
            size = int(request.query.get("pageSize", "10"))
        except ValueError:
            size = 0
        if not 1 <= size <= 20:
            raise SandboxError(400, "InvalidInput", "pageSize must be from 1 to 20.")
        token = request.query.get("pageToken") or ""
        with self.store.lock:
            skus = sorted(self.store.listings)
            start = int(token[1:]) if token.startswith("p") and token[1:].isdigit() else 0
            items = [self.store.item(sku) for sku in skus[start : start + size]]
        body: dict[str, Any] = {"numberOfResults": len(skus), "items": items}
        if start + size < len(skus):
            body["pagination"] = {"nextToken": f"p{start + size}"}
        return web.json_response(body)

    async def _get_listing(self, request: web.Request) -> web.Response:
        self._seller(request)
        return web.json_response(self.store.item(request.match_info["sku"]))

    async def _patch_listing(self, request: web.Request) -> web.Response:
        self._seller(request)
        sku = request.match_info["sku"]
        body = await _json(request)
        patches = body.get("patches")
        if not body.get("productType") or not isinstance(patches, list) or not patches:
            raise SandboxError(400, "InvalidInput", "productType and patches are required.")
        entries = None
        for patch in patches:
            if patch.get("path") == "/attributes/fulfillment_availability":
                entries = patch.get("value")
        if not isinstance(entries, list):
            raise SandboxError(
                400, "InvalidInput", "the sandbox only patches fulfillment_availability"
            )
        issues = self.store.set_availability(sku, entries)
        if not issues:
            self.store.calls.append(("patchListingsItem", 1))
        return web.json_response(
            {
                "sku": sku,
                "status": "INVALID" if issues else "ACCEPTED",
                "submissionId": secrets.token_hex(16),
                "issues": issues,
            }
        )

    # -- feeds ----------------------------------------------------------------------------

    async def _create_document(self, request: web.Request) -> web.Response:
        body = await _json(request)
        if not body.get("contentType"):
            raise SandboxError(400, "InvalidInput", "contentType is required.")
        document_id = self.store.new_document()
        url = f"{request.scheme}://{request.host}/s3/tortuga/{document_id}"
        return web.json_response(
            {
                "feedDocumentId": document_id,
                "url": f"{url}?X-Amz-Signature={secrets.token_hex(16)}",
            },
            status=201,
        )

    async def _create_feed(self, request: web.Request) -> web.Response:
        body = await _json(request)
        feed = self.store.create_feed(
            str(body.get("feedType", "")),
            str(body.get("inputFeedDocumentId", "")),
            list(body.get("marketplaceIds") or []),
        )
        return web.json_response({"feedId": feed.feed_id}, status=202)

    async def _get_feed(self, request: web.Request) -> web.Response:
        feed = self.store.poll_feed(request.match_info["feedId"])
        body = {
            "feedId": feed.feed_id,
            "feedType": feed.feed_type,
            "marketplaceIds": [self.store.marketplace_id],
            "createdTime": feed.created,
            "processingStatus": feed.status,
        }
        if feed.report_id:
            body["resultFeedDocumentId"] = feed.report_id
        return web.json_response(body)

    async def _get_document(self, request: web.Request) -> web.Response:
        document_id = request.match_info["documentId"]
        if document_id not in self.store.documents:
            raise SandboxError(404, "NotFound", f"Feed document {document_id} not found.")
        url = f"{request.scheme}://{request.host}/s3/tortuga/{document_id}"
        return web.json_response({"feedDocumentId": document_id, "url": url})

    async def _s3_put(self, request: web.Request) -> web.Response:
        self.requests.append(("s3put", f"PUT {request.path}"))  # a call the feed needs
        self.store.upload(request.match_info["documentId"], await request.read())
        return web.Response(status=200)

    async def _s3_get(self, request: web.Request) -> web.Response:
        self.requests.append(("s3get", f"GET {request.path}"))
        content = self.store.documents.get(request.match_info["documentId"])
        if content is None:
            return web.Response(status=404, text="NoSuchKey")
        return web.Response(body=content, content_type="application/json")

    async def _state(self, request: web.Request) -> web.Response:
        with self.store.lock:
            return web.json_response(
                {
                    "listings": {
                        s: {"mfn": i.mfn, "fba": i.fba} for s, i in self.store.listings.items()
                    },
                    "orders": len(self.store.orders),
                    "feeds": len(self.store.feeds),
                    "faults": {k: v for k, v in self.faults.knobs().items() if k != "chance"},
                }
            )

    # -- convenience ------------------------------------------------------------------------

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """A ``[channels.<name>]`` section for this account served at ``url``."""
        store = self.store
        section: dict[str, Any] = {
            "type": "amazon",
            "refresh_token": store.refresh_token,
            "lwa_client_id": store.client_id,
            "lwa_client_secret": store.client_secret,
            "seller_id": store.seller_id,
            "marketplace_ids": [store.marketplace_id],
            "endpoint": url,
            "lwa_endpoint": url + "/auth/o2/token",
            "webhook_secret": self.publisher.secret,
        }
        return {**section, **extra}

    def add_listing(self, sku: str, **fields: Any) -> None:
        """Offer ``sku`` (see :meth:`AmazonStore.add_listing`)."""
        self.store.add_listing(sku, **fields)

    def sell(self, sku: str, quantity: int, *, fulfilled_by: str = "MERCHANT", **kw: Any) -> str:
        """A buyer orders ``quantity`` of ``sku``; returns the order id."""
        return str(
            self.store.create_order([(sku, quantity)], fulfilled_by=fulfilled_by, **kw)["orderId"]
        )

    def stock(self, sku: str) -> int | None:
        """The merchant offer's quantity of ``sku``."""
        return self.store.stock(sku)

    def operations(self, name: str) -> int:
        """How many calls of operation ``name`` reached the sandbox (throttled ones too)."""
        return sum(1 for operation, _ in self.requests if operation == name)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise SandboxError(400, "InvalidInput", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise SandboxError(400, "InvalidInput", "The request body must be a JSON object.")
    return body
