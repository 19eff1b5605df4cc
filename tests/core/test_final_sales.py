"""Final sales: a shop's till hands the goods over before the hub hears of the sale.

A channel whose type sets ``final_sales`` has a shipped order it cannot cover booked all
the same at the order's location, which goes below zero there only; the oversell is kept
and shown; other channels are never offered less than zero; the ledger's guards hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from builders import make_hub, order

from hub import Channel, OrderStatus, hookimpl
from hub.core import ledger
from hub.core.models import balance_t, oversell_t
from hub.core.orderbook import find_order
from hub.core.runtime import Hub
from hub.core.status import channel_status
from hub.errors import InsufficientStock


class TillChannel(Channel):
    """A channel type whose completed sales are final (no service behind it)."""

    type_name = "till-test"
    final_sales = True


class TillPlugin:
    @hookimpl
    def register_channel_types(self, register):  # type: ignore[no-untyped-def]
        register(TillChannel)


CHANNELS = {
    "till": {"type": "till-test", "locations": ["store"]},
    "web": {"type": "manual", "locations": ["main", "store"]},
}


@pytest.fixture
def shop(db_url: str) -> Iterator[Hub]:
    with make_hub(db_url, plugins=(TillPlugin(),), channels=CHANNELS) as the_hub:
        the_hub.write(lambda c: ledger.ensure_product(c, "MUG"))
        yield the_hub


def levels(hub: Hub) -> dict[str, tuple[int, int]]:
    return {
        x.location: (x.on_hand, x.reserved) for x in hub.read(lambda c: ledger.levels(c, "MUG"))
    }


def till_sale(external_id: str, units: int, minutes: int = 0) -> object:
    return order(
        external_id,
        ("MUG", units),
        channel="till",
        status=OrderStatus.FULFILLED,
        minutes=minutes,
        location="store",
    )


def test_a_late_till_sale_goes_below_zero_at_the_shop_only_and_is_reported(shop):
    shop.write(lambda c: ledger.receive(c, "MUG", "store", 1))
    shop.write(lambda c: ledger.receive(c, "MUG", "main", 2))
    web = order("W-1", ("MUG", 1), channel="web", status=OrderStatus.FULFILLED)
    shop.ingest("web", [web])  # the web order took a unit (from main, by priority)
    assert levels(shop) == {"main": (1, 0), "store": (1, 0)}
    report = shop.ingest("till", [till_sale("T-1", 3)])
    assert [(o.action, o.status) for o in report.outcomes] == [("created", "fulfilled")]
    assert levels(shop) == {"main": (1, 0), "store": (-2, 0)}
    assert shop.available("web", ["MUG"]) == {"MUG": 1}  # main's unit; the shop adds nothing
    assert shop.available("till", ["MUG"]) == {"MUG": 0}  # never negative
    [status] = [s for s in shop.read(lambda c: channel_status(c, ["till"])) if s.channel == "till"]
    assert status.oversold == {"MUG@store": 2} and status.oversells == 2
    assert shop.read(ledger.verify) == []  # the journal and the balances agree


def test_the_same_late_sale_twice_counts_once(shop):
    shop.ingest("till", [till_sale("T-2", 1)])
    shop.ingest("till", [till_sale("T-2", 1)])
    assert levels(shop) == {"store": (-1, 0)}
    rows = shop.read(lambda c: c.execute(sa.select(oversell_t.c.quantity)).all())
    assert [r[0] for r in rows] == [1]


def test_a_shop_below_zero_takes_stock_back_and_refuses_reservations(shop):
    shop.ingest("till", [till_sale("T-3", 2)])
    refund = order(
        "T-3", ("MUG", 2), channel="till", status=OrderStatus.REFUNDED, minutes=5, location="store"
    )
    shop.ingest("till", [refund])  # hub.orders: a refund without returned units restocks nothing
    assert levels(shop) == {"store": (-2, 0)}
    shop.write(lambda c: ledger.receive(c, "MUG", "store", 1))  # a receipt may still arrive
    assert levels(shop) == {"store": (-1, 0)}
    with pytest.raises(InsufficientStock):
        shop.write(lambda c: ledger.adjust(c, "MUG", "store", -1, reason="count"))
    held = shop.ingest("web", [order("W-2", ("MUG", 1), channel="web")])
    assert held.outcomes[0].status == "on_hold"  # nothing to reserve from a shop below zero
    assert levels(shop) == {"store": (-1, 0)}


def test_the_database_still_refuses_a_balance_below_zero_without_an_oversell(shop):
    shop.write(lambda c: ledger.receive(c, "MUG", "main", 1))
    with pytest.raises(sa.exc.IntegrityError), shop.engine.begin() as conn:
        conn.execute(balance_t.update().values(on_hand=-1))


def test_a_channel_without_final_sales_still_holds_a_shipped_order_it_cannot_cover(shop):
    shipped = order("W-3", ("MUG", 1), channel="web", status=OrderStatus.FULFILLED)
    report = shop.ingest("web", [shipped])
    assert report.outcomes[0].status == "on_hold"
    assert "count the stock" in report.outcomes[0].reason
    assert levels(shop) == {}


def test_a_return_at_a_shop_below_zero_goes_back_on_its_shelf(shop):
    shop.ingest("till", [till_sale("T-4", 3)])
    assert levels(shop) == {"store": (-3, 0)}
    back = order(
        "T-4",
        ("MUG", 3),
        channel="till",
        status=OrderStatus.FULFILLED,
        minutes=5,
        location="store",
    )
    back = replace(back, lines=(replace(back.lines[0], fulfilled_quantity=3, returned_quantity=1),))
    shop.ingest("till", [back])  # one unit brought back: still below zero, one less
    assert levels(shop) == {"store": (-2, 0)}
    assert shop.read(ledger.verify) == []


def test_a_late_till_sale_takes_the_unit_another_order_only_reserved(shop):
    shop.write(lambda c: ledger.receive(c, "MUG", "store", 1))
    web = order("W-5", ("MUG", 1), channel="web")  # reserved the shop's last unit, not shipped
    assert shop.ingest("web", [web]).outcomes[0].status == "open"
    assert levels(shop) == {"store": (1, 1)}
    report = shop.ingest("till", [till_sale("T-5", 2)])  # the till sold it, and one more
    assert report.outcomes[0].status == "fulfilled"
    assert levels(shop) == {"store": (-1, 0)}  # the reserved unit, then one below zero
    held = shop.read(lambda c: find_order(c, "web:W-5"))
    assert held.order["status"] == "on_hold"
    assert any("sold at the till" in e["note"] for e in held.events)
    assert held.order["hold_reason"].startswith("not enough stock")
    [status] = [s for s in shop.read(lambda c: channel_status(c, ["till"])) if s.channel == "till"]
    assert status.oversold == {"MUG@store": 1}  # only the unit beyond the shelf
    assert shop.read(ledger.verify) == []
    shop.write(lambda c: ledger.receive(c, "MUG", "main", 1))  # stock elsewhere: W-5 goes on
    assert shop.read(lambda c: find_order(c, "web:W-5")).order["status"] == "open"
    assert levels(shop) == {"main": (1, 1), "store": (-1, 0)}


def test_a_sale_first_seen_already_returned_leaves_the_shelf_as_it_was(shop):
    sale = till_sale("T-6", 2)
    back = replace(sale, lines=(replace(sale.lines[0], fulfilled_quantity=2, returned_quantity=2),))
    back = replace(back, status=OrderStatus.REFUNDED)
    assert shop.ingest("till", [back]).outcomes[0].status == "refunded"
    assert levels(shop) == {"store": (0, 0)}  # handed over and brought back: nothing missing
    assert shop.read(lambda c: c.execute(sa.select(oversell_t.c.quantity)).all()) == []
    assert shop.read(ledger.verify) == []


def test_an_order_a_till_sale_takes_from_is_held_with_nothing_reserved(shop):
    """All or nothing, as intake holds orders: a web order of 2 MUG and 1 TEE loses one
    MUG to a late till sale; on hold, it keeps none of its units (the other MUG and the TEE
    go back to the shelf for other orders) until the hub can reserve it whole again."""
    shop.write(lambda c: ledger.receive(c, "MUG", "store", 2))
    shop.write(lambda c: ledger.receive(c, "TEE", "store", 1))
    web = order("W-7", ("MUG", 2), ("TEE", 1), channel="web")
    assert shop.ingest("web", [web]).outcomes[0].status == "open"
    assert levels(shop) == {"store": (2, 2)}
    shop.ingest("till", [till_sale("T-7", 1)])  # one MUG handed over at the till
    held = shop.read(lambda c: find_order(c, "web:W-7"))
    assert held.order["status"] == "on_hold"
    assert levels(shop) == {"store": (1, 0)}  # the other MUG is free again
    tee = {
        x.location: (x.on_hand, x.reserved) for x in shop.read(lambda c: ledger.levels(c, "TEE"))
    }
    assert tee == {"store": (1, 0)}  # and so is the TEE
    assert shop.read(ledger.verify) == []
    shop.write(lambda c: ledger.receive(c, "MUG", "main", 2))  # enough again: reserved whole
    assert shop.read(lambda c: find_order(c, "web:W-7")).order["status"] == "open"
    assert shop.read(ledger.verify) == []
