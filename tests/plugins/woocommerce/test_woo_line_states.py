"""Each order line's state (units kept, shipped, returned to stock, whether it takes stock)
as WooCommerce reports it, the same through the pull and through ``order.*`` webhooks:
completion ships every unit, refunds restock or not (the line item's
``_restock_refunded_items`` meta), hand-added items and virtual products take no stock."""

from __future__ import annotations

from builders import Receiver

from hub import Order, OrderStatus
from hub_plugins.woocommerce import WooCommerceChannel, WooSandbox

State = tuple[str, str, int, int, int, bool]  # sku, title, quantity, fulfilled, returned, stocked


def states(order: Order) -> list[State]:
    return [
        (ln.sku, ln.title, ln.quantity, ln.fulfilled_quantity, ln.returned_quantity, ln.stocked)
        for ln in order.lines
    ]


def reported(
    sandbox: WooSandbox, channel: WooCommerceChannel, receiver: Receiver, order_id: int
) -> list[Order]:
    """The order as the pull reads it and as its last webhook carried it."""
    pulled = {o.external_id: o for p in channel.fetch_orders(None, None) for o in p.orders}
    sandbox.deliver_webhooks()
    sent = [e.order for e in receiver.events if e.order and e.order.external_id == str(order_id)]
    assert sent, f"no webhook carried order {order_id}"
    return [pulled[str(order_id)], sent[-1]]


def test_a_completed_order_has_shipped_every_unit_in_each_newer_version(
    sandbox: WooSandbox, channel, receiver
):
    sandbox.add_product("MUG", name="Mug", stock=10)
    order = sandbox.create_order([("MUG", 2)])
    sandbox.update_order(order["id"], status="completed")

    sandbox.update_order(order["id"], customer_note="leave it with the neighbour")

    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert seen.status is OrderStatus.FULFILLED
        assert states(seen) == [("MUG", "Mug", 2, 2, 0, True)]
    assert sandbox.stock("MUG") == 8


def test_an_open_order_has_shipped_nothing(sandbox: WooSandbox, channel, receiver):
    sandbox.add_product("MUG", name="Mug", stock=10)
    order = sandbox.create_order([("MUG", 3)])

    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert states(seen) == [("MUG", "Mug", 3, 0, 0, True)]


def test_a_refund_with_restock_after_completion_is_a_return(sandbox: WooSandbox, channel, receiver):
    sandbox.add_product("MUG", name="Mug", stock=10)
    order = sandbox.create_order([("MUG", 3)], status="completed")
    line = order["line_items"][0]["id"]

    made = channel.client.post(  # over HTTP, as the merchant's tools call the API
        f"orders/{order['id']}/refunds",
        {"line_items": [{"id": line, "quantity": 1}], "api_restock": True},
    ).data

    assert [(i["quantity"], i["meta_data"][0]["value"]) for i in made["line_items"]] == [
        (-1, str(line))
    ]
    listed = channel.client.get(f"orders/{order['id']}/refunds").data
    assert [r["id"] for r in listed] == [made["id"]]
    assert sandbox.stock("MUG") == 8
    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert states(seen) == [("MUG", "Mug", 3, 3, 1, True)]


def test_a_refund_without_restock_leaves_the_units_sold(sandbox: WooSandbox, channel, receiver):
    sandbox.add_product("MUG", name="Mug", stock=10)
    order = sandbox.create_order([("MUG", 2)], status="completed")

    sandbox.refund_order(order["id"], lines=[("MUG", 1)], restock=False)

    assert sandbox.stock("MUG") == 8
    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert states(seen) == [("MUG", "Mug", 2, 2, 0, True)]


def test_a_restocked_refund_before_shipping_takes_the_units_off(
    sandbox: WooSandbox, channel, receiver
):
    sandbox.add_product("MUG", name="Mug", stock=10)
    order = sandbox.create_order([("MUG", 3)])

    sandbox.refund_order(order["id"], lines=[("MUG", 2)])

    assert sandbox.stock("MUG") == 9
    assert any("stock increased from 7 to 9" in n["note"] for n in sandbox.notes(order["id"]))
    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert states(seen) == [("MUG", "Mug", 1, 0, 0, True)]
    sandbox.update_order(order["id"], status="completed")
    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert states(seen) == [("MUG", "Mug", 3, 3, 2, True)]  # 3 sold, 2 back: net 1


def test_a_full_refund_after_completion_keeps_the_shipment(sandbox: WooSandbox, channel, receiver):
    sandbox.add_product("MUG", name="Mug", stock=10)
    order = sandbox.create_order([("MUG", 2)], status="completed")

    sandbox.refund_order(order["id"], lines=[("MUG", 2)])

    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert seen.status is OrderStatus.REFUNDED
        assert states(seen) == [("MUG", "Mug", 2, 2, 2, True)]
    assert sandbox.stock("MUG") == 10


def test_a_refund_of_an_item_woo_does_not_stock_restocks_nothing(
    sandbox: WooSandbox, channel, receiver
):
    sandbox.add_product("SCARF", name="Scarf", stock=None)  # Woo does not manage its stock
    order = sandbox.create_order([("SCARF", 2)], status="completed")

    sandbox.refund_order(order["id"], lines=[("SCARF", 1)])

    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert states(seen) == [("SCARF", "Scarf", 2, 2, 0, True)]


def test_hand_added_items_and_virtual_products_take_no_stock(
    sandbox: WooSandbox, channel, receiver
):
    sandbox.add_product("MUG", name="Mug", stock=10)
    sandbox.add_product("INSTALL", name="Installation", stock=None, virtual=True)
    order = sandbox.create_order(
        [("MUG", 1), ("INSTALL", 1), {"name": "Gift wrap", "quantity": 1, "price": "3.00"}]
    )

    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert states(seen) == [
            ("MUG", "Mug", 1, 0, 0, True),
            ("INSTALL", "Installation", 1, 0, 0, False),
            ("", "Gift wrap", 1, 0, 0, False),
        ]


def test_a_catalogue_product_without_sku_takes_stock_unnamed(
    sandbox: WooSandbox, channel, receiver
):
    poster = sandbox.add_product("", name="Poster", stock=5)
    order = sandbox.create_order([{"product_id": poster["id"], "quantity": 2}])

    for seen in reported(sandbox, channel, receiver, order["id"]):
        assert states(seen) == [("", "Poster", 2, 0, 0, True)]


def test_virtual_flags_are_read_once_and_known_after_a_listing_import(
    sandbox: WooSandbox, channel_for
):
    sandbox.add_product("MUG", name="Mug", stock=10)
    sandbox.add_product("INSTALL", name="Installation", stock=None, virtual=True)
    for _ in range(3):
        sandbox.create_order([("MUG", 1), ("INSTALL", 1)])
    fresh, listed = channel_for(), channel_for()
    list(listed.fetch_listings())
    before = len(sandbox.calls)

    pulls = [list(fresh.fetch_orders(None, None)), list(fresh.fetch_orders(None, None))]
    list(listed.fetch_orders(None, None))

    lookups = [c for c in sandbox.calls[before:] if c.path == "products"]
    assert [c.query["include"].split(",") for c in lookups] == [
        [str(sandbox.product("MUG")["id"]), str(sandbox.product("INSTALL")["id"])]
    ]
    assert all([ln.stocked for ln in o.lines] == [True, False] for p in pulls[1] for o in p.orders)
