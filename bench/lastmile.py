"""Last-mile benchmark: position pings accepted per second from simulated drivers, ETA
recompute time after a ping, and the live view's fan-out latency.

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

Then a day of 50 dispatched routes of 20 stops each (1,000 orders with promised
windows, on SQLite): after each ping (one route's phone, written first and not timed) the
ETAs of every route of the day are recomputed and what changed stored
(:meth:`hub.core.eta.EtaBoard.refresh`, warm as in a running hub): p50 and p95 over many
pings; target p95 under 50 ms. Last, that day's hub serves its web app and 20 signed-in
pages watch ``/live/events``; a driver posts pings one after another, and each page's
``position`` event is timed from the moment the POST's answer was read (an event that
beats the answer counts 0): p50 and p95 over all pages and pings; target p95 under
500 ms.

    python bench/lastmile.py [--drivers 200] [--seconds 10] [--pings 300] [--pages 20]
    python bench/lastmile.py --quick   # 50 drivers, 3 seconds per phase, 60 ETA pings
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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
ETA_TARGET = 0.050  # seconds: p95 to recompute a 50-route day's ETAs after a ping
FANOUT_TARGET = 0.500  # seconds: p95 from a ping's answer to a watching page's event
ROUTES, STOPS = 50, 20
PASSWORD = "bench password 42"


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


def eta_settings(folder: Path) -> Any:
    return parse_settings(
        {
            "hub": {"timezone": "Europe/London"},
            "database": {"url": f"sqlite:///{folder / 'eta.db'}"},
            "web": {"secret_key": "bench"},
            "locations": {"depot": {"latitude": 51.5, "longitude": -0.12}},
            "fleet": {f"van-{n}": {"depot": "depot"} for n in range(ROUTES)},
            "channels": {"web": {"type": "manual", "locations": ["depot"]}},
            "driver": {"media_dir": str(folder / "media")},
        }
    )


def prepare_day(folder: Path) -> tuple[date, list[int], list[str]]:
    """A hub with :data:`ROUTES` dispatched routes of :data:`STOPS` stops today (each stop
    one order with a two-hour window), a driver per van and a desk user; the day, the
    route ids and the drivers' tokens."""
    from hub import (
        Address,
        Customer,
        DeliveryWindow,
        Order,
        OrderLine,
        OrderStatus,
        PaymentStatus,
    )
    from hub.core import ledger, users
    from hub.core.models import order_t
    from hub.core.planning import dispatch
    from hub.routing import Visit

    with Hub.open(settings=eta_settings(folder)) as hub:
        hub.upgrade()
        hub.write(lambda c: ledger.receive(c, "BOX", "depot", ROUTES * STOPS))
        day = datetime.now(UTC).date()
        start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=8)
        orders = []
        for n in range(ROUTES * STOPS):
            van, k = divmod(n, STOPS)
            lat = 51.45 + 0.002 * k + 0.0005 * (van % 10)
            lon = -0.25 + 0.006 * van
            at = start + timedelta(minutes=10 * k)
            place = Address(
                name="Bench", line1=f"{n} Road", city="London", country="GB",
                latitude=lat, longitude=lon,
            )  # fmt: skip
            window = DeliveryWindow(at - timedelta(hours=1), at + timedelta(hours=1))
            orders.append(
                Order(
                    channel="web",
                    external_id=f"E{n}",
                    lines=(OrderLine("BOX", 1, unit_price=Decimal("9.99")),),
                    total=Decimal("9.99"),
                    currency="GBP",
                    status=OrderStatus.OPEN,
                    payment_status=PaymentStatus.PAID,
                    customer=Customer(name="Bench", email="bench@example.com"),
                    placed_at=start,
                    updated_at=start,
                    shipping_address=place,
                    delivery_window=window,
                )
            )
        hub.ingest("web", orders)
        ids = hub.read(
            lambda c: dict(c.execute(sa.select(order_t.c.external_id, order_t.c.id)).all())
        )
        routes, members = [], {}
        for van in range(ROUTES):
            visits = []
            for k in range(STOPS):
                at = start + timedelta(minutes=10 * k + 5)
                key = f"v{van}s{k}"
                visits.append(Visit(key, at, at, at + timedelta(minutes=5)))
                members[key] = [ids[f"E{van * STOPS + k}"]]
            end = visits[-1].departure + timedelta(minutes=10)
            routes.append(
                Route(f"van-{van}", day, tuple(visits), start, end, 20_000.0, 0.0, 0.0, 0.0)
            )

        def store(conn: Any) -> list[int]:
            plan_id = store_plan(conn, day, 1, Plan(tuple(routes), (), "bench"), members, [])
            dispatch(conn, plan_id)
            r = planned_route_t.c
            found = dict(conn.execute(sa.select(r.vehicle, r.id)).all())
            return [found[f"van-{n}"] for n in range(ROUTES)]

        route_ids = hub.write(store)
        tokens = [
            hub.write(lambda c, n=n: driver_accounts.create_driver(c, f"driver {n}", f"van-{n}"))[0]
            for n in range(ROUTES)
        ]
        hub.write(lambda c: users.create_user(c, "desk", PASSWORD, "viewer"))
    return day, route_ids, tokens


