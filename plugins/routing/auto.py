"""The ``auto`` router: picks ``pyvrp`` or ``ortools`` per problem and says why."""

from __future__ import annotations

from dataclasses import replace

from hub.routing import Plan, Progress, Router, RoutingProblem
from hub_plugins.routing.ortools_router import OrToolsRouter
from hub_plugins.routing.pyvrp_router import PyVRPRouter


class AutoRouter(Router):
    """PyVRP whenever it can model the problem (closer to best-known), else OR-Tools."""

    name = "auto"
    description = "pyvrp when it can model the problem, ortools otherwise (driver breaks)"

    def __init__(self, preferred: Router | None = None, fallback: Router | None = None) -> None:
        self.preferred = preferred or PyVRPRouter()
        self.fallback = fallback or OrToolsRouter()

    def choose(self, problem: RoutingProblem) -> tuple[Router, str]:
        """The router to use for ``problem`` and a sentence saying why."""
        missing = self.preferred.can_solve(problem)
        if missing is None:
            return self.preferred, (
                f"{self.preferred.name} models everything in this problem and finds shorter "
                "routes in the same time"
            )
        return self.fallback, (
            f"the problem has {missing}, which {self.preferred.name} cannot model"
        )

    def solve(
        self, problem: RoutingProblem, time_limit: float, progress: Progress | None = None
    ) -> Plan:
        """Solve with the chosen router; the plan's note and stats record the choice."""
        router, why = self.choose(problem)
        if progress:
            progress(f"auto: {router.name} ({why})")
        plan = router.solve(problem, time_limit, progress)
        return replace(
            plan,
            note=f"auto picked {router.name}: {why}",
            stats={**plan.stats, "auto_choice": router.name, "auto_reason": why},
        )
