"""Plans as JSON, CSV (one row per visit) and a self-contained SVG map (no tile server)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from hub.routing import Location, Plan, Route, RoutingProblem

from .matrix import HaversineMatrix

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


LEGEND_WIDTH = 300  # pixels right of the map for the legend
LABELLED_STOPS = 200  # above this many stops, labels give way to tooltips (hover)
METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180  # along a meridian, mean Earth radius
NICE_LENGTHS = (1, 2, 5)  # a scale bar is 1, 2 or 5 times a power of ten metres


@dataclass(frozen=True)
class Marker:
    """A driver's last position for the live map: drawn in the colour of the route of
    ``vehicle_id`` on ``day``, as element ``driver-<key>``; ``location`` None draws it
    hidden, for a script to show once a position comes."""

    key: str
    vehicle_id: str
    day: date
    label: str
    location: Location | None = None


def plan_to_svg(
    plan: Plan,
    problem: RoutingProblem,
    size: int = 800,
    geographic: bool | None = None,
    markers: Sequence[Marker] = (),
) -> str:
    """The plan as a map a person can read: ``size`` x ``size`` pixels of map plus a legend.

    Each route is a line in a colour of its own from the depot (black square) through its
    stops, numbered in visiting order and labelled with the order reference (the stop's
    location name) and the planned start of service in ``problem.timezone``; stops left
    out are grey crosses with their reason on hover. The legend names each route's vehicle,
    day, stops, hours and distance. ``geographic`` (default: the problem measures by
    great-circle distance, so its points are latitude and longitude) draws north up with
    longitudes narrowed by the cosine of the latitude, and a scale bar in metres or
    kilometres; planar benchmark coordinates get neither.

    ``markers`` (the live view's drivers) are drawn on top, each a ringed dot in its
    route's colour with the label beside it. The root element carries the projection
    (``data-west``, ``data-south``, ``data-squeeze``, ``data-scale``, ``data-margin``,
    ``data-size``: x = margin + (lon - west) * squeeze * scale, y = size - margin -
    (lat - south) * scale) so a script can move a marker the way stops are placed.
    """
    if geographic is None:
        geographic = problem.matrix is None or isinstance(problem.matrix, HaversineMatrix)
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    depots = {(v.start.lat, v.start.lon): v.start for v in problem.vehicles}
    depots.update(
        {(v.end_location.lat, v.end_location.lon): v.end_location for v in problem.vehicles}
    )
    points = [*(s.location for s in problem.stops), *depots.values()]
    project, metres_per_pixel, frame = _projection(points, size, geographic)
    zone = problem.timezone
    width = size + LEGEND_WIDTH
    labelled = len(problem.stops) <= LABELLED_STOPS
    projection = " ".join(f'data-{k}="{v:.9g}"' for k, v in frame.items())
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{size}" '
        f'viewBox="0 0 {width} {size}" font-family="sans-serif" font-size="11" '
        f"{projection}>",
        f'<rect width="{width}" height="{size}" fill="white"/>',
        f'<rect x="0.5" y="0.5" width="{size - 1}" height="{size - 1}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for n, route in enumerate(plan.routes):
        vehicle = vehicles[route.vehicle_id]
        colour = COLOURS[n % len(COLOURS)]
        path = [vehicle.start, *(stops[s].location for s in route.stop_ids), vehicle.end_location]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(project, path))
        title = escape(f"{route.vehicle_id} {route.day} ({len(route.visits)} stops)")
        parts.append(
            f'<polyline class="route" points="{coords}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5" stroke-opacity="0.8"><title>{title}</title></polyline>'
        )
        for number, visit in enumerate(route.visits, start=1):
            stop = stops[visit.stop_id]
            parts.append(
                _stop_mark(
                    project(stop.location), colour, number, stop, visit, zone, labelled, size
                )
            )
    for u in plan.unassigned:
        x, y = project(stops[u.stop_id].location)
        name = stops[u.stop_id].location.name or u.stop_id
        parts.append(
            f'<g class="unassigned"><text x="{x:.1f}" y="{y + 5:.1f}" fill="grey" '
            f'font-size="16" text-anchor="middle">×<title>{escape(name)}: not planned, '
            f"{escape(u.reason)}</title></text>"
            + (
                _label(x + 9, y + 4, f"{name} (not planned)", fill="grey", size=size)
                if labelled
                else ""
            )
            + "</g>"
        )
    for depot in depots.values():
        x, y = project(depot)
        name = depot.name or "Depot"
        parts.append(
            f'<rect class="depot" x="{x - 7:.1f}" y="{y - 7:.1f}" width="14" height="14" '
            f'fill="black"><title>{escape(name)}</title></rect>'
        )
        parts.append(_label(x + 10, y - 8, name, weight="bold", size=size))
    colours = {(r.vehicle_id, r.day): COLOURS[n % len(COLOURS)] for n, r in enumerate(plan.routes)}
    for marker in markers:
        colour = colours.get((marker.vehicle_id, marker.day), "black")
        parts.append(_driver_mark(marker, colour, project, size))
    if geographic and metres_per_pixel > 0:
        parts.extend(_scale_bar(metres_per_pixel, size))
    parts.extend(_legend(plan, size, zone, drivers=bool(markers)))
    parts.append("</svg>")
    return "\n".join(parts)


def _label(
    x: float, y: float, text: str, weight: str = "normal", fill: str = "black", size: int = 0
) -> str:
    """Text with a white halo, readable over lines, right of ``x``; left of it instead in
    the right quarter of a map ``size`` pixels wide, so it stays on the map."""
    anchor = "start"
    if size and x > size * 0.75:
        x, anchor = x - 20, "end"
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-weight="{weight}" fill="{fill}" stroke="white" '
        f'stroke-width="3" paint-order="stroke" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _stop_mark(
    xy: tuple[float, float],
    colour: str,
    number: int,
    stop: Any,
    visit: Any,
    zone: Any,
    labelled: bool,
    size: int,
) -> str:
    x, y = xy
    ref = stop.location.name or stop.id
    planned = visit.start.astimezone(zone).strftime("%H:%M")
    mark = (
        f'<g class="stop"><circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{colour}" '
        f'stroke="white" stroke-width="1.5"><title>{escape(f"{number}. {ref} at {planned}")}'
        f"</title></circle>"
        f'<text x="{x:.1f}" y="{y + 3.5:.1f}" fill="white" font-size="9" font-weight="bold" '
        f'text-anchor="middle">{number}</text>'
    )
    if labelled:
        mark += _label(x + 10, y + 4, f"{ref} {planned}", size=size)
    return mark + "</g>"


def _driver_mark(marker: Marker, colour: str, project: Any, size: int) -> str:
    """A driver: a white dot ringed in the route's colour around a dark centre, named;
    placed by ``transform`` (moved by the live page's script), hidden without a place."""
    if marker.location is None:
        x, y, shown = 0.0, 0.0, ' visibility="hidden"'
        where = ""
    else:
        x, y = project(marker.location)
        x, y = min(max(x, 0.0), float(size)), min(max(y, 0.0), float(size))
        shown = ""
        where = f' data-lat="{marker.location.lat:.6f}" data-lon="{marker.location.lon:.6f}"'
    return (
        f'<g class="driver" id="driver-{escape(marker.key)}" data-vehicle='
        f'"{escape(marker.vehicle_id)}" data-x="{x:.1f}" data-y="{y:.1f}"{where} '
        f'transform="translate({x:.1f} {y:.1f})"{shown}>'
        f'<circle r="12" fill="white" stroke="{colour}" stroke-width="4"/>'
        '<circle r="4.5" fill="#222"/>'
        f'<text x="15" y="-8" font-weight="bold" fill="{colour}" stroke="white" '
        f'stroke-width="3" paint-order="stroke">{escape(marker.label)}</text>'
        f"<title>{escape(marker.label)}</title></g>"
    )


def _scale_bar(metres_per_pixel: float, size: int) -> list[str]:
    """A bar of a round length (1, 2 or 5 times a power of ten metres) near a fifth of the
    map's width, at its bottom left."""
    target = metres_per_pixel * size / 5
    power = 10 ** math.floor(math.log10(target))
    length = max(n * power for n in NICE_LENGTHS if n * power <= target)
    pixels = length / metres_per_pixel
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    x, y = size - 16 - pixels, size - 18
    return [
        f'<g class="scale"><rect x="{x - 4}" y="{y - 16}" width="{pixels + 8:.1f}" height="24" '
        'fill="white" fill-opacity="0.8"/>'
        f'<path d="M{x},{y - 4} v4 h{pixels:.1f} v-4" fill="none" stroke="black" '
        'stroke-width="1.5"/>'
        f'<text x="{x + pixels / 2:.1f}" y="{y - 6}" text-anchor="middle">{text}</text></g>'
    ]


def _legend(plan: Plan, size: int, zone: Any, drivers: bool = False) -> list[str]:
    """One line per route (colour, vehicle, day, stops, hours, distance), then the stops
    left out; routes that do not fit are counted. With ``drivers``, what a driver's
    marker looks like."""
    x = size + 16
    parts = [f'<text x="{x}" y="24" font-size="13" font-weight="bold">Routes</text>']
    rows = max(1, (size - 90) // 30)
    shown = plan.routes if len(plan.routes) <= rows else plan.routes[: rows - 1]
    y = 44
    for n, route in enumerate(shown):
        colour = COLOURS[n % len(COLOURS)]
        hours = f"{route.departure.astimezone(zone):%H:%M}–{route.arrival.astimezone(zone):%H:%M}"
        parts.append(
            f'<rect class="swatch" x="{x}" y="{y - 9}" width="14" height="10" fill="{colour}"/>'
            f'<text x="{x + 20}" y="{y}">{escape(f"{route.vehicle_id} · {route.day:%a %d %b}")}'
            "</text>"
            f'<text x="{x + 20}" y="{y + 13}" fill="#555">'
            f"{escape(f'{len(route.visits)} stops · {hours} · {route.distance / 1000:.1f} km')}"
            "</text>"
        )
        y += 30
    if len(shown) < len(plan.routes):
        parts.append(f'<text x="{x}" y="{y}">+ {len(plan.routes) - len(shown)} more routes</text>')
        y += 30
    if plan.unassigned:
        parts.append(
            f'<text x="{x}" y="{y}" fill="grey">× {len(plan.unassigned)} not planned '
            "(hover for why)</text>"
        )
        y += 30
    if drivers:
        parts.append(
            f'<circle cx="{x + 7}" cy="{size - 40}" r="6" fill="white" stroke="#555" '
            f'stroke-width="3"/><circle cx="{x + 7}" cy="{size - 40}" r="2.5" fill="#222"/>'
            f'<text x="{x + 20}" y="{size - 36}" fill="#555">driver, last position</text>'
        )
    parts.append(
        f'<text x="{x}" y="{size - 16}" fill="#555">■ depot · times in {escape(str(zone))}</text>'
    )
    return parts


def _projection(points: list[Location], size: int, geographic: bool):  # noqa: ANN202 - a closure
    """Project ``points`` into the square with a margin, north up; with ``geographic``,
    longitudes are narrowed by the cosine of the mean latitude (so distances look right).
    Returns the projection, the metres one pixel stands for (0 when not geographic) and
    the projection's numbers (west, south, squeeze, scale, margin, size)."""
    lats = [p.lat for p in points] or [0.0]
    lons = [p.lon for p in points] or [0.0]
    squeeze = math.cos(math.radians((max(lats) + min(lats)) / 2)) if geographic else 1.0
    span = max(max(lats) - min(lats), (max(lons) - min(lons)) * squeeze) or 0.01
    margin = size * 0.06
    scale = (size - 2 * margin) / span  # pixels per (latitude) degree
    west, south = min(lons), min(lats)

    def project(p: Location) -> tuple[float, float]:
        return (
            margin + (p.lon - west) * squeeze * scale,
            size - margin - (p.lat - south) * scale,
        )

    frame = {
        "west": west,
        "south": south,
        "squeeze": squeeze,
        "scale": scale,
        "margin": margin,
        "size": float(size),
    }
    return project, (METRES_PER_DEGREE / scale if geographic else 0.0), frame
