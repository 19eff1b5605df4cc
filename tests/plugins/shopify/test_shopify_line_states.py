"""Each order line's state (units kept, shipped, returned to stock, whether it takes stock)
as Shopify reports it, the same through the pull over the Admin API and through the
``orders/*`` webhook bodies: partial shipments, refunds with and without restock,
cancellations of unshipped units, edits after shipping, custom items and lines without
SKU."""

from __future__ import annotations

import json

import pytest
from builders import Receiver

from hub import Order, OrderStatus
from hub_plugins.shopify import ShopifyChannel, ShopifySandbox

State = tuple[str, str, int, int, int, bool]  # sku, title, quantity, fulfilled, returned, stocked


@pytest.fixture
def shop(sandbox: ShopifySandbox) -> ShopifySandbox:
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.00", "stock": 50}])
    sandbox.add_product("Tee", [{"sku": "TEE", "price": "20.00", "stock": 50}])
    return sandbox


def states(order: Order) -> list[State]:
    return [
        (ln.sku, ln.title, ln.quantity, ln.fulfilled_quantity, ln.returned_quantity, ln.stocked)
        for ln in order.lines
    ]


def reported(shop: ShopifySandbox, channel: ShopifyChannel, receiver: Receiver, order_id: int):
    """The order as the pull reads it and as its last webhook carried it."""
    pulled = {o.external_id: o for p in channel.fetch_orders(None, None) for o in p.orders}
    shop.deliver_webhooks()
    sent = [e.order for e in receiver.events if e.order and e.order.external_id == str(order_id)]
    return pulled[str(order_id)], sent[-1]


def test_a_partial_shipment_reports_the_units_shipped(shop, channel, receiver):
    order = shop.create_order([("MUG", 3), ("TEE", 1)])

    shop.ship(order.id, [("MUG", 2)], company="UPS", number="1Z1")

    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 3, 2, 0, True), ("TEE", "Tee", 1, 0, 0, True)]
        assert seen.status is OrderStatus.OPEN


def test_a_refund_with_restock_of_shipped_units_is_a_return(shop, channel, receiver):
    order = shop.create_order([("MUG", 3)])
    shop.ship(order.id)

    shop.refund(order.id, [("MUG", 1)], restock=True)

    assert shop.stock("MUG") == 48  # Shopify took the unit back into its stock
    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 3, 3, 1, True)]


def test_a_refund_without_restock_leaves_the_shipped_units_sold(shop, channel, receiver):
    order = shop.create_order([("MUG", 2)])
    shop.ship(order.id)

    shop.refund(order.id, [("MUG", 1)], restock=False)

    assert shop.stock("MUG") == 48
    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 2, 2, 0, True)]


def test_a_legacy_restock_of_shipped_units_counts_as_returned(shop, channel, receiver):
    order = shop.create_order([("MUG", 2)])
    shop.ship(order.id)

    shop.refund(order.id, [("MUG", 2)], restock_type="LEGACY_RESTOCK")

    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 2, 2, 2, True)]


def test_cancelling_unshipped_units_lowers_the_quantity(shop, channel, receiver):
    order = shop.create_order([("MUG", 3)])
    shop.ship(order.id, [("MUG", 1)])

    shop.refund(order.id, [("MUG", 2)], restock_type="CANCEL")

    assert shop.stock("MUG") == 49
    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 1, 1, 0, True)]


def test_unshipped_units_refunded_without_restock_leave_the_order(shop, channel, receiver):
    order = shop.create_order([("MUG", 3)])

    shop.refund(order.id, [("MUG", 1)], restock=False)

    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 2, 0, 0, True)]


def test_a_cancellation_after_a_partial_shipment_keeps_the_shipped_units(shop, channel, receiver):
    order = shop.create_order([("MUG", 3), ("TEE", 2)])
    shop.ship(order.id, [("MUG", 1)])

    shop.cancel_order(order.id)

    assert (shop.stock("MUG"), shop.stock("TEE")) == (49, 50)
    for seen in reported(shop, channel, receiver, order.id):
        assert seen.status is OrderStatus.CANCELLED
        assert states(seen) == [("MUG", "Mug", 1, 1, 0, True), ("TEE", "Tee", 0, 0, 0, True)]


def test_an_edit_after_shipping_removes_unshipped_units_and_adds_lines(shop, channel, receiver):
    order = shop.create_order([("MUG", 2)])
    shop.ship(order.id, [("MUG", 1)])

    shop.edit_order(order.id, remove=[("MUG", 1)], add=[("TEE", 1)])

    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 1, 1, 0, True), ("TEE", "Tee", 1, 0, 0, True)]
    shop.ship(order.id)
    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 1, 1, 0, True), ("TEE", "Tee", 1, 1, 0, True)]
        assert seen.status is OrderStatus.FULFILLED


