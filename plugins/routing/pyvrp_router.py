"""The ``pyvrp`` router: PyVRP's iterated local search (the default for what it can model).

Capacity in two dimensions, shifts, start/end depots, per-vehicle speeds and costs map
directly; several windows per stop become a mutually exclusive client group (one client
per window); skills become per-vehicle-type travel profiles in which the stops a vehicle
may not serve are out of reach. Driver breaks have no PyVRP equivalent, nor has keeping
a running route's stops in order (one stop left is fine).
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from hub.errors import InvalidInput
from hub.routing import Plan, Progress, Router, RoutingProblem
from hub_plugins.routing.engine import solve_problem
from hub_plugins.routing.model import UNLIMITED, DayModel, VehicleSlot
from hub_plugins.routing.plans import RawRoute, make_feasible

if TYPE_CHECKING:  # pyvrp itself is imported where a plan is made, not with the plugin
    import pyvrp
    from pyvrp import PenaltyParams

OUT_OF_REACH = 10**9  # seconds and metres: a leg no shift can absorb
PROBE_SHARE = 0.15  # of the time limit spent finding out whether every stop fits


class PyVRPRouter(Router):
    """Hybrid/iterated local search from PyVRP; fast and close to best-known on VRPTW."""

    name = "pyvrp"
    description = "PyVRP iterated local search: capacity, windows, shifts, skills, costs"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def can_solve(self, problem: RoutingProblem) -> str | None:
        """PyVRP models everything here except driver breaks and routes being driven
        with two or more stops left (it cannot keep them in their order while inserting
        others; a route being driven with one stop left is a vehicle type of its own
        starting where the vehicle is, and its stop a required client only it serves)."""
        if any(s.breaks for v in problem.vehicles for s in v.shifts):
            return "driver breaks"
        if any(f.open_for_insertion and len(f.stop_ids) > 1 for f in problem.fixed_routes):
            return "dispatched routes open for insertion (stops kept in their order)"
        return None

    def solve(
        self, problem: RoutingProblem, time_limit: float, progress: Progress | None = None
    ) -> Plan:
        """Plan ``problem`` within ``time_limit`` seconds."""
        missing = self.can_solve(problem)
        if missing:
            raise InvalidInput(
                f"the pyvrp router cannot model {missing}; use the ortools or auto router",
                field="router",
            )
        return solve_problem(problem, time_limit, self.solve_model, self.name, progress)

    def solve_model(self, model: DayModel, time_limit: float) -> list[RawRoute]:
        """Solve one integer model; stops not in any returned route were left out.

        Every stop starts optional (with its prize) for a short probe. When the probe
        serves them all, the rest of the time goes to the same problem with every stop
        required, seeded with the probe's solution: PyVRP searches about twice as fast
        without optional stops. Otherwise the optional search simply continues.
        """
        if not model.stops or not model.vehicles:
            return []
        began = time.monotonic()
        data, types, owners = _problem_data(model, required=False)
        best = self._search(model, data, time_limit * PROBE_SHARE, None)
        left = time_limit - (time.monotonic() - began)
        if left > 0.05:
            if _serves_all(best, owners, len(model.stops)):
                strict, _, _ = _problem_data(model, required=True)
                best = self._search(model, strict, left, _transfer(best, strict))
            else:
                best = self._search(model, data, left, best)
        return _routes(model, best, types, owners)

    def _search(
        self,
        model: DayModel,
        data: pyvrp.ProblemData,
        seconds: float,
        start: pyvrp.Solution | None,
    ) -> pyvrp.Solution:
        import pyvrp
        from pyvrp import SolveParams
        from pyvrp.stop import MaxRuntime

        params = SolveParams(penalty=_penalties(model))
        result = pyvrp.solve(
            data,
            MaxRuntime(max(seconds, 0.05)),
            seed=self.seed,
            collect_stats=False,
            display=False,
            params=params,
            initial_solution=start,
        )
        return result.best


def _serves_all(solution: pyvrp.Solution, owners: list[int], stops: int) -> bool:
    if not solution.is_feasible():
        return False
    served = {owners[a.idx] for r in solution.routes() for a in r.schedule() if a.is_client()}
    return len(served) == stops


def _transfer(solution: pyvrp.Solution, data: pyvrp.ProblemData) -> pyvrp.Solution:
    """The same routes as a solution of ``data`` (same clients, other flags)."""
    import pyvrp

    routes = [
        pyvrp.Route(data, [a.idx for a in r.schedule() if a.is_client()], r.vehicle_type())
        for r in solution.routes()
    ]
    return pyvrp.Solution(data, routes)


def _penalties(model: DayModel) -> PenaltyParams:
    """PyVRP's penalty bounds are per unit of cost; ours may be up to 1000 per second."""
    from pyvrp import PenaltyParams

    unit = max(max(v.unit_distance, v.unit_duration) for v in model.vehicles)
    defaults = PenaltyParams()
    return PenaltyParams(
        min_penalty=defaults.min_penalty * max(unit, 1),
        max_penalty=defaults.max_penalty * max(unit, 1),
    )


def _vehicle_types(model: DayModel) -> tuple[list[list[int]], dict[tuple[Any, ...], int]]:
    """Group identical shifts into one PyVRP vehicle type each."""
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, slot in enumerate(model.vehicles):
        groups[_type_key(slot)].append(i)
    keys = list(groups)
    return [groups[k] for k in keys], {k: n for n, k in enumerate(keys)}


