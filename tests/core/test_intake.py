"""Order intake: exactly once, never backwards, holds instead of failures."""

from __future__ import annotations

from builders import order

from hub import DeliveryWindow, Hold, OrderStatus, PaymentStatus, hookimpl
from hub.core import ledger
from hub.core.orderbook import find_order, list_orders


def stock(hub, sku="MUG", quantity=5, location="main"):
    hub.write(lambda c: ledger.receive(c, sku, location, quantity))


def level(hub, sku="MUG"):
    found = hub.read(lambda c: ledger.levels(c, sku))
    return sum(x.on_hand for x in found), sum(x.reserved for x in found)


def test_new_order_is_stored_and_reserves_its_stock(hub):
    stock(hub)
    report = hub.ingest("web", [order("1001", ("MUG", 2))])
    assert [(o.action, o.status) for o in report.outcomes] == [("created", "open")]
    assert level(hub) == (5, 2)
    record = hub.read(lambda c: find_order(c, "web:1001"))
    assert record.order["customer_email"] == "ada@example.com"
    assert [(ln["sku"], ln["quantity"]) for ln in record.lines] == [("MUG", 2)]
    assert record.events[0]["status"] == "open"


def test_same_order_three_times_is_stored_once_and_reserves_once(hub):
    stock(hub)
    same = order("1001", ("MUG", 2))
    hub.ingest("web", [same, same])
    report = hub.ingest("web", [same])
    assert report.outcomes[0].action == "unchanged"
    assert level(hub) == (5, 2)
    assert len(hub.read(lambda c: list_orders(c))) == 1


def test_edited_order_adjusts_its_reservation(hub):
    stock(hub)
    hub.ingest("web", [order("1001", ("MUG", 2))])
    hub.ingest("web", [order("1001", ("MUG", 4), minutes=5)])
    assert level(hub) == (5, 4)
    hub.ingest("web", [order("1001", ("MUG", 1), minutes=10)])
    assert level(hub) == (5, 1)
    assert hub.read(ledger.verify) == []


def test_cancellation_releases_and_a_late_older_version_changes_nothing(hub):
    stock(hub)
    hub.ingest("web", [order("1001", ("MUG", 2))])
    hub.ingest("web", [order("1001", ("MUG", 2), minutes=9, status=OrderStatus.CANCELLED)])
    assert level(hub) == (5, 0)
    late = hub.ingest("web", [order("1001", ("MUG", 3), minutes=4)])  # arrives after the cancel
    assert late.outcomes[0].action == "unchanged"
    assert level(hub) == (5, 0)
    assert hub.read(lambda c: find_order(c, "web:1001")).order["status"] == "cancelled"


def test_a_cancelled_order_reopened_on_the_channel_reserves_again(hub):
    # WooCommerce lets a merchant set a cancelled order back to processing, and then takes
    # its stock again: the newest version decides, in either direction.
    stock(hub)
    hub.ingest("web", [order("7", ("MUG", 1), status=OrderStatus.CANCELLED)])
    assert level(hub) == (5, 0)
    report = hub.ingest("web", [order("7", ("MUG", 1), minutes=3)])
    assert report.outcomes[0].status == "open"
    assert level(hub) == (5, 1)


def test_unknown_sku_holds_the_order_without_failing_the_page(hub):
    stock(hub)
    report = hub.ingest("web", [order("1", ("NOPE", 1), ("MUG", 1)), order("2", ("MUG", 1))])
    outcome = {o.external_id: o for o in report.outcomes}
    assert outcome["1"].status == "on_hold"
    assert "unknown SKU 'NOPE'" in outcome["1"].reason
    assert outcome["2"].status == "open"
    assert level(hub) == (5, 1)


def test_too_little_stock_holds_with_a_readable_reason(hub):
    stock(hub, quantity=3)
    report = hub.ingest("web", [order("1", ("MUG", 2)), order("2", ("MUG", 2))])
    held = [o for o in report.outcomes if o.status == "on_hold"]
    assert len(held) == 1
    assert held[0].reason == "not enough stock: 'MUG' needs 2 more, 1 available"
    assert level(hub) == (3, 2)
    assert hub.read(lambda c: list_orders(c, status="on_hold"))[0].hold_reason == held[0].reason


def test_stock_from_every_location_of_the_channel_is_used_in_order(hub):
    stock(hub, quantity=1, location="main")
    stock(hub, quantity=2, location="store")
    hub.ingest("web", [order("1", ("MUG", 3))])
    reserved = {x.location: x.reserved for x in hub.read(lambda c: ledger.levels(c, "MUG"))}
    assert reserved == {"main": 1, "store": 2}


