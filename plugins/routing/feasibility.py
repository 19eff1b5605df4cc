"""Which vehicle shifts could serve each stop on its own, and why not when none can.

A stop no shift can serve alone (wrong day, missing skill, too heavy, unreachable window)
is left out before solving, with the most telling reason; the others get their windows in
model seconds and the list of shifts they may join.
"""

from __future__ import annotations

from hub.routing import Stop, Unassigned
from hub_plugins.routing.model import DayModel, StopSlot, VehicleSlot


def screen(model: DayModel) -> list[Unassigned]:
    """Fill in windows and compatible shifts; drop (and explain) stops no shift can serve.
    Stops pinned to a running route are kept as :mod:`~hub_plugins.routing.running` set them."""
    kept: list[StopSlot] = []
    refused: list[Unassigned] = []
    for stop in model.stops:
        reason = None if stop.pinned is not None else _screen_stop(model, stop)
        if reason is None:
            kept.append(stop)
        else:
            refused.append(reason)
    model.stops = kept
    for n, slot in enumerate(model.vehicles):  # indices moved: the pinned stops' too
        if slot.running:
            slot.pinned = [i for i, s in enumerate(kept) if s.pinned == n]
    return refused


def _screen_stop(model: DayModel, stop: StopSlot) -> Unassigned | None:
    s = stop.stop
    on_day = [v for v in model.vehicles if _day_allowed(s, v)]
    if not on_day:
        return _refuse(s, "no_allowed_day", "no vehicle works on any of the stop's allowed days")
    skilled = [v for v in on_day if s.skills <= v.vehicle.skills]
    if not skilled:
        need = ", ".join(sorted(s.skills))
        return _refuse(
            s, "no_vehicle_with_skills", f"no vehicle offers the skills it needs ({need})"
        )
    heavy = [v for v in skilled if stop.demand[0] <= v.capacity[0]]
    if not heavy:
        return _refuse(s, "too_heavy", f"{s.weight:g} kg exceeds every suitable vehicle's capacity")
    roomy = [v for v in heavy if stop.demand[1] <= v.capacity[1]]
    if not roomy:
        return _refuse(s, "too_bulky", f"{s.volume:g} m³ exceeds every suitable vehicle's volume")
    windows = _windows(model, s, roomy)
    candidates = {id(v) for v in roomy}
    reachable = [
        i
        for i, v in enumerate(model.vehicles)
        if id(v) in candidates and _reachable(model, stop, v, windows)
    ]
    if not reachable:
        return _refuse(
            s, "window_unreachable", "no vehicle can reach it within its time windows and shift"
        )
    stop.windows = windows
    stop.vehicles = reachable
    return None


def _refuse(stop: Stop, code: str, reason: str) -> Unassigned:
    return Unassigned(stop.id, reason, code)


def _day_allowed(stop: Stop, slot: VehicleSlot) -> bool:
    if stop.earliest_day is not None and slot.day < stop.earliest_day:
        return False
    return stop.latest_day is None or slot.day <= stop.latest_day


def _windows(model: DayModel, stop: Stop, slots: list[VehicleSlot]) -> list[tuple[int, int]]:
    """The stop's windows in seconds, clipped to the shifts, sorted and merged."""
    early = min(v.early for v in slots)
    late = max(v.late for v in slots)
    if not stop.time_windows:
        return [(early, late)]
    raw = sorted(
        (max(model.seconds(w.start), early), min(model.seconds(w.end), late))
        for w in stop.time_windows
    )
    merged: list[tuple[int, int]] = []
    for a, b in raw:
        if a > b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _reachable(
    model: DayModel, stop: StopSlot, slot: VehicleSlot, windows: list[tuple[int, int]]
) -> bool:
    """Could this shift drive out, serve the stop in a window and be back in time?"""
    _, there = model.travel(slot, slot.start_loc, stop.loc)
    _, back = model.travel(slot, stop.loc, slot.end_loc)
    arrive = slot.early + there
    for a, b in windows:
        start = max(a, arrive)
        if start <= b and start + stop.service + back <= slot.late:
            return True
    return False
