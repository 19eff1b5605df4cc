"""Last-mile routing: the data classes routers exchange with the hub, and the Router base.

A planner builds a :class:`RoutingProblem` (stops, vehicles, optionally routes already
dispatched) and calls ``router.solve(problem, time_limit)``; it gets a :class:`Plan` back:
one :class:`Route` per vehicle and day with ordered :class:`Visit` s, and one
:class:`Unassigned` with a reason for every stop that could not be placed.

Conventions
    * Times are timezone-aware datetimes (UTC or any zone; routers convert them to whole
      seconds after ``RoutingProblem.start``). Durations are ``timedelta``.
    * Distances are metres, weights kilograms, volumes cubic metres, money in the
      merchant's currency (floats: routing costs are estimates, not ledger amounts).
    * A stop may be served in any of its time windows (none: any time in a shift) on a day
      between ``earliest_day`` and ``latest_day`` (in ``RoutingProblem.timezone``).
    * A vehicle is a driver with one :class:`Shift` per working day; a route is one shift.

Example::

    depot = Location(52.52, 13.40)
    van = Vehicle("van1", depot, Shift.daily(monday, friday, time(8), time(17)),
                  max_weight=600, skills=frozenset({"refrigerated"}))
    stop = Stop("order-1001", Location(52.50, 13.42), weight=12.5,
                time_windows=TimeWindow.daily(monday, tuesday, time(9), time(12)),
                service_time=timedelta(minutes=5))
    plan = routers["auto"].solve(RoutingProblem((stop,), (van,)), time_limit=30)
    for route in plan.routes: ...          # vehicle_id, day, visits (arrival, start, ...)
    for left in plan.unassigned: ...       # stop_id, code, reason

Routers are registered by plugins through the ``register_routers`` hook; subclass
:class:`Router` (``name``, ``solve``) to provide your own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol, runtime_checkable

from hub.errors import InvalidInput


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} must be timezone-aware (got {value.isoformat()})", field=what)


@dataclass(frozen=True)
class Location:
    """A point: latitude and longitude in degrees (planar x/y for synthetic benchmarks)."""

    lat: float
    lon: float
    name: str = ""


Depot = Location  # a depot is just a location vehicles start from or return to


@dataclass(frozen=True)
class TimeWindow:
    """A period during which service may start: ``start <= service start <= end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(self.start, "TimeWindow.start")
        _require_aware(self.end, "TimeWindow.end")
        if self.end < self.start:
            raise InvalidInput(
                f"time window ends ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()})",
                field="TimeWindow.end",
            )

    @classmethod
    def daily(
        cls, first: date, last: date, opens: time, closes: time, tz: tzinfo = UTC
    ) -> tuple[TimeWindow, ...]:
        """The same window (``opens``-``closes``, local to ``tz``) on every day first..last."""
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return tuple(
            cls(datetime.combine(d, opens, tz), datetime.combine(d, closes, tz)) for d in days
        )


@dataclass(frozen=True)
class Break:
    """A driver break of ``duration`` starting between ``earliest`` and ``latest``."""

    earliest: datetime
    latest: datetime
    duration: timedelta

    def __post_init__(self) -> None:
        _require_aware(self.earliest, "Break.earliest")
        _require_aware(self.latest, "Break.latest")
        if self.latest < self.earliest:
            raise InvalidInput("break's latest start is before its earliest", field="Break")


@dataclass(frozen=True)
class Shift:
    """One working period of a driver (a day's route): leave at ``start`` or later, be back
    at the end depot by ``end``; ``breaks`` must be taken during it."""

    start: datetime
    end: datetime
    breaks: tuple[Break, ...] = ()

    def __post_init__(self) -> None:
        _require_aware(self.start, "Shift.start")
        _require_aware(self.end, "Shift.end")
        if self.end <= self.start:
            raise InvalidInput("shift ends before it starts", field="Shift.end")

    @classmethod
    def daily(
        cls,
        first: date,
        last: date,
        starts: time,
        ends: time,
        tz: tzinfo = UTC,
        weekdays: Iterable[int] = range(7),
    ) -> tuple[Shift, ...]:
        """A shift ``starts``-``ends`` on every day first..last whose weekday (Mon=0) is listed."""
        allowed = set(weekdays)
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return tuple(
            cls(datetime.combine(d, starts, tz), datetime.combine(d, ends, tz))
            for d in days
            if d.weekday() in allowed
        )


@dataclass(frozen=True)
class Vehicle:
    """A driver and their vehicle.

    ``end`` defaults to ``start``. ``max_weight`` (kg) and ``max_volume`` (m³) of None mean
    unlimited. Costs: ``cost_per_km`` of distance, ``cost_per_hour`` of route duration
    (waiting included) and ``fixed_cost`` per route used. ``skills`` are what the vehicle
    offers (e.g. "refrigerated"); ``speed_kmh`` and ``profile`` are read by matrix providers.
    """

    id: str
    start: Location
    shifts: tuple[Shift, ...]
    end: Location | None = None
    max_weight: float | None = None
    max_volume: float | None = None
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0
    fixed_cost: float = 0.0
    skills: frozenset[str] = frozenset()
    speed_kmh: float = 30.0
    profile: str = "car"

    @property
    def end_location(self) -> Location:
        """Where the vehicle's routes end."""
        return self.end if self.end is not None else self.start


