"""A WooCommerce store to develop and demo against: the ``wc/v3`` API the plugin uses,
served over real HTTP by aiohttp, with state that changes over time::

    store = WooSandbox()
    store.add_product("MUG-1", price="12.50", stock=7)
    store.add_webhook(["order.created", "order.updated"], "http://127.0.0.1:8000/hooks/woo")
    with store.serve() as server:
        channel = WooCommerceChannel("woo", WooCommerceConfig(**store.config_for(server.url)))
        store.sell("MUG-1", 2)          # a customer checks out: stock 5, order.created queued
        store.deliver_webhooks()        # signed POSTs to the delivery URL

Credentials are checked as Woo checks them (OAuth 1.0a over HTTP); the fault knobs
in :attr:`WooSandbox.faults` make the next calls fail (429 with Retry-After, 503,
slow answers, truncated bodies) and the next webhooks arrive twice or out of order.
Everything here is self-contained: the sandbox reads no file at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web

from hub.sandbox import Faults, SandboxServer, fault_middleware

from .sandbox_api import Api, ApiCall, woo_error
from .sandbox_auth import KeyChecker
from .sandbox_control import control_routes
from .sandbox_store import JSON, StoreError, WooStore
from .sandbox_webhooks import Delivery, Subscription, woo_dispatcher

#: The topics the WooCommerce channel listens to.
PLUGIN_TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")


def _rate_limited(faults: Faults) -> web.Response:
    response = woo_error(
        429,
        "woocommerce_rest_too_many_requests",
        "Too many requests. Please wait before trying again.",
    )
    response.headers["Retry-After"] = f"{faults.retry_after:g}"
    return response


class SandboxHTTPServer(SandboxServer):
    """A SandboxServer that tells the store its address once the port is bound."""

    def __init__(self, sandbox: WooSandbox, host: str, port: int) -> None:
        super().__init__(sandbox.make_app(), host, port)
        self.sandbox = sandbox

    def start(self) -> SandboxHTTPServer:
        """Start serving; the store's links and webhook source now use this address."""
        super().start()
        self.sandbox.store.site_url = self.url + "/"
        return self

    def stop(self) -> None:
        """Stop serving and the webhook thread, if it runs."""
        self.sandbox.hooks.stop()
        super().stop()


