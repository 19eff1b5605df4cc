"""Today's dispatched routes as driven so far: what a re-plan during the day keeps.

When ``hub route plan`` covers today (in the routing time zone) and a vehicle's route of
today is dispatched, the planner continues that route instead of planning it afresh
(:func:`hub.core.planning.plan_routes`):

- A vehicle's route of the day is its newest dispatched route. Its stops' states come
  from the driver's actions on it and on the routes it continued
  (:func:`hub.core.driving.route_actions`).
- **Done** stops are history: delivered or failed ones, and those none of whose orders
  is open any more (cancelled, held, delivered by the office). They are not planned
  again; the continued route keeps them at its front, in their order, with the times
  they were planned for.
- **Remaining** stops (pending or arrived, with open orders) stay on the vehicle in
  their dispatched order: the driver has the run sheet and the van is loaded in that
  order. New stops may be inserted before, between or after them
  (:class:`hub.routing.FixedRoute` ``open_for_insertion``).
- The route goes on from where the driver is, at the time of the re-plan: the newest of
  the last position ping and the last action (at the action's position, else at its
  stop); from the depot when the driver has done nothing yet.
- A **failed** order is planned again like a new one when its reason allows another
  try today (:data:`RETRY_TODAY`: nobody at home, no access, ran out of time). Any other
  reason (refused, address not found, business closed, goods damaged, other) needs the
  office first: not today. Such an order is left out with the reason when the plan
  covers only today (else it may go from tomorrow), and its parcels ride back to the
  depot in the van, taking room from new stops (the carried load).
- The continued route is stored as a new dispatched route of the new plan: done stops
  first, then the rest in order, numbered 1, 2, ... The earlier route stays as it was,
  so actions and the audit keep referring to its stop numbers and a phone's queued
  actions for it still apply; the driver app shows the newest route, its stops' states
  carried over by stop key. Labels already printed keep their old stop numbers; the
  order number and barcode on them still name the parcel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.driving import continued_routes, route_actions
from hub.core.models import order_t, planned_route_t, planned_stop_t, position_ping_t
from hub.routing import Location

#: fail reasons (:data:`hub.core.driving.FAIL_REASONS`) after which the order is tried
#: again the same day; after any other the office decides first
RETRY_TODAY = frozenset({"not_home", "no_access", "no_time"})
ACTIVE = ("pending", "arrived")  # states of stops still to do


@dataclass
class DrivenStop:
    """One stop of a dispatched route: its key, orders, planned times and state."""

    seq: int
    key: str
    order_ids: list[int]
    arrival: datetime
    service_start: datetime
    departure: datetime
    latitude: float | None
    longitude: float | None
    state: str = "pending"  # pending, arrived, delivered, failed
    reason: str = ""  # the fail reason code


@dataclass
class DrivenRoute:
    """A vehicle's newest dispatched route of the day, as driven so far.

    ``position`` is where the driver was last seen (None: not seen, still at the
    depot) and ``seen_at`` when.
    """

    route_id: int
    vehicle: str
    day: date
    departure: datetime
    stops: list[DrivenStop] = field(default_factory=list)
    position: Location | None = None
    seen_at: datetime | None = None

    def remaining(self, open_orders: set[int]) -> list[DrivenStop]:
        """Stops still to do, in their dispatched order: pending or arrived, with an
        order in ``open_orders``."""
        return [
            s
            for s in self.stops
            if s.state in ACTIVE and any(o in open_orders for o in s.order_ids)
        ]

    def failed(self) -> dict[int, str]:
        """Order id -> fail reason code, for the orders of failed stops."""
        return {o: s.reason for s in self.stops if s.state == "failed" for o in s.order_ids}

    @property
    def keys(self) -> set[str]:
        """The stop keys on the route."""
        return {s.key for s in self.stops}


def driven_routes(conn: Connection, day: date, until: datetime) -> list[DrivenRoute]:
    """The newest dispatched route of each vehicle on ``day``, with the states the
    driver's actions gave its stops and the driver's last known position (pings and
    actions up to ``until``, aware)."""
    r = planned_route_t.c
    found: dict[str, DrivenRoute] = {}
    rows = conn.execute(
        sa.select(planned_route_t)
        .where(r.day == day, r.dispatched.is_(True))
        .order_by(r.vehicle, r.id.desc())
    ).mappings()
    for row in rows:
        if row["vehicle"] in found:
            continue
        route = DrivenRoute(row["id"], row["vehicle"], row["day"], row["departure"])
        route.stops = _stops(conn, row["id"])
        _states(conn, dict(row), route, until)
        found[route.vehicle] = route
    return list(found.values())


def _stops(conn: Connection, route_id: int) -> list[DrivenStop]:
    s, o = planned_stop_t.c, order_t.c
    stops: dict[int, DrivenStop] = {}
    for row in conn.execute(
        sa.select(
            s.seq,
            s.stop_key,
            s.order_id,
            s.arrival,
            s.service_start,
            s.departure,
            o.latitude,
            o.longitude,
        )
        .join(order_t, o.id == s.order_id)
        .where(s.route_id == route_id)
        .order_by(s.seq, s.id)
    ):
        stop = stops.get(row.seq)
        if stop is None:
            stop = stops[row.seq] = DrivenStop(
                row.seq,
                row.stop_key,
                [],
                row.arrival,
                row.service_start,
                row.departure,
                row.latitude,
                row.longitude,
            )
        stop.order_ids.append(row.order_id)
    return [stops[k] for k in sorted(stops)]


def _states(conn: Connection, row: dict, route: DrivenRoute, until: datetime) -> None:  # type: ignore[type-arg]
    """Stop states from the actions (a delivery is final), and the last position."""
    by_seq = {s.seq: s for s in route.stops}
    for action in route_actions(conn, row):
        stop = by_seq.get(action.seq)
        if stop is None or stop.state == "delivered" or action.phone_at > until:
            continue
        if action.kind == "deliver":
            stop.state, stop.reason = "delivered", ""
        elif action.kind == "fail":
            stop.state, stop.reason = "failed", action.reason
        elif stop.state == "pending":
            stop.state = "arrived"
        if action.latitude is not None and action.longitude is not None:
            route.position = Location(action.latitude, action.longitude, "driver")
        elif stop.latitude is not None and stop.longitude is not None:
            route.position = Location(stop.latitude, stop.longitude, "driver")
        route.seen_at = action.phone_at
    p = position_ping_t.c
    ping = conn.execute(
        sa.select(p.latitude, p.longitude, p.phone_at)
        .where(p.route_id.in_(continued_routes(row)), p.phone_at <= until)
        .order_by(p.phone_at.desc())
        .limit(1)
    ).first()
    if ping is not None and (route.seen_at is None or ping.phone_at > route.seen_at):
        route.position = Location(ping.latitude, ping.longitude, "driver")
        route.seen_at = ping.phone_at


def history_rows(route: DrivenRoute, kept: set[str]) -> list[dict]:  # type: ignore[type-arg]
    """planned_stop rows (without ``route_id``) for the stops of ``route`` that a
    continuation does not plan again (their key not in ``kept``), numbered from 1."""
    done = [s for s in route.stops if s.key not in kept]
    return [
        {
            "seq": n,
            "stop_key": stop.key,
            "order_id": order_id,
            "arrival": stop.arrival,
            "service_start": stop.service_start,
            "departure": stop.departure,
        }
        for n, stop in enumerate(done, 1)
        for order_id in stop.order_ids
    ]


def fresh_key(key: str, taken: set[str]) -> str:
    """``key``, or ``key/2``, ``key/3``... whichever ``taken`` does not hold yet (a
    failed order tried again must not share its key with the failed stop)."""
    if key not in taken:
        return key
    n = 2
    while f"{key}/{n}" in taken:
        n += 1
    return f"{key}/{n}"
