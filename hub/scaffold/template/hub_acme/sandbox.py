"""An Acme marketplace to develop and test against: the API the adapter uses, held in
memory and served over real HTTP by aiohttp, with the fault knobs of :mod:`hub.sandbox`::

    store = AcmeSandbox()
    store.seed([DemoItem("MUG", "Mug", "12.50", 7)])
    with store.serve() as server:
        channel = AcmeChannel("acme", AcmeConfig(**store.config_for(server.url)))
        store.faults.rate_limited = 1     # the next call is answered 429 with Retry-After
        store.sell("MUG", 2)              # an order, stock 5, webhooks queued
        store.deliver()                   # signed POSTs to the subscribed URL

It implements :class:`hub.sandbox.DemoStore`, so ``hub.testing.check_channel``, ``hub
demo`` and the benchmarks drive it. When you adapt the plugin to a real service, make
this emulate that service: its paths, field names, paging, error bodies and signatures.

``hub-acme-sandbox`` (installed with the package) serves one on a local port for a hub
of your own to connect to (``--help`` for its options).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from hub.rest import decode_cursor, encode_cursor
from hub.sandbox import (
    DemoItem,
    DemoOrder,
    Faults,
    SandboxServer,
    SoldOut,
    Subscription,
    WebhookDispatcher,
    fault_middleware,
)
from hub.signing import hmac_base64

#: The webhook topics the adapter understands.
TOPICS = ("order.created", "order.updated", "stock.updated")

JSON = dict[str, Any]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class AcmeSandbox:
    """An emulated Acme account: its catalogue, orders, webhooks, fault knobs and HTTP app."""

    def __init__(
        self,
        *,
        api_key: str = "acme_sandbox_key",
        webhook_secret: str = "acme_sandbox_webhook_secret",
        batch_limit: int = 50,
        currency: str = "EUR",
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.batch_limit = batch_limit
        self.currency = currency
        self.faults = Faults(retry_after=0.2)
        self.hooks = WebhookDispatcher(self.faults, self._headers, name="acme-hooks")
        self.items: dict[str, JSON] = {}  # id -> item
        self.by_id: dict[str, JSON] = {}  # order id -> order
        self.stock_posts = 0  # POST /v1/stock calls answered
        self.lock = threading.Lock()
        self._ids = itertools.count(1001)
        self._last = datetime(2026, 1, 1, tzinfo=UTC)
        self._held: datetime | None = None  # hold_clock()

    # -- the store's side: what customers and the merchant do -----------------------------

    def seed(self, items: list[DemoItem]) -> None:
        """Create the catalogue: quantity None is an item whose stock Acme does not track."""
        with self.lock:
            for item in items:
                item_id = f"it_{next(self._ids)}"
                self.items[item_id] = {
                    "id": item_id,
                    "sku": item.sku,
                    "name": item.name,
                    "price": item.price,
                    "quantity": item.quantity,
                }

    def sell(self, sku: str, quantity: int) -> str:
        """A customer checks out ``quantity`` of ``sku``; returns the order id."""
        with self.lock:
            item = next((i for i in self.items.values() if i["sku"] == sku), None)
            if item is None:
                raise SoldOut(f"Acme sells no {sku!r}")
            if item["quantity"] is not None and item["quantity"] < quantity:
                raise SoldOut(f"only {item['quantity']} of {sku!r} left")
            if item["quantity"] is not None:
                item["quantity"] -= quantity
            now = self._tick()
            order_id = f"A-{next(self._ids)}"
            order: JSON = {
                "id": order_id,
                "status": "open",
                "currency": self.currency,
                "total": str(Decimal(item["price"]) * quantity),
                "created_at": now,
                "updated_at": now,
                "note": "",
                "lines": [
                    {
                        "id": f"ln_{next(self._ids)}",
                        "sku": sku,
                        "quantity": quantity,
                        "price": item["price"],
                    }
                ],
            }
            self.by_id[order_id] = order
            self._stock_event(item)
        self.hooks.enqueue("order.created", {"topic": "order.created", "order": order})
        return order_id

    def cancel(self, order_id: str) -> None:
        """The merchant cancels an open order; its units go back on the shelf."""
        with self.lock:
            order = self.by_id[order_id]
            if order["status"] == "open":
                for line in order["lines"]:
                    item = self._item_by_sku(line["sku"])
                    if item is not None and item["quantity"] is not None:
                        item["quantity"] += line["quantity"]
                        self._stock_event(item)
            self._change(order, status="cancelled")

    def fulfil(self, order_id: str) -> None:
        """The merchant ships the whole order from Acme's admin."""
        with self.lock:
            self._change(self.by_id[order_id], status="fulfilled")

    def annotate(self, order_id: str, note: str) -> None:
        """The merchant adds a note: a newer version of the order, nothing else changed."""
        with self.lock:
            self._change(self.by_id[order_id], note=note)

    def stock(self, sku: str) -> int | None:
        """The quantity Acme shows for ``sku`` now."""
        with self.lock:
            item = self._item_by_sku(sku)
            return None if item is None else item["quantity"]

    def stock_calls(self) -> int:
        """How many API calls changed stock so far."""
        return self.stock_posts

    def orders(self) -> list[DemoOrder]:
        """Every order as it stands now."""
        with self.lock:
            return [
                DemoOrder(o["id"], o["status"], {ln["sku"]: ln["quantity"] for ln in o["lines"]})
                for o in self.by_id.values()
            ]

    # -- connecting: DemoStore --------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """A server for the store, not started: ``.start()``, ``.url``, ``.stop()``."""
        return SandboxServer(self.make_app(), host, port)

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """The ``[channels.<name>]`` section that connects the hub to this store at ``url``."""
        return {
            "type": "acme",
            "api_url": url,
            "api_key": self.api_key,
            "webhook_secret": self.webhook_secret,
            **extra,
        }

    def subscribe(self, url: str) -> None:
        """Send every topic the adapter understands to ``url``."""
        for topic in TOPICS:
            self.hooks.subscribe(topic, url, self.webhook_secret)

    def deliver(self) -> int:
        """Post pending webhooks now; returns how many were posted."""
        return len(self.hooks.deliver())

    def reactivate_webhooks(self) -> int:
        """Turn subscriptions disabled after failed deliveries back on."""
        return self.hooks.reactivate()

    # -- what the contract suite also asks (hub.testing.channel_contract) -------------------

    def page_config(self, orders_per_page: int) -> dict[str, Any]:
        """The section's keys that make the adapter read ``orders_per_page`` orders a page."""
        return {"page_size": orders_per_page}

    def hold_clock(self, held: bool) -> None:
        """While ``held``, changes stay in one second (a microsecond apart)."""
        with self.lock:
            self._held = max(datetime.now(UTC), self._last) if held else None

    def sell_without_sku(self, title: str, quantity: int) -> str:
        """A custom item the merchant typed in (no SKU, no stock); returns the order id."""
        with self.lock:
            now, order_id = self._tick(), f"A-{next(self._ids)}"
            line = {"id": f"ln_{next(self._ids)}", "sku": "", "quantity": quantity}
            order: JSON = {
                **{"id": order_id, "status": "open", "currency": self.currency, "note": ""},
                **{"total": str(5 * quantity), "created_at": now, "updated_at": now},
                "lines": [{**line, "name": title, "price": "5.00"}],
            }
            self.by_id[order_id] = order
        self.hooks.enqueue("order.created", {"topic": "order.created", "order": order})
        return order_id

    def deliver_unreadable(self) -> int:
        """Post a signed delivery whose JSON is cut off halfway to every subscribed address."""
        return self.hooks.post_unreadable()

    def _headers(self, sub: Subscription, topic: str, body: bytes, delivery: int) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Acme-Topic": topic,
            "X-Acme-Delivery": str(delivery),
            "X-Acme-Signature": hmac_base64(sub.secret, body),
        }

    # -- the API --------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp app: faults first, then the key check, then the routes."""
        app = web.Application(middlewares=[fault_middleware(self.faults), self._auth])
        app.router.add_get("/v1/me", self._me)
        app.router.add_get("/v1/items", self._list_items)
        app.router.add_get("/v1/orders", self._list_orders)
        app.router.add_post("/v1/stock", self._set_stock)
        app.router.add_post("/v1/orders/{id}/fulfillments", self._fulfill)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid API key")
        return await handler(request)

    async def _me(self, request: web.Request) -> web.Response:
        return web.json_response({"account": "sandbox", "currency": self.currency})

    async def _list_items(self, request: web.Request) -> web.Response:
        with self.lock:
            items = sorted(self.items.values(), key=lambda i: int(i["id"][3:]))
            return self._page(request, "items", items, lambda i: {"id": i["id"]})

    async def _list_orders(self, request: web.Request) -> web.Response:
        since = request.query.get("updated_since")
        with self.lock:
            orders = sorted(self.by_id.values(), key=lambda o: _key({"at": o["updated_at"], **o}))
            if since:
                try:
                    start = datetime.fromisoformat(since)
                except ValueError:
                    return _error(400, f"updated_since {since!r} is not an ISO 8601 time")
                start = start if start.tzinfo else start.replace(tzinfo=UTC)
                orders = [o for o in orders if datetime.fromisoformat(o["updated_at"]) >= start]
            return self._page(
                request, "orders", orders, lambda o: {"at": o["updated_at"], "id": o["id"]}
            )

    def _page(self, request: web.Request, key: str, rows: list[JSON], mark: Any) -> web.Response:
        """One page of ``rows`` after the cursor in ``after``, keyset paging by ``mark``."""
        try:
            limit = int(request.query.get("limit", "50"))
            after = decode_cursor(request.query["after"]) if "after" in request.query else None
        except Exception:
            return _error(400, "limit must be a number and after a cursor from next_cursor")
        if not 1 <= limit <= 100:
            return _error(400, "limit must be between 1 and 100")
        if after is not None:
            rows = [r for r in rows if _key(mark(r)) > _key(after)]
        page, more = rows[:limit], len(rows) > limit
        following = encode_cursor(mark(page[-1])) if more else None
        return web.json_response({key: page, "next_cursor": following})

    async def _set_stock(self, request: web.Request) -> web.Response:
        body = await request.json()
        updates = body.get("updates") if isinstance(body, dict) else None
        if not isinstance(updates, list) or not updates:
            return _error(400, "send {'updates': [{'item_id': ..., 'quantity': ...}, ...]}")
        if len(updates) > self.batch_limit:
            return _error(422, f"at most {self.batch_limit} updates per call, not {len(updates)}")
        results = []
        with self.lock:
            self.stock_posts += 1
            for update in updates:
                item = self.items.get(str(update.get("item_id")))
                quantity = update.get("quantity")
                if item is None or not isinstance(quantity, int) or quantity < 0:
                    results.append(
                        {
                            "item_id": update.get("item_id"),
                            "ok": False,
                            "error": "unknown item or bad quantity",
                        }
                    )
                    continue
                item["quantity"] = quantity
                results.append({"item_id": item["id"], "ok": True, "quantity": quantity})
        return web.json_response({"results": results})

    async def _fulfill(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            order = self.by_id.get(request.match_info["id"])
            if order is None:
                return _error(404, f"no order {request.match_info['id']}")
            if order["status"] == "cancelled":
                return _error(409, f"order {order['id']} is cancelled")
            if order.get("tracking_number") != body.get("tracking_number"):
                self._change(order, status="fulfilled", tracking_number=body.get("tracking_number"))
            return web.json_response({"order_id": order["id"], "status": order["status"]})

    # -- bookkeeping (call with the lock held) -----------------------------------------------

    def _tick(self) -> str:
        """Now, strictly later than every earlier change: updated_at orders the changes."""
        self._last = max(self._held or datetime.now(UTC), self._last + timedelta(microseconds=1))
        return self._last.isoformat()

    def _change(self, order: JSON, **fields: Any) -> None:
        order.update(fields, updated_at=self._tick())
        self.hooks.enqueue("order.updated", {"topic": "order.updated", "order": dict(order)})

    def _item_by_sku(self, sku: str) -> JSON | None:
        return next((i for i in self.items.values() if i["sku"] == sku), None)

    def _stock_event(self, item: JSON) -> None:
        payload = {"sku": item["sku"], "quantity": item["quantity"], "updated_at": self._tick()}
        self.hooks.enqueue("stock.updated", {"topic": "stock.updated", "item": payload})


def _key(mark: JSON) -> tuple[Any, ...]:
    """A cursor's place in the keyset order: (time, id) for orders, numeric id for items."""
    if "at" in mark:
        return (datetime.fromisoformat(mark["at"]), str(mark["id"]))
    return (int(str(mark["id"])[3:]),)


def main(argv: list[str] | None = None) -> None:
    """Serve an Acme store with a few items until Ctrl-C; print the ``[channels.acme]``
    section that connects a hub to it. With ``--sell-every N`` a customer buys one unit
    every N seconds and the webhooks go to ``--webhooks``."""
    parser = argparse.ArgumentParser(prog="hub-acme-sandbox", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765, help="local port (default 8765)")
    parser.add_argument("--webhooks", default="", help="the hub's URL for this channel's webhooks")
    parser.add_argument("--sell-every", type=float, default=0.0, help="seconds between sales")
    args = parser.parse_args(argv)
    store = AcmeSandbox()
    store.seed([DemoItem("MUG", "Mug", "12.50", 20), DemoItem("TEE", "T-shirt", "19.00", 10)])
    if args.webhooks:
        store.subscribe(args.webhooks)
    server = store.serve(port=args.port).start()
    section = "".join(f"{k} = {json.dumps(v)}\n" for k, v in store.config_for(server.url).items())
    print(
        f"Acme sandbox at {server.url}; connect a hub with:\n\n[channels.acme]\n{section}",
        flush=True,
    )
    try:
        while True:
            time.sleep(args.sell_every or 3600)
            if args.sell_every:
                store.reactivate_webhooks()  # while the hub was down, Acme gave up on it
                try:
                    order_id = store.sell(random.choice(["MUG", "TEE"]), 1)
                except SoldOut as sold_out:
                    print(f"no sale: {sold_out}", flush=True)
                    continue
                sent = store.hooks.deliver()
                taken = sum(1 for d in sent if d.status is not None and d.status < 300)
                print(f"sold {order_id}; the hub took {taken} of {len(sent)} webhooks", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
