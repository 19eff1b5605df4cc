"""Delivery planning: open orders for the own fleet become stops, a router makes routes.

Consolidation: orders delivered to one place whose delivery windows overlap become one
stop (weights and volumes summed, windows intersected); a B2B customer's several orders to
one site therefore make one drop. "One place" is decided by coordinates alone, within
:data:`SAME_PLACE_METRES` (great-circle distance), never by the address text: two
customers may type one address differently, and two towns share street names. Orders
without coordinates are left out with a reason. Depots are the hub's locations; vehicles
and shifts come from ``[fleet.*]`` in the configuration. Routes already dispatched are
kept as they are when later days are planned again; today's are continued from where
their drivers are, their remaining stops in order and new or failed orders inserted
where they fit (:mod:`hub.core.driven` has the rules).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core import driven as road
from hub.core.config import FleetVehicle, Settings
from hub.core.driving import FAIL_REASONS
from hub.core.models import (
    location_t,
    now,
    order_line_t,
    order_t,
    planned_route_t,
    planned_stop_t,
    product_t,
    route_plan_t,
    unplanned_order_t,
)
from hub.errors import ConfigError, RoutingError
from hub.routing import (
    Break,
    FixedRoute,
    Location,
    Plan,
    Progress,
    Route,
    RoutingProblem,
    Shift,
    Stop,
    TimeWindow,
    Unassigned,
    Vehicle,
    Visit,
)

if TYPE_CHECKING:
    from hub.core.runtime import Hub

MAX_DAYS = 35  # five weeks
SAME_PLACE_METRES = 25.0  # orders this close (haversine) are one place: one door, one drop
EARTH_RADIUS_METRES = 6_371_008.8  # mean radius


@dataclass(frozen=True)
class Delivery:
    """An open order as the planner sees it."""

    order_id: int
    ref: str
    address: str
    latitude: float
    longitude: float
    weight_kg: float
    volume_m3: float
    window: TimeWindow | None


@dataclass
class Consolidated:
    """A stop and the orders dropped there."""

    stop: Stop
    order_ids: list[int] = field(default_factory=list)


def deliveries(conn: Connection, channels: list[str]) -> tuple[list[Delivery], list[tuple]]:
    """Open orders to deliver, and (order id, reason) for those that cannot be planned."""
    o = order_t.c
    query = sa.select(order_t).where(o.status == "open").order_by(o.id)
    if channels:
        query = query.where(o.channel.in_(channels))
    rows = [dict(r) for r in conn.execute(query).mappings()]
    loads = _loads(conn, [r["id"] for r in rows])
    found, skipped = [], []
    for r in rows:
        ref = f"{r['channel']}:{r['external_id']}"
        if r["latitude"] is None or r["longitude"] is None:
            skipped.append(
                (
                    r["id"],
                    "no_coordinates",
                    f"order {ref} has no coordinates for its address: geocode it",
                )
            )
            continue
        window = None
        if r["window_start"] and r["window_end"] and r["window_end"] >= r["window_start"]:
            window = TimeWindow(r["window_start"], r["window_end"])
        address = " ".join(
            str(r[k] or "").strip().lower() for k in ("ship_line1", "ship_postcode", "ship_country")
        )
        weight, volume = loads.get(r["id"], (0.0, 0.0))
        found.append(
            Delivery(
                r["id"], ref, address or ref, r["latitude"], r["longitude"], weight, volume, window
            )
        )
    return found, skipped


def _loads(conn: Connection, order_ids: list[int]) -> dict[int, tuple[float, float]]:
    """Kilograms and cubic metres per order, from its lines and the products' data."""
    if not order_ids:
        return {}
    lines = order_line_t.c
    rows = conn.execute(
        sa.select(
            lines.order_id,
            sa.func.sum(lines.quantity * product_t.c.weight_grams),
            sa.func.sum(lines.quantity * product_t.c.volume_cm3),
        )
        .join(product_t, product_t.c.id == lines.product_id)
        .where(lines.order_id.in_(order_ids))
        .group_by(lines.order_id)
    )
    return {oid: ((g or 0) / 1000, (v or 0) / 1_000_000) for oid, g, v in rows}


def distance_metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance in metres between two (latitude, longitude)
    points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_METRES * math.asin(min(1.0, math.sqrt(h)))


def by_place(items: list[Delivery], metres: float = SAME_PLACE_METRES) -> list[list[Delivery]]:
    """Deliveries grouped by place: each joins the first group (in order of ``items``)
    whose first delivery lies within ``metres`` of it. Address text plays no part."""
    band = math.degrees(metres / EARTH_RADIUS_METRES)  # latitude degrees in ``metres``
    groups: list[list[Delivery]] = []
    rows: dict[int, list[int]] = defaultdict(list)  # latitude band -> indexes into groups
    for item in items:
        row = math.floor(item.latitude / band) if band else 0
        point = (item.latitude, item.longitude)
        near = [
            n
            for r in (row - 1, row, row + 1)
            for n in rows.get(r, ())
            if distance_metres((groups[n][0].latitude, groups[n][0].longitude), point) <= metres
        ]
        if near:
            groups[min(near)].append(item)
        else:
            groups.append([item])
            rows[row].append(len(groups) - 1)
    return groups