def _type_key(slot: VehicleSlot) -> tuple[Any, ...]:
    return (
        slot.start_loc,
        slot.end_loc,
        slot.early,
        slot.late,
        slot.capacity,
        slot.unit_distance,
        slot.unit_duration,
        slot.fixed,
        slot.matrix_key,
        slot.vehicle.skills,
    )


def _problem_data(
    model: DayModel, required: bool
) -> tuple[pyvrp.ProblemData, list[list[int]], list[int]]:
    """PyVRP data, the shifts behind each vehicle type, and the stop behind each client."""
    import pyvrp

    types, _ = _vehicle_types(model)
    depot_locs = sorted({loc for s in model.vehicles for loc in (s.start_loc, s.end_loc)})
    depot_of = {loc: n for n, loc in enumerate(depot_locs)}
    profiles, profile_of = _profiles(model, types)
    dims = _load_dimensions(model)
    clients, groups, owners = _clients(model, dims, required)
    vehicle_types = [
        _vehicle_type(model.vehicles[members[0]], len(members), depot_of, profile_of[n], dims)
        for n, members in enumerate(types)
    ]
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=loc.lat, y=loc.lon) for loc in model.locations],
        clients=clients,
        depots=[pyvrp.Depot(location=loc) for loc in depot_locs],
        vehicle_types=vehicle_types,
        distance_matrices=[p[0] for p in profiles],  # type: ignore[misc]
        duration_matrices=[p[1] for p in profiles],  # type: ignore[misc]
        groups=groups,
    )
    return data, types, owners


def _load_dimensions(model: DayModel) -> list[int]:
    """Weight and/or volume, whichever some stop has and some vehicle limits (each load
    dimension costs PyVRP time in every move it evaluates)."""
    return [
        d
        for d in (0, 1)
        if any(s.demand[d] for s in model.stops)
        and any(v.capacity[d] < UNLIMITED for v in model.vehicles)
    ]


def _vehicle_type(
    slot: VehicleSlot, count: int, depot_of: dict[int, int], profile: int, dims: list[int]
) -> pyvrp.VehicleType:
    import pyvrp

    return pyvrp.VehicleType(
        num_available=count,
        capacity=[slot.capacity[d] for d in dims],
        start_depot=depot_of[slot.start_loc],
        end_depot=depot_of[slot.end_loc],
        fixed_cost=slot.fixed,
        tw_early=slot.early,
        tw_late=slot.late,
        unit_distance_cost=slot.unit_distance,
        unit_duration_cost=slot.unit_duration,
        profile=profile,
    )


def _clients(
    model: DayModel, dims: list[int], required: bool
) -> tuple[list[pyvrp.Client], list[pyvrp.ClientGroup], list[int]]:
    """One client per stop window; a stop with several windows forms a group (its clients
    are optional, the group is ``required`` or not)."""
    import pyvrp

    clients: list[pyvrp.Client] = []
    groups: list[pyvrp.ClientGroup] = []
    owners: list[int] = []
    for index, stop in enumerate(model.stops):
        must = required or stop.pinned is not None  # a running route's stop: never left out
        group = None
        if len(stop.windows) > 1:
            group = len(groups)
            groups.append(pyvrp.ClientGroup(required=must))
        for early, late in stop.windows:
            if group is not None:
                groups[group].add_client(len(clients))
            clients.append(
                pyvrp.Client(
                    location=stop.loc,
                    delivery=[stop.demand[d] for d in dims],
                    service_duration=stop.service,
                    tw_early=early,
                    tw_late=late,
                    prize=stop.prize,
                    required=must and group is None,
                    group=group,
                )
            )
            owners.append(index)
    return clients, groups, owners


def _profiles(
    model: DayModel, types: list[list[int]]
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[int]]:
    """One (distance, duration) pair per matrix key and set of stops a type may not serve."""
    found: dict[tuple[Any, ...], int] = {}
    profiles: list[tuple[np.ndarray, np.ndarray]] = []
    profile_of: list[int] = []
    for members in types:
        slot_index = members[0]
        banned = tuple(stop.loc for stop in model.stops if slot_index not in stop.vehicles)
        key = (model.vehicles[slot_index].matrix_key, banned)
        if key not in found:
            found[key] = len(profiles)
            profiles.append(_profile(model, model.vehicles[slot_index], banned))
        profile_of.append(found[key])
    return profiles, profile_of


def _profile(
    model: DayModel, slot: VehicleSlot, banned: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    dist = model.distances[slot.matrix_key]
    dur = model.durations[slot.matrix_key]
    if not banned:
        return dist, dur
    dist, dur = dist.copy(), dur.copy()
    cut = list(banned)
    dist[:, cut] = OUT_OF_REACH
    dur[:, cut] = OUT_OF_REACH
    dist[cut, cut] = 0
    dur[cut, cut] = 0
    return dist, dur


def _routes(
    model: DayModel, solution: pyvrp.Solution, types: list[list[int]], owners: list[int]
) -> list[RawRoute]:
    """Map PyVRP routes back to shifts and stops; an infeasible route is trimmed until it
    keeps every rule (rare: only when the search found no feasible solution in time)."""
    free = [list(members) for members in types]
    raws = []
    for route in solution.routes():
        clients = [a for a in route.schedule() if a.is_client()]
        raw = RawRoute(
            slot=free[route.vehicle_type()].pop(0),
            stops=[owners[a.idx] for a in clients],
            starts=[a.start_time for a in clients],
        )
        raws.append(raw if route.is_feasible() else make_feasible(model, raw))
    return raws
