"""Sync benchmark: API calls per stock push, propagation latency, intake rate, oversells.

For every channel plugin that ships a sandbox store (Shopify, WooCommerce, ...):
- API calls for a full push of 10,000 SKUs and for an incremental push, against the
  minimum the channel's batch limit allows (target ratio 1.00);
- orders ingested per second end to end (sandbox API → client library → intake);
- propagation latency of a sale to the other stores with webhooks, p50/p95/p99
  (target p95 under 2 s), measured with ``hub run`` serving two stores per plugin;
- oversells per 10,000 orders in a rush (several channels selling scarce SKUs at once),
  replayed against the hub (propagation delays drawn from the latencies just measured)
  and against a baseline that polls every 15 minutes and overwrites quantities
  (target: at most a tenth of the baseline's).

    python bench/sync.py [--skus 10000] [--orders 2000] [--sales 150]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import math
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hub.core import ledger
from hub.core.config import parse_settings
from hub.core.listings import import_listings
from hub.core.livedemo import Latency, sandbox_types
from hub.core.runtime import Hub
from hub.core.service import Service
from hub.core.sync import Sync
from hub.sandbox import DemoItem, DemoStore, SoldOut


def open_hub(folder: Path, channels: dict[str, dict[str, Any]]) -> Hub:
    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{folder / 'hub.db'}"},
            "locations": {"main": {}},
            "channels": channels,
        }
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()
    return hub


def start_store(cls: Any, items: list[DemoItem]) -> tuple[DemoStore, Any]:
    store = cls.sandbox()
    store.seed(items)
    server = store.serve()
    server.start()
    return store, server


def push_calls(type_name: str, cls: Any, skus: int, folder: Path) -> dict[str, float]:
    """Full and incremental push of ``skus`` SKUs: calls made against the minimum."""
    items = [DemoItem(f"SKU-{n:05d}", f"Item {n}", "5.00", 50) for n in range(skus)]
    store, server = start_store(cls, items)
    name = f"{type_name}-push"
    hub = open_hub(folder, {name: store.config_for(server.url, locations=["main"])})
    try:
        hub.write(lambda c: [ledger.receive(c, i.sku, "main", 50) for i in items])
        listings = list(hub.channel(name).fetch_listings())
        hub.write(lambda c: import_listings(c, name, listings))
        sync = Sync(hub)
        batch = cls.stock_batch_size
        hub.write(lambda c: [ledger.receive(c, i.sku, "main", 1) for i in items])  # all change
        before = store.stock_calls()
        started = time.perf_counter()
        full = sync.push_stock(name)
        full_seconds = time.perf_counter() - started
        full_calls = store.stock_calls() - before
        changed = random.Random(1).sample(items, max(1, skus // 13))
        hub.write(lambda c: [ledger.adjust(c, i.sku, "main", -1, reason="bench") for i in changed])
        before = store.stock_calls()
        incremental = sync.push_stock(name)
        incremental_calls = store.stock_calls() - before
        assert full.sent == skus and incremental.sent == len(changed)
        return {
            "full_calls": full_calls,
            "full_min": math.ceil(skus / batch),
            "full_seconds": full_seconds,
            "inc_calls": incremental_calls,
            "inc_min": math.ceil(len(changed) / batch),
            "inc_skus": len(changed),
        }
    finally:
        hub.close()
        server.stop()


def intake_rate(type_name: str, cls: Any, orders: int, folder: Path) -> float:
    """Orders per second from the store's API into the hub's ledger, end to end."""
    items = [DemoItem(f"SKU-{n:03d}", f"Item {n}", "5.00", 10**6) for n in range(300)]
    store, server = start_store(cls, items)
    name = f"{type_name}-intake"
    hub = open_hub(folder, {name: store.config_for(server.url, locations=["main"])})
    try:
        hub.write(lambda c: [ledger.receive(c, i.sku, "main", 10**6) for i in items])
        rng = random.Random(2)
        for _ in range(orders):
            store.sell(rng.choice(items).sku, 1)
        started = time.perf_counter()
        result = Sync(hub).pull_orders(name)
        elapsed = time.perf_counter() - started
        assert result.orders == orders, result
        return orders / elapsed
    finally:
        hub.close()
        server.stop()


async def propagation(types: dict[str, Any], sales: int, folder: Path) -> list[float]:
    """Seconds from a sale in one store until every other store confirmed the new figure."""
    items = [DemoItem(f"SKU-{n:03d}", f"Item {n}", "5.00", 10**4) for n in range(200)]
    stores, servers, channels = {}, [], {}
    for type_name, cls in types.items():
        for n in (1, 2):
            store, server = start_store(cls, items)
            stores[f"{type_name}-{n}"] = store
            servers.append(server)
            channels[f"{type_name}-{n}"] = store.config_for(
                server.url, locations=["main"], push_interval=5.0, poll_interval=60.0
            )
    hub = open_hub(folder, channels)
    hub.write(lambda c: [ledger.receive(c, i.sku, "main", 10**4) for i in items])
    for name in stores:
        listings = list(hub.channel(name).fetch_listings())
        hub.write(lambda c, n=name, i=listings: import_listings(c, n, i))
    latency = Latency()
    service = Service(hub, port=0, inbox_interval=1.0)
    service.sync.on_pushed.append(latency.pushed)
    await service.start()
    for name, store in stores.items():
        store.subscribe(f"{service.url}/webhooks/{name}")
    rng = random.Random(3)
    names = list(stores)
    for _ in range(sales):
        name, sku = rng.choice(names), rng.choice(items).sku
        try:
            await asyncio.to_thread(stores[name].sell, sku, 1)
        except SoldOut:
            continue
        latency.sold(time.time(), name, {sku}, set(names) - {name})
        await asyncio.to_thread(stores[name].deliver)
        await asyncio.sleep(rng.uniform(0.02, 0.12))
    deadline = time.time() + 15
    while latency.pending and time.time() < deadline:
        await asyncio.sleep(0.1)
    await service.stop()
    hub.close()
    for server in servers:
        server.stop()
    return latency.samples


def simulate_rush(delays: list[float], orders: int, hub: bool, seed: int = 11) -> int:
    """Units sold beyond real stock when ``orders`` sales hit 4 channels in one hour.

    400 scarce SKUs (1 to 12 units each); a few SKUs sell most. Each channel sells from
    the quantity it shows. A sale the channel accepts when no real unit is left is an
    oversell, whatever happens to the order later (the hub holds it; a plain connector
    ships nothing and apologises). With the hub, every other channel shows the new figure
    after a delay drawn from ``delays`` (the measured propagation); the baseline pulls
    orders and overwrites every channel's quantity every 15 minutes.
    """
    rng = random.Random(seed)
    channels, skus, horizon = 4, 400, 3600.0
    stock = {s: rng.randint(1, 12) for s in range(skus)}
    shown = {(c, s): q for c in range(channels) for s, q in stock.items()}
    free = dict(stock)
    events: list[tuple[float, int, tuple]] = []
    counter = 0
    for _ in range(orders):
        counter += 1
        sku = min(int(rng.paretovariate(1.2)) - 1, skus - 1)  # a few SKUs sell most
        heapq.heappush(
            events, (rng.uniform(0, horizon), counter, ("sale", rng.randrange(channels), sku))
        )
    if not hub:
        for k in range(1, int(horizon // 900) + 1):
            counter += 1
            heapq.heappush(events, (k * 900.0, counter, ("poll",)))
    oversold = 0
    while events:
        at, _, event = heapq.heappop(events)
        if event[0] == "sale":
            _, channel, sku = event
            if shown[(channel, sku)] <= 0:
                continue  # the channel shows it sold out: no sale
            shown[(channel, sku)] -= 1
            if free[sku] <= 0:
                oversold += 1
            else:
                free[sku] -= 1
            if hub:
                for other in range(channels):
                    if other != channel:
                        counter += 1
                        heapq.heappush(
                            events, (at + rng.choice(delays), counter, ("show", other, sku))
                        )
        elif event[0] == "show":
            _, channel, sku = event
            shown[(channel, sku)] = max(0, free[sku])
        else:  # the baseline's 15-minute poll: overwrite every channel's quantity
            for key in shown:
                shown[key] = max(0, free[key[1]])
    return oversold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--sales", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        probe = open_hub(Path(tmp), {})
        types = sandbox_types(probe)
        probe.close()
        ratios = []
        for type_name, cls in sorted(types.items()):
            with tempfile.TemporaryDirectory() as sub:
                push = push_calls(type_name, cls, args.skus, Path(sub))
            with tempfile.TemporaryDirectory() as sub:
                rate = intake_rate(type_name, cls, args.orders, Path(sub))
            full_ratio = push["full_calls"] / push["full_min"]
            inc_ratio = push["inc_calls"] / push["inc_min"]
            ratios += [full_ratio, inc_ratio]
            print(
                f"{type_name:<12} full push of {args.skus} SKUs: {push['full_calls']} calls "
                f"(minimum {push['full_min']}, ratio {full_ratio:.2f}, "
                f"{push['full_seconds']:.1f} s); incremental push of {push['inc_skus']} SKUs: "
                f"{push['inc_calls']} calls (minimum {push['inc_min']}, ratio "
                f"{inc_ratio:.2f}); intake {rate:.0f} orders/s end to end",
                flush=True,
            )
        samples = asyncio.run(propagation(types, args.sales, Path(tmp)))
    ordered = sorted(samples)
    p = {q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.5, 0.95, 0.99)}
    print(
        f"propagation with webhooks over {len(samples)} deliveries: p50 {p[0.5]:.2f} s, "
        f"p95 {p[0.95]:.2f} s, p99 {p[0.99]:.2f} s",
        flush=True,
    )
    hub_oversold = simulate_rush(samples, 10_000, hub=True)
    base_oversold = simulate_rush(samples, 10_000, hub=False)
    print(
        f"rush of 10000 orders on 4 channels: oversold units, hub {hub_oversold}, "
        f"15-minute polling baseline {base_oversold}",
        flush=True,
    )
    ok = max(ratios) <= 1.0 and p[0.95] < 2.0 and hub_oversold * 10 <= base_oversold
    print(
        f"sync: call ratio {max(ratios):.2f} (target 1.00), p95 {p[0.95]:.2f} s (target < 2 s),"
        f" oversells per 10k orders {hub_oversold} vs baseline {base_oversold} "
        f"(target <= 1/10): {'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
