"""Solomon-format VRPTW instances: parser, problem builder, DIMACS distances, checker.

DIMACS 2021 convention: the distance between two customers is their Euclidean distance
truncated to one decimal, travel time equals distance, the objective is total distance
and the number of vehicles is free up to the file's limit. Internally every number is
multiplied by 10 (one tenth becomes one metre, one time unit ten seconds) so the
solvers work in exact integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.errors import InvalidInput
from hub.routing import Location, Plan, RoutingProblem, Shift, Stop, TimeWindow, Vehicle
from hub_plugins.routing.matrix import EuclideanMatrix

SCALE = 10
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Customer:
    """One row of the CUSTOMER table (number 0 is the depot)."""

    number: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True)
class Instance:
    """A Solomon instance: name, fleet size and capacity, depot and customers."""

    name: str
    vehicles: int
    capacity: int
    depot: Customer
    customers: tuple[Customer, ...]


def parse(path: Path) -> Instance:
    """Read a Solomon text file; the error names the file and line when it is malformed."""
    lines = [line.split() for line in path.read_text().splitlines()]
    rows = [r for r in lines if r]
    try:
        fleet = next(i for i, r in enumerate(rows) if r[0].upper() == "VEHICLE")
        vehicles, capacity = (int(v) for v in rows[fleet + 2][:2])
        table = [r for r in rows[fleet + 3 :] if r[0].lstrip("-").isdigit()]
        customers = [_customer(r) for r in table]
    except (StopIteration, ValueError, IndexError, TypeError) as error:
        raise InvalidInput(f"{path}: not a Solomon VRPTW file ({error})", field="solomon") from None
    if not customers or customers[0].number != 0:
        raise InvalidInput(f"{path}: the first customer row must be the depot (0)", field="solomon")
    return Instance(rows[0][0], vehicles, capacity, customers[0], tuple(customers[1:]))


def _customer(row: list[str]) -> Customer:
    demand, ready, due, service = (round(float(v)) for v in row[3:7])
    return Customer(int(row[0]), float(row[1]), float(row[2]), demand, ready, due, service)


def dimacs_distance(a: Customer, b: Customer) -> float:
    """Euclidean distance truncated to one decimal."""
    return math.floor(math.hypot(a.x - b.x, a.y - b.y) * 10) / 10


def to_problem(instance: Instance) -> RoutingProblem:
    """The instance as a :class:`RoutingProblem`: stop ids are customer numbers."""

    def at(units: int) -> datetime:
        return ORIGIN + timedelta(seconds=units * SCALE)

    depot = instance.depot
    shift = Shift(at(depot.ready), at(depot.due))
    vehicles = tuple(
        Vehicle(
            id=f"v{n + 1}",
            start=Location(depot.x, depot.y),
            shifts=(shift,),
            max_weight=instance.capacity,
            cost_per_km=1.0,
        )
        for n in range(instance.vehicles)
    )
    stops = tuple(
        Stop(
            id=str(c.number),
            location=Location(c.x, c.y),
            time_windows=(TimeWindow(at(c.ready), at(c.due)),),
            service_time=timedelta(seconds=c.service * SCALE),
            weight=c.demand,
        )
        for c in instance.customers
    )
    return RoutingProblem(stops, vehicles, matrix=EuclideanMatrix(1, SCALE), start=ORIGIN)


def routes_of(plan: Plan) -> list[list[int]]:
    """Customer numbers in visiting order, one list per non-empty route."""
    return [[int(sid) for sid in r.stop_ids] for r in plan.routes if r.visits]


def check(instance: Instance, routes: list[list[int]]) -> tuple[float, list[str]]:
    """Recompute the DIMACS distance of ``routes`` and list every rule they break."""
    by_number = {c.number: c for c in instance.customers}
    problems: list[str] = []
    seen = [n for route in routes for n in route]
    missing = set(by_number) - set(seen)
    if missing:
        problems.append(f"customers never visited: {sorted(missing)[:10]}")
    if len(seen) != len(set(seen)):
        problems.append("some customers are visited more than once")
    if len(routes) > instance.vehicles:
        problems.append(f"{len(routes)} routes for {instance.vehicles} vehicles")
    unknown = set(seen) - set(by_number)
    if unknown:
        return math.inf, [*problems, f"unknown customers {sorted(unknown)[:10]}"]
    total = 0.0
    for n, route in enumerate(routes):
        distance, broken = _check_route(instance, [by_number[c] for c in route])
        total += distance
        problems.extend(f"route {n + 1}: {p}" for p in broken)
    return round(total, 1), problems


def _check_route(instance: Instance, route: list[Customer]) -> tuple[float, list[str]]:
    problems = []
    load = sum(c.demand for c in route)
    if load > instance.capacity:
        problems.append(f"load {load} exceeds capacity {instance.capacity}")
    here, t, distance = instance.depot, float(instance.depot.ready), 0.0
    for c in route:
        leg = dimacs_distance(here, c)
        distance += leg
        t = max(t + leg, c.ready)
        if t > c.due + 1e-6:
            problems.append(f"customer {c.number} served at {t:.1f} after its due time {c.due}")
        t += c.service
        here = c
    leg = dimacs_distance(here, instance.depot)
    distance += leg
    if t + leg > instance.depot.due + 1e-6:
        problems.append(f"back at the depot at {t + leg:.1f} after {instance.depot.due}")
    return distance, problems
