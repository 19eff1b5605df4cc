"""Allocation across warehouses: each channel's policy (priority, nearest, fewest_splits),
splits into shipments per location, quarantine locations, and held orders decided again
when stock arrives; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from builders import make_hub, order

from hub.core import allocation, ledger
from hub.core.allocation import Allocation, describe, order_allocation
from hub.core.config import parse_settings
from hub.core.desk import Actor, cancel_order, order_view, return_lines
from hub.core.models import balance_t
from hub.core.orderbook import order_id
from hub.core.planning import distance_metres
from hub.core.runtime import Hub
from hub.errors import ConfigError
from hub.orders import Address, OrderStatus

LOCATIONS = {
    "north": {"name": "Hamburg", "latitude": 53.55, "longitude": 9.99},
    "south": {"name": "Munich", "latitude": 48.14, "longitude": 11.58},
    "west": {"name": "Cologne", "latitude": 50.94, "longitude": 6.96},
    "shop": {"name": "Shop without coordinates", "kind": "store"},
    "damaged": {"name": "Damaged goods", "kind": "quarantine", "latitude": 48.1, "longitude": 11.5},
}
ORDER = ["north", "shop", "west", "south"]  # priority order of the configured channels
CHANNELS = {
    "prio": {"type": "manual", "locations": ORDER},
    "near": {"type": "manual", "locations": ORDER, "allocation": "nearest"},
    "few": {"type": "manual", "locations": ORDER, "allocation": "fewest_splits"},
    "all": {"type": "manual", "allocation": "nearest"},  # every location but quarantine
}


def at(lat: float | None, lon: float | None) -> Address:
    return Address(
        name="Goods in",
        line1="1 Dock Road",
        city="Town",
        postcode="10115",
        country="DE",
        latitude=lat,
        longitude=lon,
    )


MUNICH = at(48.13, 11.57)
HAMBURG = at(53.6, 10.0)
NOWHERE = at(None, None)


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    """A hub with the locations and channels above (on SQLite and PostgreSQL)."""
    with make_hub(db_url, channels=CHANNELS, locations=LOCATIONS) as the_hub:
        yield the_hub


def stock(hub: Hub, sku: str, **units: int) -> None:
    """Receive ``units`` per location through Hub.write, as `hub stock receive` does."""
    hub.write(lambda c: [ch for loc, n in units.items() for ch in ledger.receive(c, sku, loc, n)])


def take(hub: Hub, channel: str, ref: str, *lines: tuple[str, int], to: Address) -> str:
    """Ingest an order of ``lines`` delivered to ``to``; its status."""
    report = hub.ingest(
        channel, [order(ref, *lines, channel=channel, shipping_address=to, number=ref)]
    )
    return report.outcomes[0].status


def allocated(hub: Hub, ref: str) -> list[tuple[str, str, int, int]]:
    """(sku, location, units, shipment) of the order ``ref`` (channel:external id)."""
    found = hub.read(lambda c: order_allocation(c, order_id(c, ref)))
    return [(a.sku, a.location, a.quantity, a.shipment) for a in found]


def reserved_at(hub: Hub) -> dict[tuple[int, int], tuple[int, int]]:
    rows = hub.read(lambda c: c.execute(sa.select(balance_t)).mappings().all())
    return {(r["product_id"], r["location_id"]): (r["on_hand"], r["reserved"]) for r in rows}


def sound(hub: Hub) -> bool:
    """The ledger agrees with its journal and nothing is reserved beyond on hand."""
    balances = reserved_at(hub)
    return hub.read(ledger.verify) == [] and all(r <= h for h, r in balances.values())


# -- priority -----------------------------------------------------------------------------


def test_priority_takes_the_channels_locations_in_order(hub):
    stock(hub, "MUG", north=3, south=10)
    assert hub.channel_allocation("prio") == "priority"
    assert take(hub, "prio", "p1", ("MUG", 5), to=MUNICH) == "open"
    assert allocated(hub, "prio:p1") == [("MUG", "north", 3, 1), ("MUG", "south", 2, 2)]
    assert sound(hub)


# -- nearest ------------------------------------------------------------------------------


def test_nearest_takes_the_location_nearest_to_the_delivery_address(hub):
    stock(hub, "MUG", north=10, south=10, west=10)
    assert take(hub, "near", "n1", ("MUG", 4), to=MUNICH) == "open"
    assert take(hub, "near", "n2", ("MUG", 4), to=HAMBURG) == "open"
    assert allocated(hub, "near:n1") == [("MUG", "south", 4, 1)]
    assert allocated(hub, "near:n2") == [("MUG", "north", 4, 1)]
    assert sound(hub)


def test_nearest_passes_a_near_location_without_enough_for_the_next_with_enough(hub):
    stock(hub, "MUG", north=10, south=2, west=10)
    assert take(hub, "near", "n1", ("MUG", 4), to=MUNICH) == "open"
    # Cologne (about 450 km from Munich) before Hamburg (about 610 km)
    assert distance_metres((48.13, 11.57), (50.94, 6.96)) < distance_metres(
        (48.13, 11.57), (53.55, 9.99)
    )
    assert allocated(hub, "near:n1") == [("MUG", "west", 4, 1)]


def test_nearest_splits_over_the_nearest_when_no_location_has_enough(hub):
    stock(hub, "MUG", north=3, south=2, west=3)
    assert take(hub, "near", "n1", ("MUG", 7), to=MUNICH) == "open"
    assert allocated(hub, "near:n1") == [
        ("MUG", "south", 2, 1),
        ("MUG", "west", 3, 2),
        ("MUG", "north", 2, 3),
    ]
    assert sound(hub)


def test_nearest_chooses_per_product(hub):
    stock(hub, "MUG", north=5, south=5)
    stock(hub, "CUP", north=5, west=5)
    assert take(hub, "near", "n1", ("MUG", 1), ("CUP", 1), to=MUNICH) == "open"
    assert allocated(hub, "near:n1") == [("MUG", "south", 1, 1), ("CUP", "west", 1, 2)]


def test_nearest_without_coordinates_falls_back_on_priority(hub):
    stock(hub, "MUG", north=10, south=10)
    assert take(hub, "near", "n1", ("MUG", 4), to=NOWHERE) == "open"
    assert allocated(hub, "near:n1") == [("MUG", "north", 4, 1)]


def test_locations_without_coordinates_come_after_those_with(hub):
    stock(hub, "MUG", shop=10, north=1)
    assert take(hub, "near", "n1", ("MUG", 1), to=MUNICH) == "open"
    assert allocated(hub, "near:n1") == [("MUG", "north", 1, 1)]
    # the shop (no coordinates) serves the next order in full rather than a split
    stock(hub, "MUG", south=1)
    assert take(hub, "near", "n2", ("MUG", 3), to=MUNICH) == "open"
    assert allocated(hub, "near:n2") == [("MUG", "shop", 3, 1)]


# -- fewest splits ------------------------------------------------------------------------


def test_fewest_splits_ships_from_one_location_that_has_every_line(hub):
    stock(hub, "MUG", south=10, north=10)
    stock(hub, "CUP", north=10)
    assert take(hub, "few", "f1", ("MUG", 2), ("CUP", 2), to=MUNICH) == "open"
    assert allocated(hub, "few:f1") == [("CUP", "north", 2, 1), ("MUG", "north", 2, 1)]
    assert sound(hub)


def test_fewest_splits_takes_the_nearest_of_the_locations_that_can_serve(hub):
    for sku in ("MUG", "CUP"):
        stock(hub, sku, north=10, south=10, west=10)
    assert take(hub, "few", "f1", ("MUG", 2), ("CUP", 2), to=MUNICH) == "open"
    assert {a[1] for a in allocated(hub, "few:f1")} == {"south"}
    assert take(hub, "few", "f2", ("MUG", 2), ("CUP", 2), to=HAMBURG) == "open"
    assert {a[1] for a in allocated(hub, "few:f2")} == {"north"}
    # without coordinates: the first in priority order
    assert take(hub, "few", "f3", ("MUG", 2), ("CUP", 2), to=NOWHERE) == "open"
    assert {a[1] for a in allocated(hub, "few:f3")} == {"north"}


def test_fewest_splits_splits_into_shipments_per_location_when_it_must(hub):
    stock(hub, "MUG", north=1, south=5)
    stock(hub, "CUP", north=3, south=1)
    stock(hub, "PLATE", west=2)
    status = take(hub, "few", "f1", ("MUG", 4), ("CUP", 2), ("PLATE", 1), to=HAMBURG)
    assert status == "open"
    # south serves the most units (4 mugs, 1 cup), then north (1 cup), then west
    assert allocated(hub, "few:f1") == [
        ("CUP", "south", 1, 1),
        ("MUG", "south", 4, 1),
        ("CUP", "north", 1, 2),
        ("PLATE", "west", 1, 3),
    ]
    found = hub.read(lambda c: order_allocation(c, order_id(c, "few:f1")))
    assert describe(found) == [
        "shipment 1 from south: 1 × CUP, 4 × MUG",
        "shipment 2 from north: 1 × CUP",
        "shipment 3 from west: 1 × PLATE",
    ]
    assert sound(hub)


def test_an_edited_order_keeps_to_the_location_it_holds_stock_at(hub):
    stock(hub, "MUG", west=5)
    assert take(hub, "few", "f1", ("MUG", 2), to=MUNICH) == "open"
    stock(hub, "MUG", south=5)  # nearer to Munich, but the order is at west already
    newer = order("f1", ("MUG", 3), channel="few", shipping_address=MUNICH, minutes=1)
    assert hub.ingest("few", [newer]).outcomes[0].status == "open"
    assert allocated(hub, "few:f1") == [("MUG", "west", 3, 1)]
    assert sound(hub)


def test_an_order_no_locations_can_serve_together_is_held_and_reserves_nothing(hub):
    stock(hub, "MUG", north=2, south=2)
    stock(hub, "CUP", north=5)
    before = reserved_at(hub)
    assert take(hub, "few", "f1", ("MUG", 5), ("CUP", 1), to=MUNICH) == "on_hold"
    assert reserved_at(hub) == before
    assert allocated(hub, "few:f1") == []


def test_orders_of_one_page_never_take_the_same_units(hub):
    stock(hub, "MUG", south=3, north=3)
    page = [order(f"o{n}", ("MUG", 2), channel="few", shipping_address=MUNICH) for n in range(4)]
    statuses = [o.status for o in hub.ingest("few", page).outcomes]
    assert statuses.count("open") == 3 and statuses.count("on_hold") == 1
    assert sound(hub)
    assert hub.available("few", ["MUG"]) == {"MUG": 0}


# -- quarantine -----------------------------------------------------------------------------


def test_quarantine_stock_is_never_reserved_nor_available(hub):
    stock(hub, "MUG", damaged=20, south=1)
    assert hub.available("all", ["MUG"]) == {"MUG": 1}
    assert hub.read(lambda c: ledger.available_to_promise(c, ["MUG"])) == {"MUG": 1}
    # the delivery address is next to the quarantine location; it is not a candidate
    assert take(hub, "all", "a1", ("MUG", 1), to=at(48.1, 11.5)) == "open"
    assert allocated(hub, "all:a1") == [("MUG", "south", 1, 1)]
    assert take(hub, "all", "a2", ("MUG", 1), to=at(48.1, 11.5)) == "on_hold"
    assert allocated(hub, "all:a2") == []


def test_a_channel_may_not_list_a_quarantine_location(sqlite_url):
    settings = parse_settings(
        {
            "database": {"url": sqlite_url},
            "locations": LOCATIONS,
            "channels": {"b2b": {"type": "manual", "locations": ["north", "damaged"]}},
        }
    )
    with pytest.raises(ConfigError) as caught:
        Hub.open(settings=settings)
    assert (
        "channels.b2b.locations[1]: location 'damaged' is a quarantine location; "
        "no channel sells from one"
    ) in str(caught.value)


def test_an_unknown_policy_is_a_config_error(sqlite_url):
    settings = parse_settings(
        {
            "database": {"url": sqlite_url},
            "locations": LOCATIONS,
            "channels": {"b2b": {"type": "manual", "allocation": "cheapest"}},
        }
    )
    with pytest.raises(ConfigError, match=r"channels\.b2b\.allocation"):
        Hub.open(settings=settings)


# -- stock arriving for held orders ---------------------------------------------------------


def test_a_held_order_is_allocated_by_its_policy_as_soon_as_stock_arrives(hub):
    stock(hub, "MUG", north=1)
    assert take(hub, "near", "n1", ("MUG", 3), to=MUNICH) == "on_hold"
    assert take(hub, "near", "n2", ("CUP", 1), to=MUNICH) == "on_hold"  # unknown SKU
    stock(hub, "MUG", south=3)  # through Hub.write, as `hub stock receive` does
    view = order_view(hub, "near:n1")
    assert view.status == OrderStatus.OPEN.value
    assert allocated(hub, "near:n1") == [("MUG", "south", 3, 1)]
    assert view.history[-1].actor == "stock"
    assert order_view(hub, "near:n2").status == "on_hold"  # waits for another SKU
    stock(hub, "CUP", west=1)
    assert order_view(hub, "near:n2").status == "open"
    assert hub.recheck_holds() == {}  # nothing left for the scheduled job
    assert sound(hub)


def test_a_transfer_or_an_upward_count_decides_held_orders_too(hub):
    stock(hub, "MUG", north=5)
    stock(hub, "CUP", west=1)
    assert take(hub, "few", "f1", ("MUG", 2), ("CUP", 2), to=MUNICH) == "on_hold"
    hub.write(lambda c: ledger.transfer(c, "MUG", "north", "west", 2))
    assert order_view(hub, "few:f1").status == "on_hold"  # still one cup short
    hub.write(lambda c: ledger.set_count(c, "CUP", "west", 2))
    assert order_view(hub, "few:f1").status == "open"
    assert allocated(hub, "few:f1") == [("CUP", "west", 2, 1), ("MUG", "west", 2, 1)]


def test_stock_released_by_a_cancellation_goes_to_a_held_order(hub):
    stock(hub, "MUG", south=2)
    assert take(hub, "near", "n1", ("MUG", 2), to=MUNICH) == "open"
    assert take(hub, "near", "n2", ("MUG", 2), to=MUNICH) == "on_hold"
    hub.cancel("near", "n1", reason="customer changed their mind")
    assert order_view(hub, "near:n2").status == "open"
    assert allocated(hub, "near:n2") == [("MUG", "south", 2, 1)]
    assert sound(hub)


@contextmanager
def order_statements(hub: Hub) -> Iterator[list[str]]:
    """The SQL statements run meanwhile that name the orders table (sales_order)."""
    seen: list[str] = []

    def record(conn, cursor, statement: str, *args) -> None:
        if re.search(r"\bsales_order\b", statement):
            seen.append(statement)

    sa.event.listen(hub.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(hub.engine, "before_cursor_execute", record)


def test_stock_that_frees_nothing_leaves_held_orders_alone(hub):
    stock(hub, "MUG", north=1)
    assert take(hub, "near", "n1", ("MUG", 3), to=MUNICH) == "on_hold"
    events = len(order_view(hub, "near:n1").history)
    with order_statements(hub) as seen:
        hub.write(lambda c: ledger.adjust(c, "MUG", "north", -1, reason="broken"))
    assert seen == []  # nothing freed: not even a look for held orders
    with order_statements(hub) as seen:
        hub.write(lambda c: ledger.receive(c, "OTHER", "north", 5))
    assert len(seen) == 1  # one look for orders held for OTHER; none, so none decided
    assert len(order_view(hub, "near:n1").history) == events
    assert allocation.freed_skus(hub.write(lambda c: ledger.receive(c, "MUG", "damaged", 9))) == {
        "MUG"
    }
    assert order_view(hub, "near:n1").status == "on_hold"  # quarantine stock serves nobody


# -- the view --------------------------------------------------------------------------------


def test_shipped_orders_show_where_they_shipped_from(hub):
    stock(hub, "MUG", north=1, south=1)
    assert take(hub, "prio", "p1", ("MUG", 2), to=MUNICH) == "open"
    hub.ship("prio:p1", carrier="dhl")
    found = hub.read(lambda c: order_allocation(c, order_id(c, "prio:p1")))
    assert found == [
        Allocation("MUG", "north", 1, 1, "shipped"),
        Allocation("MUG", "south", 1, 2, "shipped"),
    ]
    assert describe(found) == ["shipped from north: 1 × MUG", "shipped from south: 1 × MUG"]
    assert hub.read(lambda c: order_allocation(c, 10**9)) == []


def test_the_desks_cancellations_and_returns_decide_held_orders_too(hub):
    carol = Actor("carol", "web")
    stock(hub, "MUG", south=2)
    assert take(hub, "near", "n1", ("MUG", 2), to=MUNICH) == "open"
    assert take(hub, "near", "n2", ("MUG", 2), to=MUNICH) == "on_hold"
    cancel_order(hub, "near:n1", "duplicate", carol)
    assert order_view(hub, "near:n2").status == "open"
    hub.ship("near:n2", carrier="dhl")
    assert take(hub, "near", "n3", ("MUG", 1), to=HAMBURG) == "on_hold"
    return_lines(hub, "near:n2", [("MUG", 1)], "", True, carol)  # damaged: quarantine
    assert order_view(hub, "near:n3").status == "on_hold"
    return_lines(hub, "near:n2", [("MUG", 1)], "north", False, carol)
    assert order_view(hub, "near:n3").status == "open"
    assert allocated(hub, "near:n3") == [("MUG", "north", 1, 1)]
    assert sound(hub)