@dataclass(frozen=True)
class Stop:
    """A delivery address with what must be dropped there (usually one consolidated order).

    ``time_windows``: service may start in any of them (empty: whenever a shift allows).
    ``earliest_day``/``latest_day``: the dates (in the problem's timezone) it may be served
    on (None: no bound). ``priority``: higher stops are the last to be left out when not
    everything fits (each level adds the problem's ``drop_penalty`` once more).
    ``skills``: what the vehicle must offer.
    """

    id: str
    location: Location
    time_windows: tuple[TimeWindow, ...] = ()
    service_time: timedelta = timedelta(0)
    weight: float = 0.0
    volume: float = 0.0
    priority: int = 0
    skills: frozenset[str] = frozenset()
    earliest_day: date | None = None
    latest_day: date | None = None


@dataclass(frozen=True)
class FixedRoute:
    """A route already dispatched. Its stops must be in the problem, and they stay on
    that vehicle in the order of ``stop_ids``; their times are recomputed from the matrix.

    Closed (``open_for_insertion`` False, the default): the route is kept as it is and
    that vehicle's shift on that day takes no other stop.

    Open (``open_for_insertion`` True, a route being driven): ``stop_ids`` are the stops
    not visited yet; other stops of the problem may be inserted before, between or after
    them when capacity, windows and the shift allow. The route starts at ``start`` (where
    the vehicle is now; None: its depot) at ``start_at`` (aware; None: shift start; never
    before the shift starts). ``carried_weight`` (kg) and ``carried_volume`` (m³) are
    aboard but dropped at none of the stops (parcels riding back to the depot): they take
    room from inserted stops. A kept stop is never left out: when it can no longer be
    served in its window it is served as soon as the route gets there, and nothing is
    inserted that would make it later still. Breaks whose latest start is before
    ``start_at`` are taken already. Routers that cannot keep the order say so in
    :meth:`Router.can_solve`.

    Raises :class:`hub.errors.InvalidInput` for a naive ``start_at``, a negative carried
    load, or a start, start time or carried load on a closed route; routers raise it for
    a vehicle, day (no shift) or stop the problem does not have.
    """

    vehicle_id: str
    day: date
    stop_ids: tuple[str, ...]
    open_for_insertion: bool = False
    start: Location | None = None
    start_at: datetime | None = None
    carried_weight: float = 0.0
    carried_volume: float = 0.0

    def __post_init__(self) -> None:
        if self.start_at is not None:
            _require_aware(self.start_at, "FixedRoute.start_at")
        if self.carried_weight < 0 or self.carried_volume < 0:
            raise InvalidInput(
                f"fixed route of {self.vehicle_id!r}: carried load cannot be negative",
                field="FixedRoute.carried_weight",
            )
        running = (
            self.start,
            self.start_at,
            self.carried_weight or None,
            self.carried_volume or None,
        )
        if not self.open_for_insertion and any(x is not None for x in running):
            raise InvalidInput(
                f"fixed route of {self.vehicle_id!r}: a start, start time or carried load "
                "needs open_for_insertion=True (a closed route starts at its depot)",
                field="FixedRoute.open_for_insertion",
            )


@runtime_checkable
class MatrixProvider(Protocol):
    """Gives travel distances and durations between locations for one vehicle.

    ``matrix(locations, vehicle)`` returns ``(distances, durations)``: square matrices
    (sequences of sequences or numpy arrays) in metres and seconds, row = from, column = to.
    Routers call it once per distinct ``(vehicle.profile, vehicle.speed_kmh)`` and share the
    result between vehicles that agree on both.
    """

    def matrix(
        self, locations: Sequence[Location], vehicle: Vehicle
    ) -> tuple[Sequence[Sequence[float]], Sequence[Sequence[float]]]:
        """Distances (m) and durations (s) between every pair of ``locations``."""
        ...


@dataclass(frozen=True)
class RoutingProblem:
    """Everything a router needs to plan one day or a horizon of days.

    ``start``: the origin of the routers' clocks (default: earliest shift start).
    ``matrix``: the travel-time provider (None: straight-line haversine, see
    ``hub_plugins.routing.matrix``). ``drop_penalty``: the cost of leaving one stop of
    priority 0 unplanned, in the currency of the vehicle costs (None: twice the cost of
    serving that stop on a route of its own, so a stop is only left out when it does
    not fit). ``timezone`` decides
    which calendar day a time belongs to. ``fixed_routes``: at most one per vehicle and
    day, no stop on two (:class:`hub.errors.InvalidInput` otherwise).
    """

    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    fixed_routes: tuple[FixedRoute, ...] = ()
    matrix: MatrixProvider | None = None
    drop_penalty: float | None = None
    timezone: tzinfo = UTC
    start: datetime | None = None

    def __post_init__(self) -> None:
        _check_unique((s.id for s in self.stops), "stop")
        _check_unique((v.id for v in self.vehicles), "vehicle")
        if self.start is not None:
            _require_aware(self.start, "RoutingProblem.start")
        _check_fixed(self.fixed_routes)

    @property
    def origin(self) -> datetime:
        """The instant routers count seconds from."""
        if self.start is not None:
            return self.start
        starts = [s.start for v in self.vehicles for s in v.shifts]
        return min(starts) if starts else datetime(2000, 1, 1, tzinfo=UTC)

    def days(self) -> list[date]:
        """The calendar days on which some vehicle has a shift, in order."""
        return sorted(
            {s.start.astimezone(self.timezone).date() for v in self.vehicles for s in v.shifts}
        )


