"""A shipment reaches eBay by createShippingFulfillment, once per tracking number."""

from __future__ import annotations

import pytest

from hub import ChannelError, OrderStatus


def test_a_shipment_is_sent_once_with_its_tracking_number(store, connect):
    order_id = store.sell("MUG", 2)
    channel = connect()
    channel.fulfill(order_id, "USPS", "9400111899223197428490", "https://usps.example/x")
    channel.fulfill(order_id, "USPS", "9400111899223197428490")  # the hub asks again
    assert store.calls["createShippingFulfillment"] == 1
    [made] = store.fulfillments[order_id]
    assert (made["shippingCarrierCode"], made["shipmentTrackingNumber"]) == (
        "USPS",
        "9400111899223197428490",
    )
    assert made["lineItems"] == [
        {"lineItemId": store.by_id[order_id]["lineItems"][0]["lineItemId"], "quantity": 2}
    ]
    (order,) = [o for p in channel.fetch_orders(None, None) for o in p.orders]
    assert order.status is OrderStatus.FULFILLED
    assert [ln.fulfilled_quantity for ln in order.lines] == [2]


def test_a_lost_answer_does_not_ship_twice(store, connect):
    order_id = store.sell("MUG", 1)
    channel = connect(timeout=0.3)
    store.faults.timeout_seconds = 1.0

    def lose_the_answer(method, path, body):
        if method == "POST" and path.endswith("/shipping_fulfillment"):
            store.faults.lost_answers = 1  # eBay records it; the answer never arrives

    store.faults.observers.append(lose_the_answer)
    with pytest.raises(ChannelError) as lost:
        channel.fulfill(order_id, "UPS", "1Z999AA10123456784")
    assert lost.value.retryable
    store.faults.observers.clear()
    channel.fulfill(order_id, "UPS", "1Z999AA10123456784")  # the hub's retry
    assert store.calls["createShippingFulfillment"] == 1
    assert len(store.fulfillments[order_id]) == 1


def test_a_cancelled_order_is_refused_for_good(store, connect):
    order_id = store.sell("MUG", 1)
    store.cancel(order_id)
    with pytest.raises(ChannelError) as refused:
        connect().fulfill(order_id, "USPS", "9400")
    assert not refused.value.retryable
    assert "cancelled" in str(refused.value)
    assert store.calls["createShippingFulfillment"] == 0


def test_an_unknown_order_is_refused_with_ebays_reason(store, connect):
    with pytest.raises(ChannelError) as refused:
        connect().fulfill("99-99999-99999", "USPS", "9400")
    assert not refused.value.retryable and "Invalid order ID" in str(refused.value)
