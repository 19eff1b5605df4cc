"""Fulfilment: the order becomes completed in the store, with a tracking note and,
when configured, the Shipment Tracking extension's meta."""

from __future__ import annotations

import pytest

from hub import ChannelError
from hub_plugins.woocommerce import WooCommerceChannel, WooSandbox

TRACKING_META = "_wc_shipment_tracking_items"


def test_fulfil_completes_the_order_with_a_tracking_note(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.add_product("MUG", stock=5)
    order = sandbox.create_order([("MUG", 1)])

    channel.fulfill(str(order["id"]), "UPS", "1Z999AA1", "https://ups.example/1Z999AA1")

    stored = sandbox.order(order["id"])
    assert stored["status"] == "completed"
    assert stored["date_completed_gmt"]
    [note] = sandbox.notes(order["id"])
    assert "UPS" in note["note"] and "1Z999AA1" in note["note"]
    assert "https://ups.example/1Z999AA1" in note["note"]
    assert note["customer_note"] is True
    assert sandbox.stock("MUG") == 4  # completing a processing order does not move stock again


def test_fulfil_writes_shipment_tracking_meta_when_configured(
    sandbox: WooSandbox, channel_for
) -> None:
    sandbox.add_product("MUG", stock=5)
    order = sandbox.create_order([("MUG", 2)])
    channel = channel_for(tracking_meta_key=TRACKING_META, tracking_note_to_customer=False)

    channel.fulfill(str(order["id"]), "DHL", "JD0001")
    channel.fulfill(str(order["id"]), "DHL", "JD0002")  # a second parcel

    meta = {m["key"]: m["value"] for m in sandbox.order(order["id"])["meta_data"]}
    numbers = [item["tracking_number"] for item in meta[TRACKING_META]]
    assert numbers == ["JD0001", "JD0002"]
    assert meta[TRACKING_META][0]["custom_tracking_provider"] == "DHL"
    assert [n["customer_note"] for n in sandbox.notes(order["id"])] == [False, False]


def test_fulfil_retried_after_a_failure_leaves_one_note(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.add_product("MUG", stock=5)
    order = sandbox.create_order([("MUG", 1)])
    sandbox.faults.server_errors = 0
    channel.fulfill(str(order["id"]), "UPS", "1Z1")
    sandbox.faults.server_errors = 1  # the retry's first call fails...

    with pytest.raises(ChannelError):
        channel.fulfill(str(order["id"]), "UPS", "1Z1")
    channel.fulfill(str(order["id"]), "UPS", "1Z1")  # ...and the core retries again

    assert len(sandbox.notes(order["id"])) == 1
    assert sandbox.order(order["id"])["status"] == "completed"


def test_fulfil_of_an_unknown_order_names_it(channel: WooCommerceChannel) -> None:
    with pytest.raises(ChannelError, match="orders/424242") as failure:
        channel.fulfill("424242", "UPS", "1Z1")

    assert failure.value.status == 404
    assert failure.value.retryable is False


def test_fulfil_of_an_order_already_completed_with_its_note_writes_nothing(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.add_product("MUG", stock=5)
    order = sandbox.create_order([("MUG", 1)])
    channel.fulfill(str(order["id"]), "UPS", "1Z1", "https://ups.example/1Z1")
    writes = [c for c in sandbox.calls if c.method != "GET"]

    channel.fulfill(str(order["id"]), "UPS", "1Z1", "https://ups.example/1Z1")  # answer was lost

    assert [c for c in sandbox.calls if c.method != "GET"] == writes
    assert len(sandbox.notes(order["id"])) == 1


def test_fulfil_refuses_an_order_the_store_cancelled_and_leaves_its_stock(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.add_product("MUG", stock=5)
    order = sandbox.create_order([("MUG", 2)])
    sandbox.cancel_order(order["id"])

    with pytest.raises(ChannelError, match=f"order {order['id']} is cancelled") as refused:
        channel.fulfill(str(order["id"]), "UPS", "1Z1")

    assert refused.value.retryable is False
    assert sandbox.order(order["id"])["status"] == "cancelled"
    assert sandbox.stock("MUG") == 5
    assert sandbox.notes(order["id"]) == []
