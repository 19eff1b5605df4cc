"""Fulfilment: the order's open fulfillment orders fulfilled with carrier and tracking."""

from __future__ import annotations

import pytest

from hub import ChannelError
from hub_plugins.shopify import ShopifySandbox


def test_an_order_is_fulfilled_with_its_tracking_details(sandbox: ShopifySandbox, channel):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    order = sandbox.sell("MUG", 2)

    channel.fulfill(str(order.id), "UPS", "1Z999AA1", "https://track.example/1Z999AA1")

    kept = sandbox.order(order.id)
    assert kept.fulfillment_status() == "FULFILLED"
    assert kept.fulfillments[0]["tracking"] == {
        "company": "UPS",
        "number": "1Z999AA1",
        "url": "https://track.example/1Z999AA1",
    }
    create = next(c for c in sandbox.calls if c.operation == "FulfillmentCreate")
    assert create.variables["fulfillment"]["notifyCustomer"] is True
    pulled = [o for page in channel.fetch_orders(None, None) for o in page.orders]
    assert pulled[0].status.value == "fulfilled"


def test_fulfilling_twice_changes_nothing(sandbox: ShopifySandbox, channel):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    order = sandbox.sell("MUG", 1)
    channel.fulfill(str(order.id), "UPS", "1Z1")

    channel.fulfill(str(order.id), "UPS", "1Z1")

    assert len(sandbox.order(order.id).fulfillments) == 1


def test_a_cancelled_or_unknown_order_cannot_be_fulfilled(sandbox: ShopifySandbox, channel):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    order = sandbox.sell("MUG", 1)
    sandbox.cancel_order(order.id)

    with pytest.raises(ChannelError, match="nothing left to fulfil"):
        channel.fulfill(str(order.id), "UPS", "1Z2")
    with pytest.raises(ChannelError, match="does not exist"):
        channel.fulfill("424242", "UPS", "1Z3")


def test_an_order_shipped_in_the_shop_under_another_tracking_number_is_refused(
    sandbox: ShopifySandbox, channel
):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    order = sandbox.sell("MUG", 1)
    channel.fulfill(str(order.id), "UPS", "1Z-SHOP")  # the merchant shipped it in the admin

    with pytest.raises(ChannelError, match="fulfilled in the shop with tracking 1Z-SHOP"):
        channel.fulfill(str(order.id), "DHL", "JD0001")

    assert [f["tracking"]["number"] for f in sandbox.order(order.id).fulfillments] == ["1Z-SHOP"]


def test_a_fulfilment_sent_before_is_recognised_by_its_tracking_number(
    sandbox: ShopifySandbox, channel
):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    order = sandbox.sell("MUG", 1)
    channel.fulfill(str(order.id), "UPS", "1Z1")
    creates = sum(c.operation == "FulfillmentCreate" for c in sandbox.calls)

    channel.fulfill(str(order.id), "UPS", "1Z1")

    assert sum(c.operation == "FulfillmentCreate" for c in sandbox.calls) == creates
    assert len(sandbox.order(order.id).fulfillments) == 1
