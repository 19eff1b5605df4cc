"""Delivery planning from the database: consolidation, reasons, days, dispatched routes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from builders import make_hub, order

from hub import Address, DeliveryWindow
from hub.core import ledger
from hub.core.planning import (
    Delivery,
    consolidate,
    dispatch,
    plan_routes,
    plan_summary,
)
from hub.errors import ConfigError
from hub.routing import TimeWindow

DAY = date(2026, 12, 1)  # a Tuesday
EDINBURGH = (55.9533, -3.1883)


def at(hour: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def delivery(order_id, address="1 high st", window=None, kg=1.0):
    return Delivery(order_id, f"web:{order_id}", address, 55.95, -3.19, kg, 0.01, window)


def test_orders_to_one_address_with_overlapping_windows_make_one_stop():
    stops = consolidate(
        [
            delivery(1, window=TimeWindow(at(9), at(13))),
            delivery(2, window=TimeWindow(at(11), at(15)), kg=2.5),
            delivery(3, window=TimeWindow(at(16), at(18))),  # same address, later: own stop
            delivery(4, address="9 low st"),
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


@pytest.fixture
def fleet_hub(sqlite_url):
    from hub.core.config import parse_settings
    from hub.core.runtime import Hub

    settings = parse_settings(
        {
            "database": {"url": sqlite_url},
            "locations": {"main": {"latitude": EDINBURGH[0], "longitude": EDINBURGH[1]}},
            **SETTINGS,
        }
    )
    with Hub.open(settings=settings) as hub:
        hub.upgrade()
        hub.write(lambda c: ledger.receive(c, "BOX", "main", 500))
        hub.write(lambda c: ledger.ensure_product(c, "BOX", weight_grams=2000))
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
    outcome = plan_routes(fleet_hub, DAY, time_limit=1, router="pyvrp")
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
    outcome = plan_routes(fleet_hub, DAY, days=3, time_limit=1, router="pyvrp")
    summary = fleet_hub.read(lambda c: plan_summary(c, outcome.plan_id))
    day_of = {s["external_id"]: r["day"] for r in summary["routes"] for s in r["stops"]}
    assert day_of["later"] == later


def test_replanning_keeps_dispatched_routes_as_they_are(fleet_hub):
    for n in range(4):
        place(fleet_hub, f"o{n}", lat=55.94 + n * 0.01, lon=-3.20)
    first = plan_routes(fleet_hub, DAY, time_limit=1, router="pyvrp")
    fleet_hub.write(lambda c: dispatch(c, first.plan_id))
    before = fleet_hub.read(lambda c: plan_summary(c, first.plan_id))["routes"][0]["stops"]
    place(fleet_hub, "late", lat=55.97, lon=-3.15)
    second = plan_routes(fleet_hub, DAY, time_limit=1, router="pyvrp")
    routes = fleet_hub.read(lambda c: plan_summary(c, second.plan_id))["routes"]
    kept = [r for r in routes if r["dispatched"]]
    assert [s["external_id"] for s in kept[0]["stops"]] == [s["external_id"] for s in before]
    assert "late" not in {s["external_id"] for s in kept[0]["stops"]}


def test_planning_needs_a_fleet_and_a_router(sqlite_url):
    with make_hub(sqlite_url) as hub:
        with pytest.raises(ConfigError, match=r"fleet: no vehicles configured"):
            plan_routes(hub, DAY, router="pyvrp")
        with pytest.raises(Exception, match="no router 'teleport'"):
            plan_routes(hub, DAY, router="teleport")
