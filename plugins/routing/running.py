"""Dispatched routes being driven (:class:`hub.routing.FixedRoute` open for insertion).

Such a route keeps its remaining stops on its vehicle in their dispatched order; other
stops may be inserted before, between or after them. In the integer model (
:func:`pin`) its shift slot starts at the vehicle's position (the fixed route's ``start``)
at ``start_at``, its capacity is what the carried load leaves, and its remaining stops
are pinned: mandatory, on that slot only, in order. Each pinned stop keeps its windows
when the route as dispatched still reaches it in one; otherwise its window becomes "the
moment the route as dispatched gets there", so nothing inserted can make it later still
and the route as dispatched is always a solution. :func:`keep_pinned` falls back to that
route should a solver come back without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from hub.errors import InvalidInput
from hub.routing import FixedRoute, RoutingProblem, Shift, Stop, Vehicle
from hub_plugins.routing.model import CM3_PER_M3, GRAMS_PER_KG, DayModel, VehicleSlot
from hub_plugins.routing.plans import RawRoute


@dataclass(frozen=True)
class Running:
    """An open fixed route: the vehicle as it starts now, its shift, its stops in order."""

    fixed: FixedRoute
    vehicle: Vehicle
    shift: Shift
    stops: tuple[Stop, ...]

    @property
    def key(self) -> tuple[str, date]:
        """(vehicle id, day): the shift the route takes."""
        return self.vehicle.id, self.fixed.day


def running_routes(
    problem: RoutingProblem, shift_of: dict[tuple[str, date], Shift]
) -> dict[tuple[str, date], Running]:
    """The problem's open fixed routes by (vehicle, day). ``shift_of`` maps each vehicle's
    (id, day) to its shift. InvalidInput naming the route for an unknown vehicle, a day
    without a shift, or a stop not in the problem."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    found: dict[tuple[str, date], Running] = {}
    for fixed in problem.fixed_routes:
        if not fixed.open_for_insertion:
            continue
        name = f"fixed route of {fixed.vehicle_id!r} on {fixed.day}"
        vehicle = vehicles.get(fixed.vehicle_id)
        if vehicle is None:
            raise InvalidInput(
                f"{name} names a vehicle that is not in the problem", field="fixed_routes"
            )
        shift = shift_of.get((vehicle.id, fixed.day))
        if shift is None:
            raise InvalidInput(f"{name}: the vehicle has no shift that day", field="fixed_routes")
        missing = [sid for sid in fixed.stop_ids if sid not in stops]
        if missing:
            raise InvalidInput(
                f"{name} names stop {missing[0]!r}, which is not in the problem; include "
                "every dispatched stop",
                field="fixed_routes",
            )
        moved = replace(vehicle, start=fixed.start or vehicle.start, end=vehicle.end_location)
        found[(vehicle.id, fixed.day)] = Running(
            fixed, moved, shift, tuple(stops[sid] for sid in fixed.stop_ids)
        )
    return found


def pin(model: DayModel, running: Iterable[Running]) -> None:
    """Turn the slots of ``running`` routes into running slots and pin their stops
    (see the module's docstring). Call after :func:`build_model`, before screening."""
    index = {s.stop.id: n for n, s in enumerate(model.stops)}
    slots = {(v.vehicle.id, v.day): n for n, v in enumerate(model.vehicles)}
    for route in running:
        slot_index = slots[route.key]
        slot = model.vehicles[slot_index]
        slot.running = True
        if route.fixed.start_at is not None:
            slot.early = max(slot.early, model.seconds(route.fixed.start_at))
        slot.breaks = [
            (max(early, slot.early), late, length)
            for early, late, length in slot.breaks
            if late >= slot.early
        ]
        slot.pinned = [index[s.id] for s in route.stops]
        _room(slot, route.fixed, [model.stops[i].demand for i in slot.pinned])
        _pin_windows(model, slot_index)


def _room(slot: VehicleSlot, fixed: FixedRoute, demands: Sequence[tuple[int, int]]) -> None:
    """Capacity less the carried load, but never less than the kept stops need."""
    carried = (
        round(fixed.carried_weight * GRAMS_PER_KG),
        round(fixed.carried_volume * CM3_PER_M3),
    )
    slot.capacity = tuple(  # type: ignore[assignment]
        max(slot.capacity[d] - carried[d], sum(x[d] for x in demands)) for d in (0, 1)
    )


def _pin_windows(model: DayModel, slot_index: int) -> None:
    """Windows of the pinned stops that the route as dispatched keeps (see module doc)."""
    slot = model.vehicles[slot_index]
    slack = sum(length for _, _, length in slot.breaks)
    t, here = slot.early, slot.start_loc
    for i in slot.pinned:
        stop = model.stops[i]
        own = sorted((model.seconds(w.start), model.seconds(w.end)) for w in stop.stop.time_windows)
        arrive = t + model.travel(slot, here, stop.loc)[1]
        opening = next(((a, b) for a, b in own if arrive <= b), None)
        if not own:
            start, windows = arrive, [(slot.early, None)]
        elif opening is None:  # too late for every window: as soon as it gets there
            start, windows = arrive, [(arrive, arrive + slack)]
        else:
            start = max(arrive, opening[0])
            windows = [(a, b + slack if (a, b) == opening else b) for a, b in own if b >= arrive]
        stop.windows = windows  # type: ignore[assignment]  # ends filled in below
        stop.vehicles = [slot_index]
        stop.pinned = slot_index
        t, here = start + stop.service, stop.loc
    back = t + model.travel(slot, here, slot.end_loc)[1] + slack
    slot.late = max(slot.late, back, slot.early)
    for i in slot.pinned:
        stop = model.stops[i]
        stop.windows = [
            (a, slot.late if b is None else min(b, slot.late))
            for a, b in stop.windows
            if a <= slot.late
        ]


def keep_pinned(model: DayModel, raws: list[RawRoute]) -> list[RawRoute]:
    """``raws`` with every running slot serving its pinned stops in order; a slot whose
    route does not (a solver that gave up) gets the route as dispatched, without the
    stops inserted into it."""
    by_slot = {raw.slot: raw for raw in raws}
    for n, slot in enumerate(model.vehicles):
        if not slot.running:
            continue
        raw = by_slot.get(n)
        kept = [i for i in raw.stops if i in slot.pinned] if raw else []
        if kept != slot.pinned:
            by_slot[n] = RawRoute(n, list(slot.pinned))
    return [by_slot[n] for n in sorted(by_slot)]
