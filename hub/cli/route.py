"""``hub route``: plan delivery routes with the registered routers.

``hub route solve --solomon FILE`` solves a Solomon VRPTW benchmark file under the DIMACS
convention and prints the routes (customer numbers in visiting order).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from hub.cli.common import writable_file
from hub.errors import HubError, InvalidInput
from hub.routing import Router

app = typer.Typer(help="Plan delivery routes.", no_args_is_help=True)
console = Console()


def find_router(name: str) -> Router:
    """The registered router called ``name`` (built-in or from a plugin)."""
    from hub.core.plugins import PluginHost

    routers: dict[str, Any] = PluginHost.load().routers
    if name not in routers:
        known = ", ".join(sorted(routers)) or "none"
        raise InvalidInput(f"no router named {name!r}; registered routers: {known}", field="router")
    return routers[name]


@app.callback()
def _group() -> None:
    """Plan delivery routes."""


@app.command()
def solve(
    solomon: Annotated[
        Path, typer.Option(help="A Solomon-format VRPTW file.", exists=True, dir_okay=False)
    ],
    time_limit: Annotated[float, typer.Option(help="Seconds to search.", min=0.1)] = 10.0,
    router: Annotated[str, typer.Option(help="Router name (auto, pyvrp, ortools, ...).")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help='Print {"routes": [...]}.')] = False,
    svg: Annotated[
        Path | None, typer.Option(help="Also draw the routes into this SVG file.")
    ] = None,
) -> None:
    """Solve a Solomon VRPTW instance (DIMACS convention: truncated distances, distance only)."""
    from hub_plugins.routing import solomon as solomon_format
    from hub_plugins.routing.export import plan_to_svg

    writable_file(svg, "--svg")
    if not math.isfinite(time_limit):
        raise InvalidInput(f"--time-limit must be a number of seconds, got {time_limit}")

    try:
        instance = solomon_format.parse(solomon)
        problem = solomon_format.to_problem(instance)
        plan = find_router(router).solve(problem, time_limit)
    except UnicodeDecodeError as error:
        typer.echo(f"error: {solomon}: not UTF-8 text (byte offset {error.start})", err=True)
        raise typer.Exit(1) from None
    except HubError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if svg is not None:
        svg.write_text(plan_to_svg(plan, problem))
    routes = solomon_format.routes_of(plan)
    if as_json:
        typer.echo(json.dumps({"routes": routes}))
        return
    distance, problems = solomon_format.check(instance, routes)
    console.print(f"{instance.name}: {len(routes)} routes, distance {distance:.1f} ({plan.router})")
    for n, route in enumerate(routes, start=1):
        console.print(f"  route {n}: {' '.join(map(str, route))}")
    for problem in problems:
        console.print(f"  [red]{problem}[/red]")
    for left in plan.unassigned:
        console.print(f"  left out {left.stop_id}: {left.reason}")
