"""An independent check of a :class:`Plan` against its :class:`RoutingProblem`.

Used by the tests and the horizon benchmark: every stop exactly once (routed or explained),
windows, allowed days, shifts, capacity, skills and breaks; dispatched stops on their
vehicle (in their order), a running route leaving no earlier than its start time and
counting its carried load. Times are compared with one
second of tolerance (routers work in whole seconds).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hub.routing import FixedRoute, Plan, Route, RoutingProblem, Stop, Vehicle

SLACK = timedelta(seconds=1)


def plan_violations(problem: RoutingProblem, plan: Plan) -> list[str]:
    """Every rule the plan breaks, as sentences; empty when it is valid."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    seen = Counter([sid for r in plan.routes for sid in r.stop_ids])
    seen.update(u.stop_id for u in plan.unassigned)
    problems = [f"stop {sid} appears {n} times" for sid, n in seen.items() if n > 1]
    problems += [f"stop {sid} is neither routed nor explained" for sid in stops if sid not in seen]
    problems += [f"unknown stop {sid}" for sid in seen if sid not in stops]
    shifts = Counter((r.vehicle_id, r.day) for r in plan.routes)
    problems += [f"{v} has {n} routes on {d}" for (v, d), n in shifts.items() if n > 1]
    problems += _fixed_routes(problem, plan)
    for route in plan.routes:
        vehicle = vehicles[route.vehicle_id]
        problems += [
            f"{route.vehicle_id} {route.day}: {p}" for p in _route(problem, route, vehicle, stops)
        ]
    return problems


def _route(
    problem: RoutingProblem, route: Route, vehicle: Vehicle, stops: dict[str, Stop]
) -> list[str]:
    problems = []
    shift = next(
        (s for s in vehicle.shifts if s.start.astimezone(problem.timezone).date() == route.day),
        None,
    )
    if shift is None:
        return ["no shift that day"]
    if route.departure < shift.start - SLACK or route.arrival > shift.end + SLACK:
        problems.append(f"runs {route.departure}-{route.arrival}, outside the shift")
    members = [stops[sid] for sid in route.stop_ids if sid in stops]
    fixed = _open_route(problem, route)
    carried = (fixed.carried_weight, fixed.carried_volume) if fixed else (0.0, 0.0)
    kept = [stops[sid] for sid in fixed.stop_ids] if fixed else []
    if (
        vehicle.max_weight is not None
        and sum(s.weight for s in members) + carried[0]
        > max(vehicle.max_weight, sum(s.weight for s in kept) + carried[0]) + 1e-6
    ):
        problems.append("overweight")
    if (
        vehicle.max_volume is not None
        and sum(s.volume for s in members) + carried[1]
        > max(vehicle.max_volume, sum(s.volume for s in kept) + carried[1]) + 1e-6
    ):
        problems.append("over volume")
    if fixed and fixed.start_at and route.departure < fixed.start_at - SLACK:
        problems.append(f"leaves at {route.departure}, before its start {fixed.start_at}")
    for visit, stop in zip(route.visits, members, strict=False):
        problems += [
            f"stop {stop.id}: {p}" for p in _visit(problem, route, vehicle, stop, visit.start)
        ]
    problems += _breaks(shift.breaks, route)
    return problems


def _open_route(problem: RoutingProblem, route: Route) -> FixedRoute | None:
    return next(
        (
            f
            for f in problem.fixed_routes
            if f.open_for_insertion and (f.vehicle_id, f.day) == (route.vehicle_id, route.day)
        ),
        None,
    )


def _fixed_routes(problem: RoutingProblem, plan: Plan) -> list[str]:
    """Every dispatched stop on its vehicle and day; an open route's in their order."""
    problems = []
    for fixed in problem.fixed_routes:
        route = next(
            (r for r in plan.routes if (r.vehicle_id, r.day) == (fixed.vehicle_id, fixed.day)),
            None,
        )
        served = [sid for sid in (route.stop_ids if route else ()) if sid in fixed.stop_ids]
        if served != list(fixed.stop_ids):
            problems.append(
                f"{fixed.vehicle_id} {fixed.day}: dispatched stops {list(fixed.stop_ids)} "
                f"served as {served}"
            )
        elif not fixed.open_for_insertion and route and route.stop_ids != fixed.stop_ids:
            problems.append(f"{fixed.vehicle_id} {fixed.day}: a closed route took other stops")
    return problems


def _visit(problem: RoutingProblem, route: Route, vehicle: Vehicle, stop: Stop, start) -> list[str]:  # noqa: ANN001
    problems = []
    if not stop.skills <= vehicle.skills:
        problems.append(f"needs {sorted(stop.skills)}")
    if stop.earliest_day and route.day < stop.earliest_day:
        problems.append("served before its earliest day")
    if stop.latest_day and route.day > stop.latest_day:
        problems.append("served after its latest day")
    windows = stop.time_windows
    if windows and not any(w.start - SLACK <= start <= w.end + SLACK for w in windows):
        problems.append(f"service starts {start} outside its windows")
    return problems


def _breaks(breaks: tuple, route: Route) -> list[str]:  # noqa: ANN001
    if len(route.breaks) != len(breaks) or not route.visits:
        return [] if not route.visits or not breaks else ["breaks missing"]
    return [
        f"break at {taken.start} outside {rule.earliest}-{rule.latest}"
        for taken, rule in zip(route.breaks, breaks, strict=True)
        if not rule.earliest - SLACK <= taken.start <= rule.latest + SLACK
    ]
