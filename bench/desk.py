"""Order desk benchmark.

- API: B2B orders created per second through the REST API by 20 concurrent clients on
  loopback, each request with its own ``Idempotency-Key`` (target: at least 300/s on
  SQLite). The hub's web app runs in a process of its own, as ``hub run`` would; the
  clients (aiohttp) in this one.

    python bench/desk.py [--orders 3000] [--clients 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from hub.core import customers, ledger, tokens
from hub.core.config import parse_settings
from hub.core.runtime import Hub, order_count

API_TARGET = 300.0  # orders per second


def open_hub(folder: Path) -> Hub:
    settings = parse_settings(
        {
            "database": {"url": f"sqlite:///{folder / 'hub.db'}"},
            "locations": {"main": {}, "store": {}},
            "channels": {"b2b": {"type": "manual", "locations": ["main", "store"]}},
        }
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()
    return hub


def _serve(folder: str, port: Any, ready: Any) -> None:
    """The hub's web app, in a process of its own."""
    from aiohttp import web

    from hub.core.sync import Sync
    from hub.web.app import make_app

    hub = open_hub(Path(folder))

    async def start() -> None:
        runner = web.AppRunner(make_app(Sync(hub)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.value = runner.addresses[0][1]
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(start())


async def _clients(url: str, token: str, orders: int, clients: int, skus: int) -> list[int]:
    statuses: list[int] = []
    queue = iter(range(orders))
    headers = {"Authorization": f"Bearer {token}"}

    async def client(session: aiohttp.ClientSession) -> None:
        for n in queue:
            body = {
                "account": "C-1",
                "lines": [
                    {"sku": f"SKU-{n % skus:03d}", "quantity": 1},
                    {"sku": f"SKU-{(n * 7 + 3) % skus:03d}", "quantity": 2},
                ],
                "po_number": f"PO-{n}",
            }
            async with session.post(
                f"{url}/api/v1/orders",
                json=body,
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            ) as answer:
                await answer.read()
                statuses.append(answer.status)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return statuses


def bench_api(orders: int = 3000, clients: int = 20, skus: int = 100) -> dict[str, float]:
    """Orders per second created through the API by ``clients`` concurrent clients."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hub = open_hub(folder)
        hub.write(
            lambda c: [ledger.receive(c, f"SKU-{n:03d}", "main", 1_000_000) for n in range(skus)]
        )
        hub.write(lambda c: customers.create_account(c, "C-1", "Bench Ltd", payment_terms_days=30))
        token, _ = hub.write(lambda c: tokens.create_token(c, "bench", "sales"))
        hub.close()
        context = multiprocessing.get_context("spawn")
        port, ready = context.Value("i", 0), context.Event()
        server = context.Process(target=_serve, args=(tmp, port, ready), daemon=True)
        server.start()
        try:
            if not ready.wait(60):
                raise RuntimeError("the hub's web app did not start")
            url = f"http://127.0.0.1:{port.value}"
            asyncio.run(_clients(url, token, 50, clients, skus))  # warm up
            started = time.perf_counter()
            statuses = asyncio.run(_clients(url, token, orders, clients, skus))
            seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.join(10)
        hub = open_hub(folder)
        stored = hub.read(order_count)
        hub.close()
    created = sum(1 for s in statuses if s == 201)
    if created != orders or stored != orders + 50:
        others = sorted({s for s in statuses if s != 201})
        raise RuntimeError(
            f"{created} of {orders} answered 201 (others: {others}), {stored} stored"
        )
    return {"orders": orders, "clients": clients, "seconds": seconds, "rate": orders / seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3000, help="API orders to create")
    parser.add_argument("--clients", type=int, default=20, help="concurrent API clients")
    args = parser.parse_args()
    api = bench_api(args.orders, args.clients)
    print(
        f"API: {api['orders']:.0f} orders by {api['clients']:.0f} concurrent clients in "
        f"{api['seconds']:.1f} s",
        flush=True,
    )
    figures = [
        (
            f"API orders {api['rate']:.0f}/s (target >= {API_TARGET:.0f}/s)",
            api["rate"] >= API_TARGET,
        ),
    ]
    ok = all(met for _, met in figures)
    print(f"desk: {', '.join(text for text, _ in figures)}: {'met' if ok else 'not met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
