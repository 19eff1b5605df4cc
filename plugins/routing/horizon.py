"""Planning a horizon of days, one day at a time, earliest day first.

Each day the solver sees that day's shifts and the open stops allowed on it. Stops whose
last allowed day it is are worth ``MUST_TODAY`` times their usual penalty, so they win
the room; the others join when they fit (earlier delivery) and otherwise roll over to
the next day. A stop still open after its last allowed day is left out with the reason
from its last screening, or "no room". One day is simply a horizon of length one.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date

from hub.routing import (
    MatrixProvider,
    Progress,
    Route,
    RoutingProblem,
    Shift,
    Stop,
    Unassigned,
    Vehicle,
)
from hub_plugins.routing.feasibility import screen
from hub_plugins.routing.model import DayModel, build_model, set_prizes
from hub_plugins.routing.plans import RawRoute, build_route
from hub_plugins.routing.running import Running, keep_pinned, pin

MUST_TODAY = 4
MIN_CANDIDATES = 300  # a day considers at least this many open stops (all that are due)...
CANDIDATE_FACTOR = 1.5  # ...or 1.5 times what the previous day served, if more

ModelSolver = Callable[[DayModel, float], list[RawRoute]]
"""Solve one integer model within a time budget (seconds); return the routes it found."""


def plan_days(
    problem: RoutingProblem,
    shifts: Sequence[tuple[Vehicle, Shift, date]],
    stops: Sequence[Stop],
    provider: MatrixProvider,
    solver: ModelSolver,
    deadline: float,
    progress: Progress | None = None,
    running: Mapping[tuple[str, date], Running] | None = None,
) -> tuple[list[Route], list[Unassigned]]:
    """Routes for every shift and a reason for every stop no route took.

    ``running``: routes being driven, by (vehicle id, day); their shifts must be among
    ``shifts`` (with the vehicle starting where it is) and their stops not in ``stops``.
    """
    running = running or {}
    by_day: dict[date, list[tuple[Vehicle, Shift, date]]] = defaultdict(list)
    for shift in shifts:
        by_day[shift[2]].append(shift)
    days = sorted(by_day)
    last_day = {s.id: _last_day(s, days) for s in stops}
    open_stops = {s.id: s for s in stops}
    refusals: dict[str, Unassigned] = {}
    routes: list[Route] = []
    served_last_day = 0
    for n, day in enumerate(days):
        limit = max(MIN_CANDIDATES, math.ceil(CANDIDATE_FACTOR * served_last_day))
        candidates = _candidates(list(open_stops.values()), day, last_day, limit)
        driven = [r for key, r in running.items() if key[1] == day]
        if not candidates and not driven:
            continue
        kept = [s for r in driven for s in r.stops]
        model = build_model(problem.origin, by_day[day], [*candidates, *kept], provider)
        pin(model, driven)
        for refusal in screen(model):
            refusals[refusal.stop_id] = refusal
        set_prizes(model, problem.drop_penalty)
        _favour_due(model, day, last_day, multi_day=len(days) > 1)
        budget = max(deadline - time.monotonic(), 0.0) / (len(days) - n)
        before = len(open_stops)
        for raw in keep_pinned(model, solver(model, budget)):
            if raw.stops:
                routes.append(build_route(model, raw, fixed=model.vehicles[raw.slot].running))
                for i in raw.stops:
                    sid = model.stops[i].stop.id
                    open_stops.pop(sid, None)
                    refusals.pop(sid, None)
        served_last_day = before - len(open_stops)
        if progress:
            progress(f"{day}: {sum(r.day == day for r in routes)} routes, {len(open_stops)} open")
    return routes, [refusals.get(sid) or _no_room(s, days) for sid, s in open_stops.items()]


def _last_day(stop: Stop, days: list[date]) -> date | None:
    allowed = [d for d in days if _allowed(stop, d)]
    return allowed[-1] if allowed else None


def _allowed(stop: Stop, day: date) -> bool:
    if stop.earliest_day is not None and day < stop.earliest_day:
        return False
    return stop.latest_day is None or day <= stop.latest_day


def _candidates(
    stops: list[Stop], day: date, last_day: dict[str, date | None], limit: int
) -> list[Stop]:
    """Open stops allowed today: every one that is due, then the soonest due up to ``limit``."""
    allowed = [s for s in stops if _allowed(s, day)]
    if len(allowed) <= limit:
        return allowed
    due = [s for s in allowed if last_day[s.id] == day]
    later = sorted(
        (s for s in allowed if last_day[s.id] != day),
        key=lambda s: (last_day[s.id] or day, -s.priority),
    )
    return due + later[: max(limit - len(due), 0)]


def _favour_due(
    model: DayModel, day: date, last_day: dict[str, date | None], multi_day: bool
) -> None:
    if not multi_day:
        return
    for stop in model.stops:
        if last_day.get(stop.stop.id) == day:  # pinned stops are not in it (mandatory)
            stop.prize *= MUST_TODAY


def _no_room(stop: Stop, days: list[date]) -> Unassigned:
    if not any(_allowed(stop, d) for d in days):
        return Unassigned(stop.id, "no vehicle works on any of its allowed days", "no_allowed_day")
    return Unassigned(
        stop.id,
        "no route had room for it on its allowed days (capacity, shift length or time "
        "windows were taken by stops that cost less to serve or have higher priority)",
        "no_room",
    )
