"""Driver markers on the route map (the live view's): drawn in their route's colour on
top of the stops, hidden until a position comes, and placed by the same projection the
root element publishes for scripts, so a marker moved by the page lands where a stop at
that place is drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from test_plan_map import DAY, PLACES, SVG, small_day

from hub.routing import Location
from hub_plugins.routing.export import COLOURS, Marker, plan_to_svg


def projected(root: ET.Element, lat: float, lon: float) -> tuple[float, float]:
    """Where the root's published projection puts (lat, lon): what live.js computes."""
    names = ("west", "south", "squeeze", "scale", "margin", "size")
    n = {k: float(root.get(f"data-{k}") or "nan") for k in names}
    x = n["margin"] + (lon - n["west"]) * n["squeeze"] * n["scale"]
    y = n["size"] - n["margin"] - (lat - n["south"]) * n["scale"]
    return x, y


def test_markers_sit_where_stops_at_their_place_are_drawn():
    problem, plan = small_day()
    lat, lon, _ = PLACES["S2"]
    markers = [
        Marker("7", "van-1", DAY, "van-1 · Dora", Location(lat, lon)),
        Marker("8", "van-2", DAY, "van-2 · Vic", None),
    ]
    root = ET.fromstring(plan_to_svg(plan, problem, markers=markers))
    dora = root.find(f".//{SVG}g[@id='driver-7']")
    vic = root.find(f".//{SVG}g[@id='driver-8']")
    assert dora is not None and vic is not None
    stop = next(
        c
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "stop"
        for c in g.iter(f"{SVG}circle")
        if "S2" in "".join(c.itertext()) or "B2B-000002" in "".join(c.itertext())
    )
    x, y = float(dora.get("data-x") or 0), float(dora.get("data-y") or 0)
    assert (x, y) == (float(stop.get("cx") or 0), float(stop.get("cy") or 0))
    px, py = projected(root, lat, lon)
    assert abs(px - x) < 0.06 and abs(py - y) < 0.06
    assert dora.get("transform") == f"translate({x:.1f} {y:.1f})"
    assert dora.get("visibility") is None and vic.get("visibility") == "hidden"
    ring = dora.find(f"{SVG}circle")
    assert ring is not None and ring.get("stroke") == COLOURS[0]  # van-1's route colour
    ring = vic.find(f"{SVG}circle")
    assert ring is not None and ring.get("stroke") == COLOURS[1]
    groups = list(root)
    assert groups.index(dora) > max(
        i for i, g in enumerate(groups) if g.get("class") == "stop"
    )  # drawn over the stops
    assert "driver, last position" in "".join(root.itertext())  # in the legend


def test_a_map_without_markers_has_no_driver_legend():
    problem, plan = small_day()
    svg = plan_to_svg(plan, problem)
    assert 'class="driver"' not in svg and "driver, last position" not in svg
