"""Built-in routers: ``pyvrp`` (default), ``ortools`` (driver breaks), ``auto`` (picks one).

Where things are:
    model.py          RoutingProblem -> integer model (seconds, metres, grams, cost units)
    feasibility.py    which shifts could serve each stop alone; reasons when none can
    horizon.py        one day at a time over a horizon; due stops first, the rest roll over
    engine.py         fixed (dispatched) routes, then the horizon, then the Plan
    running.py        dispatched routes being driven: pinned stops, start, carried load
    plans.py          solver sequences -> Routes with times, loads, costs; trimming
    pyvrp_router.py   PyVRP iterated local search
    ortools_router.py OR-Tools routing (ortools_model.py builds its model)
    auto.py           picks per problem and says why
    matrix.py         haversine x road factor at each vehicle's speed; planar for benchmarks
    solomon.py        Solomon files, DIMACS distances, an independent solution checker
    checks.py         an independent checker of any Plan against its RoutingProblem
    export.py         JSON, CSV and SVG
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub import hookimpl


@hookimpl
def register_routers(register: Callable[[Any], None]) -> None:
    """Register the three built-in routers."""
    from hub_plugins.routing.auto import AutoRouter
    from hub_plugins.routing.ortools_router import OrToolsRouter
    from hub_plugins.routing.pyvrp_router import PyVRPRouter

    register(PyVRPRouter())
    register(OrToolsRouter())
    register(AutoRouter())
