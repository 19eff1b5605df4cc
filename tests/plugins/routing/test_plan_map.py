"""The plan's SVG map reads as a map: depot, numbered and labelled stops (order reference
and planned time in the merchant's zone), a colour and legend line per route, and a
scale bar whose length matches the distances drawn."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.core.planning import distance_metres
from hub.routing import (
    Location,
    Plan,
    Route,
    RoutingProblem,
    Shift,
    Stop,
    Unassigned,
    Vehicle,
    Visit,
)
from hub_plugins.routing.export import plan_to_svg

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 12, 2)
SVG = "{http://www.w3.org/2000/svg}"
DEPOT = Location(52.5200, 13.4050, "Main warehouse")
PLACES = {  # stop id: (latitude, longitude, order reference)
    "S1": (52.5300, 13.3800, "B2B-000001"),
    "S2": (52.5450, 13.4200, "B2B-000002"),
    "S3": (52.5000, 13.4500, "SHOP-1017"),
    "S4": (52.4900, 13.3600, "SHOP-1018"),
    "S5": (52.5600, 13.5000, "WOO-88"),
}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 2, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def small_day() -> tuple[RoutingProblem, Plan]:
    stops = tuple(Stop(k, Location(lat, lon, ref)) for k, (lat, lon, ref) in PLACES.items())
    shift = (Shift(at(8), at(18)),)
    vans = (Vehicle("van-1", DEPOT, shift), Vehicle("van-2", DEPOT, shift))
    problem = RoutingProblem(stops, vans, timezone=BERLIN)

    def route(van: str, ids: list[str], first: datetime) -> Route:
        visits = tuple(
            Visit(
                s,
                first + timedelta(minutes=30 * n),
                first + timedelta(minutes=30 * n),
                first + timedelta(minutes=30 * n + 10),
            )
            for n, s in enumerate(ids)
        )
        return Route(
            van,
            DAY,
            visits,
            first - timedelta(minutes=20),
            visits[-1].departure + timedelta(minutes=20),
            12_300.0,
            0,
            0,
            1.0,
        )

    plan = Plan(
        (route("van-1", ["S1", "S2"], at(9)), route("van-2", ["S3", "S4"], at(9, 30))),
        (Unassigned("S5", "no van reaches it inside its window", "window_unreachable"),),
        "pyvrp",
    )
    return problem, plan


def test_the_map_names_depot_stops_and_routes():
    problem, plan = small_day()
    svg = plan_to_svg(plan, problem)
    root = ET.fromstring(svg)  # well-formed
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "Main warehouse" in texts  # the depot, labelled
    # stops numbered in visiting order, labelled with order reference and local time
    assert {"B2B-000001 09:00", "B2B-000002 09:30", "SHOP-1017 09:30", "SHOP-1018 10:00"} <= set(
        texts
    )
    numbers = [t for t in texts if t.isdigit()]
    assert numbers == ["1", "2", "1", "2"]
    # one line per route, each its own colour, each in the legend
    lines = root.findall(f"{SVG}polyline")
    assert len({line.get("stroke") for line in lines}) == len(plan.routes) == 2
    swatches = [r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("class") == "swatch"]
    assert swatches == [line.get("stroke") for line in lines]
    assert "van-1 · Wed 02 Dec" in texts and "2 stops · 08:40–10:00 · 12.3 km" in texts
    # the stop left out is marked with its reason
    assert "WOO-88: not planned, no van reaches it inside its window" in svg
    assert "times in Europe/Berlin" in " ".join(texts)


def _circle_centres(root: ET.Element) -> dict[str, tuple[float, float]]:
    found = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "stop":
            continue
        circle = group.find(f"{SVG}circle")
        assert circle is not None
        ref = "".join(circle.itertext()).split(". ", 1)[1].split(" at ")[0]
        found[ref] = (float(circle.get("cx", 0)), float(circle.get("cy", 0)))
    return found


def test_the_scale_bar_matches_the_distances_drawn():
    problem, plan = small_day()
    root = ET.fromstring(plan_to_svg(plan, problem))
    [scale] = [g for g in root.iter(f"{SVG}g") if g.get("class") == "scale"]
    label = "".join(scale.find(f"{SVG}text").itertext())  # type: ignore[union-attr]
    number, unit = re.fullmatch(r"([\d.]+) (k?m)", label).groups()  # type: ignore[union-attr]
    metres = float(number) * (1000 if unit == "km" else 1)
    assert str(number).lstrip("0.")[0] in "125"  # a round length
    bar = scale.find(f"{SVG}path").get("d")  # type: ignore[union-attr]
    pixels = float(re.search(r"h([\d.]+)", bar).group(1))  # type: ignore[union-attr]
    centres = _circle_centres(root)
    a, b = PLACES["S1"], PLACES["S3"]
    (x1, y1), (x2, y2) = centres[a[2]], centres[b[2]]
    drawn = math.dist((x1, y1), (x2, y2)) * metres / pixels
    true = distance_metres((a[0], a[1]), (b[0], b[1]))
    assert abs(drawn - true) / true < 0.01, (drawn, true)


def test_planar_benchmark_coordinates_get_no_scale_bar():
    problem, plan = small_day()
    svg = plan_to_svg(plan, problem, geographic=False)
    assert 'class="scale"' not in svg
    assert svg.count('class="stop"') == 4
