"""``hub route plan``, ``show`` and ``dispatch``: delivery plans from the hub's orders."""

from __future__ import annotations

import csv
import json
import math
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import ConfigOption, open_hub, parse_day, required_text, writable_file
from hub.core.planning import MAX_DAYS, plan_routes, plan_summary, stored_plan
from hub.core.routedispatch import dispatch_and_tell
from hub.errors import HubError, InvalidInput
from hub.routing import Plan, RoutingProblem

console = Console()
SvgOption = Annotated[
    Path | None,
    typer.Option("--svg", help="Also draw the plan's routes into this SVG file.", dir_okay=False),
]


def plan(
    day: Annotated[str, typer.Option("--date", help="First day to plan, YYYY-MM-DD.")],
    config: ConfigOption = None,
    days: Annotated[int, typer.Option(min=1, max=MAX_DAYS, help="Days to plan.")] = 1,
    time_limit: Annotated[
        float | None, typer.Option(help="Seconds to search (default from config).", min=0.1)
    ] = None,
    router: Annotated[str | None, typer.Option(help="Router (default from config).")] = None,
    svg: SvgOption = None,
    allow_past: Annotated[
        bool, typer.Option("--allow-past", help="Plan a --date before today.")
    ] = False,
) -> None:
    """Plan routes for the own fleet's open orders; the best plan found when time is up.

    Today's dispatched routes are continued from where their drivers are: stops done
    stay, the remaining ones keep their order, new and failed orders are inserted where
    they fit; one line says what each kept, one what it took, one per order left out."""
    first = parse_day(day)
    writable_file(svg, "--svg")
    if time_limit is not None and not math.isfinite(time_limit):
        raise InvalidInput(f"--time-limit must be a number of seconds, got {time_limit}")
    if router is not None:
        router = required_text(router, "--router")
    with open_hub(config) as hub, console.status("planning") as status:
        outcome = plan_routes(
            hub,
            first,
            days,
            time_limit,
            router,
            progress=lambda text: status.update(text),
            allow_past=allow_past,
        )
        summary = hub.read(lambda c: plan_summary(c, outcome.plan_id))
    console.print(
        f"plan {outcome.plan_id}: {outcome.orders} orders in {outcome.stops} stops, "
        f"solved by {outcome.plan.router}"
        + (f" ({outcome.plan.note})" if outcome.plan.note else "")
    )
    for line in outcome.changes:  # today's routes being driven: kept, inserted
        console.print(line, highlight=False, markup=False)
    _print(summary, ZoneInfo(hub.settings.routing.timezone))
    if svg is not None and outcome.problem is not None:
        _write_svg(svg, outcome.plan, outcome.problem)
        console.print(f"map of plan {outcome.plan_id} written to {svg}")


