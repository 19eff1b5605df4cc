"""A Shopify shop to develop and demo against: the GraphQL Admin API (2026-04) subset the
plugin uses, served over real HTTP by aiohttp, with state that changes over time::

    shop = ShopifySandbox()
    shop.add_product("Mug", [{"sku": "MUG-1", "price": "12.50", "stock": 7}])
    with shop.serve() as server:
        channel = ShopifyChannel("shop", ShopifyConfig(**shop.config_for(server.url)))
        shop.sell("MUG-1", 2)         # a customer checks out: stock 5, orders/create queued
        shop.deliver_webhooks()       # signed POSTs to the subscribed addresses

``POST /admin/api/2026-04/graphql.json`` checks ``X-Shopify-Access-Token``, validates the
document against the schema subset, prices it (``extensions.cost``), charges the cost
bucket (``THROTTLED`` when empty), checks access scopes per field and runs it. The fault
knobs in :attr:`ShopifySandbox.faults` make the next calls fail (HTTP 429 with
Retry-After, 503, slow answers, truncated bodies, ``throttled`` GraphQL answers) and
the next webhooks arrive twice or out of order. The sandbox reads no file outside the
package at run time.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from graphql import GraphQLError, OperationDefinitionNode, execute, parse, validate
from graphql.language import FragmentDefinitionNode

from hub.sandbox import (
    Delivery,
    Faults,
    SandboxServer,
    Subscription,
    WebhookDispatcher,
    fault_middleware,
)

from .sandbox_cost import MAX_QUERY_COST, CostBucket, QueryCost
from .sandbox_graphql import SCHEMA, Roots
from .sandbox_store import JSON, OPEN_FOS, ShopOrder, ShopStore, StoreError
from .webhook import TOPICS, signature

API_VERSION = "2026-04"
ALL_SCOPES = (
    "read_products",
    "write_inventory",
    "read_locations",
    "read_orders",
    "write_merchant_managed_fulfillment_orders",
)
DOCS = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class ShopifyFaults(Faults):
    """The hub's fault knobs plus GraphQL throttling, counted down as they fire."""

    throttled: int = 0  # answer HTTP 200 with a THROTTLED error, as an empty bucket does


@dataclass
class ApiCall:
    """One request answered: the operation, what it cost, and what came back."""

    operation: str
    kind: str  # query or mutation
    status: int
    cost: int = 0
    variables: JSON = field(default_factory=dict)
    throttled: bool = False


def _rate_limited(faults: Faults) -> web.Response:
    return web.json_response(
        {"errors": "Exceeded 2 calls per second for api client. Reduce request rates."},
        status=429,
        headers={"Retry-After": f"{faults.retry_after:g}"},
    )


class SandboxHTTPServer(SandboxServer):
    """A SandboxServer that stops the webhook thread with it."""

    def __init__(self, sandbox: ShopifySandbox, host: str, port: int) -> None:
        super().__init__(sandbox.make_app(), host, port)
        self.sandbox = sandbox

    def stop(self) -> None:
        """Stop serving and the webhook thread, if it runs."""
        self.sandbox.hooks.stop()
        super().stop()


