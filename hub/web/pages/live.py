"""The operator's live view of a day's routes (``/live``, signed-in desk users).

The page shows the route map of the day's dispatched routes (the newest per vehicle)
with every driver's last position as a marker, each route's progress (stops done of
all, the next stop and its ETA, minutes ahead or behind the plan) and the orders
expected late. It stays current without reloading through server-sent events
(``/live/events``, aiohttp-sse) fed by :mod:`hub.web.livefeed`: ``position`` when a
driver's ping is committed, ``eta`` when a route's ETAs were recomputed (JSON; see
:meth:`hub.core.eta.RouteEta.as_event`), ``routes`` when a van was dispatched for the day
after the page opened (by this process or another, e.g. ``hub route dispatch``; the feed
reads the watched days' routes every few seconds). On ``routes``, or on a ``hello`` naming
vehicles other than those the page was rendered with (``data-vehicles``), the page reloads
itself once for that set of vehicles and says so. ``?day=YYYY-MM-DD`` picks the day
(default today in the routing time zone); anything else is refused with 400.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp import web
from aiohttp_sse import EventSourceResponse
from sqlalchemy.engine import Connection

from hub.core.eta import RouteEta, live_route_ids
from hub.core.models import driver_t, location_t, order_t, planned_route_t, planned_stop_t
from hub.core.planning import stored_plan
from hub.core.runtime import Hub
from hub.errors import HubError, InvalidInput
from hub.routing import Location, Plan, RoutingProblem, Vehicle
from hub.web.api.machinery import API_KEY
from hub.web.livefeed import LiveFeed, Watcher, feed_of
from hub.web.pages.common import PAGE_HEADERS, current_user, hub_of, page, render

log = logging.getLogger("hub.web.live")

CHECK_SECONDS = 1.0  # how often a quiet stream looks whether its page is still there
PING_SECONDS = 15.0  # an SSE comment this often keeps proxies from closing the stream


def requested_day(request: web.Request, hub: Hub) -> date:
    """``?day=`` as a date (default: today in the routing time zone); InvalidInput
    naming it when it is not YYYY-MM-DD."""
    text = request.query.get("day", "").strip()[:40]
    if not text:
        return datetime.now(ZoneInfo(hub.settings.routing.timezone)).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"day: {text!r} is not a date (YYYY-MM-DD)", field="day") from None


@dataclass
class LiveDay:
    """What the page shows for a day: each route's progress as its event, the drivers
    of each route's vehicle, the map (SVG, empty without the routing plugin) and the
    vehicles of the day's live routes (the page compares them with its events')."""

    day: date
    routes: list[dict[str, Any]]
    drivers: dict[int, str]
    svg: str
    vehicles: list[str]


def live_day(hub: Hub, feed: LiveFeed, day: date) -> LiveDay:
    """Read and recompute ``day`` for the page. Blocks: run it in a worker thread."""
    vehicles = hub.read(lambda c: _vehicles(c, live_route_ids(c, day)))
    route_ids = sorted(vehicles)
    etas = feed.board.refresh(route_ids) if feed.board is not None else []
    drivers = hub.read(lambda c: _drivers(c, route_ids))
    zone = ZoneInfo(hub.settings.hub.timezone)
    svg = _map(hub, route_ids, etas, drivers)
    shown = sorted(set(vehicles.values()))
    return LiveDay(day, [e.as_event(zone) for e in etas], drivers, svg, shown)


def _vehicles(conn: Connection, route_ids: list[int]) -> dict[int, str]:
    """Route id -> its vehicle."""
    r = planned_route_t.c
    return dict(conn.execute(sa.select(r.id, r.vehicle).where(r.id.in_(route_ids))).all())


def _drivers(conn: Connection, route_ids: list[int]) -> dict[int, str]:
    """Route id -> the names of its vehicle's drivers."""
    if not route_ids:
        return {}
    r, d = planned_route_t.c, driver_t.c
    rows = conn.execute(
        sa.select(r.id, d.name)
        .join(driver_t, d.vehicle == r.vehicle)
        .where(r.id.in_(route_ids), d.disabled.is_(False))
        .order_by(d.name)
    )
    found: dict[int, list[str]] = {}
    for route_id, name in rows:
        found.setdefault(route_id, []).append(name)
    return {k: ", ".join(v) for k, v in found.items()}


def _map(hub: Hub, route_ids: list[int], etas: list[RouteEta], drivers: dict[int, str]) -> str:
    """The routes' map with a marker per route for its driver ("" without the routing
    plugin or routes)."""
    try:
        from hub_plugins.routing.export import Marker, plan_to_svg
    except ImportError:
        return ""
    if not route_ids:
        return ""
    try:
        plan, problem, keys = hub.read(lambda c: _plan_of(c, hub, route_ids))
    except HubError as error:  # e.g. a stop whose order lost its coordinates
        log.warning("cannot draw the live map: %s", error)
        return ""
    positions = {e.route_id: e.position for e in etas}
    markers = []
    for route_id, (vehicle, day) in keys.items():
        where = positions.get(route_id)
        label = f"{vehicle} · {drivers[route_id]}" if route_id in drivers else vehicle
        markers.append(
            Marker(
                str(route_id),
                vehicle,
                day,
                label,
                None if where is None else _location(where[0], where[1]),
            )
        )
    return str(plan_to_svg(plan, problem, markers=markers))


def _location(lat: float, lon: float) -> Location:
    return Location(lat, lon)


