"""The outside world of a crash run: sandbox stores with faults, shoppers, a webhook balancer.

Every channel plugin that ships a sandbox store (Shopify, WooCommerce) gets one store,
seeded with the catalogue the hub holds. Shoppers buy (sometimes the last units in every
store at once), cancel and ship orders from the stores' admins. Webhooks go through a
small balancer that forwards each delivery to a live ``hub run`` worker, as a load
balancer in front of several workers would; when none is up, the delivery fails.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from hub.core.livedemo import sandbox_types
from hub.core.runtime import Hub
from hub.sandbox import DemoItem, DemoStore, SandboxServer, SoldOut

#: Scarce SKUs (races for the last units, oversells caught) beside deep ones (many pushes).
CATALOGUE = [
    DemoItem(sku, sku.title(), "10.00", quantity)
    for sku, quantity in (
        ("LAST-1", 1),
        ("RARE-2", 2),
        ("RARE-3", 3),
        ("FEW-5", 5),
        ("FEW-8", 8),
        ("MUG-20", 20),
        ("MUG-40", 40),
        ("TEE-60", 60),
        ("TEE-100", 100),
        ("CAP-150", 150),
        ("BAG-250", 250),
        ("PEN-400", 400),
    )
]

#: About 20% of API requests fail (429, 503, time-outs before or after the work is done);
#: webhooks arrive twice, newest first, or replayed under a new delivery id.
FAULTS = {
    "rate_limited": 0.07,
    "server_errors": 0.07,
    "timeouts": 0.03,
    "lost_answers": 0.03,
    "duplicate_webhooks": 0.10,
    "reorder_webhooks": 0.20,
    "replay_webhooks": 0.05,
}
API_FAULTS = ("rate_limited", "server_errors", "timeouts", "lost_answers")


@dataclass
class Request:
    """One API request a store received from the hub."""

    at: float
    store: str
    phase: str  # pull, push, webhook (a look-up while working a webhook), readback, other
    method: str
    path: str
    body: bytes


def phase_of(method: str, path: str, body: bytes) -> str:
    """Which part of the hub's work an API request belongs to."""
    if b"mutation SetQuantities" in body:
        return "push"
    if b"query Orders(" in body:
        return "pull"
    if b"query OrderRisk" in body or b"query OrderLineItems" in body:
        return "webhook"
    if b"query ProductVariants" in body or b"query InventoryLevels" in body:
        return "readback"
    if "/wc/v3/" in path:
        if method in ("PUT", "POST") and "/products" in path:
            return "push"
        if method == "GET" and path.rstrip("/").endswith("/orders"):
            return "pull"
        if method == "GET" and "/products" in path:
            return "readback"
    return "other"


