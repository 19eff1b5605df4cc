"""Plans as JSON, CSV (one row per visit) and a self-contained SVG map (no tile server)."""

from __future__ import annotations

import csv
import io
import json
from html import escape
from typing import Any

from hub.routing import Location, Plan, Route, RoutingProblem

CSV_FIELDS = (
    "vehicle_id",
    "day",
    "sequence",
    "stop_id",
    "arrival",
    "start",
    "departure",
    "weight_after",
    "volume_after",
)
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """A JSON-ready dict: routes with visits (ISO times), unassigned stops with reasons."""
    return {
        "router": plan.router,
        "note": plan.note,
        "cost": round(plan.cost, 2),
        "distance_m": round(plan.distance, 1),
        "routes": [_route_dict(r) for r in plan.routes],
        "unassigned": [
            {"stop_id": u.stop_id, "code": u.code, "reason": u.reason} for u in plan.unassigned
        ],
    }


def _route_dict(route: Route) -> dict[str, Any]:
    return {
        "vehicle_id": route.vehicle_id,
        "day": route.day.isoformat(),
        "fixed": route.fixed,
        "departure": route.departure.isoformat(),
        "arrival": route.arrival.isoformat(),
        "distance_m": round(route.distance, 1),
        "duration_s": route.duration.total_seconds(),
        "weight": route.weight,
        "volume": route.volume,
        "cost": round(route.cost, 2),
        "breaks": [{"start": b.start.isoformat(), "end": b.end.isoformat()} for b in route.breaks],
        "visits": [
            {
                "stop_id": v.stop_id,
                "arrival": v.arrival.isoformat(),
                "start": v.start.isoformat(),
                "departure": v.departure.isoformat(),
                "weight_after": v.weight_after,
                "volume_after": v.volume_after,
            }
            for v in route.visits
        ],
    }


def plan_to_json(plan: Plan) -> str:
    """The plan as indented JSON."""
    return json.dumps(plan_to_dict(plan), indent=2)


def plan_to_csv(plan: Plan) -> str:
    """One row per visit, routes in order, then nothing else (unassigned are in the JSON)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for route in plan.routes:
        for n, v in enumerate(route.visits, start=1):
            writer.writerow(
                (
                    route.vehicle_id,
                    route.day.isoformat(),
                    n,
                    v.stop_id,
                    v.arrival.isoformat(),
                    v.start.isoformat(),
                    v.departure.isoformat(),
                    f"{v.weight_after:g}",
                    f"{v.volume_after:g}",
                )
            )
    return out.getvalue()


def plan_to_svg(plan: Plan, problem: RoutingProblem, size: int = 800) -> str:
    """Routes drawn as coloured polylines over stops (grey crosses: unassigned)."""
    stops = {s.id: s.location for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    points = [*stops.values(), *(v.start for v in problem.vehicles)]
    project = _projection(points, size)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">']
    parts.append(f'<rect width="{size}" height="{size}" fill="white"/>')
    for n, route in enumerate(plan.routes):
        vehicle = vehicles[route.vehicle_id]
        path = [vehicle.start, *(stops[s] for s in route.stop_ids), vehicle.end_location]
        colour = COLOURS[n % len(COLOURS)]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(project, path))
        title = escape(f"{route.vehicle_id} {route.day} ({len(route.visits)} stops)")
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.5">'
            f"<title>{title}</title></polyline>"
        )
        parts.extend(_dot(project(stops[s]), colour, s) for s in route.stop_ids)
    for u in plan.unassigned:
        x, y = project(stops[u.stop_id])
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" fill="grey" text-anchor="middle">×'
            f"<title>{escape(u.stop_id)}: {escape(u.reason)}</title></text>"
        )
    for x, y in {project(v.start) for v in problem.vehicles}:
        parts.append(f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="black"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def _dot(xy: tuple[float, float], colour: str, stop_id: str) -> str:
    return (
        f'<circle cx="{xy[0]:.1f}" cy="{xy[1]:.1f}" r="3" fill="{colour}">'
        f"<title>{escape(stop_id)}</title></circle>"
    )


def _projection(points: list[Location], size: int):  # noqa: ANN202 - a closure
    """Equirectangular projection of ``points`` into the square, north up, with a margin."""
    lats = [p.lat for p in points] or [0.0]
    lons = [p.lon for p in points] or [0.0]
    span = max(max(lats) - min(lats), max(lons) - min(lons)) or 1.0
    margin = size * 0.05
    scale = (size - 2 * margin) / span

    def project(p: Location) -> tuple[float, float]:
        return margin + (p.lon - min(lons)) * scale, size - margin - (p.lat - min(lats)) * scale

    return project
