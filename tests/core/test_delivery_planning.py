"""Delivery planning from the database: consolidation, reasons, days, dispatched routes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from builders import make_hub, order

from hub import Address, DeliveryWindow
from hub.core import ledger
from hub.core.models import planned_route_t
from hub.core.planning import (
    Delivery,
    consolidate,
    dispatch,
    latest_plan_id,
    plan_routes,
    plan_summary,
    stored_plan,
)
from hub.core.sync import Sync
from hub.errors import ConfigError, RoutingError
from hub.routing import Location, TimeWindow
from hub.sandbox import SandboxServer
from hub.web.app import make_app

SVG = "{http://www.w3.org/2000/svg}"

DAY = date(2026, 12, 1)  # a Tuesday
EDINBURGH = (55.9533, -3.1883)


def at(hour: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def delivery(order_id, address="1 high st", window=None, kg=1.0, at_=(55.95, -3.19)):
    return Delivery(order_id, f"web:{order_id}", address, *at_, kg, 0.01, window)


def test_orders_to_one_address_with_overlapping_windows_make_one_stop():
    stops = consolidate(
        [
            delivery(1, window=TimeWindow(at(9), at(13))),
            delivery(2, window=TimeWindow(at(11), at(15)), kg=2.5),
            delivery(3, window=TimeWindow(at(16), at(18))),  # same address, later: own stop
            delivery(4, address="9 low st", at_=(55.96, -3.19)),  # 1.1 km north
        ],
        timedelta(minutes=5),
        DAY,
        DAY,
    )
    by_orders = {tuple(c.order_ids): c.stop for c in stops}
    assert set(by_orders) == {(1, 2), (3,), (4,)}
    merged = by_orders[(1, 2)]
    assert merged.weight == 3.5
    assert merged.time_windows == (TimeWindow(at(11), at(13)),)
    assert by_orders[(4,)].time_windows == ()


SETTINGS = {
    "routing": {"timezone": "UTC", "service_minutes": 4},
    "fleet": {
        "van": {
            "depot": "main",
            "shift_start": "08:00",
            "shift_end": "18:00",
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "max_weight_kg": 100,
        }
    },
}


@contextmanager
def open_fleet_hub(url):
    from hub.core.config import parse_settings
    from hub.core.runtime import Hub

    settings = parse_settings(
        {
            "database": {"url": url},
            "locations": {"main": {"latitude": EDINBURGH[0], "longitude": EDINBURGH[1]}},
            **SETTINGS,
        }
    )
    with Hub.open(settings=settings) as hub:
        hub.upgrade()
        hub.write(lambda c: ledger.receive(c, "BOX", "main", 500))
        hub.write(lambda c: ledger.ensure_product(c, "BOX", weight_grams=2000))
        yield hub


@pytest.fixture
def fleet_hub(sqlite_url):
    with open_fleet_hub(sqlite_url) as hub:
        yield hub


@pytest.fixture
def fleet_db_hub(db_url):
    """The fleet hub on SQLite and on PostgreSQL."""
    with open_fleet_hub(db_url) as hub:
        yield hub


def place(hub, ref, quantity=1, lat=55.95, lon=-3.20, window=None, line1=None):
    address = Address(
        name="X",
        line1=line1 or f"{ref} Road",
        city="Edinburgh",
        postcode="EH1",
        country="GB",
        latitude=lat,
        longitude=lon,
    )
    hub.ingest(
        "web", [order(ref, ("BOX", quantity), shipping_address=address, delivery_window=window)]
    )


def test_a_plan_routes_every_order_that_fits_and_explains_the_rest(fleet_hub):
    for n in range(6):
        place(fleet_hub, f"o{n}", lat=55.94 + n * 0.005, lon=-3.21 + n * 0.004)
    place(fleet_hub, "heavy", quantity=80)  # 160 kg on a 100 kg van
    place(fleet_hub, "nowhere", lat=None, lon=None)
    outcome = plan_routes(fleet_hub, DAY, allow_past=True, time_limit=1, router="pyvrp")
    summary = fleet_hub.read(lambda c: plan_summary(c, outcome.plan_id))
    routed = {s["external_id"] for r in summary["routes"] for s in r["stops"]}
    assert routed == {f"o{n}" for n in range(6)}
    reasons = {x["external_id"]: x["code"] for x in summary["left_out"]}
    assert reasons == {"heavy": "too_heavy", "nowhere": "no_coordinates"}
    route = summary["routes"][0]
    assert route["vehicle"] == "van" and route["day"] == DAY and route["distance_m"] > 0
    assert [s["seq"] for s in route["stops"]] == sorted(s["seq"] for s in route["stops"])


def test_each_order_goes_to_a_day_inside_its_window(fleet_hub):
    later = DAY + timedelta(days=2)
    place(fleet_hub, "soon")
    place(fleet_hub, "later", window=DeliveryWindow(at(10, later), at(12, later)))
    outcome = plan_routes(fleet_hub, DAY, allow_past=True, days=3, time_limit=1, router="pyvrp")
    summary = fleet_hub.read(lambda c: plan_summary(c, outcome.plan_id))
    day_of = {s["external_id"]: r["day"] for r in summary["routes"] for s in r["stops"]}
    assert day_of["later"] == later


def test_replanning_before_the_day_keeps_dispatched_routes_as_they_are(fleet_hub):
    # planned the evening before: the day's dispatched routes are kept whole (during the
    # day they are continued instead: tests/core/test_replanning_day.py)
    evening = at(20, DAY - timedelta(days=1))
    for n in range(4):
        place(fleet_hub, f"o{n}", lat=55.94 + n * 0.01, lon=-3.20)
    first = plan_routes(fleet_hub, DAY, time_limit=1, router="pyvrp", at=evening)
    fleet_hub.write(lambda c: dispatch(c, first.plan_id))
    before = fleet_hub.read(lambda c: plan_summary(c, first.plan_id))["routes"][0]["stops"]
    place(fleet_hub, "late", lat=55.97, lon=-3.15)
    second = plan_routes(fleet_hub, DAY, time_limit=1, router="pyvrp", at=evening)
    routes = fleet_hub.read(lambda c: plan_summary(c, second.plan_id))["routes"]
    kept = [r for r in routes if r["dispatched"]]
    assert [s["external_id"] for s in kept[0]["stops"]] == [s["external_id"] for s in before]
    assert "late" not in {s["external_id"] for s in kept[0]["stops"]}


def test_planning_needs_a_fleet_and_a_router(sqlite_url):
    with make_hub(sqlite_url) as hub:
        with pytest.raises(ConfigError, match=r"fleet: no vehicles configured"):
            plan_routes(hub, DAY, allow_past=True, router="pyvrp")
        with pytest.raises(Exception, match="no router 'teleport'"):
            plan_routes(hub, DAY, allow_past=True, router="teleport")


@pytest.mark.parametrize("router", ["pyvrp", "ortools"])
def test_by_default_an_impossible_order_is_left_out_with_a_reason_and_the_rest_routed(
    fleet_db_hub, router
):
    assert fleet_db_hub.settings.routing.drop_penalty is None  # the router's own penalty
    for n in range(4):
        place(fleet_db_hub, f"small{n}", lat=55.94 + n * 0.005, lon=-3.21)
    for n in range(3):  # 44 kg each, 8 kg of small ones: one big order cannot come along
        place(fleet_db_hub, f"big{n}", quantity=22, lat=55.96, lon=-3.17 + n * 0.01)
    place(fleet_db_hub, "heavy", quantity=80)  # 160 kg on a 100 kg van
    outcome = plan_routes(fleet_db_hub, DAY, allow_past=True, time_limit=1, router=router)
    summary = fleet_db_hub.read(lambda c: plan_summary(c, outcome.plan_id))
    routed = {s["external_id"] for r in summary["routes"] for s in r["stops"]}
    left = {x["external_id"]: (x["code"], x["reason"]) for x in summary["left_out"]}
    assert left.pop("heavy")[0] == "too_heavy"
    assert len(left) == 1, left  # exactly one big order: the rest is worth serving
    ((code, reason),) = left.values()
    assert next(iter(left)).startswith("big") and code == "no_room" and reason
    assert routed == {f"small{n}" for n in range(4)} | ({"big0", "big1", "big2"} - set(left))


def test_a_stored_plan_comes_back_with_its_stops_and_depots(fleet_db_hub):
    for n in range(3):
        place(fleet_db_hub, f"o{n}", lat=55.94 + n * 0.01, lon=-3.20)
    place(fleet_db_hub, "heavy", quantity=80, lat=55.90, lon=-3.30)
    place(fleet_db_hub, "nowhere", lat=None, lon=None)
    assert fleet_db_hub.read(latest_plan_id) is None
    outcome = plan_routes(fleet_db_hub, DAY, allow_past=True, time_limit=1, router="pyvrp")
    assert fleet_db_hub.read(latest_plan_id) == outcome.plan_id
    plan, problem = fleet_db_hub.read(lambda c: stored_plan(c, outcome.plan_id))
    assert [r.stop_ids for r in plan.routes] == [r.stop_ids for r in outcome.plan.routes]
    assert [r.arrival for r in plan.routes] == [r.arrival for r in outcome.plan.routes]
    depot = Location(*EDINBURGH)
    assert [(v.id, v.start, v.end_location) for v in problem.vehicles] == [("van", depot, depot)]
    located = {s.id: s.location for s in problem.stops}
    assert all(sid in located for r in plan.routes for sid in r.stop_ids)
    # the too heavy order is drawn where it is; the one without coordinates cannot be
    assert [(u.stop_id, u.code) for u in plan.unassigned] == [("web:heavy", "too_heavy")]
    assert located["web:heavy"] == Location(55.90, -3.30, "web:heavy")


def test_a_plan_stored_without_depots_takes_them_from_the_fleet_config(fleet_db_hub):
    place(fleet_db_hub, "o1")
    outcome = plan_routes(fleet_db_hub, DAY, allow_past=True, time_limit=1, router="pyvrp")
    fleet_db_hub.write(  # as plans stored before migration 0004
        lambda c: c.execute(
            sa.update(planned_route_t).values(
                start_latitude=None, start_longitude=None, end_latitude=None, end_longitude=None
            )
        )
    )
    with pytest.raises(RoutingError, match="depot of vehicle 'van' is not stored"):
        fleet_db_hub.read(lambda c: stored_plan(c, outcome.plan_id))
    settings = fleet_db_hub.settings
    _, problem = fleet_db_hub.read(lambda c: stored_plan(c, outcome.plan_id, settings))
    assert problem.vehicles[0].start == Location(*EDINBURGH, "main")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_the_status_page_shows_the_latest_plans_map_once_there_is_one(fleet_db_hub):
    for n in range(3):
        place(fleet_db_hub, f"o{n}", lat=55.94 + n * 0.01, lon=-3.20)
    with SandboxServer(make_app(Sync(fleet_db_hub))) as server:
        status, _, page = get(server.url + "/sync")
        assert status == 200 and "<svg" not in page and "route plan" not in page
        status, _, body = get(server.url + "/plans/latest.svg")
        assert status == 404 and json.loads(body)["field"] == "plan"

        plan_routes(fleet_db_hub, DAY, allow_past=True, time_limit=1, router="pyvrp")
        second = plan_routes(
            fleet_db_hub, DAY, allow_past=True, days=2, time_limit=1, router="pyvrp"
        )

        status, _, page = get(server.url + "/sync")
        assert status == 200 and f"route plan {second.plan_id}" in page
        inline = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
        root = ET.fromstring(inline)
        assert len(root.findall(f"{SVG}polyline")) == len(second.plan.routes) >= 1
        assert len(list(root.iter(f"{SVG}circle"))) == 3  # a numbered mark per stop
        status, kind, svg = get(server.url + "/plans/latest.svg")
        assert status == 200 and kind.startswith("image/svg+xml")
        assert ET.fromstring(svg).tag == f"{SVG}svg" and svg == inline