@dataclass
class Wire:
    """What crossed the wire: API requests per store, webhook deliveries, in order."""

    requests: list[Request] = field(default_factory=list)
    deliveries: list[tuple[float, str, str, int]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # what a worker answered besides 2xx
    listeners: list[Callable[[str, bytes], None]] = field(default_factory=list)

    def observer(self, store: str) -> Callable[[str, str, bytes], None]:
        def observe(method: str, path: str, body: bytes) -> None:
            phase = phase_of(method, path, body)
            self.requests.append(Request(time.time(), store, phase, method, path, body))
            for listener in self.listeners:
                listener(phase, body)

        return observe

    def delivered(self, channel: str, topic: str, status: int, body: bytes = b"") -> None:
        self.deliveries.append((time.time(), channel, topic, status))
        if 200 <= status < 300:
            for listener in self.listeners:
                listener("webhook", body)


class Stores:
    """One sandbox store per channel plugin that ships one, served over real HTTP."""

    def __init__(self, hub_probe: Hub, wire: Wire) -> None:
        self.stores: dict[str, DemoStore] = {}
        self.servers: dict[str, Any] = {}
        self.wire = wire
        for type_name, cls in sorted(sandbox_types(hub_probe).items()):
            store: DemoStore = cls.sandbox()
            store.seed(CATALOGUE)
            store.faults.timeout_seconds = 2.5  # beyond the hub's 2 s client time-out
            store.faults.observers.append(wire.observer(type_name))
            self.stores[type_name] = store
            self.servers[type_name] = store.serve().start()

    def channel_sections(self, **extra: Any) -> dict[str, dict[str, Any]]:
        """The ``[channels]`` of the hub's configuration."""
        return {
            name: store.config_for(self.servers[name].url, **extra)
            for name, store in self.stores.items()
        }

    def faults_on(self, seed: int) -> None:
        for n, store in enumerate(self.stores.values()):
            store.faults.rng.seed(seed * 31 + n)
            store.faults.chance.update(FAULTS)

    def api_faults_off(self) -> None:
        """The stores' outage ends: every API request is answered again."""
        for store in self.stores.values():
            for name in API_FAULTS:
                store.faults.chance.pop(name, None)

    def deliver(self) -> int:
        return sum(store.deliver() for store in self.stores.values())

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


class Balancer:
    """Forwards each webhook delivery to a live worker, trying them in random order."""

    def __init__(self, wire: Wire, seed: int) -> None:
        self.ports: list[int] = []
        self.wire = wire
        self.random = random.Random(seed)
        app = web.Application()
        app.router.add_post("/webhooks/{channel}", self._forward)
        self.server = SandboxServer(app).start()

    @property
    def url(self) -> str:
        return self.server.url

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        ports = list(self.ports)
        self.random.shuffle(ports)
        channel = request.match_info["channel"]
        topic = next((v for k, v in headers.items() if k.lower().endswith("topic")), "")
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for port in ports:
                url = f"http://127.0.0.1:{port}/webhooks/{channel}"
                try:
                    async with session.post(url, data=body, headers=headers) as answer:
                        text = await answer.read()
                        self.wire.delivered(channel, topic, answer.status, body)
                        if answer.status >= 300:
                            said = text[:300].decode(errors="replace")
                            self.wire.refusals.append(f"{channel} {topic} {answer.status}: {said}")
                        return web.Response(body=text, status=answer.status)
                except (TimeoutError, aiohttp.ClientError):
                    continue
        self.wire.delivered(channel, topic, 502)
        return web.json_response({"error": "no worker is up"}, status=502)

    def stop(self) -> None:
        self.server.stop()


@dataclass
class Tally:
    sold: int = 0
    refused: int = 0
    races: int = 0
    cancelled: int = 0
    fulfilled: int = 0
    annotated: int = 0  # notes added to orders (shipped and cancelled ones too)
    received: int = 0  # deliveries from the supplier booked in the hub
    errors: list[str] = field(default_factory=list)


class Shoppers:
    """Buy, race for the last units, cancel, ship and annotate, from a thread, until stopped.

    ``shippable(channel, order id)`` says whether the hub holds the order reserved: the
    merchant ships only what the hub promised. ``receive(sku, units)`` books a delivery
    from the supplier in the hub when the stores run low, so the run does not sell out.
    """

    def __init__(
        self,
        stores: Stores,
        shippable: Callable[[str, str], bool],
        receive: Callable[[str, int], None],
        seed: int = 7,
    ) -> None:
        self.stores = stores.stores
        self.outside = stores
        self.shippable = shippable
        self.receive = receive
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.tally = Tally()
        self.open: list[tuple[str, str]] = []
        self.placed: list[tuple[str, str]] = []
        self.thread = threading.Thread(target=self._run, name="shoppers", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(60)

    def _run(self) -> None:
        skus = [item.sku for item in CATALOGUE]
        while not self.stop.is_set():
            roll = self.random.random()
            if roll < 0.03:
                self._restock()
            elif roll < 0.10:
                self._race()
            elif roll < 0.22 and self.open:
                self._cancel()
            elif roll < 0.30 and self.open:
                self._fulfil()
            elif roll < 0.34 and self.placed:
                name, order_id = self.random.choice(self.placed)
                self.stores[name].annotate(order_id, f"note {self.tally.annotated + 1}")
                self.tally.annotated += 1
            else:
                name = self.random.choice(list(self.stores))
                self._buy(name, self.random.choice(skus), self.random.choice((1, 1, 2)))
            if self.random.random() < 0.6:  # otherwise webhooks pile up into a batch
                self.outside.deliver()
            self.stop.wait(self.random.uniform(0.03, 0.15))

    def _buy(self, name: str, sku: str, quantity: int = 1) -> None:
        try:
            order_id = self.stores[name].sell(sku, quantity)
        except SoldOut:
            self.tally.refused += 1
            return
        self.tally.sold += 1
        self.open.append((name, order_id))
        self.placed.append((name, order_id))

    def _race(self) -> None:
        """Every store sells the scarcest SKU still in stock at once."""
        left = [(min(s.stock(i.sku) or 0 for s in self.stores.values()), i.sku) for i in CATALOGUE]
        left = [pair for pair in left if pair[0] > 0]
        if not left:
            return
        sku = min(left)[1]
        self.tally.races += 1
        threads = [threading.Thread(target=self._buy, args=(n, sku)) for n in self.stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _restock(self) -> None:
        low = [
            item.sku
            for item in CATALOGUE
            if min(s.stock(item.sku) or 0 for s in self.stores.values()) < 3
        ]
        if not low:
            return
        sku = self.random.choice(low)
        try:
            self.receive(sku, self.random.randint(2, 12))
        except Exception as error:  # the run goes on; the report shows it
            self.tally.errors.append(f"receipt of {sku}: {type(error).__name__}: {error}")
        else:
            self.tally.received += 1

    def _cancel(self) -> None:
        name, order_id = self.open.pop(self.random.randrange(len(self.open)))
        self.stores[name].cancel(order_id)
        self.tally.cancelled += 1

    def _fulfil(self) -> None:
        index = self.random.randrange(len(self.open))
        name, order_id = self.open[index]
        if self.shippable(name, order_id):
            self.open.pop(index)
            self.stores[name].fulfil(order_id)
            self.tally.fulfilled += 1