def consolidate(
    items: list[Delivery], service: timedelta, first: date, last: date
) -> list[Consolidated]:
    """Orders to one place (:func:`by_place`) with overlapping windows make one stop."""
    stops: list[Consolidated] = []
    for group in by_place(items):
        clusters: list[tuple[TimeWindow | None, list[Delivery]]] = []
        for item in sorted(
            group,
            key=lambda d: (
                d.window.start if d.window else datetime.max.replace(tzinfo=None).astimezone()
            ),
        ):
            for n, (window, members) in enumerate(clusters):
                meets, merged = _intersect(window, item.window)
                if meets:
                    clusters[n] = (merged, [*members, item])
                    break
            else:
                clusters.append((item.window, [item]))
        for window, members in clusters:
            stops.append(_stop(window, members, service, first, last))
    return stops


def _intersect(a: TimeWindow | None, b: TimeWindow | None) -> tuple[bool, TimeWindow | None]:
    """Whether two windows meet (None is 'any time'), and their overlap."""
    if a is None or b is None:
        return True, a or b
    start, end = max(a.start, b.start), min(a.end, b.end)
    return (True, TimeWindow(start, end)) if start <= end else (False, None)


def _stop(
    window: TimeWindow | None, members: list[Delivery], service: timedelta, first: date, last: date
) -> Consolidated:
    head = members[0]
    key = "+".join(str(m.order_id) for m in members)
    days = (window.start.date(), window.end.date()) if window else (first, last)
    stop = Stop(
        id=f"S{key}",
        location=Location(head.latitude, head.longitude, head.ref),
        time_windows=(window,) if window else (),
        service_time=service * (1 + 0.25 * (len(members) - 1)),
        weight=sum(m.weight_kg for m in members),
        volume=sum(m.volume_m3 for m in members),
        earliest_day=max(days[0], first),
        latest_day=min(days[1], last),
    )
    return Consolidated(stop, [m.order_id for m in members])


def vehicles(
    settings: Settings, depots: dict[str, Location], first: date, last: date, tz: ZoneInfo
) -> tuple[Vehicle, ...]:
    """The fleet's vehicles with a shift on each working day of the horizon."""
    if not settings.fleet:
        raise ConfigError(
            f"{settings.path}: fleet: no vehicles configured; add a "
            "[fleet.<name>] section with at least a depot"
        )
    return tuple(
        _vehicle(name, spec, depots, first, last, tz, settings)
        for name, spec in sorted(settings.fleet.items())
    )


def _vehicle(
    name: str,
    spec: FleetVehicle,
    depots: dict[str, Location],
    first: date,
    last: date,
    tz: ZoneInfo,
    settings: Settings,
) -> Vehicle:
    for code in filter(None, (spec.depot, spec.end_depot)):
        if code not in depots:
            raise ConfigError(
                f"{settings.path}: fleet.{name}.depot: location {code!r} is "
                "unknown or has no latitude/longitude"
            )
    shifts = []
    for shift in Shift.daily(first, last, spec.shift_start, spec.shift_end, tz, spec.weekdays):
        breaks: tuple[Break, ...] = ()
        if spec.break_minutes and spec.break_earliest and spec.break_latest:
            day = shift.start.astimezone(tz).date()
            breaks = (
                Break(
                    datetime.combine(day, spec.break_earliest, tz),
                    datetime.combine(day, spec.break_latest, tz),
                    timedelta(minutes=spec.break_minutes),
                ),
            )
        shifts.append(Shift(shift.start, shift.end, breaks))
    return Vehicle(
        id=name,
        start=depots[spec.depot],
        end=depots[spec.end_depot] if spec.end_depot else None,
        shifts=tuple(shifts),
        max_weight=spec.max_weight_kg,
        max_volume=spec.max_volume_m3,
        cost_per_km=spec.cost_per_km,
        cost_per_hour=spec.cost_per_hour,
        skills=frozenset(spec.skills),
        speed_kmh=spec.speed_kmh,
    )


def depots(conn: Connection) -> dict[str, Location]:
    """Locations with coordinates, by code."""
    rows = conn.execute(sa.select(location_t.c.code, location_t.c.latitude, location_t.c.longitude))
    return {
        code: Location(lat, lon, code)
        for code, lat, lon in rows
        if lat is not None and lon is not None
    }


