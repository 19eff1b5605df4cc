"""A :class:`DayModel` expressed in OR-Tools' routing library, and the way back."""

from __future__ import annotations

from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp

from hub_plugins.routing.model import DayModel
from hub_plugins.routing.plans import RawRoute


class OrToolsModel:
    """Nodes are the depots (first) and then one node per stop."""

    def __init__(self, model: DayModel) -> None:
        self.model = model
        depots = sorted({loc for v in model.vehicles for loc in (v.start_loc, v.end_loc)})
        self.node_loc = depots + [s.loc for s in model.stops]
        self.depot_node = {loc: n for n, loc in enumerate(depots)}
        self.first_stop = len(depots)
        self.service = [0] * len(depots) + [s.service for s in model.stops]
        self.manager = pywrapcp.RoutingIndexManager(
            len(self.node_loc),
            len(model.vehicles),
            [self.depot_node[v.start_loc] for v in model.vehicles],
            [self.depot_node[v.end_loc] for v in model.vehicles],
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        self._keep: list[Any] = []  # callbacks must outlive the solve
        self._costs()
        self.time = self._time_dimension()
        self._capacities()
        self._stops()
        self._pinned()
        self._breaks()

    def _callback(self, key: tuple[Any, ...], what: str, factor: int = 1) -> int:
        matrix = (self.model.distances if what == "distance" else self.model.durations)[key]
        locs = np.asarray(self.node_loc)
        rows = matrix[np.ix_(locs, locs)] * factor
        if what == "time":
            rows = rows + np.asarray(self.service)[:, None]
        return self.routing.RegisterTransitMatrix(rows.tolist())

    def _costs(self) -> None:
        made: dict[tuple[Any, ...], int] = {}
        for v, slot in enumerate(self.model.vehicles):
            key = (slot.matrix_key, slot.unit_distance)
            if key not in made:
                made[key] = self._callback(slot.matrix_key, "distance", slot.unit_distance)
            self.routing.SetArcCostEvaluatorOfVehicle(made[key], v)
            self.routing.SetFixedCostOfVehicle(slot.fixed, v)

    def _time_dimension(self) -> pywrapcp.RoutingDimension:
        made: dict[tuple[Any, ...], int] = {}
        callbacks = []
        for slot in self.model.vehicles:
            if slot.matrix_key not in made:
                made[slot.matrix_key] = self._callback(slot.matrix_key, "time")
            callbacks.append(made[slot.matrix_key])
        horizon = max(v.late for v in self.model.vehicles)
        self.routing.AddDimensionWithVehicleTransits(callbacks, horizon, horizon, False, "time")
        time = self.routing.GetDimensionOrDie("time")
        for v, slot in enumerate(self.model.vehicles):
            time.CumulVar(self.routing.Start(v)).SetRange(slot.early, slot.late)
            time.CumulVar(self.routing.End(v)).SetRange(slot.early, slot.late)
            time.SetSpanCostCoefficientForVehicle(slot.unit_duration, v)
            self.routing.AddVariableMaximizedByFinalizer(time.CumulVar(self.routing.Start(v)))
            self.routing.AddVariableMinimizedByFinalizer(time.CumulVar(self.routing.End(v)))
        return time

    def _capacities(self) -> None:
        for dim, name in enumerate(("weight", "volume")):
            demands = [0] * self.first_stop + [s.demand[dim] for s in self.model.stops]
            if not any(demands):
                continue
            callback = self.routing.RegisterUnaryTransitVector(demands)
            limits = [v.capacity[dim] for v in self.model.vehicles]
            self.routing.AddDimensionWithVehicleCapacity(callback, 0, limits, True, name)

    def _stops(self) -> None:
        everyone = len(self.model.vehicles)
        for n, stop in enumerate(self.model.stops):
            index = self.manager.NodeToIndex(self.first_stop + n)
            cumul = self.time.CumulVar(index)
            cumul.SetRange(stop.windows[0][0], stop.windows[-1][1])
            for (_, gap_start), (gap_end, _) in zip(stop.windows, stop.windows[1:], strict=False):
                if gap_end - gap_start > 1:
                    cumul.RemoveInterval(gap_start + 1, gap_end - 1)
            if stop.pinned is not None:  # mandatory, on its running route
                self.routing.VehicleVar(index).SetValue(stop.pinned)
                continue
            self.routing.AddDisjunction([index], stop.prize)
            if len(stop.vehicles) < everyone:
                self.routing.VehicleVar(index).SetValues([-1, *stop.vehicles])

    def _pinned(self) -> None:
        """Running routes leave now, and serve their pinned stops in order: a rank
        dimension counts the stops along each route, and each pinned stop ranks below
        the next (stops inserted between them are free)."""
        running = [(v, slot) for v, slot in enumerate(self.model.vehicles) if slot.running]
        if not running:
            return
        nodes = self.manager.GetNumberOfNodes()
        self.routing.AddConstantDimension(1, nodes + 1, True, "rank")
        rank = self.routing.GetDimensionOrDie("rank")
        solver = self.routing.solver()
        for v, slot in running:
            self.time.CumulVar(self.routing.Start(v)).SetValue(slot.early)
            order = [self.stop_index(i) for i in slot.pinned]
            for before, after in zip(order, order[1:], strict=False):
                solver.Add(rank.CumulVar(before) < rank.CumulVar(after))

    def stop_index(self, stop: int) -> int:
        """The routing index of ``model.stops[stop]``."""
        return int(self.manager.NodeToIndex(self.first_stop + stop))

    def pinned_routes(self) -> list[list[int]] | None:
        """Every vehicle's pinned stops as routing indices (the routes as dispatched, a
        first solution), or None when no route is being driven."""
        if not any(slot.running for slot in self.model.vehicles):
            return None
        return [[self.stop_index(i) for i in slot.pinned] for slot in self.model.vehicles]

    def _breaks(self) -> None:
        solver = self.routing.solver()
        self.break_vars: dict[int, list[Any]] = {}
        for v, slot in enumerate(self.model.vehicles):
            if not slot.breaks:
                continue
            intervals = [
                solver.FixedDurationIntervalVar(early, late, length, False, f"break {v} {k}")
                for k, (early, late, length) in enumerate(slot.breaks)
            ]
            indices = range(self.manager.GetNumberOfIndices())
            transits = [self.service[self.manager.IndexToNode(i)] for i in indices]
            self.time.SetBreakIntervalsOfVehicle(intervals, v, transits)
            self.break_vars[v] = intervals

    def routes(self, solution: pywrapcp.Assignment) -> list[RawRoute]:
        """The stop sequences and service start times of ``solution``."""
        raws = []
        for v in range(len(self.model.vehicles)):
            stops, starts = [], []
            index = solution.Value(self.routing.NextVar(self.routing.Start(v)))
            while not self.routing.IsEnd(index):
                stops.append(self.manager.IndexToNode(index) - self.first_stop)
                starts.append(solution.Min(self.time.CumulVar(index)))
                index = solution.Value(self.routing.NextVar(index))
            breaks = [solution.StartValue(var) for var in self.break_vars.get(v, [])]
            raws.append(RawRoute(v, stops, starts, breaks))
        return raws
