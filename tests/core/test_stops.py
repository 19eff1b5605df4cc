"""Stops are places: orders are consolidated by their coordinates, never by address text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_delivery_planning import DAY, at, delivery, open_fleet_hub, place

from hub import DeliveryWindow
from hub.core.planning import (
    SAME_PLACE_METRES,
    by_place,
    consolidate,
    distance_metres,
    plan_routes,
    plan_summary,
)
from hub.routing import TimeWindow

EDINBURGH = (55.9533, -3.1883)
AUCKLAND = (-36.8485, 174.7633)  # 17,900 km away, and it has a High Street too


@pytest.fixture
def fleet_db_hub(db_url):
    with open_fleet_hub(db_url) as hub:
        yield hub


def stops_of(items):
    return sorted(sorted(c.order_ids) for c in consolidate(items, timedelta(minutes=5), DAY, DAY))


def test_haversine_distance_in_metres():
    assert distance_metres(EDINBURGH, AUCKLAND) == pytest.approx(17_885_000, rel=1e-3)
    assert distance_metres((51.5074, -0.1278), (48.8566, 2.3522)) == pytest.approx(
        343_500, rel=1e-3
    )
    assert distance_metres((0.0, 0.0), (0.0, 1.0)) == pytest.approx(111_195, rel=1e-4)
    assert distance_metres(EDINBURGH, EDINBURGH) == 0


def test_same_address_text_on_opposite_sides_of_the_earth_makes_two_stops():
    window = TimeWindow(at(9), at(17))
    items = [
        delivery(1, "1 high street eh1 gb", window, at_=EDINBURGH),
        delivery(2, "1 high street eh1 gb", window, at_=AUCKLAND),
    ]
    assert stops_of(items) == [[1], [2]]


def test_different_address_text_at_one_place_with_overlapping_windows_makes_one_stop():
    items = [
        delivery(1, "1 high street", TimeWindow(at(9), at(13)), at_=EDINBURGH),
        delivery(2, "1 High St., Edinburgh", TimeWindow(at(11), at(15)), at_=EDINBURGH),
    ]
    [merged] = consolidate(items, timedelta(minutes=5), DAY, DAY)
    assert merged.order_ids == [1, 2]
    assert merged.stop.time_windows == (TimeWindow(at(11), at(13)),)


def test_orders_within_the_documented_distance_are_one_place_and_beyond_it_are_not():
    north = 1 / 111_195  # degrees of latitude in one metre
    lat, lon = EDINBURGH
    near = (lat + (SAME_PLACE_METRES - 5) * north, lon)
    far = (lat + (SAME_PLACE_METRES + 5) * north, lon)
    items = [
        delivery(1, "a", at_=EDINBURGH),
        delivery(2, "b", at_=near),
        delivery(3, "c", at_=far),
    ]
    assert [[d.order_id for d in g] for g in by_place(items)] == [[1, 2], [3]]


def test_places_across_the_antimeridian_and_at_a_pole_are_measured_not_compared_as_text():
    items = [
        delivery(1, "x", at_=(-16.0, 179.99990)),
        delivery(2, "y", at_=(-16.0, -179.99995)),  # 16 m east, across 180°
        delivery(3, "x", at_=(89.99999, 0.0)),
        delivery(4, "x", at_=(89.99999, 180.0)),  # 2.2 m away, over the pole
    ]
    assert [[d.order_id for d in g] for g in by_place(items)] == [[1, 2], [3, 4]]


def arrivals(hub, outcome):
    summary = hub.read(lambda c: plan_summary(c, outcome.plan_id))
    return {
        s["external_id"]: (s["stop_key"], s["arrival"])
        for r in summary["routes"]
        for s in r["stops"]
    }


def test_a_plan_gives_same_text_different_places_their_own_stops_and_arrivals(fleet_db_hub):
    window = DeliveryWindow(at(9), at(17))
    place(fleet_db_hub, "a", lat=55.95, lon=-3.20, window=window, line1="1 High Street")
    place(fleet_db_hub, "b", lat=55.99, lon=-3.30, window=window, line1="1 High Street")
    outcome = plan_routes(fleet_db_hub, DAY, allow_past=True, time_limit=1, router="pyvrp")
    found = arrivals(fleet_db_hub, outcome)
    assert set(found) == {"a", "b"}
    assert found["a"][0] != found["b"][0]
    assert found["a"][1] != found["b"][1]


def test_a_plan_drops_at_one_place_once_whatever_its_address_text(fleet_db_hub):
    place(fleet_db_hub, "a", window=DeliveryWindow(at(9), at(13)), line1="1 High Street")
    place(fleet_db_hub, "b", window=DeliveryWindow(at(11), at(15)), line1="1 high st.")
    outcome = plan_routes(fleet_db_hub, DAY, allow_past=True, time_limit=1, router="pyvrp")
    found = arrivals(fleet_db_hub, outcome)
    assert outcome.stops == 1
    assert found["a"] == found["b"]
