"""ETAs from the drivers' real progress, for the live view, the tracking page and reports.

For every dispatched route (the newest per vehicle and day, as the driver app drives
it) each stop still to do gets an expected arrival, recomputed after each accepted ping
batch and driver action:

- **Where from.** The driver's latest known whereabouts: a stop they arrived at and have
  not finished (they are there: it is left after the service time, or later when a ping
  after the arrival says they are still there), else the newer of the phone's last
  position ping and the last finished stop (delivered or failed, at the stop's place).
  A route with none of these (no ping, no action yet) keeps its plan's arrivals.
- **Travel.** The planner's own travel model: the routers' matrix provider (the routing
  plugin's :class:`HaversineMatrix` unless another is given) at the vehicle's
  ``speed_kmh``, in whole seconds as the routers count them. There is no second speed
  model here.
- **At each stop.** Service starts at the arrival or when the stop's window opens,
  whichever is later (waiting when early), and takes what this driver actually spent
  at the route's finished stops today (the mean of arrival to outcome, waiting for the
  window left out), or the plan's service time while none is measured.
- **Late.** An order is late when its ETA (an aware instant) is after its promised
  window's end; a stop of several orders checks each order's own window.

The remaining stops are driven in the plan's order; a stop skipped is driven after the
one the driver is at. ETAs are aware UTC in whole seconds. :class:`EtaBoard` keeps what
does not change during the day per route (stops, windows, the travel matrix) and what it
last stored, so a ping re-reads only the route's newest ping and actions and writes only
ETAs that changed: the ``order_eta`` rows, and the tracking page's window (ETA -/+
``[notifications] eta_margin_minutes``, rounded out to 5 minutes) through
:func:`hub.core.notify.tracking.set_eta`. An order that becomes late gets a line in its
history.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from hub.core.config import Settings
from hub.core.db import run_in_transaction
from hub.core.driving import route_actions
from hub.core.models import (
    now,
    order_eta_t,
    order_event_t,
    order_t,
    planned_route_t,
    planned_stop_t,
    position_ping_t,
    route_action_t,
    tracking_token_t,
)
from hub.core.notify.tracking import set_eta
from hub.routing import Location, MatrixProvider, Vehicle

MOST_CACHED = 1000  # routes whose shapes the board keeps; beyond, those not asked for go
GONE = ("cancelled", "refunded")  # order statuses nobody delivers
CLOSED = ("delivered", "on_hold")  # not the driver's to deliver now (done, or held)
ROUND_TO = 5  # minutes: the tracking page's window is rounded out to this


# -- what a route is, and how far the driver got ------------------------------------------------


@dataclass(frozen=True)
class StopPlan:
    """One stop of a dispatched route as planned: its orders (ids and the numbers people
    read), place (degrees), when its window opens (the latest of its orders' starts),
    each order's promised window end, the plan's arrival and service time, and its
    index in the route's travel matrix (0 is the depot)."""

    seq: int
    order_ids: tuple[int, ...]
    numbers: tuple[str, ...]
    latitude: float | None
    longitude: float | None
    opens: datetime | None
    closes: tuple[datetime | None, ...]
    planned_arrival: datetime
    planned_service: timedelta
    index: int


@dataclass(frozen=True)
class RouteShape:
    """What does not change while a route is driven: its stops in the plan's order and
    the travel seconds between the depot (index 0) and every stop (the planner's model)."""

    id: int
    vehicle: str
    day: date
    departure: datetime
    stops: tuple[StopPlan, ...]
    durations: Any  # numpy array of whole seconds, [from index][to index]
    vehicle_model: Vehicle


@dataclass(frozen=True)
class Driven:
    """How far the driver got: first arrival per stop seq, when each finished stop's
    outcome happened (its delivery, else its latest failure), the phone's last position
    (latitude, longitude, aware time), the route's orders nobody delivers (cancelled or
    refunded: their stops do not count) and those not the driver's to deliver now
    (delivered, by the office too, or on hold). Times are the phone's."""

    arrived: dict[int, datetime] = field(default_factory=dict)
    done: dict[int, datetime] = field(default_factory=dict)
    ping: tuple[float, float, datetime] | None = None
    gone: frozenset[int] = frozenset()
    closed: frozenset[int] = frozenset()


@dataclass(frozen=True)
class StopEta:
    """A stop still to do: expected arrival (aware UTC; the real one when the driver is
    there), the plan's arrival, and which of its orders will be late."""

    seq: int
    order_ids: tuple[int, ...]
    numbers: tuple[str, ...]
    eta: datetime
    planned: datetime
    late_orders: tuple[int, ...] = ()
    closes: tuple[datetime | None, ...] = ()  # each order's promised window end


@dataclass(frozen=True)
class RouteEta:
    """A route's progress: ``basis`` (``plan``, ``ping`` or ``stop``: what the ETAs start
    from), stops finished of all (cancelled ones left out), the stops still to do in the
    order they will be driven, the phone's last position, and ``delay``: the next stop's
    ETA minus its planned arrival (negative: ahead)."""

    route_id: int
    vehicle: str
    day: date
    basis: str
    done: int
    total: int
    stops: tuple[StopEta, ...]
    position: tuple[float, float, datetime] | None
    delay: timedelta
    service: timedelta | None  # the measured mean service time, None while unmeasured

    @property
    def late(self) -> list[tuple[StopEta, int]]:
        """(stop, order id) of every order expected late."""
        return [(s, o) for s in self.stops for o in s.late_orders]

    def as_event(self, zone: ZoneInfo) -> dict[str, Any]:
        """The route as the live page's JSON event: times ISO 8601 in UTC and as local
        ``HH:MM`` in ``zone``; minutes behind (negative: ahead)."""
        following = self.stops[0] if self.stops else None
        return {
            "route": self.route_id,
            "vehicle": self.vehicle,
            "day": self.day.isoformat(),
            "basis": self.basis,
            "done": self.done,
            "total": self.total,
            "delay_minutes": round(self.delay.total_seconds() / 60),
            "next": None if following is None else _stop_event(following, zone),
            "stops": [_stop_event(s, zone) for s in self.stops],
            "late": [
                {
                    "order": number,
                    "seq": s.seq,
                    "eta": s.eta.isoformat(),
                    "eta_local": _clock(s.eta, zone),
                    "promised_local": _clock(closes, zone) if closes else "",
                }
                for s in self.stops
                for oid, number, closes in zip(s.order_ids, s.numbers, s.closes, strict=True)
                if oid in s.late_orders
            ],
            "position": None
            if self.position is None
            else {
                "latitude": self.position[0],
                "longitude": self.position[1],
                "at": self.position[2].astimezone(UTC).isoformat(),
                "at_local": _clock(self.position[2], zone),
            },
        }


def _stop_event(stop: StopEta, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "seq": stop.seq,
        "orders": list(stop.numbers),
        "eta": stop.eta.isoformat(),
        "eta_local": _clock(stop.eta, zone),
        "planned_local": _clock(stop.planned, zone),
        "late": bool(stop.late_orders),
    }


def _clock(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%H:%M")


# -- the arithmetic ---------------------------------------------------------------------------


def whole(at: datetime) -> datetime:
    """``at`` in UTC without its fraction of a second."""
    return at.astimezone(UTC).replace(microsecond=0)


def mean_service(shape: RouteShape, driven: Driven) -> timedelta | None:
    """The mean time the driver spent at the route's finished stops they also arrived at
    (arrival, or the window's opening when early, to the outcome); None when none is
    measured yet. Whole seconds."""
    spent = []
    for stop in shape.stops:
        arrived, done = driven.arrived.get(stop.seq), driven.done.get(stop.seq)
        if arrived is None or done is None:
            continue
        began = max(arrived, stop.opens) if stop.opens else arrived
        spent.append(max(0.0, (done - began).total_seconds()))
    if not spent:
        return None
    return timedelta(seconds=round(sum(spent) / len(spent)))


def route_eta(shape: RouteShape, driven: Driven, travel: MatrixProvider) -> RouteEta:
    """The route's ETAs from ``driven`` (see the module's docstring for the rules)."""
    live = [s for s in shape.stops if not set(s.order_ids) <= driven.gone]
    skip = driven.gone | driven.closed
    remaining = [s for s in live if s.seq not in driven.done and not set(s.order_ids) <= skip]
    done = len(live) - len(remaining)
    service = mean_service(shape, driven)
    at_stop = _current_stop(remaining, driven)
    last_done = max(driven.done.items(), key=lambda kv: kv[1], default=None)
    ping = driven.ping
    if at_stop is None and ping is None and last_done is None:
        stops = tuple(_eta(s, whole(s.planned_arrival), skip) for s in remaining)
        return RouteEta(
            shape.id,
            shape.vehicle,
            shape.day,
            "plan",
            done,
            len(live),
            stops,
            None,
            timedelta(0),
            service,
        )
    etas: list[StopEta] = []
    if at_stop is not None:
        basis = "stop"
        arrived = driven.arrived[at_stop.seq]
        begin = max(arrived, at_stop.opens) if at_stop.opens else arrived
        clock = begin + (service if service is not None else at_stop.planned_service)
        if ping is not None and ping[2] > clock:  # still there, by the phone
            clock = ping[2]
        etas.append(_eta(at_stop, arrived, skip))
        here: tuple[int, tuple[float, float] | None] = (at_stop.index, None)
        ahead = [s for s in remaining if s is not at_stop]
    else:
        ahead = remaining
        finished = next(s for s in shape.stops if s.seq == last_done[0]) if last_done else None
        if ping is not None and (last_done is None or ping[2] >= last_done[1]):
            basis, clock, here = "ping", ping[2], (-1, (ping[0], ping[1]))
        else:
            assert finished is not None and last_done is not None
            basis, clock, here = "stop", last_done[1], (finished.index, None)
    clock = whole(clock)
    for stop in ahead:
        clock = clock + timedelta(seconds=_seconds(shape, here, stop, travel))
        etas.append(_eta(stop, clock, skip))
        start = max(clock, stop.opens) if stop.opens else clock
        clock = start + (service if service is not None else stop.planned_service)
        here = (stop.index, None)
    following = etas[0] if etas else None
    delay = following.eta - following.planned if following else timedelta(0)
    return RouteEta(
        shape.id,
        shape.vehicle,
        shape.day,
        basis,
        done,
        len(live),
        tuple(etas),
        ping,
        delay,
        service,
    )


def _current_stop(remaining: list[StopPlan], driven: Driven) -> StopPlan | None:
    """The stop the driver arrived at last and has not finished, unless they finished
    another stop after arriving there (they left without an outcome)."""
    arrived = [(driven.arrived[s.seq], s) for s in remaining if s.seq in driven.arrived]
    if not arrived:
        return None
    at, stop = max(arrived, key=lambda pair: pair[0])
    latest_done = max(driven.done.values(), default=None)
    return None if latest_done is not None and latest_done > at else stop


def _seconds(
    shape: RouteShape,
    here: tuple[int, tuple[float, float] | None],
    stop: StopPlan,
    travel: MatrixProvider,
) -> int:
    """Whole seconds from ``here`` (a matrix index, or -1 with a position) to ``stop``."""
    index, point = here
    if point is None:
        return int(shape.durations[index][stop.index])
    if stop.latitude is None or stop.longitude is None:
        return 0
    _, durations = travel.matrix(
        [Location(point[0], point[1]), Location(stop.latitude, stop.longitude)],
        shape.vehicle_model,
    )
    return int(np.rint(float(durations[0][1])))


def _eta(stop: StopPlan, at: datetime, skip: frozenset[int] = frozenset()) -> StopEta:
    """Stop ``stop`` expected at ``at``: its orders but those in ``skip``, the late ones."""
    kept = [
        (oid, number, closes)
        for oid, number, closes in zip(stop.order_ids, stop.numbers, stop.closes, strict=True)
        if oid not in skip
    ]
    return StopEta(
        stop.seq,
        tuple(k[0] for k in kept),
        tuple(k[1] for k in kept),
        at,
        stop.planned_arrival,
        tuple(oid for oid, _, closes in kept if closes and at > closes),
        tuple(k[2] for k in kept),
    )


def tracking_window(eta: datetime, margin_minutes: int) -> tuple[datetime, datetime]:
    """The window the tracking page shows: ``eta`` -/+ ``margin_minutes``, rounded out to
    :data:`ROUND_TO` minutes (aware UTC)."""
    margin = timedelta(minutes=margin_minutes)
    return _round(eta - margin, down=True), _round(eta + margin, down=False)


def _round(value: datetime, *, down: bool) -> datetime:
    step = ROUND_TO * 60
    ticks = value.timestamp() / step
    return datetime.fromtimestamp((math.floor(ticks) if down else math.ceil(ticks)) * step, UTC)


# -- reading routes and progress --------------------------------------------------------------


def live_routes(conn: Connection, days: Iterable[date]) -> dict[date, dict[int, str]]:
    """The routes driven on each of ``days`` (the newest dispatched route of each vehicle),
    in one query: day -> {route id: vehicle}."""
    wanted = sorted(set(days))
    newest: dict[date, dict[str, int]] = {day: {} for day in wanted}
    r = planned_route_t.c
    rows = conn.execute(
        sa.select(r.id, r.vehicle, r.day)
        .where(r.day.in_(wanted), r.dispatched.is_(True))
        .order_by(r.id)
    )
    for route_id, vehicle, day in rows:
        newest[day][vehicle] = route_id  # a later dispatch of the vehicle replaces it
    return {day: {i: v for v, i in routes.items()} for day, routes in newest.items()}


def live_route_ids(conn: Connection, day: date) -> list[int]:
    """The routes driven on ``day``: the newest dispatched route of each vehicle, by vehicle."""
    routes = live_routes(conn, [day])[day]
    return sorted(routes, key=routes.__getitem__)


def _still_live(conn: Connection, route_ids: Iterable[int]) -> dict[int, tuple[str, date]]:
    """Those of ``route_ids`` that are dispatched and no newer dispatched route of their
    vehicle and day replaced: id -> (vehicle, day)."""
    ids = sorted(set(route_ids))
    if not ids:
        return {}
    r = planned_route_t.c
    newer = planned_route_t.alias("newer")
    n = newer.c
    replaced = sa.exists().where(
        n.vehicle == r.vehicle, n.day == r.day, n.dispatched.is_(True), n.id > r.id
    )
    rows = conn.execute(
        sa.select(r.id, r.vehicle, r.day).where(
            r.id.in_(ids), r.dispatched.is_(True), sa.not_(replaced)
        )
    )
    return {route_id: (vehicle, day) for route_id, vehicle, day in rows}


def _chains(conn: Connection, live: dict[int, tuple[str, date]]) -> dict[int, tuple[int, ...]]:
    """Each live route's chain: the dispatched routes of its vehicle and day up to it,
    oldest first (a re-plan during the day continues a route as a new one; actions and
    pings may name any of them, :func:`hub.core.driving.continued_routes`)."""
    r = planned_route_t.c
    rows = conn.execute(
        sa.select(r.id, r.vehicle, r.day).where(
            r.dispatched.is_(True),
            r.vehicle.in_(sorted({v for v, _ in live.values()})),
            r.day.in_(sorted({d for _, d in live.values()})),
        )
    ).all()
    return {
        route_id: tuple(sorted(i for i, v, d in rows if (v, d) == key and i <= route_id))
        for route_id, key in live.items()
    }


def load_shape(
    conn: Connection, route_id: int, settings: Settings, travel: MatrixProvider
) -> RouteShape:
    """Route ``route_id`` as planned, with its travel matrix from ``travel``."""
    route = conn.execute(sa.select(planned_route_t).where(planned_route_t.c.id == route_id)).one()
    s, o = planned_stop_t.c, order_t.c
    rows = conn.execute(
        sa.select(
            s.seq,
            s.order_id,
            s.arrival,
            s.service_start,
            s.departure,
            o.number,
            o.external_id,
            o.latitude,
            o.longitude,
            o.window_start,
            o.window_end,
        )
        .join(order_t, o.id == s.order_id)
        .where(s.route_id == route_id)
        .order_by(s.seq, s.id)
    ).all()
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.seq, []).append(row)
    spec = settings.fleet.get(route.vehicle)
    depot = (route.start_latitude, route.start_longitude)
    if depot[0] is None or depot[1] is None:
        head = grouped[min(grouped)][0] if grouped else None
        depot = (head.latitude, head.longitude) if head else (0.0, 0.0)
    vehicle = Vehicle(
        id=route.vehicle,
        start=Location(float(depot[0]), float(depot[1])),
        shifts=(),
        speed_kmh=spec.speed_kmh if spec else Vehicle.speed_kmh,
    )
    stops = []
    for index, (seq, members) in enumerate(sorted(grouped.items()), start=1):
        head = members[0]
        opens = [m.window_start for m in members if m.window_start is not None]
        stops.append(
            StopPlan(
                seq=seq,
                order_ids=tuple(m.order_id for m in members),
                numbers=tuple(m.number or m.external_id for m in members),
                latitude=head.latitude,
                longitude=head.longitude,
                opens=max(opens) if opens else None,
                closes=tuple(m.window_end for m in members),
                planned_arrival=head.arrival,
                planned_service=head.departure - head.service_start,
                index=index,
            )
        )
    places = [vehicle.start] + [
        Location(
            s.latitude if s.latitude is not None else vehicle.start.lat,
            s.longitude if s.longitude is not None else vehicle.start.lon,
        )
        for s in stops
    ]
    _, durations = travel.matrix(places, vehicle)
    seconds = np.rint(np.asarray(durations, dtype=float)).astype(np.int64)
    return RouteShape(
        route.id, route.vehicle, route.day, route.departure, tuple(stops), seconds, vehicle
    )


Position = tuple[float, float, datetime]  # latitude, longitude (degrees), phone time
_p = position_ping_t.c
# built once: it runs for every route a ping touches
_LATEST_PING = (
    sa.select(_p.latitude, _p.longitude, _p.phone_at)
    .where(_p.route_id == sa.bindparam("route"))
    .order_by(_p.phone_at.desc())
    .limit(1)
)


def _latest_pings(conn: Connection, chains: dict[int, tuple[int, ...]]) -> dict[int, Position]:
    """Each route's newest ping by phone time, over its chain (the route and phone time
    index answers each route with one look)."""
    found: dict[int, Position] = {}
    for route_id, chain in chains.items():
        for member in chain:
            row = conn.execute(_LATEST_PING, {"route": member}).first()
            if row is not None and (route_id not in found or row.phone_at > found[route_id][2]):
                found[route_id] = (row.latitude, row.longitude, row.phone_at)
    return found


def _fingerprints(conn: Connection, table: sa.Table, route_ids: Sequence[int]) -> dict[int, tuple]:
    """(rows, newest id) per route of ``table``: what changed since the last look."""
    c = table.c
    rows = conn.execute(
        sa.select(c.route_id, sa.func.count(), sa.func.max(c.id))
        .where(c.route_id.in_(list(route_ids)))
        .group_by(c.route_id)
    )
    return {route_id: (count, newest) for route_id, count, newest in rows}


def _actions(
    conn: Connection, route_id: int, vehicle: str, day: date
) -> tuple[dict[int, datetime], dict[int, datetime]]:
    """Route ``route_id``'s first arrival per stop seq, and when each finished stop's
    outcome happened (its first delivery, else its latest failure), counting the actions
    on the routes it continued (:func:`hub.core.driving.route_actions`)."""
    arrived: dict[int, datetime] = {}
    done: dict[int, datetime] = {}
    delivered: set[int] = set()
    route = {"id": route_id, "vehicle": vehicle, "day": day}
    for action in route_actions(conn, route):
        seq, kind, at = action.seq, action.kind, action.phone_at
        if kind == "arrive":
            arrived.setdefault(seq, at)
        elif kind == "deliver" and seq not in delivered:
            delivered.add(seq)
            done[seq] = at
        elif kind == "fail" and seq not in delivered:
            done[seq] = at
    return arrived, done


def _not_open(conn: Connection, route_ids: Sequence[int]) -> dict[int, frozenset[tuple]]:
    """Per route, (order id, status) of its orders the driver is not to deliver now."""
    s, o = planned_stop_t.c, order_t.c
    found: dict[int, set[tuple]] = {}
    for route_id, order_id, status in conn.execute(
        sa.select(s.route_id, s.order_id, o.status)
        .join(order_t, o.id == s.order_id)
        .where(s.route_id.in_(list(route_ids)), o.status.in_(GONE + CLOSED))
    ):
        found.setdefault(route_id, set()).add((order_id, status))
    return {k: frozenset(v) for k, v in found.items()}


# -- keeping them -------------------------------------------------------------------------------


@dataclass
class _Kept:
    """What the board last stored for an order: its row's values and the tracking window."""

    row: tuple
    window: tuple | None


@dataclass
class _Writes:
    """What one refresh changes: order_eta rows to upsert, (route, orders) to delete,
    tracking windows (order, start, end, stops before) to set, newly late (order, ETA,
    promised end), and what to remember once committed (None: forget the order)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[tuple[int, list[int]]] = field(default_factory=list)
    windows: list[tuple[int, datetime, datetime, int]] = field(default_factory=list)
    late: list[tuple[int, datetime, datetime | None]] = field(default_factory=list)
    pending: dict[int, _Kept | None] = field(default_factory=dict)

    def any(self) -> bool:
        return bool(self.rows or self.deleted or self.windows or self.late)


@dataclass
class _RouteCache:
    shape: RouteShape
    stops_print: tuple
    actions_print: tuple | None = None  # (route, (actions, newest id)) over its chain
    actions: tuple[dict, dict] = field(default_factory=lambda: ({}, {}))
    older: tuple[int, ...] = ()  # the routes it continued (a re-plan during the day)
    last: tuple[tuple, RouteEta] | None = None  # (inputs, result) of the last computation


class EtaBoard:
    """Recomputes and stores the ETAs of dispatched routes, keeping per route what does
    not change (its shape), its actions until new ones come, and what it last stored.

    ``engine`` is the hub's database; ``lock`` the writer lock taken around each write
    (the API's SQLite lock; None on PostgreSQL); ``travel`` the planner's travel model
    (default: the routing plugin's haversine matrix, as the routers use when the
    problem names none). Thread-safe: one refresh at a time. Blocking: call it from a
    worker thread, never on the event loop.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        travel: MatrixProvider | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.travel = travel or planner_travel()
        self.lock = lock
        self.zone = ZoneInfo(settings.routing.timezone or settings.hub.timezone)
        self._routes: dict[int, _RouteCache] = {}
        self._kept: dict[int, _Kept] = {}
        self._busy = threading.Lock()

    def day(self, day: date) -> list[RouteEta]:
        """Recompute and store every live route of ``day``; their ETAs, by vehicle."""
        ids = run_in_transaction(self.engine, lambda c: live_route_ids(c, day))
        return self.refresh(ids)

    def refresh(self, route_ids: Iterable[int]) -> list[RouteEta]:
        """Recompute the ETAs of ``route_ids`` (those still live: dispatched, not
        replaced), store what changed in one transaction and return them by vehicle."""
        wanted = sorted(set(route_ids))
        if not wanted:
            return []
        with self._busy:
            changed: dict[int, tuple[tuple, RouteEta]] = {}
            with self.engine.connect() as conn:  # reads take no writer lock
                etas = self._compute(conn, wanted, changed)
            writes = self._changes([e for e in etas if e.route_id in changed])
            if writes.any():
                with self.lock or nullcontext():
                    run_in_transaction(self.engine, lambda c: self._write(c, writes))
            for route_id, last in changed.items():  # committed: remember it
                self._routes[route_id].last = last
            for order_id, kept in writes.pending.items():
                if kept is None:
                    self._kept.pop(order_id, None)
                else:
                    self._kept[order_id] = kept
        return sorted(etas, key=lambda e: (e.vehicle, e.route_id))

    def forget(self) -> None:
        """Drop everything cached (another process changed the plan)."""
        with self._busy:
            self._routes.clear()
            self._kept.clear()

    def _compute(
        self, conn: Connection, wanted: list[int], changed: dict[int, tuple[tuple, RouteEta]]
    ) -> list[RouteEta]:
        """The live ones of ``wanted``, recomputed; those whose inputs (actions, latest
        ping, orders gone) differ from the last computation go into ``changed`` (route id
        -> (inputs, ETAs)), to remember once stored."""
        routes = _still_live(conn, wanted)
        if not routes:
            return []
        live = sorted(routes)
        if len(self._routes) > MOST_CACHED:  # days gone by: forget them
            self._forget_all_but(set(live))
        chains = _chains(conn, routes)
        stop_prints = _fingerprints(conn, planned_stop_t, live)
        action_prints = _fingerprints(conn, route_action_t, sorted(set().union(*chains.values())))
        new_shapes = [
            r
            for r in live
            if r not in self._routes or self._routes[r].stops_print != stop_prints.get(r, ())
        ]
        for route_id in new_shapes:
            shape = load_shape(conn, route_id, self.settings, self.travel)
            older = chains[route_id][:-1]
            self._routes[route_id] = _RouteCache(shape, stop_prints.get(route_id, ()), older=older)
            self._load_kept(conn, shape, older)
        for route_id in live:
            cache = self._routes[route_id]
            seen = tuple((c, action_prints.get(c, ())) for c in chains[route_id])
            if cache.actions_print != seen:
                cache.actions = _actions(conn, route_id, *routes[route_id])
                cache.actions_print = seen
        # a route with nothing to deliver has no ETAs to move: its pings are not read
        with_stops = {r: c for r, c in chains.items() if self._routes[r].shape.stops}
        pings = _latest_pings(conn, with_stops)
        statuses = _not_open(conn, live)
        etas = []
        for route_id in live:
            cache = self._routes[route_id]
            orders = statuses.get(route_id, frozenset())
            key = (cache.actions_print, pings.get(route_id), orders)
            if cache.last is not None and cache.last[0] == key:  # nothing new: as before
                etas.append(cache.last[1])
                continue
            arrived, done = cache.actions
            gone = frozenset(o for o, status in orders if status in GONE)
            closed = frozenset(o for o, status in orders if status in CLOSED)
            driven = Driven(arrived, done, key[1], gone, closed)
            eta = route_eta(cache.shape, driven, self.travel)
            etas.append(eta)
            changed[route_id] = (key, eta)
        return etas

    def _forget_all_but(self, keep: set[int]) -> None:
        dropped = [r for r in self._routes if r not in keep]
        for route_id in dropped:
            cache = self._routes.pop(route_id)
            for stop in cache.shape.stops:
                for order_id in stop.order_ids:
                    self._kept.pop(order_id, None)

    def _load_kept(self, conn: Connection, shape: RouteShape, older: tuple[int, ...]) -> None:
        """What is stored for the route's orders and for those of the routes it continued
        (after a restart: write only changes)."""
        ids = [o for s in shape.stops for o in s.order_ids]
        if older:
            s = planned_stop_t.c
            ids += list(conn.scalars(sa.select(s.order_id).where(s.route_id.in_(older))))
        if not ids:
            return
        e, t = order_eta_t.c, tracking_token_t.c
        windows = {
            oid: (start, end, before)
            for oid, start, end, before in conn.execute(
                sa.select(t.order_id, t.eta_start, t.eta_end, t.stops_before).where(
                    t.order_id.in_(ids)
                )
            )
        }
        for row in conn.execute(sa.select(order_eta_t).where(e.order_id.in_(ids))).mappings():
            self._kept[row["order_id"]] = _Kept(
                (
                    row["route_id"],
                    row["stop_seq"],
                    row["eta"],
                    row["late"],
                    row["stops_before"],
                    row["basis"],
                ),
                windows.get(row["order_id"]),
            )

    def _changes(self, etas: list[RouteEta]) -> _Writes:
        """What differs from what was stored last: rows, tracking windows, deletions
        (orders finished or no longer to deliver) and orders newly late."""
        margin = self.settings.notifications.eta_margin_minutes
        writes = _Writes()
        for route in etas:
            shape = self._routes[route.route_id].shape
            current: set[int] = set()
            for before, stop in enumerate(route.stops):
                for oid, closes in zip(stop.order_ids, stop.closes, strict=True):
                    current.add(oid)
                    late = oid in stop.late_orders
                    row = (route.route_id, stop.seq, stop.eta, late, before, route.basis)
                    kept = self._kept.get(oid)
                    window = (*tracking_window(stop.eta, margin), before)
                    if kept is not None and kept.row == row and kept.window == window:
                        continue
                    if kept is None or kept.row != row:
                        writes.rows.append(
                            {
                                "order_id": oid,
                                "route_id": route.route_id,
                                "stop_seq": stop.seq,
                                "eta": stop.eta,
                                "planned": stop.planned,
                                "window_end": closes,
                                "late": late,
                                "stops_before": before,
                                "basis": route.basis,
                            }
                        )
                        if late and (kept is None or not kept.row[3]):
                            writes.late.append((oid, stop.eta, closes))
                    if kept is None or kept.window != window:
                        writes.windows.append((oid, *window))
                    writes.pending[oid] = _Kept(row, window)
            finished = [
                o for s in shape.stops for o in s.order_ids if o not in current and o in self._kept
            ]
            older = set(self._routes[route.route_id].older)
            finished += [
                o
                for o, kept in self._kept.items()
                if kept.row[0] in older and o not in current and o not in finished
            ]
            if finished:
                writes.deleted.append((route.route_id, finished))
                writes.pending.update(dict.fromkeys(finished))
        return writes

    def _write(self, conn: Connection, writes: _Writes) -> None:
        stamp = now()
        e = order_eta_t.c
        for route_id, finished in writes.deleted:
            conn.execute(
                order_eta_t.delete().where(
                    e.order_id.in_(finished),
                    e.route_id.in_([route_id, *self._routes[route_id].older]),
                )
            )
        if writes.rows:
            insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(
                order_eta_t
            )
            columns = (
                *("route_id", "stop_seq", "eta", "planned", "window_end", "late"),
                *("stops_before", "basis", "updated_at"),
            )
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["order_id"],
                    set_={c: insert.excluded[c] for c in columns},
                ),
                [{**row, "updated_at": stamp} for row in writes.rows],
            )
        for oid, start, end, before in writes.windows:
            set_eta(conn, oid, start, end, before)
        for oid, eta, closes in writes.late:
            promised = f", promised by {self._local(closes)}" if closes else ""
            conn.execute(
                order_event_t.insert().values(
                    order_id=oid,
                    status="",
                    note=f"running late: expected at {self._local(eta)}{promised}",
                    actor="eta",
                    origin="",
                    created_at=stamp,
                )
            )

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.zone).strftime("%H:%M %Z")


def planner_travel() -> MatrixProvider:
    """The travel model the planner's routers use: :func:`hub.core.planning.build_problem`
    names no matrix provider, so they drive the routing plugin's haversine matrix.
    :class:`hub.errors.ConfigError` when the routing plugin is not installed."""
    try:
        from hub_plugins.routing.matrix import HaversineMatrix
    except ImportError:
        from hub.errors import ConfigError

        raise ConfigError(
            "ETAs need the routing plugin's travel model (hub_plugins.routing); install it"
        ) from None
    return HaversineMatrix()
