"""``hub demo``: every channel plugin's sandbox store, a load of shoppers, and ``hub run``.

The stores sell the same catalogue while the hub keeps them in step through webhooks
and batched stock pushes. Shoppers buy (sometimes the last units in several stores at the
same moment), merchants cancel, a webhook is delivered twice. At the end the demo prints
orders per channel, oversells caught, stock API calls against quantity changes, the
propagation latency of sales to the other stores, and the journal check.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hub import Order, OrderLine, OrderStatus
from hub.core import ledger, users
from hub.core.config import parse_settings
from hub.core.deskdemo import desk_config, run_desk
from hub.core.listings import import_listings
from hub.core.orderbook import list_orders
from hub.core.runtime import Hub
from hub.core.service import Service
from hub.core.sync import Sync
from hub.core.tour import look_around, show_command
from hub.sandbox import DemoItem, DemoStore, SoldOut

#: the order desk's sign-in for the demo (a throwaway hub on this machine only)
DEMO_USER = "demo"
DEMO_PASSWORD = "demo-desk"

CATALOGUE = (
    [
        DemoItem(f"MUG-{c}", f"{c.title()} mug", "12.50", q)
        for c, q in (("blue", 40), ("red", 3), ("green", 2), ("black", 25))
    ]
    + [
        DemoItem(f"TEE-{s}", f"T-shirt {s}", "24.00", q)
        for s, q in (("S", 12), ("M", 4), ("L", 2), ("XL", 30))
    ]
    + [DemoItem("POSTER", "Poster A2", "19.90", 15), DemoItem("TOTE", "Tote bag", "9.00", 1)]
)


@dataclass
class Latency:
    """Sale in one store → the other stores confirm the new quantity, in seconds.

    A sale the hub held (another store had sold those units first) changes no store's
    figure, so nothing is pushed for it; :meth:`forget` drops such sales, so that a later,
    unrelated push does not count as their propagation.
    """

    pending: list[tuple[float, str, set[str], set[str], str]] = field(default_factory=list)
    measured: list[tuple[float, tuple[str, str]]] = field(default_factory=list)  # (s, sale)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def samples(self) -> list[float]:
        """Seconds from each sale to each other store holding the new figure."""
        return [seconds for seconds, _ in self.measured]

    def sold(
        self, at: float, channel: str, skus: set[str], others: set[str], order_id: str = ""
    ) -> None:
        with self.lock:
            self.pending.append((at, channel, skus, set(others), order_id))

    def pushed(self, channel: str, skus: list[str], at: float) -> None:
        with self.lock:
            for sale_at, origin, sold, waiting, order_id in self.pending:
                if channel in waiting and sold & set(skus):
                    waiting.discard(channel)
                    self.measured.append((at - sale_at, (origin, order_id)))
            self.pending = [p for p in self.pending if p[3]]

    def forget(self, sales: set[tuple[str, str]]) -> None:
        """Drop the (channel, order id) sales that were never to propagate."""
        with self.lock:
            self.measured = [m for m in self.measured if m[1] not in sales]
            self.pending = [p for p in self.pending if (p[1], p[4]) not in sales]

    def percentile(self, q: float) -> float | None:
        ordered = sorted(self.samples)
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Shoppers:
    """Places orders on the sandbox stores from a thread until told to stop."""

    def __init__(
        self, stores: dict[str, DemoStore], latency: Latency, hub: Hub, seed: int = 7
    ) -> None:
        self.stores = stores
        self.hub = hub
        self.till_sales = 0
        self.latency = latency
        self.random = random.Random(seed)
        self.stop = threading.Event()
        self.sold: dict[str, int] = dict.fromkeys(stores, 0)
        self.refused = 0
        self.cancelled = 0
        self.races = 0
        self.orders: list[tuple[str, str]] = []

    def run(self) -> None:
        skus = [item.sku for item in CATALOGUE]
        step = 0
        while not self.stop.is_set():
            step += 1
            if step % 15 == 0:
                self._race()
            elif step % 7 == 0:
                self._till(self.random.choice(skus))
            elif step % 9 == 0 and self.orders:
                self._cancel()
            else:
                self._buy(self.random.choice(list(self.stores)), self.random.choice(skus))
            self.stop.wait(self.random.uniform(0.05, 0.25))

    def _buy(self, name: str, sku: str, quantity: int = 1) -> None:
        store = self.stores[name]
        try:
            order_id = store.sell(sku, quantity)
        except SoldOut:
            self.refused += 1
            return
        self.sold[name] += 1
        self.orders.append((name, order_id))
        self.latency.sold(time.time(), name, {sku}, set(self.stores) - {name}, order_id)
        store.deliver()

    def _till(self, sku: str) -> None:
        """A sale at the shop's till: taken from stock at once, through the hub's intake."""
        self.till_sales += 1
        stamp = datetime.now(UTC)
        order = Order(
            channel="till",
            external_id=f"T{self.till_sales:05d}",
            lines=(OrderLine(sku, 1, Decimal("12.50")),),
            total=Decimal("12.50"),
            currency="USD",
            status=OrderStatus.FULFILLED,
            placed_at=stamp,
            updated_at=stamp,
        )
        self.hub.ingest("till", [order], actor="till")

    def _race(self) -> None:
        """Every store sells the same scarce SKU at once."""
        scarce = min(CATALOGUE, key=lambda item: self.stores_stock(item.sku))
        self.races += 1
        threads = [
            threading.Thread(target=self._buy, args=(name, scarce.sku)) for name in self.stores
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def stores_stock(self, sku: str) -> int:
        return min((s.stock(sku) or 0) for s in self.stores.values()) or 10**6

    def _cancel(self) -> None:
        name, order_id = self.orders.pop(self.random.randrange(len(self.orders)))
        self.stores[name].cancel(order_id)
        self.cancelled += 1
        self.stores[name].deliver()


def sandbox_types(hub: Hub) -> dict[str, Any]:
    """Channel types whose plugin ships a sandbox store."""
    return {
        name: cls
        for name, cls in hub.plugins.channel_types.items()
        if getattr(cls, "sandbox", None) is not None
    }


def run_live_demo(folder: Path, duration: float, console: Console) -> bool:
    """Run the demo for ``duration`` seconds in ``folder``; True when the ledger verified."""
    return asyncio.run(_demo(folder, duration, console))


async def _demo(folder: Path, duration: float, console: Console) -> bool:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    probe = Hub.open(settings=parse_settings({"database": {"url": "sqlite:///:memory:"}}))
    types = sandbox_types(probe)
    probe.close()
    stores: dict[str, DemoStore] = {}
    servers = []
    channels: dict[str, dict[str, Any]] = {}
    for type_name, cls in sorted(types.items()):
        for n in (1, 2):  # two stores per service: a sale in one must reach the other
            name = f"{type_name}-{n}"
            store = cls.sandbox()
            store.seed(CATALOGUE)
            server = store.serve()
            server.start()
            servers.append(server)
            stores[name] = store
            channels[name] = store.config_for(
                server.url,
                locations=["main"],
                poll_interval=10.0,
                push_interval=2.0,
                reconcile_interval=30.0,
            )
    channels["till"] = {"type": "manual", "locations": ["main"]}
    channels["b2b"] = {"type": "manual", "locations": ["main"]}  # the sales team's desk
    settings = parse_settings(
        {
            "hub": {"name": "Demo shop"},
            "database": {"url": f"sqlite:///{folder / 'hub.db'}"},
            "locations": {"main": {"name": "Main warehouse"}},
            "channels": channels,
        },
        folder / "hub.toml",
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()
    # the folder was emptied above: a new database, so the demo login is made afresh
    hub.write(lambda c: users.create_user(c, DEMO_USER, DEMO_PASSWORD, "admin", "Demo"))
    console.rule("[bold]The stores")
    console.print(
        f"{len(stores)} sandbox stores ({', '.join(stores)}) and a till; "
        f"{len(CATALOGUE)} SKUs; the hub holds the real stock"
    )
    await asyncio.to_thread(_prepare, hub, stores)
    latency = Latency()
    service = Service(hub, port=0, inbox_interval=0.5)
    service.sync.on_pushed.append(latency.pushed)
    await service.start()
    for name, store in stores.items():
        store.subscribe(f"{service.url}/webhooks/{name}")
    console.print(
        f"hub run is serving on {service.url}: the order desk at {service.url}/ (sign in "
        f"as {DEMO_USER}, password {DEMO_PASSWORD!r}), sync details at {service.url}/sync, "
        f"metrics at {service.url}/metrics"
    )
    console.rule("[bold]The order desk")
    await run_desk(hub, service.url, folder, console)
    console.rule(f"[bold]Shoppers for {duration:.0f} s")
    shoppers = Shoppers(stores, latency, hub)
    thread = threading.Thread(target=shoppers.run, daemon=True)
    thread.start()
    await asyncio.sleep(duration)
    shoppers.stop.set()
    await asyncio.to_thread(thread.join)
    await _settle(service, stores)
    await service.stop()
    ok = await asyncio.to_thread(_report, hub, stores, shoppers, latency, console)
    hub.close()
    for server in servers:
        server.stop()
    tour = folder.parent / "tour"  # hub demo tours first, beside this folder
    if ok and (tour / "hub.toml").is_file():
        look_around(console, tour)
    if ok:
        again = desk_config(folder, folder / "hub.db")
        console.print("Open the demo's order desk again (then http://127.0.0.1:8080/):")
        show_command(console, "run", "--config", str(again))
        console.print(f"and sign in as {DEMO_USER}, password {DEMO_PASSWORD!r}")
    return ok


def _prepare(hub: Hub, stores: dict[str, DemoStore]) -> None:
    hub.write(
        lambda c: [
            ledger.receive(c, item.sku, "main", item.quantity or 0, reason="opening stock")
            for item in CATALOGUE
            if item.quantity
        ]
    )
    sync = Sync(hub)  # the catalogue is read through each store's limiter and retries
    for name in stores:
        items = sync.fetch_listings(name)
        hub.write(lambda c, n=name, i=items: import_listings(c, n, i, create_products=True))


async def _settle(service: Service, stores: dict[str, DemoStore]) -> None:
    """Let webhooks and pushes in flight finish, for a fair count."""
    for _ in range(3):
        for store in stores.values():
            await asyncio.to_thread(store.deliver)
        await asyncio.to_thread(service.sync.process_inbox)
        for name in stores:
            await asyncio.to_thread(service.sync.push_stock, name)


def _report(
    hub: Hub, stores: dict[str, DemoStore], shoppers: Shoppers, latency: Latency, console: Console
) -> bool:
    orders = hub.read(lambda c: list_orders(c, limit=100_000))
    table = Table("channel", "orders in the hub", "held: not enough stock", "cancelled")
    for name in sorted({o.channel for o in orders}):
        mine = [o for o in orders if o.channel == name]
        table.add_row(
            name,
            str(len(mine)),
            str(sum(1 for o in mine if "not enough stock" in o.hold_reason)),
            str(sum(1 for o in mine if o.status == "cancelled")),
        )
    console.print(table)
    caught = sum(1 for o in orders if "not enough stock" in o.hold_reason)
    console.print(
        f"shoppers placed {sum(shoppers.sold.values())} orders "
        f"({shoppers.refused} refused by a sold-out store), {shoppers.races} races for "
        f"the last units, {shoppers.cancelled} cancellations"
    )
    console.print(
        f"oversells caught: {caught} (a store sold units another store had already "
        "sold; the hub held the order instead of promising stock twice)"
    )
    calls = {name: store.stock_calls() for name, store in stores.items()}
    console.print("stock API calls per store: " + ", ".join(f"{n} {c}" for n, c in calls.items()))
    latency.forget({(o.channel, o.external_id) for o in orders if o.hold_reason})
    p50, p95, p99 = (latency.percentile(q) for q in (0.5, 0.95, 0.99))
    if p50 is not None:
        console.print(
            f"propagation of a sale to the other stores: p50 {p50:.2f} s, "
            f"p95 {p95:.2f} s, p99 {p99:.2f} s over {len(latency.samples)} deliveries"
        )
    drift = [
        (name, item.sku, store.stock(item.sku), hub.available(name, [item.sku])[item.sku])
        for name, store in stores.items()
        for item in CATALOGUE
        if item.quantity is not None
        and store.stock(item.sku) != hub.available(name, [item.sku])[item.sku]
    ]
    console.print(
        "every store shows the hub's availability"
        if not drift
        else f"{len(drift)} store quantities still differ: {drift[:5]}"
    )
    problems = hub.read(ledger.verify)
    if problems:
        console.print(f"[red]hub stock verify: {len(problems)} balances differ[/]")
        return False
    console.print("[green]hub stock verify: every balance equals the sum of its journal[/]")
    return not drift


__all__ = ["CATALOGUE", "Latency", "Shoppers", "run_live_demo"]