def test_custom_items_without_sku_take_no_stock(shop, channel, receiver):
    order = shop.create_order(
        [
            ("MUG", 1),
            {"title": "Gift wrap", "quantity": 1, "price": "3.00", "requires_shipping": False},
            {"title": "Engraving", "quantity": 1, "price": "8.00"},  # ships, but no inventory
        ]
    )

    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [
            ("MUG", "Mug", 1, 0, 0, True),
            ("", "Gift wrap", 1, 0, 0, False),
            ("", "Engraving", 1, 0, 0, False),
        ]


def test_a_shipping_line_of_a_variant_without_sku_takes_stock_unnamed(shop, channel, receiver):
    poster = shop.add_product("Poster", [{"sku": "", "price": "9.00", "stock": 5}])
    order = shop.create_order([{"variant_id": poster["variant_ids"][0], "quantity": 2}])

    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("", "Poster", 2, 0, 0, True)]
    list(channel.fetch_orders(None, None))  # pulled again: the line's variant is known
    asked = [c.variables["ids"] for c in shop.calls if c.operation == "LineItemVariants"]
    assert asked == [[f"gid://shopify/LineItem/{shop.order(order.id).lines[0].id}"]]


def test_lines_that_need_no_shipping_or_track_no_stock_take_none(shop, channel, receiver):
    shop.add_product(
        "Ebook", [{"sku": "EBOOK", "price": "5.00", "stock": None, "requires_shipping": False}]
    )
    loose = shop.add_product("Loose tea", [{"sku": "", "price": "4.00", "stock": None}])
    order = shop.create_order(
        [("EBOOK", 1), {"variant_id": loose["variant_ids"][0], "quantity": 3}]
    )

    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [
            ("EBOOK", "Ebook", 1, 0, 0, False),
            ("", "Loose tea", 3, 0, 0, False),
        ]


def test_refunds_are_read_only_for_orders_with_shipped_units_refunded(shop, channel):
    plain = shop.create_order([("MUG", 2)])
    shop.refund(plain.id, [("MUG", 1)])  # unshipped: cancelled, nothing to read back
    returned = shop.create_order([("MUG", 2)])
    shop.ship(returned.id)
    shop.refund(returned.id, [("MUG", 1)])

    orders = {o.external_id: o for p in channel.fetch_orders(None, None) for o in p.orders}

    asked = [c.variables["id"] for c in shop.calls if c.operation == "OrderRefunds"]
    assert asked == [f"gid://shopify/Order/{returned.id}"]
    assert states(orders[str(plain.id)]) == [("MUG", "Mug", 1, 0, 0, True)]
    assert states(orders[str(returned.id)]) == [("MUG", "Mug", 2, 2, 1, True)]


def test_a_webhook_counts_only_successful_fulfillments(channel):
    line = {
        "id": 11,
        "sku": "MUG",
        "title": "Mug",
        "price": "12.00",
        "quantity": 3,
        "current_quantity": 3,
        "fulfillable_quantity": 1,
        "requires_shipping": True,
        "variant_id": 21,
        "product_exists": True,
    }
    body = {
        "id": 9001,
        "line_items": [line],
        "financial_status": "paid",
        "fulfillment_status": "partial",
        "fulfillments": [
            {"id": 1, "status": "cancelled", "line_items": [{"id": 11, "quantity": 2}]},
            {"id": 2, "status": "success", "line_items": [{"id": 11, "quantity": 2}]},
        ],
        "refunds": [],
    }
    unsaid = {k: v for k, v in line.items() if k != "fulfillable_quantity"}
    older = {**body, "id": 9002, "line_items": [unsaid]}  # a body without the field

    events = [
        channel.parse_webhook({"X-Shopify-Topic": "orders/updated"}, json.dumps(b).encode())
        for b in (body, older)
    ]

    assert [states(e.order) for e in events] == [
        [("MUG", "Mug", 3, 2, 0, True)],
        [("MUG", "Mug", 3, 2, 0, True)],
    ]


def test_fulfillment_create_with_line_items_ships_only_those_units(shop, channel, receiver):
    order = shop.create_order([("MUG", 3), ("TEE", 1)])
    fo = shop.order(order.id).fulfillment_orders[0]
    mug = next(fl for fl in fo.lines if fl["sku"] == "MUG")
    partial = {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{fo.id}",
                "fulfillmentOrderLineItems": [
                    {"id": f"gid://shopify/FulfillmentOrderLineItem/{mug['id']}", "quantity": 2}
                ],
            }
        ],
        "trackingInfo": {"company": "UPS", "number": "1Z5"},
    }

    reply = channel.client.execute("FulfillmentCreate", {"fulfillment": partial})

    assert reply["fulfillmentCreate"]["userErrors"] == []
    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 3, 2, 0, True), ("TEE", "Tee", 1, 0, 0, True)]
    channel.fulfill(str(order.id), "UPS", "1Z6")  # the rest, by the hub: IN_PROGRESS ships on
    for seen in reported(shop, channel, receiver, order.id):
        assert states(seen) == [("MUG", "Mug", 3, 3, 0, True), ("TEE", "Tee", 1, 1, 0, True)]
