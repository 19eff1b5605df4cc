"""The ``ortools`` router: OR-Tools' routing library, for what PyVRP cannot model.

It models everything the ``pyvrp`` router does plus driver breaks (break intervals on the
time dimension). Every stop is a disjunction with its penalty, so an impossible stop is
dropped instead of leaving the search without a solution; several windows per stop are a
cumulative range with the gaps removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.routing import Plan, Progress, Router, RoutingProblem
from hub_plugins.routing.engine import solve_problem
from hub_plugins.routing.model import DayModel
from hub_plugins.routing.plans import RawRoute

if TYPE_CHECKING:  # OR-Tools itself is imported where a plan is made, not with the plugin
    from ortools.constraint_solver import pywrapcp

# Measured on 6 hard Solomon instances at 10 s (R107 R110 R206 RC104 RC105 RC206): mean gap
# 6.9% with OR-Tools' defaults (lambda 0.1), 6.0% with lambda 0.2, 4.8% with lambda 0.2 and
# the multi-armed bandit choosing among concatenated operators.
DEFAULT_OVERRIDES: dict[str, Any] = {"use_multi_armed_bandit_concatenate_operators": True}


class OrToolsRouter(Router):
    """Constraint-programming routing with guided local search."""

    name = "ortools"
    description = "OR-Tools routing: everything pyvrp models plus driver breaks"

    def __init__(
        self,
        first_solution: str = "PARALLEL_CHEAPEST_INSERTION",
        metaheuristic: str = "GUIDED_LOCAL_SEARCH",
        gls_lambda: float = 0.2,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.first_solution = first_solution
        self.metaheuristic = metaheuristic
        self.gls_lambda = gls_lambda
        self.overrides = {**DEFAULT_OVERRIDES, **(overrides or {})}

    def solve(
        self, problem: RoutingProblem, time_limit: float, progress: Progress | None = None
    ) -> Plan:
        """Plan ``problem`` within ``time_limit`` seconds."""
        return solve_problem(problem, time_limit, self.solve_model, self.name, progress)

    def solve_model(self, model: DayModel, time_limit: float) -> list[RawRoute]:
        """Solve one integer model; stops not in any returned route were dropped."""
        if not model.stops or not model.vehicles:
            return []
        from hub_plugins.routing.ortools_model import OrToolsModel

        built = OrToolsModel(model)
        params = self._parameters(time_limit)
        solution = None
        pinned = built.pinned_routes()
        if pinned is not None:  # routes being driven: start from them as dispatched
            built.routing.CloseModelWithParameters(params)
            first = built.routing.ReadAssignmentFromRoutes(pinned, True)
            if first is not None:
                solution = built.routing.SolveFromAssignmentWithParameters(first, params)
        if solution is None:
            solution = built.routing.SolveWithParameters(params)
        if solution is None:
            return []
        return built.routes(solution)

    def _parameters(self, time_limit: float) -> pywrapcp.RoutingSearchParameters:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2

        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = getattr(
            routing_enums_pb2.FirstSolutionStrategy, self.first_solution
        )
        params.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, self.metaheuristic
        )
        params.guided_local_search_lambda_coefficient = self.gls_lambda
        params.time_limit.FromMilliseconds(max(int(time_limit * 1000), 50))
        for name, value in self.overrides.items():
            _set_parameter(params, name, value)
        return params


def _set_parameter(params: Any, name: str, value: Any) -> None:
    """Set a (dotted) field of RoutingSearchParameters, e.g. "local_search_operators.use_or_opt"."""
    *path, last = name.split(".")
    for part in path:
        params = getattr(params, part)
    setattr(params, last, value)
