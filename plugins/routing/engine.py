"""What every built-in router shares: fixed routes, the day-by-day horizon, the final Plan.

A router only supplies a :data:`ModelSolver` (an integer model and a time budget in, stop
sequences out); :func:`solve_problem` does the rest.
"""

from __future__ import annotations

import time
from datetime import date

from hub.errors import InvalidInput
from hub.routing import (
    FixedRoute,
    MatrixProvider,
    Plan,
    Progress,
    Route,
    RoutingProblem,
    Shift,
    Stop,
    Vehicle,
)
from hub_plugins.routing.horizon import ModelSolver, plan_days
from hub_plugins.routing.matrix import HaversineMatrix
from hub_plugins.routing.model import DayModel, build_model
from hub_plugins.routing.plans import RawRoute, build_route
from hub_plugins.routing.running import running_routes

__all__ = ["ModelSolver", "day_of", "solve_problem"]


def solve_problem(
    problem: RoutingProblem,
    time_limit: float,
    solver: ModelSolver,
    router: str,
    progress: Progress | None = None,
    note: str = "",
) -> Plan:
    """Keep closed fixed routes, plan the remaining stops on the remaining shifts (routes
    being driven keep their stops in order and may take more), explain the rest."""
    began = time.monotonic()
    provider = problem.matrix or HaversineMatrix()
    fixed_routes, taken_stops, taken_shifts = _fixed(problem, provider)
    running = running_routes(
        problem, {(v.id, day_of(problem, s)): s for v in problem.vehicles for s in v.shifts}
    )
    taken_stops.update(s.id for r in running.values() for s in r.stops)
    shifts = [
        (running[(v.id, d)].vehicle if (v.id, d) in running else v, s, d)
        for v in problem.vehicles
        for s in v.shifts
        if (v.id, d := day_of(problem, s)) not in taken_shifts
    ]
    open_stops = [s for s in problem.stops if s.id not in taken_stops]
    deadline = began + time_limit
    routes, unassigned = plan_days(
        problem, shifts, open_stops, provider, solver, deadline, progress, running
    )
    stats = {"seconds": round(time.monotonic() - began, 3), "days": len({d for *_, d in shifts})}
    return Plan(
        routes=tuple(fixed_routes) + tuple(routes),
        unassigned=tuple(sorted(unassigned, key=lambda u: u.stop_id)),
        router=router,
        note=note,
        stats=stats,
    )


def _fixed(
    problem: RoutingProblem, provider: MatrixProvider
) -> tuple[list[Route], set[str], set[tuple[str, date]]]:
    """Evaluate dispatched routes as they are; they keep their vehicle, day and stops."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    routes: list[Route] = []
    taken_stops: set[str] = set()
    taken_shifts: set[tuple[str, date]] = set()
    for fixed in problem.fixed_routes:
        if fixed.open_for_insertion:
            continue  # planned with the open stops: hub_plugins.routing.running
        vehicle, shift = _shift_of(fixed, vehicles, problem)
        members = [_known_stop(stops, sid, fixed) for sid in fixed.stop_ids]
        model = build_model(problem.origin, [(vehicle, shift, fixed.day)], members, provider)
        shift_window = (model.vehicles[0].early, model.vehicles[0].late)
        for stop in model.stops:
            stop.windows = _own_windows(model, stop.stop) or [shift_window]
        raw = RawRoute(slot=0, stops=list(range(len(members))))
        routes.append(build_route(model, raw, fixed=True))
        taken_stops.update(fixed.stop_ids)
        taken_shifts.add((vehicle.id, fixed.day))
    return routes, taken_stops, taken_shifts


def day_of(problem: RoutingProblem, shift: Shift) -> date:
    """The calendar day a shift belongs to (the day it starts, in the problem's zone)."""
    return shift.start.astimezone(problem.timezone).date()


def _own_windows(model: DayModel, stop: Stop) -> list[tuple[int, int]]:
    return sorted((model.seconds(w.start), model.seconds(w.end)) for w in stop.time_windows)


def _shift_of(
    fixed: FixedRoute, vehicles: dict[str, Vehicle], problem: RoutingProblem
) -> tuple[Vehicle, Shift]:
    vehicle = vehicles.get(fixed.vehicle_id)
    if vehicle is None:
        raise InvalidInput(
            f"fixed route names vehicle {fixed.vehicle_id!r}, which is not in the problem",
            field="fixed_routes",
        )
    for shift in vehicle.shifts:
        if day_of(problem, shift) == fixed.day:
            return vehicle, shift
    raise InvalidInput(
        f"fixed route of {vehicle.id!r} on {fixed.day} has no shift that day; add the shift",
        field="fixed_routes",
    )


def _known_stop(stops: dict[str, Stop], stop_id: str, fixed: FixedRoute) -> Stop:
    if stop_id not in stops:
        raise InvalidInput(
            f"fixed route of {fixed.vehicle_id!r} on {fixed.day} names stop {stop_id!r}, "
            "which is not in the problem; include every dispatched stop",
            field="fixed_routes",
        )
    return stops[stop_id]