def test_bundle_orders_reserve_their_components(hub):
    stock(hub, "CUP", 4)
    stock(hub, "SAUCER", 4)
    hub.write(lambda c: ledger.ensure_product(c, "SET"))
    hub.write(lambda c: ledger.set_bundle(c, "SET", {"CUP": 2, "SAUCER": 1}))
    hub.ingest("web", [order("1", ("SET", 2))])
    assert level(hub, "CUP") == (4, 4)
    assert level(hub, "SAUCER") == (4, 2)


def test_unpaid_and_risky_orders_are_held_by_the_builtin_checks_but_keep_stock(hub):
    stock(hub)
    report = hub.ingest(
        "web",
        [
            order("1", ("MUG", 1), payment=PaymentStatus.PENDING),
            order("2", ("MUG", 1), risk_level="high"),
        ],
    )
    reasons = {o.external_id: o.reason for o in report.outcomes}
    assert reasons["1"].startswith("unpaid: payment is pending")
    assert reasons["2"].startswith("fraud_risk")
    assert level(hub) == (5, 2)
    paid = hub.ingest("web", [order("1", ("MUG", 1), minutes=2)])
    assert paid.outcomes[0].status == "open"


def test_shipped_on_the_channel_turns_the_reservation_into_a_sale(hub):
    stock(hub)
    hub.ingest("web", [order("1", ("MUG", 2))])
    hub.ingest("web", [order("1", ("MUG", 2), minutes=1, status=OrderStatus.FULFILLED)])
    assert level(hub) == (3, 0)
    assert hub.read(ledger.verify) == []


def test_delivery_window_and_address_are_kept(hub):
    from builders import T0

    stock(hub)
    window = DeliveryWindow(T0.replace(hour=14), T0.replace(hour=16))
    hub.ingest("web", [order("1", ("MUG", 1), delivery_window=window)])
    row = hub.read(lambda c: find_order(c, "1")).order
    assert row["window_start"] == window.start and row["window_end"] == window.end
    assert row["ship_postcode"] == "N1 1AA"


def test_check_order_hook_from_another_plugin_can_hold_and_a_failing_one_is_isolated(sqlite_url):
    from builders import make_hub

    class NoBigOrders:
        @hookimpl
        def check_order(self, order):
            if sum(line.quantity for line in order.lines) > 3:
                return Hold("too_big", "more than 3 units: call the customer")

    class Broken:
        @hookimpl
        def check_order(self, order):
            raise RuntimeError("boom")

    with make_hub(sqlite_url, plugins=(NoBigOrders(), Broken())) as hub:
        stock(hub)
        report = hub.ingest("web", [order("1", ("MUG", 4)), order("2", ("MUG", 1))])
        assert [o.status for o in report.outcomes] == ["on_hold", "open"]
        assert "too_big: more than 3 units" in report.outcomes[0].reason
        assert any("boom" in error for error in hub.plugins.failing.values())


def test_a_bundle_short_of_a_component_names_the_component(hub):
    stock(hub, "CUP", 1)
    stock(hub, "SAUCER", 4)
    hub.write(lambda c: ledger.ensure_product(c, "SET"))
    hub.write(lambda c: ledger.set_bundle(c, "SET", {"CUP": 2, "SAUCER": 1}))
    report = hub.ingest("web", [order("1", ("SET", 1))])
    assert report.outcomes[0].reason == "not enough stock: 'CUP' needs 2 more, 1 available"
    assert level(hub, "SAUCER") == (4, 0)


def test_held_orders_are_decided_again_when_stock_arrives(hub):
    stock(hub, quantity=1)
    hub.ingest("web", [order("1", ("MUG", 2)), order("2", ("NEW", 1))])
    assert hub.recheck_holds() == {"on_hold": 2}
    history = hub.read(lambda c: find_order(c, "web:1")).events
    assert len(history) == 1  # re-deciding the same hold writes no new history
    stock(hub, quantity=5)  # arriving stock decides the orders waiting for it at once
    hub.write(lambda c: ledger.receive(c, "NEW", "main", 1))
    assert hub.recheck_holds() == {}
    assert level(hub) == (6, 2)
    assert hub.read(lambda c: find_order(c, "web:1")).events[-1]["status"] == "open"


def test_an_order_that_cannot_be_stored_is_rejected_alone(hub):
    stock(hub)
    report = hub.ingest("web", [order("x" * 200, ("MUG", 1)), order("ok", ("MUG", 1))])
    outcome = {o.action: o for o in report.outcomes}
    assert outcome["rejected"].reason == "external id must have 1 to 128 characters"
    assert outcome["created"].status == "open"
