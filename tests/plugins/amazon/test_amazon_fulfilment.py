"""Shipments of merchant-fulfilled orders confirmed to Amazon (v0 confirmShipment) with
carrier and tracking number; Amazon-fulfilled, cancelled and pending orders refused."""

from __future__ import annotations

import pytest

from hub import ChannelError
from hub.core.shipments import push_shipments


def test_a_shipment_in_the_hub_is_confirmed_once(world_for):
    world = world_for()
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    world.import_listings()
    order = world.amazon.sell("MUG", 2)
    world.sync.pull_orders("amazon")

    world.hub.ship(f"amazon:{order}", "UPS", "1Z999AA10123456784")
    result = push_shipments(world.sync, "amazon")

    assert len(result.confirmed) == 1 and not result.failed
    assert world.amazon.operations("confirmShipment") == 1
    held = world.amazon.store.order(order)
    assert held["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [(p["carrier"], p["trackingNumber"]) for p in held["packages"]] == [
        ("UPS", "1Z999AA10123456784")
    ]
    assert held["packages"][0]["packageItems"][0]["quantity"] == 2
    assert push_shipments(world.sync, "amazon").confirmed == []
    world.sync.pull_orders("amazon")
    assert world.orders()[order] == "fulfilled"
    assert world.levels("MUG") == (8, 0)


def test_confirming_again_with_the_same_tracking_number_sends_nothing(amazon, channel):
    amazon.add_listing("MUG", quantity=10)
    order = amazon.sell("MUG", 1)

    channel.fulfill(order, "Parcelforce", "PF123")
    channel.fulfill(order, "Parcelforce", "PF123")  # a lost answer made the hub send it again

    assert amazon.operations("confirmShipment") == 1
    package = amazon.store.order(order)["packages"][0]
    assert (package["carrier"], package["trackingNumber"]) == ("Other", "PF123")


@pytest.mark.parametrize(
    ("fulfilled_by", "status", "reason"),
    [
        ("AMAZON", "UNSHIPPED", "fulfilled by Amazon"),
        ("MERCHANT", "CANCELLED", "is CANCELLED"),
        ("MERCHANT", "PENDING", "is PENDING"),
    ],
)
def test_orders_the_merchant_does_not_ship_are_refused(
    amazon, channel, fulfilled_by, status, reason
):
    amazon.add_listing("MUG", quantity=10, fba=10)
    order = amazon.sell("MUG", 1, fulfilled_by=fulfilled_by)
    if status != "UNSHIPPED":
        amazon.store.set_status(order, status)

    with pytest.raises(ChannelError, match=reason) as refused:
        channel.fulfill(order, "UPS", "1Z1")

    assert not refused.value.retryable
    assert amazon.operations("confirmShipment") == 0