def _check_fixed(routes: Iterable[FixedRoute]) -> None:
    """InvalidInput for two fixed routes of one vehicle and day, or a stop on two of them."""
    shifts: set[tuple[str, date]] = set()
    stops: set[str] = set()
    for route in routes:
        if (route.vehicle_id, route.day) in shifts:
            raise InvalidInput(
                f"two fixed routes of {route.vehicle_id!r} on {route.day}; give one",
                field="fixed_routes",
            )
        shifts.add((route.vehicle_id, route.day))
        for sid in route.stop_ids:
            if sid in stops:
                raise InvalidInput(
                    f"stop {sid!r} is on two fixed routes (or twice on one)", field="fixed_routes"
                )
            stops.add(sid)


def _check_unique(ids: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise InvalidInput(f"two {what}s have the id {item!r}; ids must be unique", field=what)
        seen.add(item)


@dataclass(frozen=True)
class Visit:
    """One stop on a route: arrival, start and end of service, load still aboard after it."""

    stop_id: str
    arrival: datetime
    start: datetime
    departure: datetime
    weight_after: float = 0.0
    volume_after: float = 0.0


@dataclass(frozen=True)
class ScheduledBreak:
    """When a driver takes a break on a route."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Route:
    """One vehicle's route on one day: leave the depot, serve ``visits`` in order, return.

    ``duration`` runs from leaving the start depot to arriving at the end depot; ``weight``
    and ``volume`` are the load when leaving; ``fixed`` marks a dispatched route (kept as
    is, or, when its :class:`FixedRoute` is open for insertion, its remaining stops in
    their order with new ones inserted: then ``departure`` is the fixed route's
    ``start_at`` and the first leg starts at its ``start``).
    """

    vehicle_id: str
    day: date
    visits: tuple[Visit, ...]
    departure: datetime
    arrival: datetime
    distance: float
    weight: float
    volume: float
    cost: float
    breaks: tuple[ScheduledBreak, ...] = ()
    fixed: bool = False

    @property
    def duration(self) -> timedelta:
        """Time from leaving the start depot to arriving at the end depot."""
        return self.arrival - self.departure

    @property
    def stop_ids(self) -> tuple[str, ...]:
        """The stops in visiting order."""
        return tuple(v.stop_id for v in self.visits)


@dataclass(frozen=True)
class Unassigned:
    """A stop the plan leaves out, with a sentence saying why and a stable ``code``.

    Codes: ``no_allowed_day`` (no shift on any allowed date), ``no_vehicle_with_skills``,
    ``too_heavy``, ``too_bulky`` (more than any suitable vehicle carries),
    ``window_unreachable`` (no shift can reach it inside a window and return in time),
    ``no_room`` (it fits on its own, but not with stops that cost less or rank higher).
    """

    stop_id: str
    reason: str
    code: str = "no_room"


@dataclass(frozen=True)
class Plan:
    """A router's answer: routes per vehicle and day, the stops left out, and who solved it.

    ``router`` is the name of the router that produced the routes; ``note`` says why
    (the ``auto`` router explains its choice there).
    """

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    router: str
    note: str = ""
    stats: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def cost(self) -> float:
        """Total cost of the routes (without penalties for stops left out)."""
        return math.fsum(r.cost for r in self.routes)

    @property
    def distance(self) -> float:
        """Total distance of the routes in metres."""
        return math.fsum(r.distance for r in self.routes)

    def route_of(self, stop_id: str) -> Route | None:
        """The route serving ``stop_id``, or None when it is unassigned."""
        return next((r for r in self.routes if stop_id in r.stop_ids), None)


Progress = Callable[[str], None]
"""Optional callback routers call with short human-readable progress messages."""


class Router:
    """Base class of routers. Subclasses set ``name`` and implement :meth:`solve`."""

    name: str = ""
    description: str = ""

    def can_solve(self, problem: RoutingProblem) -> str | None:
        """None when this router models everything in ``problem``, else what it cannot."""
        return None

    def solve(
        self, problem: RoutingProblem, time_limit: float, progress: Progress | None = None
    ) -> Plan:
        """Plan routes within ``time_limit`` seconds; never raise for a stop that cannot fit."""
        raise NotImplementedError
