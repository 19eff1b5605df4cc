"""The order state machine: stock moves once per real event, whatever the channel resends."""

from __future__ import annotations

from dataclasses import replace

from builders import order

from hub import OrderLine, OrderStatus
from hub.core import ledger
from hub.core.models import movement_t
from hub.core.orderbook import find_order

SHIPPED = OrderStatus.FULFILLED


def stock(hub, sku="MUG", quantity=10, location="main"):
    hub.write(lambda c: ledger.receive(c, sku, location, quantity))


def level(hub, sku="MUG", location=None):
    found = [x for x in hub.read(lambda c: ledger.levels(c, sku)) if location in (None, x.location)]
    return sum(x.on_hand for x in found), sum(x.reserved for x in found)


def with_lines(base, *lines: OrderLine, **fields):
    return replace(base, lines=tuple(lines), **fields)


def moves_of(hub, external_id, channel="web"):
    oid = hub.read(lambda c: find_order(c, f"{channel}:{external_id}")).order["id"]
    m = movement_t.c
    rows = hub.read(
        lambda c: (
            c.execute(movement_t.select().where(m.order_id == oid).order_by(m.id)).mappings().all()
        )
    )
    return [(r["kind"], r["on_hand_delta"], r["reserved_delta"]) for r in rows]


def test_a_newer_version_of_a_completed_order_sells_nothing_again(hub):
    # Receive 10; an order for 2 completes; the merchant adds a note to the completed order.
    stock(hub)
    hub.ingest("web", [order("1", ("MUG", 2))])
    hub.ingest("web", [order("1", ("MUG", 2), minutes=5, status=SHIPPED)])
    report = hub.ingest("web", [order("1", ("MUG", 2), minutes=9, status=SHIPPED, notes="gift")])
    assert report.outcomes[0].action == "updated"
    assert level(hub) == (8, 0)
    assert report.changes == []
    assert moves_of(hub, "1") == [("reservation", 0, 2), ("sale", -2, -2)]
    assert hub.read(ledger.verify) == []


def test_partial_fulfilment_sells_what_shipped_and_keeps_the_rest_reserved(hub):
    stock(hub)
    hub.ingest("web", [order("2", ("MUG", 3))])
    part = order("2", minutes=5)
    hub.ingest("web", [with_lines(part, OrderLine("MUG", 3, fulfilled_quantity=1))])
    assert level(hub) == (9, 2)
    hub.ingest("web", [with_lines(part, OrderLine("MUG", 3, fulfilled_quantity=1), notes="x")])
    assert level(hub) == (9, 2)
    done = order("2", minutes=9, status=SHIPPED)
    hub.ingest("web", [with_lines(done, OrderLine("MUG", 3, fulfilled_quantity=3))])
    assert level(hub) == (7, 0)
    assert hub.read(lambda c: find_order(c, "web:2")).order["status"] == "fulfilled"


def test_a_refund_with_restock_books_a_return_where_the_units_shipped_from(hub):
    stock(hub, quantity=1, location="main")
    stock(hub, quantity=5, location="store")
    hub.ingest("web", [order("3", ("MUG", 3), status=SHIPPED)])  # 1 from main, 2 from store
    assert (level(hub, location="main"), level(hub, location="store")) == ((0, 0), (3, 0))
    refund = order("3", minutes=5, status=SHIPPED)
    hub.ingest("web", [with_lines(refund, OrderLine("MUG", 3, returned_quantity=2))])
    # The return goes back where units were sold, the bigger shipment first: store.
    assert (level(hub, location="main"), level(hub, location="store")) == ((0, 0), (5, 0))
    assert moves_of(hub, "3")[-1] == ("return", 2, 0)
    again = order("3", minutes=9, status=SHIPPED, notes="refund note")
    hub.ingest("web", [with_lines(again, OrderLine("MUG", 3, returned_quantity=2))])
    assert level(hub) == (5, 0)  # the same restock told again moves nothing
    assert hub.read(ledger.verify) == []


def test_a_refund_without_restock_moves_no_stock(hub):
    stock(hub)
    hub.ingest("web", [order("4", ("MUG", 2), status=SHIPPED)])
    refunded = order("4", ("MUG", 2), minutes=5, status=OrderStatus.REFUNDED)
    hub.ingest("web", [refunded])
    assert level(hub) == (8, 0)


def test_an_edit_after_shipping_reserves_only_the_added_unit(hub):
    stock(hub)
    hub.ingest("web", [order("5", ("MUG", 2), status=SHIPPED)])
    edited = order("5", minutes=5)  # the channel reopens it with one more unit to ship
    hub.ingest("web", [with_lines(edited, OrderLine("MUG", 3, fulfilled_quantity=2))])
    assert level(hub) == (8, 1)
    assert hub.read(lambda c: find_order(c, "web:5")).order["status"] == "open"


def test_a_cancellation_after_shipping_keeps_the_sale_and_releases_nothing_twice(hub):
    stock(hub)
    hub.ingest("web", [order("6", ("MUG", 2), status=SHIPPED)])
    cancelled = order("6", minutes=5, status=OrderStatus.CANCELLED)
    hub.ingest("web", [with_lines(cancelled, OrderLine("MUG", 2, fulfilled_quantity=2))])
    assert level(hub) == (8, 0)
    restocked = order("6", minutes=8, status=OrderStatus.CANCELLED)
    line = OrderLine("MUG", 2, fulfilled_quantity=2, returned_quantity=2)
    hub.ingest("web", [with_lines(restocked, line)])
    assert level(hub) == (10, 0)
    assert hub.read(ledger.verify) == []