def dispatched(conn: Connection, first: date, last: date) -> list[tuple[str, date, list]]:
    """Routes already dispatched in the horizon (the newest per vehicle and day), each as
    (vehicle, day, [(stop key, [order ids]), ...]) in visiting order."""
    r, s = planned_route_t.c, planned_stop_t.c
    routes = conn.execute(
        sa.select(planned_route_t)
        .where(r.dispatched.is_(True), r.day >= first, r.day <= last)
        .order_by(r.id.desc())
    ).mappings()
    found, seen = [], set()
    for route in routes:
        if (route["vehicle"], route["day"]) in seen:
            continue
        seen.add((route["vehicle"], route["day"]))
        stops: dict[str, list[int]] = {}
        for key, oid in conn.execute(
            sa.select(s.stop_key, s.order_id).where(s.route_id == route["id"]).order_by(s.seq, s.id)
        ):
            stops.setdefault(key, []).append(oid)
        found.append((route["vehicle"], route["day"], list(stops.items())))
    return found


@dataclass
class PlanOutcome:
    """What ``hub route plan`` reports, and the problem the plan solves (for its map).

    ``changes``: for each route of today continued from where its driver is, one line
    saying what it kept and one saying what was inserted (empty when none was driven).
    """

    plan_id: int
    plan: Plan
    stops: int
    orders: int
    left_out: int
    problem: RoutingProblem | None = None
    changes: list[str] = field(default_factory=list)


@dataclass
class Prepared:
    """A routing problem from the database: the problem, the orders behind each stop,
    orders that could not become stops (order id, code, reason), today's routes being
    driven by (vehicle, day), and each order's ``channel:external_id``."""

    problem: RoutingProblem
    members: dict[str, list[int]]
    skipped: list[tuple]  # type: ignore[type-arg]
    driven: dict[tuple[str, date], road.DrivenRoute] = field(default_factory=dict)
    refs: dict[int, str] = field(default_factory=dict)


def plan_routes(
    hub: Hub,
    first: date,
    days: int = 1,
    time_limit: float | None = None,
    router: str | None = None,
    progress: Progress | None = None,
    *,
    allow_past: bool = False,
    at: datetime | None = None,
) -> PlanOutcome:
    """Plan the own fleet's deliveries for ``days`` days from ``first`` and store the plan.

    ``at`` is the time of planning (aware; default now): today's dispatched routes are
    continued from where their drivers are at that time (:mod:`hub.core.driven`).
    A ``first`` day before today (in the routing time zone) is refused unless
    ``allow_past``: it would schedule deliveries that can no longer happen. A router
    that cannot continue a route being driven is refused (:class:`RoutingError`).
    """
    settings = hub.settings
    at = at or now()
    _require_aware_time(at)
    today = at.astimezone(ZoneInfo(settings.routing.timezone)).date()
    if not allow_past:
        refuse_past(first, settings, today)
    name = router or settings.routing.router
    if name not in hub.plugins.routers:
        known = ", ".join(sorted(hub.plugins.routers)) or "none installed"
        raise RoutingError(f"no router {name!r} (installed: {known})", field="router")
    ready = hub.read(lambda c: prepare(c, settings, first, days, at))
    problem, members = ready.problem, ready.members
    chosen = hub.plugins.routers[name]
    missing = chosen.can_solve(problem)
    if missing and ready.driven:
        raise RoutingError(
            f"router {name!r} cannot model {missing}, which today's dispatched routes need; "
            "use --router auto or ortools",
            field="router",
        )
    limit = time_limit or settings.routing.time_limit
    if progress:
        progress(
            f"{len(problem.stops)} stops from {sum(map(len, members.values()))} orders, "
            f"{len(problem.vehicles)} vehicles, {days} day(s); {name} for {limit:g} s"
        )
    plan = chosen.solve(problem, limit, progress)
    plan_id = hub.write(
        lambda c: store_plan(
            c, first, days, plan, members, ready.skipped, problem, driven=ready.driven
        )
    )
    _tell_continued(hub, plan_id, plan, ready)
    left = sum(len(members.get(u.stop_id, [])) for u in plan.unassigned) + len(ready.skipped)
    orders = sum(map(len, members.values()))
    changes = _changes(plan, ready, settings)
    return PlanOutcome(plan_id, plan, len(problem.stops), orders, left, problem, changes)


def _tell_continued(hub: Hub, plan_id: int, plan: Plan, ready: Prepared) -> None:
    """A continued route is dispatched as it is stored: its orders' customers are told
    it is on its way, as ``hub route dispatch`` does (once per order: the customers
    told in the morning are not told again)."""
    from hub.core.routedispatch import dispatch_and_tell  # it imports this module

    for route in plan.routes:
        if (route.vehicle_id, route.day) in ready.driven:
            dispatch_and_tell(hub, plan_id, route.vehicle_id, route.day)


