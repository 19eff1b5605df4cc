"""Last-mile benchmark: position pings accepted per second from simulated drivers.

A hub on SQLite serves its web app (``hub.web.app``, the driver endpoints under
/api/v1/driver) in a process of its own on loopback; 200 simulated drivers, each with
their own token and dispatched route, send ``POST /api/v1/driver/pings`` as fast as the
hub answers, one ping per request (a phone online) and then ten per request (a phone
sending what it queued while offline). The figure is pings the hub recorded per second
(counted from its answers and checked against the table afterwards); the target is at
least 1,000 a second on SQLite with one ping per request. For scale, the same clients
first measure a do-nothing aiohttp endpoint on the same machine (the loopback's and the
client's own ceiling): on a busy machine that ceiling, not the hub, may be what caps the
figure.

    python bench/lastmile.py [--drivers 200] [--seconds 10]
    python bench/lastmile.py --quick   # 50 drivers, 3 seconds per phase
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from hub.core import drivers as driver_accounts
from hub.core.config import parse_settings
from hub.core.models import planned_route_t, position_ping_t
from hub.core.planning import store_plan
from hub.core.runtime import Hub
from hub.routing import Plan, Route

TARGET = 1000.0  # pings a second, one per request, on SQLite


def settings(folder: Path, drivers: int) -> Any:
    return parse_settings(
        {
            "database": {"url": f"sqlite:///{folder / 'hub.db'}"},
            "web": {"secret_key": "bench"},
            "locations": {"depot": {"latitude": 51.5, "longitude": -0.12}},
            "fleet": {f"van-{n}": {"depot": "depot"} for n in range(drivers)},
            "driver": {"media_dir": str(folder / "media")},
        }
    )


def prepare(folder: Path, drivers: int) -> tuple[list[str], list[int]]:
    """A hub with ``drivers`` vans, each a dispatched (empty) route today and a driver;
    their tokens and route ids."""
    with Hub.open(settings=settings(folder, drivers)) as hub:
        hub.upgrade()
        day = date.today()
        start = datetime.now(UTC)
        routes = tuple(
            Route(f"van-{n}", day, (), start, start, 0.0, 0.0, 0.0, 0.0, fixed=True)
            for n in range(drivers)
        )
        hub.write(lambda c: store_plan(c, day, 1, Plan(routes, (), "bench"), {}, []))
        ids = hub.read(
            lambda c: {
                v: i
                for i, v in c.execute(sa.select(planned_route_t.c.id, planned_route_t.c.vehicle))
            }
        )
        tokens = [
            hub.write(lambda c, n=n: driver_accounts.create_driver(c, f"driver {n}", f"van-{n}"))[0]
            for n in range(drivers)
        ]
    return tokens, [ids[f"van-{n}"] for n in range(drivers)]


def serve(folder: str, drivers: int, port: int) -> None:
    """The hub's web app on ``port`` (run in a process of its own)."""
    import logging

    from aiohttp import web

    from hub.core.sync import Sync
    from hub.web.app import make_app

    logging.disable(logging.WARNING)
    hub = Hub.open(settings=settings(Path(folder), drivers))
    web.run_app(make_app(Sync(hub)), host="127.0.0.1", port=port, print=None, access_log=None)


def serve_nothing(port: int) -> None:
    """An aiohttp endpoint that reads the body and answers at once: the ceiling."""
    from aiohttp import web

    async def nothing(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"received": 1, "recorded": 1})

    app = web.Application()
    app.router.add_post("/api/v1/driver/pings", nothing)
    app.router.add_get("/api/v1/openapi.json", nothing)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def start(target: Any, *args: Any) -> tuple[Any, str]:
    """``target(*args, port)`` in a process of its own; the process and its URL."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=target, args=(*args, port), daemon=True
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    asyncio.run(wait_for(url))
    return process, url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url + "/api/v1/openapi.json") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the hub did not start within 30 s")
            await asyncio.sleep(0.2)


async def drive(
    url: str, tokens: list[str], routes: list[int], seconds: float, batch: int, epoch: datetime
) -> tuple[int, int, list[float]]:
    """Every driver sends batches of ``batch`` pings for ``seconds``: (pings recorded,
    refused requests, request latencies in seconds)."""
    recorded, refused, latencies = 0, 0, []
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def driver(n: int) -> None:
            nonlocal recorded, refused
            headers = {"Authorization": f"Bearer {tokens[n]}"}
            sent = 0
            while time.monotonic() < stop:
                pings = []
                for _ in range(batch):
                    at = epoch + timedelta(milliseconds=sent)
                    sent += 1
                    pings.append(
                        {"latitude": 51.5, "longitude": -0.12, "accuracy": 8, "at": at.isoformat()}
                    )
                body = {"route": routes[n], "device_id": f"bench-{n}", "pings": pings}
                began = time.perf_counter()
                async with session.post(
                    f"{url}/api/v1/driver/pings", json=body, headers=headers
                ) as answer:
                    data = await answer.json()
                latencies.append(time.perf_counter() - began)
                if answer.status == 200:
                    recorded += data["recorded"]
                else:
                    refused += 1

        await asyncio.gather(*(driver(n) for n in range(len(tokens))))
    return recorded, refused, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.drivers, args.seconds = 50, 3.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tokens, routes = prepare(folder, args.drivers)
        epoch = datetime.now(UTC) - timedelta(days=1)
        nothing, url = start(serve_nothing)
        try:
            recorded, _, latencies = asyncio.run(drive(url, tokens, routes, args.seconds, 1, epoch))
            ceiling = len(latencies) / args.seconds
        finally:
            nothing.terminate()
            nothing.join(10)
        server, url = start(serve, tmp, args.drivers)
        results = {}
        try:
            for batch in (1, 10):
                began = time.perf_counter()
                recorded, refused, latencies = asyncio.run(
                    drive(url, tokens, routes, args.seconds, batch, epoch)
                )
                took = time.perf_counter() - began
                results[batch] = (recorded / took, refused, latencies, recorded)
                epoch += timedelta(hours=1)  # the next phase's phone times are new ones
        finally:
            server.terminate()
            server.join(10)
        with Hub.open(settings=settings(folder, args.drivers)) as hub:
            stored = hub.read(
                lambda c: c.scalar(sa.select(sa.func.count()).select_from(position_ping_t))
            )
    total = sum(r[3] for r in results.values())
    print(f"drivers: {args.drivers}, {args.seconds:g} s per phase, SQLite, loopback")
    print(f"  a do-nothing aiohttp endpoint with the same clients: {ceiling:,.0f} requests/s")
    for batch, (rate, refused, latencies, recorded) in results.items():
        print(
            f"  {batch:>2} ping(s) per request: {rate:,.0f} pings/s recorded ({recorded:,}), "
            f"{len(latencies) / args.seconds:,.0f} requests/s, latency p50 "
            f"{percentile(latencies, 0.5) * 1000:.0f} ms p95 "
            f"{percentile(latencies, 0.95) * 1000:.0f} ms, refused {refused}"
        )
    print(f"  pings in the table: {stored:,} (answers said {total:,})")
    if stored != total:
        print("pings stored differ from pings the hub said it recorded: not met")
        return 1
    rate = results[1][0]
    verdict = "met" if rate >= TARGET else "not met"
    print(
        f"position pings accepted per second from {args.drivers} drivers on SQLite (one per "
        f"request): {rate:,.0f} (target >= {TARGET:,.0f}): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
