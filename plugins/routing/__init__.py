"""Built-in routers: ``pyvrp`` (default), ``ortools`` (driver breaks), ``auto`` (picks one)."""

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