def test_a_redelivered_old_version_moves_nothing(hub):
    stock(hub)
    hub.ingest("web", [order("7", ("MUG", 2), minutes=9, status=SHIPPED)])
    report = hub.ingest("web", [order("7", ("MUG", 2), minutes=1)])
    assert report.outcomes[0].action == "unchanged"
    assert level(hub) == (8, 0)


def test_created_and_cancelled_in_the_same_second_ends_cancelled_in_either_order(hub):
    stock(hub)
    created = order("8", ("MUG", 2))
    cancelled = order("8", ("MUG", 2), status=OrderStatus.CANCELLED)  # same updated_at
    hub.ingest("web", [created])
    hub.ingest("web", [cancelled])
    assert level(hub) == (10, 0)
    assert hub.read(lambda c: find_order(c, "web:8")).order["status"] == "cancelled"
    stock(hub, sku="CUP")
    hub.ingest("web", [order("9", ("CUP", 2), status=OrderStatus.CANCELLED)])
    report = hub.ingest("web", [order("9", ("CUP", 2))])  # the open one comes in late
    assert report.outcomes[0].action == "unchanged"
    assert level(hub, "CUP") == (10, 0)


def test_a_fulfilment_wins_over_an_open_version_of_the_same_second(hub):
    stock(hub)
    hub.ingest("web", [order("10", ("MUG", 2), status=SHIPPED)])
    assert hub.ingest("web", [order("10", ("MUG", 2))]).outcomes[0].action == "unchanged"
    assert level(hub) == (8, 0)


def test_identical_content_in_the_same_second_is_a_no_op(hub):
    stock(hub)
    hub.ingest("web", [order("11", ("MUG", 2))])
    report = hub.ingest("web", [order("11", ("MUG", 2))])
    assert report.outcomes[0].action == "unchanged"
    assert level(hub) == (10, 2)


def test_a_non_stock_line_is_kept_and_reserves_nothing(hub):
    stock(hub)
    base = order("12", minutes=0)
    gift = OrderLine("", 1, title="Gift wrap", stocked=False)
    report = hub.ingest("web", [with_lines(base, OrderLine("MUG", 1), gift)])
    assert report.outcomes[0].status == "open"
    assert level(hub) == (10, 1)
    lines = hub.read(lambda c: find_order(c, "web:12")).lines
    assert [(ln["sku"], ln["title"], ln["stocked"]) for ln in lines] == [
        ("MUG", "", True),
        ("", "Gift wrap", False),
    ]


def test_a_stocked_line_without_sku_holds_the_order_naming_the_line(hub):
    stock(hub)
    base = order("13")
    custom = OrderLine("", 1, title="Custom engraving plate")
    report = hub.ingest("web", [with_lines(base, OrderLine("MUG", 1), custom)])
    outcome = report.outcomes[0]
    assert (outcome.action, outcome.status) == ("created", "on_hold")
    assert "line 2 'Custom engraving plate' has no SKU" in outcome.reason
    assert level(hub) == (10, 0)
    assert len(hub.read(lambda c: find_order(c, "web:13")).lines) == 2


def test_an_order_line_sku_with_stray_spaces_reserves_the_product(hub):
    stock(hub)
    report = hub.ingest("web", [order("14", ("MUG ", 3))])
    assert report.outcomes[0].status == "open"
    assert level(hub) == (10, 3)
    record = hub.read(lambda c: find_order(c, "web:14"))
    assert record.lines[0]["sku"] == "MUG"
    assert "SKU 'MUG ' read as 'MUG'" in record.events[-1]["note"]
    assert hub.ingest("web", [order("14", ("MUG ", 3))]).outcomes[0].action == "unchanged"


def test_a_version_that_forgets_shipped_units_puts_nothing_back(hub):
    # WooCommerce keeps no record of shipments: a completed order later set to refunded
    # reads as "nothing shipped". Units that left stay sold until a return is reported.
    stock(hub)
    hub.ingest("web", [order("15", ("MUG", 2), status=SHIPPED)])
    hub.ingest("web", [order("15", ("MUG", 2), minutes=5)])
    assert level(hub) == (8, 0)
    assert hub.read(lambda c: find_order(c, "web:15")).order["status"] == "fulfilled"
    assert hub.read(ledger.verify) == []


def test_an_order_shipped_by_the_hub_is_not_reserved_again_by_a_channel_that_lags(hub):
    stock(hub)
    hub.ingest("web", [order("16", ("MUG", 2))])
    hub.ship("web:16", carrier="DHL", tracking_number="JD1")
    assert level(hub) == (8, 0)
    # The channel has not heard of the shipment yet and sends a newer, still open version.
    report = hub.ingest("web", [order("16", ("MUG", 2), minutes=5, notes="call first")])
    assert report.outcomes[0].status == "fulfilled"
    assert level(hub) == (8, 0)
    hub.ingest("web", [order("16", ("MUG", 2), minutes=9, status=SHIPPED)])
    assert level(hub) == (8, 0)
    assert hub.read(ledger.verify) == []