def _plan_of(
    conn: Connection, hub: Hub, route_ids: list[int]
) -> tuple[Plan, RoutingProblem, dict[int, tuple[str, date]]]:
    """The routes ``route_ids`` as one plan with the stops and depots a map needs, and
    each route's (vehicle, day)."""
    r = planned_route_t.c
    rows = conn.execute(
        sa.select(r.id, r.plan_id, r.vehicle, r.day).where(r.id.in_(route_ids)).order_by(r.vehicle)
    ).all()
    keys = {row.id: (row.vehicle, row.day) for row in rows}
    wanted = set(keys.values())
    routes, stops, vehicles = [], {}, {}
    for plan_id in sorted({row.plan_id for row in rows}):
        plan, problem = stored_plan(conn, plan_id, hub.settings)
        for route in plan.routes:
            if (route.vehicle_id, route.day) in wanted:
                routes.append(route)
                wanted.discard((route.vehicle_id, route.day))
        stops.update({s.id: s for s in problem.stops if s.id not in stops})
        vehicles.update({v.id: v for v in problem.vehicles if v.id not in vehicles})
    used = {s for route in routes for s in route.stop_ids}
    names = _stop_names(conn, route_ids)
    zone = ZoneInfo(hub.settings.hub.timezone)
    problem = RoutingProblem(
        stops=tuple(
            dataclasses.replace(
                s, location=dataclasses.replace(s.location, name=names.get(k, s.location.name))
            )
            for k, s in stops.items()
            if k in used
        ),
        vehicles=tuple(
            _named_depots(conn, vehicles[v]) for v in sorted({r.vehicle_id for r in routes})
        ),
        timezone=zone,
    )
    routes.sort(key=lambda route: route.vehicle_id)
    return Plan(tuple(routes), (), "live"), problem, keys


def _named_depots(conn: Connection, vehicle: Vehicle) -> Vehicle:
    """``vehicle`` with its depots named as the hub's locations at their coordinates."""
    loc = location_t.c
    names = {
        (lat, lon): name or code
        for code, name, lat, lon in conn.execute(
            sa.select(loc.code, loc.name, loc.latitude, loc.longitude)
        )
    }

    def named(place: Location) -> Location:
        if place.name or (place.lat, place.lon) not in names:
            return place
        return dataclasses.replace(place, name=str(names[(place.lat, place.lon)]))

    end = None if vehicle.end is None else named(vehicle.end)
    return dataclasses.replace(vehicle, start=named(vehicle.start), end=end)


def _stop_names(conn: Connection, route_ids: list[int]) -> dict[str, str]:
    """Stop key -> the order numbers dropped there, as the map labels the stop
    ("#1040", "#1040, #1041", "#1040 +2")."""
    st, o = planned_stop_t.c, order_t.c
    found: dict[str, list[str]] = {}
    for key, number, external in conn.execute(
        sa.select(st.stop_key, o.number, o.external_id)
        .join(order_t, o.id == st.order_id)
        .where(st.route_id.in_(route_ids))
        .order_by(st.route_id, st.seq, st.id)
    ):
        numbers = found.setdefault(key, [])
        if (number or external) not in numbers:
            numbers.append(number or external)
    return {
        key: ", ".join(n) if len(n) <= 2 else f"{n[0]} +{len(n) - 1}" for key, n in found.items()
    }


@page("viewer")
async def live_page(request: web.Request) -> web.Response:
    """The live view of ``?day=`` (default today)."""
    hub = hub_of(request)
    try:
        day = requested_day(request, hub)
    except InvalidInput as error:
        context = {"error": str(error), "day": request.query.get("day", "")[:40], "live": None}
        return render(request, "live.html", context, status=400)
    feed = feed_of(request.app[API_KEY])
    live = await asyncio.to_thread(live_day, hub, feed, day)
    return render(
        request,
        "live.html",
        {
            "day": day.isoformat(),
            "live": live,
            "late": [(r, item) for r in live.routes for item in r["late"]],
        },
    )


async def live_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events of ``?day=``'s routes for a signed-in user: ``hello`` (the
    route ids watched and their vehicles), then ``position``, ``eta`` and ``routes`` (the
    day's routes and vehicles when its set of vehicles changed, with the ids ``added``)
    as they happen (JSON). 401 without a session, 400 for a day that is not a date."""
    user = await current_user(request)
    if user is None:
        return web.json_response(
            {"error": "sign in to the desk to watch the live view", "field": "session"},
            status=401,
            headers=PAGE_HEADERS,
        )
    hub = hub_of(request)
    try:
        day = requested_day(request, hub)
    except InvalidInput as error:
        return web.json_response({"error": str(error), "field": "day"}, status=400)
    feed = feed_of(request.app[API_KEY])
    routes = await asyncio.to_thread(hub.read, lambda c: _vehicles(c, live_route_ids(c, day)))
    route_ids = sorted(routes)
    watcher = feed.watch(day, routes)
    stream = EventSourceResponse(headers={"Cache-Control": "no-store"}, ping_interval=PING_SECONDS)
    try:
        async with stream:
            await stream.prepare(request)
            hello = {
                "day": day.isoformat(),
                "routes": route_ids,
                "vehicles": sorted(set(routes.values())),
            }
            await stream.send(json.dumps(hello), event="hello")
            await _relay(request, stream, watcher)
    except ConnectionResetError:  # the page went away mid-send
        pass
    finally:
        feed.drop(watcher)
    return stream


async def _relay(request: web.Request, stream: Any, watcher: Watcher) -> None:
    """Send the watcher's events until the page goes away or the feed closes."""
    while stream.is_connected() and not watcher.dropped:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        try:
            event, data = await asyncio.wait_for(watcher.queue.get(), CHECK_SECONDS)
        except TimeoutError:
            continue
        if not event:  # the feed closed
            return
        await stream.send(data, event=event)


def routes(app: web.Application) -> None:
    app.router.add_get("/live", live_page)
    app.router.add_get("/live/events", live_events)