def _require_aware_time(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise RoutingError(f"the planning time {at.isoformat()} has no time zone", field="at")


def _changes(plan: Plan, ready: Prepared, settings: Settings) -> list[str]:
    """Two lines per continued route: what it kept (and from where), what it took."""
    zone = ZoneInfo(settings.routing.timezone)
    lines = []
    for (vehicle, day), route in sorted(ready.driven.items()):
        fixed = next(
            f for f in ready.problem.fixed_routes if (f.vehicle_id, f.day) == (vehicle, day)
        )
        planned = plan.route_of(fixed.stop_ids[0]) if fixed.stop_ids else None
        planned = planned or next(
            (r for r in plan.routes if (r.vehicle_id, r.day) == (vehicle, day)), None
        )
        refs = _refs_of(fixed.stop_ids, ready)
        done = len(route.stops) - len(fixed.stop_ids)  # delivered, failed, cancelled...
        where = (
            f"the driver's position ({route.position.lat:.5f}, {route.position.lon:.5f})"
            if route.position
            else "the depot"
        )
        leaves = planned.departure if planned else fixed.start_at or route.departure
        when = f"{leaves.astimezone(zone):%H:%M}"
        lines.append(
            f"kept on {vehicle} {day}: {len(fixed.stop_ids)} dispatched stop(s) in their order"
            + (f" ({refs})" if refs else "")
            + f", from {where} at {when}; {done} done stop(s) stay as they happened"
        )
        inserted = [s for s in (planned.stop_ids if planned else ()) if s not in fixed.stop_ids]
        lines.append(
            f"inserted into {vehicle} {day}: "
            + (_refs_of(inserted, ready) if inserted else "nothing (no new stop fits)")
        )
    return lines


def _refs_of(stop_ids: Iterable[str], ready: Prepared) -> str:
    return ", ".join(
        "+".join(ready.refs.get(o, str(o)) for o in ready.members.get(sid, [])) for sid in stop_ids
    )


def refuse_past(first: date, settings: Settings, today: date | None = None) -> None:
    """:class:`RoutingError` when ``first`` is before ``today`` (by default today in the
    routing time zone), saying how to plan it all the same."""
    zone = settings.routing.timezone
    today = today or now().astimezone(ZoneInfo(zone)).date()
    if first < today:
        raise RoutingError(
            f"--date {first.isoformat()} is in the past (today is {today.isoformat()} in "
            f"{zone}); plan today or later, or add --allow-past to plan past days",
            field="date",
        )


def build_problem(
    conn: Connection, settings: Settings, first: date, days: int, at: datetime | None = None
) -> tuple[RoutingProblem, dict[str, list[int]], list[tuple]]:
    """The routing problem for ``days`` days from ``first``, the orders behind each stop,
    and the orders that could not even become stops (see :func:`prepare`)."""
    ready = prepare(conn, settings, first, days, at)
    return ready.problem, ready.members, ready.skipped


def prepare(
    conn: Connection, settings: Settings, first: date, days: int, at: datetime | None = None
) -> Prepared:
    """The routing problem for ``days`` days from ``first`` at time ``at`` (aware;
    default now). Routes dispatched for later days are kept whole; today's are continued
    from where their drivers are (:mod:`hub.core.driven`)."""
    if not 1 <= days <= MAX_DAYS:
        raise RoutingError(f"--days must be between 1 and {MAX_DAYS}, got {days}", field="days")
    tz = ZoneInfo(settings.routing.timezone)
    at = at or now()
    today = at.astimezone(tz).date()
    last = first + timedelta(days=days - 1)
    items, skipped = deliveries(conn, settings.routing.channels)
    by_order = {d.order_id: d for d in items}
    service = timedelta(minutes=settings.routing.service_minutes)
    taken: set[int] = set()
    driven: dict[tuple[str, date], road.DrivenRoute] = {}
    if first <= today <= last:
        driven = {(d.vehicle, d.day): d for d in road.driven_routes(conn, today, at)}
    elif today < first:  # orders still on dispatched routes before the horizon stay there
        for oid, why in dict(_on_earlier_routes(conn, today, first, at, set(by_order))).items():
            skipped.append((oid, "on_dispatched_route", why))
            taken.add(oid)
    span = (first, last)
    fixed, kept = _continued(conn, driven, by_order, taken, service, span, at)
    later = _failed_for_good(driven, by_order, taken)
    for d in later if today == last else ():
        skipped.append((d.order_id, "failed_today", _not_today(driven, d.order_id)))
    closed, closed_stops = _kept_whole(conn, driven, by_order, taken, service, span)
    fixed += closed
    kept += closed_stops
    stops = consolidate([d for d in items if d.order_id not in taken], service, first, last)
    if later and today < last:  # failed for good today: from tomorrow on
        stops += consolidate(later, service, today + timedelta(days=1), last)
    used = {k for route in driven.values() for k in route.keys}
    for c in stops:  # a failed order tried again gets a key of its own
        c.stop = replace(c.stop, id=road.fresh_key(c.stop.id, used))
        used.add(c.stop.id)
    members = {c.stop.id: c.order_ids for c in [*stops, *kept]}
    fleet = vehicles(settings, depots(conn), first, last, tz)
    if driven:  # during the day: no vehicle leaves before now
        fleet = tuple(_from_now(v, at, {v for v, _ in driven}) for v in fleet)
    problem = RoutingProblem(
        stops=tuple(c.stop for c in [*stops, *kept]),
        vehicles=fleet,
        fixed_routes=tuple(fixed),
        drop_penalty=settings.routing.drop_penalty,
        timezone=tz,
    )
    refs = {d.order_id: d.ref for d in items}
    return Prepared(problem, members, skipped, driven, refs)


def _from_now(vehicle: Vehicle, at: datetime, driving: set[str]) -> Vehicle:
    """``vehicle`` with shifts that start before ``at`` starting at ``at``, and those over
    by then gone (a vehicle being driven keeps them: its route goes on from ``at``)."""
    if vehicle.id in driving:
        return vehicle
    shifts = tuple(_shift_from(s, at) if s.start < at else s for s in vehicle.shifts if s.end > at)
    return replace(vehicle, shifts=shifts)


def _shift_from(shift: Shift, at: datetime) -> Shift:
    """``shift`` starting at ``at``; breaks that had to start before then are dropped."""
    breaks = tuple(replace(b, earliest=max(b.earliest, at)) for b in shift.breaks if b.latest >= at)
    return Shift(at, shift.end, breaks)


def _continued(
    conn: Connection,
    driven: dict[tuple[str, date], road.DrivenRoute],
    by_order: dict[int, Delivery],
    taken: set[int],
    service: timedelta,
    span: tuple[date, date],
    at: datetime,
) -> tuple[list[FixedRoute], list[Consolidated]]:
    """Today's routes being driven as open fixed routes, and their remaining stops
    (their keys kept); their orders join ``taken``."""
    fixed: list[FixedRoute] = []
    kept: list[Consolidated] = []
    for route in driven.values():
        keys = []
        for stop in route.remaining(set(by_order)):
            orders = [by_order[o] for o in stop.order_ids if o in by_order and o not in taken]
            if orders:
                kept.append(_kept_stop(stop.key, orders, service, *span))
                keys.append(stop.key)
                taken.update(o.order_id for o in orders)
        weight, volume = _carried(conn, route, by_order)
        fixed.append(
            FixedRoute(
                route.vehicle,
                route.day,
                tuple(keys),
                open_for_insertion=True,
                start=route.position,
                start_at=at,
                carried_weight=weight,
                carried_volume=volume,
            )
        )
    return fixed, kept


def _failed_for_good(
    driven: dict[tuple[str, date], road.DrivenRoute],
    by_order: dict[int, Delivery],
    taken: set[int],
) -> list[Delivery]:
    """Open orders that failed today for a reason that allows no other try today; they
    join ``taken``."""
    failed = {o: r for route in driven.values() for o, r in route.failed().items()}
    found = [
        by_order[o]
        for o, reason in failed.items()
        if o in by_order and o not in taken and reason not in road.RETRY_TODAY
    ]
    taken.update(d.order_id for d in found)
    return found


def _not_today(driven: dict[tuple[str, date], road.DrivenRoute], order_id: int) -> str:
    """Why an order that failed today is left out today."""
    reason = next(
        r for route in driven.values() for o, r in route.failed().items() if o == order_id
    )
    return f"delivery failed today ({FAIL_REASONS.get(reason, reason)}); not tried again today"


def _kept_whole(
    conn: Connection,
    driven: dict[tuple[str, date], road.DrivenRoute],
    by_order: dict[int, Delivery],
    taken: set[int],
    service: timedelta,
    span: tuple[date, date],
) -> tuple[list[FixedRoute], list[Consolidated]]:
    """Routes dispatched in the horizon and not being driven, kept as they are: each
    dispatched stop keeps its still-open orders, which join ``taken``."""
    fixed: list[FixedRoute] = []
    kept: list[Consolidated] = []
    for vehicle, day, stops in dispatched(conn, *span):
        if (vehicle, day) in driven:
            continue
        keys = []
        for _key, oids in stops:
            orders = [by_order[o] for o in oids if o in by_order and o not in taken]
            if orders:
                window = None
                for order in orders:
                    meets, merged = _intersect(window, order.window)
                    window = merged if meets else window
                kept.append(_stop(window, orders, service, *span))
                keys.append(kept[-1].stop.id)
                taken.update(o.order_id for o in orders)
        if keys:
            fixed.append(FixedRoute(vehicle, day, tuple(keys)))
    return fixed, kept


def _on_earlier_routes(
    conn: Connection, today: date, first: date, at: datetime, open_orders: set[int]
) -> list[tuple[int, str]]:
    """(order id, why) for the open orders a dispatched route of a day from ``today`` to
    before ``first`` still carries: today's stops still to do, every stop of later days'."""
    found = [
        (oid, f"still on the dispatched route of {route.vehicle} today")
        for route in road.driven_routes(conn, today, at)
        for stop in route.remaining(open_orders)
        for oid in stop.order_ids
        if oid in open_orders
    ]
    before = first - timedelta(days=1)
    if before > today:
        found += [
            (oid, f"on the dispatched route of {vehicle} on {day.isoformat()}")
            for vehicle, day, stops in dispatched(conn, today + timedelta(days=1), before)
            for _, oids in stops
            for oid in oids
            if oid in open_orders
        ]
    return found


def _kept_stop(
    key: str, orders: list[Delivery], service: timedelta, first: date, last: date
) -> Consolidated:
    """A dispatched stop's still-open orders as one stop that keeps the stop's key."""
    window = None
    for order in orders:
        meets, merged = _intersect(window, order.window)
        window = merged if meets else window
    made = _stop(window, orders, service, first, last)
    made.stop = replace(made.stop, id=key)
    return made


def _carried(
    conn: Connection, route: road.DrivenRoute, open_orders: dict[int, Delivery]
) -> tuple[float, float]:
    """Kilograms and cubic metres of the route's failed orders that are not tried again
    today: their parcels stay in the van until it is back at the depot."""
    held = [
        o
        for o, reason in route.failed().items()
        if o in open_orders and reason not in road.RETRY_TODAY
    ]
    loads = _loads(conn, held)
    return (
        sum(loads.get(o, (0.0, 0.0))[0] for o in held),
        sum(loads.get(o, (0.0, 0.0))[1] for o in held),
    )


def store_plan(
    conn: Connection,
    first: date,
    days: int,
    plan: Plan,
    members: dict[str, list[int]],
    skipped: list[tuple],
    problem: RoutingProblem | None = None,
    driven: dict[tuple[str, date], road.DrivenRoute] | None = None,
) -> int:
    """Keep the plan, its routes and stops linked to orders, and every order left out.

    With ``problem``, each route also keeps its vehicle's depots, so :func:`stored_plan`
    can draw it later whatever the fleet configuration has become. A route continuing
    one of ``driven`` (by vehicle and day) is stored dispatched, the continued route's
    done stops first (as they were planned), then the plan's visits; it keeps the
    continued route's departure.
    """
    driven = driven or {}
    fleet = {v.id: v for v in problem.vehicles} if problem else {}
    plan_id = _new_id(
        conn.execute(
            route_plan_t.insert().values(
                first_day=first,
                days=days,
                router=plan.router,
                note=plan.note,
                stats=json.dumps(plan.stats, default=str),
                created_at=now(),
            )
        )
    )
    for route in plan.routes:
        before = driven.get((route.vehicle_id, route.day))
        history = road.history_rows(before, set(route.stop_ids)) if before else []
        route_id = _new_id(
            conn.execute(
                planned_route_t.insert().values(
                    plan_id=plan_id,
                    vehicle=route.vehicle_id,
                    day=route.day,
                    departure=before.departure if before else route.departure,
                    arrival=route.arrival,
                    distance_m=route.distance,
                    weight_kg=route.weight,
                    volume_m3=route.volume,
                    cost=route.cost,
                    dispatched=route.fixed,
                    **_depot_columns(fleet.get(route.vehicle_id)),
                )
            )
        )
        done = len({row["seq"] for row in history})
        rows = [{**row, "route_id": route_id} for row in history]
        rows += [
            {
                "route_id": route_id,
                "seq": seq,
                "stop_key": visit.stop_id,
                "order_id": oid,
                "arrival": visit.arrival,
                "service_start": visit.start,
                "departure": visit.departure,
            }
            for seq, visit in enumerate(route.visits, done + 1)
            for oid in members.get(visit.stop_id, [])
        ]
        if rows:
            conn.execute(planned_stop_t.insert(), rows)
    left = [
        {"plan_id": plan_id, "order_id": oid, "code": u.code, "reason": u.reason}
        for u in plan.unassigned
        for oid in members.get(u.stop_id, [])
    ]
    left += [
        {"plan_id": plan_id, "order_id": oid, "code": code, "reason": reason}
        for oid, code, reason in skipped
    ]
    if left:
        conn.execute(unplanned_order_t.insert(), left)
    return int(plan_id)


def _depot_columns(vehicle: Vehicle | None) -> dict[str, float | None]:
    start = vehicle.start if vehicle else None
    end = vehicle.end_location if vehicle else None
    return {
        "start_latitude": start.lat if start else None,
        "start_longitude": start.lon if start else None,
        "end_latitude": end.lat if end else None,
        "end_longitude": end.lon if end else None,
    }


def _new_id(result: Any) -> int:
    """The primary key an INSERT just made."""
    return int(result.inserted_primary_key[0])


def dispatch(
    conn: Connection, plan_id: int, vehicle: str | None = None, day: date | None = None
) -> int:
    """Mark a plan's routes dispatched (all, or one vehicle's, or one day's); returns how
    many. :class:`RoutingError` naming what exists when the plan, the vehicle or the day
    has no routes, so that nothing is silently left undispatched."""
    r = planned_route_t.c
    _require_plan(conn, plan_id)
    routes = conn.execute(sa.select(r.vehicle, r.day).where(r.plan_id == plan_id)).all()
    if not routes:
        raise RoutingError(f"route plan {plan_id} has no routes to dispatch", field="plan")
    if vehicle is not None and vehicle not in {v for v, _ in routes}:
        known = ", ".join(sorted({v for v, _ in routes}))
        raise RoutingError(
            f"route plan {plan_id} has no routes of vehicle {vehicle!r} (vehicles: {known})",
            field="vehicle",
        )
    chosen = [d for v, d in routes if vehicle is None or v == vehicle]
    if day is not None and day not in chosen:
        days = ", ".join(sorted({d.isoformat() for d in chosen}))
        whose = f" of vehicle {vehicle!r}" if vehicle is not None else ""
        raise RoutingError(
            f"route plan {plan_id} has no routes{whose} on {day.isoformat()} (days: {days})",
            field="date",
        )
    query = planned_route_t.update().where(r.plan_id == plan_id)
    if vehicle is not None:
        query = query.where(r.vehicle == vehicle)
    if day is not None:
        query = query.where(r.day == day)
    return int(conn.execute(query.values(dispatched=True)).rowcount)


def _require_plan(conn: Connection, plan_id: int) -> None:
    """:class:`RoutingError` naming the stored plans when ``plan_id`` is not one."""
    found = conn.scalar(sa.select(route_plan_t.c.id).where(route_plan_t.c.id == plan_id))
    if found is None:
        _no_plan(conn, plan_id)


def _no_plan(conn: Connection, plan_id: int) -> NoReturn:
    """:class:`RoutingError`: there is no plan ``plan_id``, naming the stored ones."""
    ids = list(conn.scalars(sa.select(route_plan_t.c.id).order_by(route_plan_t.c.id)))
    if not ids:
        known = "none planned yet"
    elif len(ids) == 1:
        known = f"plan {ids[0]}"
    elif ids == list(range(1, len(ids) + 1)):
        known = f"plans 1 to {ids[-1]}"
    else:
        known = ", ".join(map(str, ids[-20:])) + (" and older" if len(ids) > 20 else "")
    raise RoutingError(f"no route plan {plan_id} (stored: {known})", field="plan")


def plan_summary(conn: Connection, plan_id: int) -> dict[str, Any]:
    """A stored plan with routes, stops and orders left out, for export and display."""
    plan = (
        conn.execute(sa.select(route_plan_t).where(route_plan_t.c.id == plan_id)).mappings().first()
    )
    if plan is None:
        _no_plan(conn, plan_id)
    r, s, u, o = planned_route_t.c, planned_stop_t.c, unplanned_order_t.c, order_t.c
    routes = []
    for route in conn.execute(
        sa.select(planned_route_t).where(r.plan_id == plan_id).order_by(r.day, r.vehicle)
    ).mappings():
        stops = conn.execute(
            sa.select(
                s.seq,
                s.stop_key,
                s.arrival,
                s.service_start,
                s.departure,
                o.channel,
                o.external_id,
                o.ship_name,
                o.ship_line1,
                o.ship_postcode,
                o.ship_city,
                o.latitude,
                o.longitude,
                o.window_start,
                o.window_end,
            )
            .join(order_t, o.id == s.order_id)
            .where(s.route_id == route["id"])
            .order_by(s.seq, s.id)
        ).mappings()
        routes.append({**dict(route), "stops": [dict(x) for x in stops]})
    left = conn.execute(
        sa.select(u.code, u.reason, o.channel, o.external_id)
        .join(order_t, o.id == u.order_id)
        .where(u.plan_id == plan_id)
    ).mappings()
    return {**dict(plan), "routes": routes, "left_out": [dict(x) for x in left]}


def latest_plan_id(conn: Connection) -> int | None:
    """The newest stored plan's number, or None when nothing was planned yet."""
    found = conn.execute(sa.select(sa.func.max(route_plan_t.c.id))).scalar()
    return None if found is None else int(found)


def stored_plan(
    conn: Connection, plan_id: int, settings: Settings | None = None
) -> tuple[Plan, RoutingProblem]:
    """A stored plan as a :class:`Plan` with the part of its problem a map needs.

    Stops stand at their orders' coordinates; every left-out order that has coordinates
    is a stop of its own (id ``channel:external_id``) in ``Plan.unassigned``. Vehicles
    carry only their depots, as stored with each route; for plans stored before routes
    kept them, the depots come from ``settings``' fleet and the hub's locations.
    """
    head = (
        conn.execute(sa.select(route_plan_t).where(route_plan_t.c.id == plan_id)).mappings().first()
    )
    if head is None:
        _no_plan(conn, plan_id)
    r, s, u, o = planned_route_t.c, planned_stop_t.c, unplanned_order_t.c, order_t.c
    route_rows = list(
        conn.execute(
            sa.select(planned_route_t).where(r.plan_id == plan_id).order_by(r.day, r.vehicle, r.id)
        ).mappings()
    )
    stop_rows = conn.execute(
        sa.select(
            s.route_id,
            s.seq,
            s.stop_key,
            s.arrival,
            s.service_start,
            s.departure,
            o.latitude,
            o.longitude,
        )
        .join(order_t, o.id == s.order_id)
        .join(planned_route_t, r.id == s.route_id)
        .where(r.plan_id == plan_id)
        .order_by(s.route_id, s.seq, s.id)
    ).mappings()
    stops: dict[str, Stop] = {}
    visits: dict[int, dict[int, Visit]] = defaultdict(dict)
    for row in stop_rows:
        key = row["stop_key"]
        if key not in stops and row["latitude"] is not None and row["longitude"] is not None:
            stops[key] = Stop(key, Location(row["latitude"], row["longitude"]))
        visits[row["route_id"]].setdefault(
            row["seq"], Visit(key, row["arrival"], row["service_start"], row["departure"])
        )
    left: list[Unassigned] = []
    for row in conn.execute(
        sa.select(u.code, u.reason, o.channel, o.external_id, o.latitude, o.longitude)
        .join(order_t, o.id == u.order_id)
        .where(u.plan_id == plan_id, o.latitude.is_not(None), o.longitude.is_not(None))
        .order_by(u.id)
    ).mappings():
        ref = f"{row['channel']}:{row['external_id']}"
        if ref not in stops:
            stops[ref] = Stop(ref, Location(row["latitude"], row["longitude"], ref))
            left.append(Unassigned(ref, row["reason"], row["code"]))
    routes = [
        Route(
            vehicle_id=row["vehicle"],
            day=row["day"],
            visits=tuple(v for _, v in sorted(visits[row["id"]].items())),
            departure=row["departure"],
            arrival=row["arrival"],
            distance=row["distance_m"],
            weight=row["weight_kg"],
            volume=row["volume_m3"],
            cost=row["cost"],
            fixed=row["dispatched"],
        )
        for row in route_rows
    ]
    missing = {k for route in routes for k in route.stop_ids if k not in stops}
    if missing:
        raise RoutingError(
            f"route plan {plan_id}: stops {', '.join(sorted(missing))} have no coordinates",
            field="plan",
        )
    fleet: dict[str, Vehicle] = {}
    for row in route_rows:
        if row["vehicle"] not in fleet:
            fleet[row["vehicle"]] = _stored_vehicle(conn, row, settings, plan_id)
    problem = RoutingProblem(stops=tuple(stops.values()), vehicles=tuple(fleet.values()))
    plan = Plan(
        routes=tuple(routes),
        unassigned=tuple(left),
        router=head["router"],
        note=head["note"],
        stats=json.loads(head["stats"] or "{}"),
    )
    return plan, problem


def _stored_vehicle(
    conn: Connection, route: Any, settings: Settings | None, plan_id: int
) -> Vehicle:
    """A route's vehicle with its depots: as stored, else from the fleet configuration."""
    name = route["vehicle"]
    if route["start_latitude"] is not None and route["start_longitude"] is not None:
        start = Location(route["start_latitude"], route["start_longitude"])
        end = start
        if route["end_latitude"] is not None and route["end_longitude"] is not None:
            end = Location(route["end_latitude"], route["end_longitude"])
        return Vehicle(name, start, (), end=end)
    spec = settings.fleet.get(name) if settings else None
    known = depots(conn) if spec else {}
    if spec is None or spec.depot not in known:
        raise RoutingError(
            f"route plan {plan_id}: the depot of vehicle {name!r} is not stored and not "
            "configured; plan again to draw it",
            field="plan",
        )
    end_depot = known.get(spec.end_depot) if spec.end_depot else None
    return Vehicle(name, known[spec.depot], (), end=end_depot)