class WooSandbox:
    """An emulated WooCommerce store: its state, knobs, webhooks and HTTP app."""

    def __init__(
        self,
        *,
        consumer_key: str = "ck_sandbox_0123456789",
        consumer_secret: str = "cs_sandbox_0123456789",
        webhook_secret: str = "whsec_sandbox",
        webhook_url: str | None = None,
        currency: str = "USD",
        utc_offset_hours: float = -3.0,
        batch_limit: int = 100,
        auto_deliver: bool = False,
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.faults = Faults(retry_after=1.0, timeout_seconds=10.0)
        self.store = WooStore(currency=currency, utc_offset_hours=utc_offset_hours)
        self.hooks = woo_dispatcher(self.faults, lambda: self.store.site_url)
        self.store.listeners.append(self.hooks.enqueue)
        self.api = Api(
            self.store,
            KeyChecker(consumer_key, consumer_secret),
            self.hooks,
            batch_limit=batch_limit,
        )
        if auto_deliver:
            self.hooks.start_auto()
        if webhook_url:
            self.add_webhook(PLUGIN_TOPICS)

    # -- serving --------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application: wc/v3 routes, faults, auth, control routes."""
        app = web.Application(
            middlewares=[fault_middleware(self.faults, _rate_limited), self.api.middleware]
        )
        app.add_routes(self.api.routes())
        app.add_routes(control_routes(self))
        return app

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxHTTPServer:
        """A server for this store, not yet started: ``with sandbox.serve() as server:``."""
        return SandboxHTTPServer(self, host, port)

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """A channel configuration section pointing at this store served at ``url``."""
        return {
            "type": "woocommerce",
            "url": url,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "webhook_secret": self.webhook_secret,
            **extra,
        }

    @property
    def calls(self) -> list[ApiCall]:
        """Every API request answered so far (method, path, query, status, batch items)."""
        return self.api.calls

    # -- catalogue --------------------------------------------------------------------------

    def add_product(
        self,
        sku: str,
        *,
        name: str = "",
        price: str = "10.00",
        stock: int | None = 0,
        status: str = "publish",
        backorders: str = "no",
        virtual: bool = False,
    ) -> JSON:
        """Add a simple product; ``stock=None`` makes one whose stock Woo does not manage;
        ``virtual`` one that needs no shipping (a service, a download)."""
        return self.store.add_product(
            {
                "sku": sku,
                "name": name or sku,
                "regular_price": price,
                "status": status,
                "manage_stock": stock is not None,
                "stock_quantity": stock,
                "backorders": backorders,
                "virtual": virtual,
            }
        )

    def add_variable_product(
        self,
        sku: str,
        *,
        variations: Sequence[dict[str, Any]],
        name: str = "",
        status: str = "publish",
    ) -> JSON:
        """Add a variable product and its variations (dicts: sku, price, stock, option)."""
        parent = self.store.add_product(
            {
                "sku": sku,
                "name": name or sku,
                "type": "variable",
                "status": status,
                "manage_stock": False,
            }
        )
        for spec in variations:
            stock = spec.get("stock", 0)
            option = spec.get("option") or spec.get("sku") or ""
            self.store.add_variation(
                parent["id"],
                {
                    "sku": spec.get("sku", ""),
                    "regular_price": spec.get("price", "10.00"),
                    "manage_stock": stock is not None,
                    "stock_quantity": stock,
                    "attributes": [{"id": 0, "name": "Option", "option": option}],
                },
            )
        return self.product(parent["id"])

    def product(self, key: str | int) -> JSON:
        """A product or variation as the API shows it, by SKU or id."""
        with self.store.lock:
            obj = self.store.item(key) if isinstance(key, int) else self.store.by_sku(key)
            return self.store.product_view(obj)

    def stock(self, sku: str) -> int | None:
        """The quantity Woo holds for ``sku`` (None when it does not manage its stock)."""
        return self.product(sku)["stock_quantity"]

    def set_stock(self, sku: str, quantity: int) -> JSON:
        """Set a quantity as the merchant would in wp-admin; emits product.updated."""
        obj = self.store.by_sku(sku)
        self.store.set_stock(obj, quantity)
        return self.product(sku)

    # -- orders -----------------------------------------------------------------------------

    def create_order(
        self,
        lines: Iterable[tuple[str, int] | dict[str, Any]],
        *,
        status: str = "processing",
        **fields: Any,
    ) -> JSON:
        """Place an order for ``[("SKU", qty), ...]`` (or line dicts); emits order.created.

        ``fields``: billing, shipping, shipping_total, customer_note, customer_id, currency.
        """
        specs = [ln if isinstance(ln, dict) else {"sku": ln[0], "quantity": ln[1]} for ln in lines]
        fields.setdefault("billing", DEMO_CUSTOMER["billing"])
        fields.setdefault("shipping", DEMO_CUSTOMER["shipping"])
        return self.store.create_order(specs, status=status, **fields)

    def sell(self, sku: str, quantity: int = 1, **fields: Any) -> JSON:
        """A customer checks out ``quantity`` of ``sku``: refused without stock, like Woo."""
        with self.store.lock:
            item = self.store.by_sku(sku)
            short = (
                item["manage_stock"]
                and item["backorders"] == "no"
                and ((item["stock_quantity"] or 0) < quantity)
            )
            if short:
                raise StoreError(
                    400, "woocommerce_rest_invalid_stock", f"Not enough units of {sku} in stock."
                )
            return self.create_order([(sku, quantity)], **fields)

    def order(self, order_id: int) -> JSON:
        """An order as the API shows it."""
        with self.store.lock:
            return self.store.order_view(self.store.order(order_id))

    def update_order(self, order_id: int, **changes: Any) -> JSON:
        """Edit an order as wp-admin would (status, billing, shipping, ...); order.updated."""
        return self.store.update_order(order_id, changes)

    def cancel_order(self, order_id: int) -> JSON:
        """Cancel an order; its stock comes back."""
        return self.store.update_order(order_id, {"status": "cancelled"})

    def refund_order(
        self,
        order_id: int,
        amount: str | None = None,
        reason: str = "",
        lines: Sequence[tuple[str, int]] = (),
        restock: bool = True,
    ) -> JSON:
        """Refund ``amount`` (all when None, or the lines' worth) of an order, as wp-admin
        does; ``lines``: ``(SKU or line name, units)``, put back in stock with ``restock``
        ("Restock refunded items", on by default). Returns the refund object."""
        with self.store.lock:
            items = self.store.order(order_id)["line_items"]
            ids = [
                (next(ln["id"] for ln in items if key in (ln["sku"], ln["name"])), units)
                for key, units in lines
            ]
        return self.store.refund_order(order_id, amount, reason, ids, restock)

    def delete_order(self, order_id: int, force: bool = False) -> JSON:
        """Trash (or delete) an order; emits order.deleted."""
        return self.store.delete_order(order_id, force)

    def notes(self, order_id: int) -> list[JSON]:
        """The notes of an order, newest first."""
        with self.store.lock:
            return [dict(n) for n in self.store.notes.get(order_id, [])]

    def advance(self, seconds: float) -> None:
        """Move the store's clock forward (later changes get later date_modified_gmt)."""
        self.store.advance(seconds)

    # -- webhooks ---------------------------------------------------------------------------

    def add_webhook(
        self,
        topics: str | Iterable[str] = PLUGIN_TOPICS,
        delivery_url: str | None = None,
        secret: str | None = None,
    ) -> list[Subscription]:
        """Subscribe ``delivery_url`` (default: ``webhook_url``) to one or more topics."""
        url = delivery_url or self.webhook_url
        if not url:
            raise ValueError("add_webhook needs a delivery_url (or WooSandbox(webhook_url=...))")
        names = [topics] if isinstance(topics, str) else list(topics)
        key = self.webhook_secret if secret is None else secret
        return [self.hooks.subscribe(topic, url, key) for topic in names]

    @property
    def pending_webhooks(self) -> int:
        """How many deliveries wait for :meth:`deliver_webhooks`."""
        return len(self.hooks.pending)

    def deliver_webhooks(self) -> list[Delivery]:
        """Post every pending delivery now; return what each delivery URL answered."""
        return self.hooks.deliver()

    def send_webhook(self, topic: str, resource_id: int) -> list[Delivery]:
        """Queue ``topic`` for a resource as it is now and post every pending delivery."""
        resource = topic.partition(".")[0]
        with self.store.lock:
            if topic.endswith(".deleted"):
                payload: JSON = {"id": resource_id}
            elif resource == "order":
                payload = self.store.order_view(self.store.order(resource_id))
            else:
                payload = self.store.product_view(self.store.item(resource_id))
        self.hooks.enqueue(topic, payload)
        return self.deliver_webhooks()

    def state(self) -> JSON:
        """Everything the store holds, as the API shows it (for the control endpoint)."""
        with self.store.lock:
            return {
                "products": [self.store.product_view(p) for p in self.store.products.values()],
                "variations": [self.store.product_view(v) for v in self.store.variations.values()],
                "orders": [self.store.order_view(o) for o in self.store.orders.values()],
                "webhooks": [
                    {"id": s.id, "topic": s.topic, "status": s.status}
                    for s in self.hooks.subscriptions
                ],
                "pending_webhooks": len(self.hooks.pending),
            }

    def seed_demo(self) -> None:
        """A small catalogue and a few orders, for ``hub demo``."""
        self.add_product("MUG-BLUE", name="Blue mug", price="12.50", stock=40)
        self.add_product("MUG-RED", name="Red mug", price="12.50", stock=3)
        self.add_product("POSTER-A2", name="Poster A2", price="19.90", stock=None)
        self.add_variable_product(
            "TEE",
            name="T-shirt",
            variations=[
                {"sku": "TEE-S", "price": "24.00", "stock": 10, "option": "S"},
                {"sku": "TEE-M", "price": "24.00", "stock": 12, "option": "M"},
                {"sku": "TEE-L", "price": "24.00", "stock": 0, "option": "L"},
            ],
        )
        self.create_order([("MUG-BLUE", 2), ("TEE-M", 1)])
        self.create_order([("MUG-RED", 1)], status="on-hold")
        self.create_order([("TEE-S", 1)], status="pending")


DEMO_CUSTOMER: dict[str, dict[str, str]] = {
    "billing": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address_1": "12 Market St",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
        "email": "ada@example.com",
        "phone": "+1 555 0100",
    },
    "shipping": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address_1": "12 Market St",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
    },
}


def make_app(sandbox: WooSandbox | None = None) -> web.Application:
    """The aiohttp app of ``sandbox`` (a fresh, empty store when None)."""
    return (sandbox or WooSandbox()).make_app()
