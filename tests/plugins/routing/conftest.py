"""Fixtures for the routing tests: both built-in routers, a solve that checks the plan."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from routing_kit import LIMIT

from hub.routing import Plan, Router, RoutingProblem
from hub_plugins.routing.checks import plan_violations
from hub_plugins.routing.ortools_router import OrToolsRouter
from hub_plugins.routing.pyvrp_router import PyVRPRouter


@pytest.fixture(params=["pyvrp", "ortools"])
def router(request: pytest.FixtureRequest) -> Router:
    """Each test using it runs with both built-in routers."""
    return PyVRPRouter() if request.param == "pyvrp" else OrToolsRouter()


@pytest.fixture
def solve() -> Callable[[Router, RoutingProblem], Plan]:
    """Solve with a short limit and fail on any rule the plan breaks."""

    def run(router: Router, problem: RoutingProblem, limit: float = LIMIT) -> Plan:
        plan = router.solve(problem, limit)
        assert plan_violations(problem, plan) == []
        return plan

    return run
