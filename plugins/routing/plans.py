"""Turn a solver's stop sequences into :class:`hub.routing.Route` s with times, loads and costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hub.routing import Route, ScheduledBreak, Visit
from hub_plugins.routing.model import CM3_PER_M3, GRAMS_PER_KG, DayModel, StopSlot


@dataclass
class RawRoute:
    """A solver's answer for one vehicle shift.

    ``stops`` index ``DayModel.stops``; ``starts`` are service start times (seconds) when the
    solver computed them (else the earliest feasible schedule is used); ``breaks`` are break
    start times in the order of the shift's breaks.
    """

    slot: int
    stops: list[int]
    starts: list[int] | None = None
    breaks: list[int] = field(default_factory=list)


@dataclass
class _Timeline:
    departure: int
    arrivals: list[int]
    starts: list[int]
    back: int
    breaks: list[int]


def earliest_starts(model: DayModel, raw: RawRoute) -> list[int]:
    """Service start times when leaving at shift start and serving each stop as early as
    its windows allow (the first window not yet closed on arrival)."""
    slot = model.vehicles[raw.slot]
    t, here, starts = slot.early, slot.start_loc, []
    for index in raw.stops:
        stop = model.stops[index]
        arrive = t + model.travel(slot, here, stop.loc)[1]
        start = _first_open(stop, arrive)
        starts.append(start)
        t, here = start + stop.service, stop.loc
    return starts


def _first_open(stop: StopSlot, arrive: int) -> int:
    for a, b in stop.windows:
        if arrive <= b:
            return max(a, arrive)
    return arrive  # late everywhere: a checker will report it


def _timeline(model: DayModel, raw: RawRoute) -> _Timeline:
    slot = model.vehicles[raw.slot]
    starts = raw.starts if raw.starts is not None else earliest_starts(model, raw)
    locs = [model.stops[i].loc for i in raw.stops]
    first_leg = model.travel(slot, slot.start_loc, locs[0])[1] if locs else 0
    departure = max(slot.early, starts[0] - first_leg) if starts else slot.early
    if slot.running:  # already on the road: it leaves where it is now, waiting if early
        departure = slot.early
    arrivals, t, here = [], departure, slot.start_loc
    for index, loc, start in zip(raw.stops, locs, starts, strict=True):
        arrive = t + model.travel(slot, here, loc)[1] + _breaks_between(raw, slot.breaks, t, start)
        arrivals.append(min(arrive, start))
        t, here = start + model.stops[index].service, loc
    back = t + model.travel(slot, here, slot.end_loc)[1]
    back += _breaks_between(raw, slot.breaks, t, back + 1)
    return _Timeline(departure, arrivals, list(starts), back, list(raw.breaks))


def _breaks_between(
    raw: RawRoute, breaks: list[tuple[int, int, int]], after: int, before: int
) -> int:
    return sum(
        length
        for begin, (_, _, length) in zip(raw.breaks, breaks, strict=False)
        if after <= begin < before
    )


def build_route(model: DayModel, raw: RawRoute, fixed: bool = False) -> Route:
    """The public route for ``raw``: visits with times and loads, distance, cost."""
    slot = model.vehicles[raw.slot]
    line = _timeline(model, raw)
    at = _clock(model.origin)
    weight = sum(model.stops[i].demand[0] for i in raw.stops)
    volume = sum(model.stops[i].demand[1] for i in raw.stops)
    visits, left_w, left_v = [], weight, volume
    for index, arrive, start in zip(raw.stops, line.arrivals, line.starts, strict=True):
        stop = model.stops[index]
        left_w, left_v = left_w - stop.demand[0], left_v - stop.demand[1]
        visits.append(
            Visit(
                stop.stop.id,
                at(arrive),
                at(start),
                at(start + stop.service),
                left_w / GRAMS_PER_KG,
                left_v / CM3_PER_M3,
            )
        )
    distance = route_distance(model, raw)
    hours = (line.back - line.departure) / 3600
    vehicle = slot.vehicle
    cost = distance / 1000 * vehicle.cost_per_km + hours * vehicle.cost_per_hour
    breaks = tuple(
        ScheduledBreak(at(b), at(b + length))
        for b, (_, _, length) in zip(line.breaks, slot.breaks, strict=False)
    )
    return Route(
        vehicle_id=vehicle.id,
        day=slot.day,
        visits=tuple(visits),
        departure=at(line.departure),
        arrival=at(line.back),
        distance=float(distance),
        weight=weight / GRAMS_PER_KG,
        volume=volume / CM3_PER_M3,
        cost=cost + (vehicle.fixed_cost if raw.stops else 0.0),
        breaks=breaks,
        fixed=fixed,
    )


def route_distance(model: DayModel, raw: RawRoute) -> int:
    """Metres driven from the start depot through the stops to the end depot."""
    slot = model.vehicles[raw.slot]
    path = [slot.start_loc, *(model.stops[i].loc for i in raw.stops), slot.end_loc]
    return sum(model.travel(slot, a, b)[0] for a, b in zip(path, path[1:], strict=False))


def _clock(origin: datetime):  # noqa: ANN202 - a tiny closure
    def at(seconds: int) -> datetime:
        return origin + timedelta(seconds=seconds)

    return at


def make_feasible(model: DayModel, raw: RawRoute) -> RawRoute:
    """Drop stops from a route a solver returned infeasible until it keeps every rule.

    Overloaded: drop the heaviest first. Late: drop the first stop served late (or, when
    only the return is late, the last stop). The dropped stops stay unplanned and are
    explained like any other stop no route took.
    """
    slot = model.vehicles[raw.slot]
    stops = [i for i in raw.stops if raw.slot in model.stops[i].vehicles]
    for dim in (0, 1):
        while sum(model.stops[i].demand[dim] for i in stops) > slot.capacity[dim]:
            stops.remove(max(stops, key=lambda i: model.stops[i].demand[dim]))
    while stops:
        late = _first_late(model, RawRoute(raw.slot, stops))
        if late is None:
            break
        stops.pop(late)
    return RawRoute(raw.slot, stops)


def _first_late(model: DayModel, raw: RawRoute) -> int | None:
    """Position of the first stop served after its windows, len-1 if only the return is late."""
    slot = model.vehicles[raw.slot]
    starts = earliest_starts(model, raw)
    for position, (index, start) in enumerate(zip(raw.stops, starts, strict=True)):
        if not any(a <= start <= b for a, b in model.stops[index].windows):
            return position
    last = model.stops[raw.stops[-1]]
    back = starts[-1] + last.service + model.travel(slot, last.loc, slot.end_loc)[1]
    return len(raw.stops) - 1 if back > slot.late else None
