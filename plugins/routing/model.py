"""The integer model routers solve: one set of vehicle shifts and the stops that may join them.

Times are whole seconds after the problem's origin, distances whole metres, weights grams,
volumes cubic centimetres and costs integers in a per-model unit (``cost_scale`` units per
currency unit), because both solvers work in integers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from hub.routing import Location, MatrixProvider, Shift, Stop, Vehicle

UNLIMITED = 2**40  # capacity standing in for "no limit"; far above any real load
GRAMS_PER_KG = 1000
CM3_PER_M3 = 1_000_000


@dataclass
class VehicleSlot:
    """One vehicle on one shift: what becomes a route."""

    vehicle: Vehicle
    shift: Shift
    day: date
    start_loc: int
    end_loc: int
    early: int
    late: int
    capacity: tuple[int, int]
    breaks: list[tuple[int, int, int]]  # earliest start, latest start, duration
    matrix_key: tuple[Any, ...]
    unit_distance: int = 0
    unit_duration: int = 0
    fixed: int = 0
    running: bool = False  # a dispatched route being driven: leaves ``start_loc`` at ``early``
    pinned: list[int] = field(default_factory=list)  # stops it must serve in this order


@dataclass
class StopSlot:
    """One stop as the solvers see it."""

    stop: Stop
    loc: int
    windows: list[tuple[int, int]]
    service: int
    demand: tuple[int, int]
    prize: int = 0
    vehicles: list[int] = field(default_factory=list)  # compatible vehicle slots
    pinned: int | None = None  # the running slot that must serve it (never left out)


@dataclass
class DayModel:
    """Vehicle slots, stops, travel matrices (one per matrix key) and the cost unit."""

    origin: datetime
    locations: list[Location]
    vehicles: list[VehicleSlot]
    stops: list[StopSlot]
    distances: dict[tuple[Any, ...], np.ndarray]
    durations: dict[tuple[Any, ...], np.ndarray]
    cost_scale: float = 1.0

    def seconds(self, moment: datetime) -> int:
        """``moment`` as whole seconds after the origin."""
        return int((moment - self.origin).total_seconds())

    def travel(self, slot: VehicleSlot, frm: int, to: int) -> tuple[int, int]:
        """Distance and duration between two locations for ``slot``'s vehicle."""
        key = slot.matrix_key
        return int(self.distances[key][frm, to]), int(self.durations[key][frm, to])


def matrix_key(vehicle: Vehicle) -> tuple[Any, ...]:
    """Vehicles sharing this key share one travel matrix."""
    return (vehicle.profile, vehicle.speed_kmh)


def capacity_of(vehicle: Vehicle) -> tuple[int, int]:
    """Weight (g) and volume (cm³) limits; unlimited becomes a very large number."""
    weight = UNLIMITED if vehicle.max_weight is None else round(vehicle.max_weight * GRAMS_PER_KG)
    volume = UNLIMITED if vehicle.max_volume is None else round(vehicle.max_volume * CM3_PER_M3)
    return weight, volume


def demand_of(stop: Stop) -> tuple[int, int]:
    """Weight (g) and volume (cm³) to drop at ``stop``."""
    return round(stop.weight * GRAMS_PER_KG), round(stop.volume * CM3_PER_M3)


class _Locations:
    """Numbers depots once each; every stop gets its own number (skills ban per stop)."""

    def __init__(self) -> None:
        self.items: list[Location] = []
        self.index: dict[Location, int] = {}

    def add(self, location: Location, shared: bool = True) -> int:
        """The number of ``location``; ``shared=False`` always gives a fresh number."""
        if not shared:
            self.items.append(location)
            return len(self.items) - 1
        if location not in self.index:
            self.index[location] = len(self.items)
            self.items.append(location)
        return self.index[location]