class ShopifySandbox:
    """An emulated Shopify shop: its state, cost bucket, knobs, webhooks and HTTP app."""

    def __init__(
        self,
        *,
        access_token: str = "shpat_sandbox_0123456789",
        api_secret: str = "shpss_sandbox_0123456789",
        client_id: str = "sandbox0client0id0123456789abcdef",
        token_lifetime: float = 86399.0,
        scopes: Sequence[str] = ALL_SCOPES,
        currency: str = "USD",
        domain: str = "hub-sandbox.myshopify.com",
        bucket_size: float = 2000.0,
        restore_rate: float = 100.0,
        auto_deliver: bool = False,
    ) -> None:
        self.access_token = access_token
        self.api_secret = api_secret  # the app's client secret: signs webhooks, gets tokens
        self.client_id = client_id
        self.token_lifetime = token_lifetime
        self.issued: dict[str, float] = {}  # tokens from client credentials -> expiry
        self.scopes = list(scopes)
        self.faults = ShopifyFaults(retry_after=1.0, timeout_seconds=10.0)
        self.store = ShopStore(currency=currency, domain=domain)
        self.bucket = CostBucket(bucket_size, restore_rate)
        self.calls: list[ApiCall] = []
        self.idempotency: dict[str, tuple[str, JSON]] = {}
        self.hooks = WebhookDispatcher(
            self.faults, self._headers, max_failures=19, name="shopify-webhooks"
        )
        self.store.listeners.append(self.hooks.enqueue)
        if auto_deliver:
            self.hooks.start_auto()

    # -- serving --------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application: the GraphQL endpoint behind the fault knobs."""
        app = web.Application(middlewares=[fault_middleware(self.faults, _rate_limited)])
        app.router.add_post("/admin/api/{version}/graphql.json", self._graphql)
        app.router.add_post("/admin/oauth/access_token", self._token)
        app.router.add_get("/_sandbox/state", self._state)
        return app

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxHTTPServer:
        """A server for this shop, not yet started: ``with sandbox.serve() as server:``."""
        return SandboxHTTPServer(self, host, port)

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """A channel configuration section pointing at this shop served at ``url``."""
        return {
            "type": "shopify",
            "shop": url,
            "access_token": self.access_token,
            "webhook_secret": self.api_secret,
            "api_version": API_VERSION,
            **extra,
        }

    def credentials_config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """A section that connects with the app's client id and secret instead of a token."""
        settings = self.config_for(url)
        del settings["access_token"], settings["webhook_secret"]
        return {**settings, "client_id": self.client_id, "client_secret": self.api_secret, **extra}

    def expire_tokens(self) -> None:
        """Let every token fetched with client credentials run out now."""
        self.issued = dict.fromkeys(self.issued, 0.0)

    def _valid(self, token: str | None) -> bool:
        if token == self.access_token:
            return True
        return token is not None and self.issued.get(token, 0.0) > time.monotonic()

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        if form.get("grant_type") != "client_credentials":
            return web.json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
                status=400,
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.api_secret:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication "
                    "failed due to unknown client, no client authentication included, or "
                    "unsupported authentication method.",
                },
                status=401,
            )
        token = "shpat_" + uuid.uuid4().hex
        self.issued[token] = time.monotonic() + self.token_lifetime
        return web.json_response(
            {
                "access_token": token,
                "scope": ",".join(self.scopes),
                "expires_in": int(self.token_lifetime),
            }
        )

    async def _state(self, request: web.Request) -> web.Response:
        with self.store.lock:
            state = {
                "products": len(self.store.products),
                "variants": len(self.store.variants),
                "orders": len(self.store.orders),
                "calls": len(self.calls),
                "throttleStatus": self.bucket.status(),
                "pending_webhooks": len(self.hooks.pending),
            }
        return web.json_response(state)

    async def _graphql(self, request: web.Request) -> web.Response:
        if not self._valid(request.headers.get("X-Shopify-Access-Token")):
            self.calls.append(ApiCall("", "", 401))
            return web.json_response(
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or "
                    "wrong password)"
                },
                status=401,
            )
        if request.match_info["version"] != API_VERSION:
            return web.json_response({"errors": "Not Found"}, status=404)
        try:
            body = json.loads(await request.read())
            source = body["query"]
            variables = body.get("variables") or {}
            if not isinstance(source, str) or not isinstance(variables, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return web.json_response(
                {"errors": "Bad Request: the body must be JSON with a query string"}, status=400
            )
        # executing holds the store's lock: off the sandbox's event loop
        answer, status = await asyncio.to_thread(
            self.run, source, variables, body.get("operationName")
        )
        return web.json_response(answer, status=status)

    def run(
        self, source: str, variables: JSON, operation_name: str | None = None
    ) -> tuple[JSON, int]:
        """Answer one GraphQL request as the Admin API does: (body, HTTP status)."""
        try:
            document = parse(source)
        except GraphQLError as error:
            return {"errors": [error.formatted]}, 200
        problems = validate(SCHEMA, document)
        if problems:
            return {"errors": [p.formatted for p in problems]}, 200
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        operation = next(
            (
                op
                for op in operations
                if not operation_name or op.name and op.name.value == operation_name
            ),
            operations[0],
        )
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        name = operation.name.value if operation.name else ""
        kind = operation.operation.value
        pricing = QueryCost(SCHEMA, operation, fragments, variables)
        requested = pricing.requested()
        if requested > MAX_QUERY_COST:
            self.calls.append(ApiCall(name, kind, 200, 0, variables))
            return {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single "
                        f"query max cost limit ({MAX_QUERY_COST}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": MAX_QUERY_COST,
                        },
                    }
                ]
            }, 200
        forced = self.faults.take("throttled")
        if forced or not self.bucket.take(requested):
            if forced:  # other apps of the shop emptied the bucket
                self.bucket.drain()
            self.calls.append(ApiCall(name, kind, 200, 0, variables, throttled=True))
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": DOCS},
                    }
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": None,
                        "throttleStatus": self.bucket.status(),
                    }
                },
            }, 200
        roots = Roots(self.store, self.scopes, self.idempotency)
        with self.store.lock:
            root = roots.mutation() if kind == "mutation" else roots.query()
            result = execute(
                SCHEMA, document, root, variable_values=variables, operation_name=operation_name
            )
        assert not hasattr(result, "__await__")
        data = result.data  # type: ignore[union-attr]
        actual = pricing.actual(data) if data is not None else requested
        self.bucket.refund(requested - actual)
        self.calls.append(ApiCall(name, kind, 200, actual, variables))
        answer: JSON = {"data": data}
        if result.errors:  # type: ignore[union-attr]
            answer["errors"] = [e.formatted for e in result.errors]  # type: ignore[union-attr]
        answer["extensions"] = {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.bucket.status(),
            }
        }
        return answer, 200

    # -- catalogue --------------------------------------------------------------------------

    def add_product(self, title: str, variants: Sequence[dict[str, Any]], **kw: Any) -> JSON:
        """Add a product with variants (dicts: sku, price, stock (None: untracked), option)."""
        return self.store.add_product(title, list(variants), **kw)

    def add_location(self, name: str, *, active: bool = True) -> str:
        """Add a location; returns its global id."""
        return f"gid://shopify/Location/{self.store.add_location(name, active=active)}"

    @property
    def location_id(self) -> str:
        """The global id of the shop's primary location."""
        return f"gid://shopify/Location/{self.store.primary}"

    def stock(self, sku: str) -> int | None:
        """The available quantity at the primary location (None: not tracked)."""
        with self.store.lock:
            variant = self.store.variant_by_sku(sku)
            item = self.store.items[variant["item_id"]]
            return self.store.available(item["id"]) if item["tracked"] else None

    def set_stock(self, sku: str, quantity: int) -> None:
        """Set a quantity as the merchant would in the admin; ``inventory_levels/update``."""
        with self.store.lock:
            variant = self.store.variant_by_sku(sku)
            self.store.set_available(variant["item_id"], self.store.primary, quantity)

    def item_id(self, sku: str) -> str:
        """The global id of the inventory item of the variant with ``sku``."""
        with self.store.lock:
            return f"gid://shopify/InventoryItem/{self.store.variant_by_sku(sku)['item_id']}"

    # -- orders -----------------------------------------------------------------------------

    def create_order(
        self,
        lines: Iterable[tuple[str, int] | dict[str, Any]],
        *,
        check_stock: bool = False,
        **fields: Any,
    ) -> ShopOrder:
        """Place an order for ``[("SKU", qty), ...]``; emits ``orders/create``.

        A line may also be ``{"variant_id": n, "quantity": q}`` (a variant, with or without
        SKU) or a custom item ``{"title": "Gift wrap", "quantity": 1, "price": "3.00",
        "requires_shipping": False}``. ``fields``: customer, shipping_address,
        financial_status, risk, note, tags.
        """
        fields.setdefault("customer", dict(DEMO_CUSTOMER))
        fields.setdefault("shipping_address", dict(DEMO_ADDRESS))
        return self.store.create_order(list(lines), check_stock=check_stock, **fields)

    def sell(self, sku: str, quantity: int = 1, **fields: Any) -> ShopOrder:
        """A customer checks out ``quantity`` of ``sku``: refused without stock, like Shopify."""
        return self.create_order([(sku, quantity)], check_stock=True, **fields)

    def order(self, order_id: int) -> ShopOrder:
        """An order as the store keeps it."""
        with self.store.lock:
            return self.store.order(order_id)

    def update_order(self, order_id: int, **changes: Any) -> ShopOrder:
        """Edit an order as the admin would; emits ``orders/updated``."""
        return self.store.update_order(order_id, **changes)

    def cancel_order(self, order_id: int, reason: str = "CUSTOMER", restock: bool = True) -> None:
        """Cancel an order; its stock comes back (``orders/cancelled``)."""
        self.store.cancel_order(order_id, reason, restock)

    def refund(
        self,
        order_id: int,
        lines: list[tuple[str, int]],
        restock: bool = True,
        restock_type: str | None = None,
    ) -> JSON:
        """Refund units of lines named by SKU or title (``refunds/create``, ``orders/updated``).

        ``restock_type``: RETURN (shipped units back to stock), CANCEL (unshipped units
        removed and restocked), NO_RESTOCK, LEGACY_RESTOCK (refunds made before 2019);
        without it, ``restock`` cancels what is unshipped and returns the rest.
        """
        return self.store.refund(order_id, lines, restock, restock_type)

    def edit_order(
        self,
        order_id: int,
        *,
        add: Sequence[tuple[str, int] | dict[str, Any]] = (),
        remove: Sequence[tuple[str, int]] = (),
        restock: bool = True,
    ) -> ShopOrder:
        """Edit an order as the admin would: add lines, remove unshipped units of lines."""
        return self.store.edit_order(order_id, add=add, remove=remove, restock=restock)

    def ship(
        self, order_id: int, lines: Sequence[tuple[str, int]] | None = None, **tracking: str
    ) -> JSON:
        """Fulfil an order in the admin: all that is left, or ``[(SKU or title, units)]``.

        ``tracking``: company, number, url. Emits ``orders/updated``.
        """
        with self.store.lock:
            order = self.store.order(order_id)
            open_ones = [fo for fo in order.fulfillment_orders if fo.status in OPEN_FOS]
            quantities: dict[int, int] | None = None
            if lines is not None:
                quantities = {}
                for key, units in lines:
                    line = self.store.line_of(order, key)
                    for fo in open_ones:
                        for fl in fo.lines:
                            if fl["line_id"] == line.id and units:
                                take = min(units, fl["remaining"])
                                quantities[fl["id"]] = quantities.get(fl["id"], 0) + take
                                units -= take
                    if units:
                        raise StoreError(f"order {order.name} has too few unshipped of {key!r}")
                open_ones = [
                    fo for fo in open_ones if any(fl["id"] in quantities for fl in fo.lines)
                ]
            if not open_ones:
                raise StoreError(f"order {order.name} has nothing left to ship")
            return self.store.fulfil([fo.id for fo in open_ones], dict(tracking), quantities)

    def advance(self, seconds: float) -> None:
        """Move the store's clock forward (later changes get later updatedAt)."""
        self.store.advance(seconds)

    # -- webhooks ---------------------------------------------------------------------------

    def _headers(self, sub: Subscription, topic: str, body: bytes, delivery_id: int) -> dict:
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(sub.secret, body),
            "X-Shopify-Shop-Domain": self.store.domain,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": str(uuid.UUID(int=delivery_id)),
            "X-Shopify-Event-Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{topic}:{delivery_id}")),
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
        }

    def add_webhook(
        self, topics: str | Iterable[str] = TOPICS, address: str = "", secret: str | None = None
    ) -> list[Subscription]:
        """Subscribe ``address`` to one or more topics, signed with the app's secret."""
        if not address:
            raise ValueError("add_webhook needs the address to post deliveries to")
        names = [topics] if isinstance(topics, str) else list(topics)
        key = self.api_secret if secret is None else secret
        return [self.hooks.subscribe(topic, address, key) for topic in names]

    @property
    def pending_webhooks(self) -> int:
        """How many deliveries wait for :meth:`deliver_webhooks`."""
        return len(self.hooks.pending)

    def deliver_webhooks(self) -> list[Delivery]:
        """Post every pending delivery now; return what each address answered."""
        return self.hooks.deliver()

    def stock_calls(self) -> int:
        """How many ``inventorySetQuantities`` calls ran (throttled ones not counted)."""
        return sum(
            1
            for call in self.calls
            if call.kind == "mutation" and call.operation == "SetQuantities" and not call.throttled
        )


def _named(operation: OperationDefinitionNode, name: str) -> bool:
    return operation.name is not None and operation.name.value == name


DEMO_CUSTOMER: dict[str, Any] = {
    "id": 7001,
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace@example.com",
    "phone": "+1 555 0199",
}
DEMO_ADDRESS: dict[str, Any] = {
    "name": "Grace Hopper",
    "first_name": "Grace",
    "last_name": "Hopper",
    "company": None,
    "address1": "1 Navy Yard",
    "address2": None,
    "city": "Arlington",
    "province": "Virginia",
    "province_code": "VA",
    "zip": "22202",
    "country": "United States",
    "country_code": "US",
    "phone": "+1 555 0199",
    "latitude": 38.8719,
    "longitude": -77.0563,
}

__all__ = ["ShopifySandbox", "ShopifyFaults", "StoreError", "API_VERSION"]