def show(
    plan_id: Annotated[int, typer.Argument(help="Plan number.")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV row per stop.")] = False,
    svg: SvgOption = None,
) -> None:
    """A stored plan: routes, each route's stops in order (arrival and delivery window in
    the merchant's time zone, routing.timezone), orders left out and why."""
    if as_json and as_csv:
        raise InvalidInput("give --json or --csv, not both", field="format")
    writable_file(svg, "--svg")
    with open_hub(config) as hub:
        summary = hub.read(lambda c: plan_summary(c, plan_id))
        zone = ZoneInfo(hub.settings.routing.timezone)
        if svg is not None:
            stored, problem = hub.read(lambda c: stored_plan(c, plan_id, hub.settings))
            _write_svg(svg, stored, problem)
    if as_json:
        typer.echo(json.dumps(summary, default=str, indent=2))
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(
            ["day", "vehicle", "seq", "order", "arrival", "service_start", "latitude", "longitude"]
        )
        for route in summary["routes"]:
            for s in route["stops"]:
                writer.writerow(
                    [
                        route["day"],
                        route["vehicle"],
                        s["seq"],
                        f"{s['channel']}:{s['external_id']}",
                        s["arrival"],
                        s["service_start"],
                        s["latitude"],
                        s["longitude"],
                    ]
                )
    else:
        _print(summary, zone, stops=True)
        if svg is not None:
            console.print(f"map of plan {plan_id} written to {svg}")


def dispatch_routes(
    plan_id: Annotated[int, typer.Argument(help="Plan number.")],
    config: ConfigOption = None,
    vehicle: Annotated[str | None, typer.Option(help="Only this vehicle's routes.")] = None,
    day: Annotated[str | None, typer.Option("--date", help="Only this day.")] = None,
) -> None:
    """Mark routes dispatched: re-planning will keep them as they are; each open order's
    customer is told it is on its way, with its ETA window."""
    chosen = parse_day(day) if day is not None else None
    if vehicle is not None:
        vehicle = required_text(vehicle, "--vehicle")
    with open_hub(config) as hub:
        done = dispatch_and_tell(hub, plan_id, vehicle, chosen)
    told = f"; {len(done.messages)} customer message(s) queued" if done.messages else ""
    console.print(f"{done.routes} route(s) of plan {plan_id} dispatched{told}")


def _write_svg(path: Path, plan: Plan, problem: RoutingProblem) -> None:
    """Draw ``plan`` with the routing plugin's SVG export."""
    try:
        from hub_plugins.routing.export import plan_to_svg
    except ImportError:
        raise HubError("drawing plans needs the routing plugin (hub_plugins.routing)") from None
    path.write_text(plan_to_svg(plan, problem), encoding="utf-8")


def _print(summary: dict, zone: ZoneInfo, *, stops: bool = False) -> None:
    """The routes, times in ``zone``; with ``stops``, each route's stops in order."""
    table = Table(
        "day", "vehicle", "stops", "km", "leaves", "back", "kg", "dispatched",
        caption=f"times in {zone.key}",
    )  # fmt: skip
    for r in summary["routes"]:
        table.add_row(
            str(r["day"]),
            r["vehicle"],
            str(len({s["seq"] for s in r["stops"]})),
            f"{r['distance_m'] / 1000:.1f}",
            _clock(r["departure"], zone),
            _clock(r["arrival"], zone),
            f"{r['weight_kg']:.1f}",
            "yes" if r["dispatched"] else "",
        )
    console.print(table)
    for r in summary["routes"] if stops else ():
        console.print(_stops_table(r, zone))
    for left in summary["left_out"]:
        console.print(f"left out {left['channel']}:{left['external_id']}: {left['reason']}")


def _stops_table(route: dict[str, Any], zone: ZoneInfo) -> Table:
    """One route's stops in visiting order: orders sharing a stop share its number."""
    table = Table(
        "stop", "order", "address", "arrives", "window",
        title=f"{route['day']} {route['vehicle']}", title_justify="left",
    )  # fmt: skip
    for s in route["stops"]:
        arrives = _clock(s["arrival"], zone)
        if s["service_start"] > s["arrival"]:  # early: the driver waits for the window
            arrives += f" (waits until {_clock(s['service_start'], zone)})"
        table.add_row(
            str(s["seq"]),
            f"{s['channel']}:{s['external_id']}",
            _place(s),
            arrives,
            _window(s["window_start"], s["window_end"], route["day"], zone),
        )
    return table


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%H:%M}"


def _place(stop: dict[str, Any]) -> str:
    """``1 Street, 10115 Berlin``; the coordinates when the order has no address."""
    town = " ".join(p for p in (stop["ship_postcode"], stop["ship_city"]) if p)
    address = ", ".join(p for p in (stop["ship_line1"], town) if p)
    if address:
        return address
    if stop["latitude"] is not None and stop["longitude"] is not None:
        return f"{stop['latitude']:.5f}, {stop['longitude']:.5f}"
    return "-"


def _window(start: datetime | None, end: datetime | None, day: date, zone: ZoneInfo) -> str:
    """``09:00-16:00`` on the route's day, with dates when the window spans others."""

    def at(moment: datetime) -> str:
        local = moment.astimezone(zone)
        return f"{local:%H:%M}" if local.date() == day else f"{local:%Y-%m-%d %H:%M}"

    if start is None:
        return "any time" if end is None else f"until {at(end)}"
    return f"from {at(start)}" if end is None else f"{at(start)}-{at(end)}"