def build_model(
    origin: datetime,
    shifts: Sequence[tuple[Vehicle, Shift, date]],
    stops: Sequence[Stop],
    provider: MatrixProvider,
) -> DayModel:
    """Number locations, ask the provider for matrices and convert everything to integers.

    Stop windows are left empty here; :mod:`hub_plugins.routing.feasibility` fills them in,
    then :func:`set_prizes` prices leaving each stop out.
    """
    locs = _Locations()
    slots = [_vehicle_slot(origin, v, s, d, locs) for v, s, d in shifts]
    stop_slots = [
        StopSlot(
            s,
            locs.add(s.location, shared=False),
            [],
            round(s.service_time.total_seconds()),
            demand_of(s),
        )
        for s in stops
    ]
    model = DayModel(origin, locs.items, slots, stop_slots, {}, {})
    _fill_matrices(model, provider)
    _set_costs(model)
    return model


def _vehicle_slot(
    origin: datetime, vehicle: Vehicle, shift: Shift, day: date, locs: _Locations
) -> VehicleSlot:
    def secs(t: datetime) -> int:
        return int((t - origin).total_seconds())

    breaks = [
        (secs(b.earliest), secs(b.latest), int(b.duration.total_seconds())) for b in shift.breaks
    ]
    return VehicleSlot(
        vehicle=vehicle,
        shift=shift,
        day=day,
        start_loc=locs.add(vehicle.start),
        end_loc=locs.add(vehicle.end_location),
        early=secs(shift.start),
        late=secs(shift.end),
        capacity=capacity_of(vehicle),
        breaks=breaks,
        matrix_key=matrix_key(vehicle),
    )


def _fill_matrices(model: DayModel, provider: MatrixProvider) -> None:
    for slot in model.vehicles:
        key = slot.matrix_key
        if key in model.distances:
            continue
        dist, dur = provider.matrix(model.locations, slot.vehicle)
        model.distances[key] = np.rint(np.asarray(dist, dtype=float)).astype(np.int64)
        model.durations[key] = np.rint(np.asarray(dur, dtype=float)).astype(np.int64)


def _set_costs(model: DayModel) -> None:
    """Choose an integer cost unit so the cheapest rates stay exact and numbers stay small."""
    per_metre = [v.vehicle.cost_per_km / 1000 for v in model.vehicles]
    per_second = [v.vehicle.cost_per_hour / 3600 for v in model.vehicles]
    largest = max([*per_metre, *per_second, 0.0])
    scale = 1000 / largest if largest > 0 else 1.0
    units = [
        (round(m * scale), round(s * scale), round(v.vehicle.fixed_cost * scale))
        for m, s, v in zip(per_metre, per_second, model.vehicles, strict=True)
    ]
    divisor = math.gcd(*(u for triple in units for u in triple)) or 1
    for slot, (dist, dur, fixed) in zip(model.vehicles, units, strict=True):
        slot.unit_distance = dist // divisor
        slot.unit_duration = dur // divisor
        slot.fixed = fixed // divisor
    model.cost_scale = scale / divisor


def set_prizes(model: DayModel, drop_penalty: float | None) -> None:
    """The cost of leaving each stop out, times (1 + priority).

    With ``drop_penalty`` None the base is twice the dearest "serve it on a route of its
    own" among all stops, so serving any stop is worth more than any detour and priority
    levels compare strictly, yet the numbers stay in the range of route costs (solvers
    balance penalties against costs and behave badly when prizes dwarf them).
    """
    if drop_penalty is not None:
        base = round(drop_penalty * model.cost_scale)
    else:
        base = 2 * max((_alone(model, s, v) for s in model.stops for v in s.vehicles), default=0)
    for stop in model.stops:
        stop.prize = max(base, 1000) * (1 + max(stop.stop.priority, 0))


def _alone(model: DayModel, stop: StopSlot, slot_index: int) -> int:
    slot = model.vehicles[slot_index]
    out_d, out_t = model.travel(slot, slot.start_loc, stop.loc)
    back_d, back_t = model.travel(slot, stop.loc, slot.end_loc)
    return (
        slot.unit_distance * (out_d + back_d)
        + slot.unit_duration * (out_t + stop.service + back_t)
        + slot.fixed
    )