def measure_eta(folder: Path, day: date, route_ids: list[int], pings: int) -> dict[str, float]:
    """Seconds to recompute every ETA of the day after each of ``pings`` pings (each on
    the next route in turn): the first (cold: routes read, matrices made) and the rest."""
    from hub.core import positions
    from hub.core.eta import EtaBoard

    timings = []
    with Hub.open(settings=eta_settings(folder)) as hub:
        board = EtaBoard(hub.engine, hub.settings)
        began = time.perf_counter()
        board.day(day)
        cold = time.perf_counter() - began
        drivers = hub.read(lambda c: driver_accounts.list_drivers(c))
        by_vehicle = {d.vehicle: d for d in drivers}
        epoch = datetime.now(UTC) - timedelta(hours=1)
        for n in range(pings):
            route = n % ROUTES
            driver = by_vehicle[f"van-{route}"]
            ping = positions.Ping(
                51.45 + 0.0001 * n % 0.04, -0.25 + 0.006 * route, epoch + timedelta(seconds=n)
            )
            hub.write(
                lambda c, d=driver, r=route_ids[route], p=ping: positions.record_pings(c, d, r, [p])
            )
            began = time.perf_counter()
            board.refresh(route_ids)
            timings.append(time.perf_counter() - began)
    return {"cold": cold, "p50": percentile(timings, 0.5), "p95": percentile(timings, 0.95)}


async def fan_out(
    url: str, day: date, route: int, token: str, pages: int, pings: int
) -> list[float]:
    """``pages`` signed-in pages on /live/events; seconds from each ping's answer to each
    page's position event (0 when the event came first)."""
    import re

    received: list[dict[str, float]] = [{} for _ in range(pages)]
    ready = [asyncio.Event() for _ in range(pages)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as driver_session:

        async def page(n: int) -> None:
            jar = aiohttp.CookieJar(unsafe=True)  # the session cookie of 127.0.0.1
            async with aiohttp.ClientSession(cookie_jar=jar) as session:
                form = await (await session.get(f"{url}/sign-in")).text()
                csrf = re.search(r'name="_csrf" value="([^"]+)"', form)
                assert csrf, "no CSRF field on the sign-in page"
                data = {"username": "desk", "password": PASSWORD, "_csrf": csrf.group(1)}
                async with session.post(f"{url}/sign-in", data=data) as answer:
                    assert answer.status == 200, await answer.text()
                async with session.get(f"{url}/live/events?day={day.isoformat()}") as stream:
                    event = ""
                    while len(received[n]) < pings:
                        line = (await stream.content.readline()).decode().strip()
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:") and event == "hello":
                            ready[n].set()
                        elif line.startswith("data:") and event == "position":
                            at = json.loads(line[5:])["at"]
                            received[n].setdefault(at, time.perf_counter())

        watchers = [asyncio.create_task(page(n)) for n in range(pages)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 60)
        answered: dict[str, float] = {}
        epoch = datetime.now(UTC) - timedelta(minutes=30)
        headers = {"Authorization": f"Bearer {token}"}
        for n in range(pings):
            at = (epoch + timedelta(seconds=n)).isoformat()
            body = {"route": route, "pings": [{"latitude": 51.46, "longitude": -0.25, "at": at}]}
            async with driver_session.post(
                f"{url}/api/v1/driver/pings", json=body, headers=headers
            ) as answer:
                assert answer.status == 200, await answer.text()
            answered[datetime.fromisoformat(at).isoformat()] = time.perf_counter()
            await asyncio.sleep(0.05)  # a phone pings every few seconds, not back to back
        await asyncio.wait_for(asyncio.gather(*watchers), 60)
    return [max(0.0, got[at] - answered[at]) for got in received for at in answered]


def serve_day(folder: str, port: int) -> None:
    """The ETA day's hub serving its web app on ``port`` (a process of its own)."""
    import logging

    from aiohttp import web

    from hub.core.sync import Sync
    from hub.web.app import make_app

    logging.disable(logging.WARNING)
    hub = Hub.open(settings=eta_settings(Path(folder)))
    web.run_app(make_app(Sync(hub)), host="127.0.0.1", port=port, print=None, access_log=None)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pings", type=int, default=300, help="pings timed for ETAs")
    parser.add_argument("--pages", type=int, default=20, help="pages watching /live")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.drivers, args.seconds, args.pings = 50, 3.0, 60
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
        day, route_ids, day_tokens = prepare_day(folder)
        eta = measure_eta(folder, day, route_ids, args.pings)
        server, url = start(serve_day, tmp)
        try:
            fan = asyncio.run(
                fan_out(url, day, route_ids[0], day_tokens[0], args.pages, max(20, args.pings // 3))
            )
        finally:
            server.terminate()
            server.join(10)
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
    print(
        f"  ETA recompute of a {ROUTES}-route day ({ROUTES * STOPS} stops) after a ping, over "
        f"{args.pings} pings: p50 {eta['p50'] * 1000:.1f} ms, p95 {eta['p95'] * 1000:.1f} ms "
        f"(the first, cold: {eta['cold'] * 1000:.0f} ms)"
    )
    print(
        f"  SSE fan-out to {args.pages} pages on /live/events, {len(fan)} events: p50 "
        f"{percentile(fan, 0.5) * 1000:.1f} ms, p95 {percentile(fan, 0.95) * 1000:.1f} ms"
    )
    rate = results[1][0]
    targets = [
        (
            f"position pings accepted per second from {args.drivers} drivers on SQLite (one "
            f"per request) {rate:,.0f} (target >= {TARGET:,.0f})",
            rate >= TARGET,
        ),
        (
            f"ETA recompute of a {ROUTES}-route day after a ping p95 {eta['p95'] * 1000:.1f} ms "
            f"(target < {ETA_TARGET * 1000:.0f} ms)",
            eta["p95"] < ETA_TARGET,
        ),
        (
            f"SSE fan-out to {args.pages} pages p95 {percentile(fan, 0.95) * 1000:.0f} ms "
            f"(target < {FANOUT_TARGET * 1000:.0f} ms)",
            percentile(fan, 0.95) < FANOUT_TARGET,
        ),
    ]
    ok = all(met for _, met in targets)
    print(f"lastmile: {', '.join(text for text, _ in targets)}: {'met' if ok else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
