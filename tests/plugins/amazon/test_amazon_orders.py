"""Pulling orders: searchOrders 2026-01-01 page by page, resumed from the cursor, and each
fulfilment status in hub terms (the channel alone, then the hub on both databases)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from hub import InvalidInput, OrderStatus, PaymentStatus
from hub.core.holds import parse_holds
from hub.core.models import order_t


def _query(amazon, operation: str) -> dict[str, list[str]]:
    last = [q for op, q in amazon.requests if op == operation][-1]
    return parse_qs(urlsplit(last.split(" ", 1)[1]).query)


def test_pages_follow_the_pagination_token_and_resume_from_the_cursor(amazon, channel_for):
    amazon.add_listing("MUG", quantity=100)
    made = [amazon.sell("MUG", 1) for _ in range(25)]
    channel = channel_for(page_size=10)

    pages = list(channel.fetch_orders(None, None))

    assert [len(p.orders) for p in pages] == [10, 10, 5]
    assert [o.external_id for p in pages for o in p.orders] == made
    assert pages[-1].cursor is None
    sent = _query(amazon, "searchOrders")
    assert sent["includedData"] == ["BUYER,RECIPIENT,PROCEEDS,FULFILLMENT"]
    assert sent["maxResultsPerPage"] == ["10"] and "paginationToken" in sent

    resumed = list(channel_for(page_size=10).fetch_orders(None, pages[0].cursor))

    assert [o.external_id for p in resumed for o in p.orders] == made[10:]


def test_a_cursor_not_written_by_the_plugin_is_refused(channel):
    with pytest.raises(InvalidInput, match="was not written by this plugin"):
        list(channel.fetch_orders(None, "page=2"))


def test_each_status_in_hub_terms(amazon, channel):
    amazon.add_listing("MUG", quantity=50, fba=50, price="12.50")
    pending = amazon.sell("MUG", 1, status="PENDING")
    open_ = amazon.sell("MUG", 2)
    shipped = amazon.sell("MUG", 3, status="SHIPPED")
    cancelled = amazon.sell("MUG", 1)
    amazon.store.set_status(cancelled, "CANCELLED")
    afn = amazon.sell("MUG", 4, fulfilled_by="AMAZON", status="SHIPPED")

    orders = {o.external_id: o for p in channel.fetch_orders(None, None) for o in p.orders}

    got = {
        k: (
            o.status,
            o.payment_status,
            [(ln.quantity, ln.fulfilled_quantity, ln.stocked) for ln in o.lines],
        )
        for k, o in orders.items()
    }
    assert got == {
        pending: (OrderStatus.PENDING, PaymentStatus.PENDING, [(1, 0, True)]),
        open_: (OrderStatus.OPEN, PaymentStatus.PAID, [(2, 0, True)]),
        shipped: (OrderStatus.FULFILLED, PaymentStatus.PAID, [(3, 3, True)]),
        cancelled: (OrderStatus.CANCELLED, PaymentStatus.VOIDED, [(1, 0, True)]),
        afn: (OrderStatus.FULFILLED, PaymentStatus.PAID, [(4, 4, False)]),
    }
    order = orders[open_]
    assert (order.total, order.currency, order.lines[0].unit_price) == (
        Decimal("25.00"),
        "USD",
        Decimal("12.50"),
    )
    assert order.customer.name == "Jane Doe" and order.shipping_address.is_complete()
    assert orders[afn].tags == ("fulfilled-by-amazon",)


def test_pending_reserves_and_is_held_unpaid_then_opens_ships_or_releases(world_for):
    world = world_for()
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    world.import_listings()
    first = world.amazon.sell("MUG", 2, status="PENDING")
    second = world.amazon.sell("MUG", 3, status="PENDING")

    world.sync.pull_orders("amazon")

    assert world.orders() == {first: "on_hold", second: "on_hold"}
    assert world.levels("MUG") == (10, 5)  # payment not confirmed holds; it does not cancel
    reason = world.hub.read(
        lambda c: c.execute(
            sa.select(order_t.c.hold_reason).where(order_t.c.external_id == first)
        ).scalar_one()
    )
    assert [h.code for h in parse_holds(reason)] == ["unpaid"]

    world.amazon.store.set_status(first, "UNSHIPPED")
    world.amazon.store.set_status(second, "CANCELLED")
    world.sync.pull_orders("amazon")

    assert world.orders() == {first: "open", second: "cancelled"}
    assert world.levels("MUG") == (10, 2)

    world.amazon.store.set_status(first, "SHIPPED")
    world.sync.pull_orders("amazon")

    assert world.orders()[first] == "fulfilled"
    assert world.levels("MUG") == (8, 0)


def test_an_interrupted_pull_resumes_from_its_committed_cursor(world_for):
    world = world_for(page_size=2)
    world.amazon.add_listing("MUG", quantity=50)
    world.receive("MUG", 50)
    made = [world.amazon.sell("MUG", 1) for _ in range(5)]
    world.sync.stopping.set()  # the service is stopping: the pull ends at a safe point

    first = world.sync.pull_orders("amazon")

    assert (first.pages, first.complete) == (1, False)
    assert sorted(world.orders()) == sorted(made[:2])
    world.sync.stopping.clear()
    second = world.sync.pull_orders("amazon")

    assert second.complete and (second.pages, second.created) == (2, 3)
    assert sorted(world.orders()) == sorted(made)
    resumed = _query(world.amazon, "searchOrders")
    assert "paginationToken" in resumed  # the last call of the resumed run followed a token
    calls = [q for op, q in world.amazon.requests if op == "searchOrders"]
    assert len(calls) == 3  # page 1, then pages 2 and 3: nothing read twice
    assert world.levels("MUG") == (50, 5)
