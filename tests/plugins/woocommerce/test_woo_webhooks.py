"""Webhooks: signed deliveries accepted, forged ones refused, order/product topics
turned into events, redeliveries and out-of-order deliveries recognisable."""

from __future__ import annotations

import json

from hub import OrderStatus
from hub_plugins.woocommerce import WooCommerceChannel, WooSandbox
from hub_plugins.woocommerce.webhook import signature


def test_order_created_delivery_is_verified_and_parsed(
    sandbox: WooSandbox, channel: WooCommerceChannel, receiver
) -> None:  # type: ignore[no-untyped-def]
    sandbox.add_product("MUG", stock=5)
    order = sandbox.create_order([("MUG", 2)])

    deliveries = sandbox.deliver_webhooks()

    assert [(d.topic, d.status) for d in deliveries] == [
        ("product.updated", 200),
        ("order.created", 200),
    ]  # stock left the shelf first
    assert receiver.refused == 0
    stock_event, order_event = receiver.events
    assert stock_event.skus == ("MUG",)
    assert order_event.topic == "order.created"
    assert order_event.order is not None
    assert order_event.order.external_id == str(order["id"])
    assert order_event.order.lines[0].quantity == 2
    assert order_event.delivery_id == str(deliveries[1].delivery_id)
    headers = deliveries[1].headers
    assert headers["X-WC-Webhook-Resource"] == "order"
    assert headers["X-WC-Webhook-Event"] == "created"
    assert headers["X-WC-Webhook-Source"] == sandbox.store.site_url


def test_forged_or_unsigned_deliveries_are_refused(
    sandbox: WooSandbox, channel: WooCommerceChannel, receiver
) -> None:  # type: ignore[no-untyped-def]
    sandbox.add_product("MUG", stock=5)
    sandbox.add_webhook("order.created", receiver.url, secret="not-the-shared-secret")
    sandbox.create_order([("MUG", 1)])

    deliveries = sandbox.deliver_webhooks()

    statuses = sorted((d.topic, d.status) for d in deliveries)
    assert statuses == [("order.created", 200), ("order.created", 401), ("product.updated", 200)]
    assert receiver.refused == 1
    body = b'{"id": 1}'
    assert not channel.verify_webhook({}, body)
    assert not channel.verify_webhook({"X-WC-Webhook-Signature": "AAAA"}, body)
    good = signature(sandbox.webhook_secret, body)
    assert channel.verify_webhook({"x-wc-webhook-signature": good}, body)
    assert not channel.verify_webhook({"X-WC-Webhook-Signature": good}, body + b" ")


def test_order_updated_and_deleted_topics(
    sandbox: WooSandbox, channel: WooCommerceChannel, receiver
) -> None:  # type: ignore[no-untyped-def]
    sandbox.add_product("MUG", stock=5)
    order = sandbox.create_order([("MUG", 1)])
    sandbox.deliver_webhooks()
    receiver.events.clear()

    sandbox.cancel_order(order["id"])
    sandbox.delete_order(order["id"])
    sandbox.deliver_webhooks()

    topics = [e.topic for e in receiver.events]
    assert topics == ["product.updated", "order.updated", "order.deleted"]
    assert receiver.events[0].skus == ("MUG",)
    cancelled = receiver.events[1].order
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert receiver.events[2].cancelled_order_id == str(order["id"])
    assert sandbox.stock("MUG") == 5  # the cancelled unit is back on the shelf


def test_delivered_twice_carries_the_same_delivery_id(
    sandbox: WooSandbox, channel: WooCommerceChannel, receiver
) -> None:  # type: ignore[no-untyped-def]
    sandbox.add_product("MUG", stock=None)  # no stock webhook: only the order's
    sandbox.create_order([("MUG", 1)])
    sandbox.faults.duplicate_webhooks = 1

    deliveries = sandbox.deliver_webhooks()

    assert len(deliveries) == 2
    first, second = receiver.events
    assert first.delivery_id == second.delivery_id != ""
    assert first.order == second.order


def test_out_of_order_deliveries_can_be_put_back_in_order(
    sandbox: WooSandbox, channel: WooCommerceChannel, receiver
) -> None:  # type: ignore[no-untyped-def]
    sandbox.add_product("MUG", stock=None)
    order = sandbox.create_order([("MUG", 1)], status="on-hold")
    sandbox.deliver_webhooks()
    receiver.events.clear()
    sandbox.advance(60)
    sandbox.update_order(order["id"], status="processing")
    sandbox.advance(60)
    sandbox.update_order(order["id"], status="completed")
    sandbox.faults.reorder_webhooks = 1

    sandbox.deliver_webhooks()

    arrived = [e.order for e in receiver.events]
    assert [o.status for o in arrived if o] == [OrderStatus.FULFILLED, OrderStatus.OPEN]
    newest = max((o for o in arrived if o), key=lambda o: o.updated_at)  # what the hub keeps
    assert newest.status is OrderStatus.FULFILLED


def test_product_updated_names_the_sku_and_ping_is_harmless(
    sandbox: WooSandbox, channel: WooCommerceChannel, receiver
) -> None:  # type: ignore[no-untyped-def]
    sandbox.add_variable_product("TEE", variations=[{"sku": "TEE-S", "stock": 2}])
    sandbox.set_stock("TEE-S", 9)

    sandbox.deliver_webhooks()

    assert [e.skus for e in receiver.events] == [("TEE-S",)]
    assert json.loads(json.dumps(receiver.events[0].payload))["stock_quantity"] == 9
    ping = b"webhook_id=3"
    event = channel.parse_webhook({"X-WC-Webhook-Signature": signature("s", ping)}, ping)
    assert event.topic == "ping"


def test_webhook_is_disabled_after_five_failed_deliveries(sandbox: WooSandbox) -> None:
    sandbox.add_product("MUG", stock=None)
    [sub] = sandbox.add_webhook("order.created", "http://127.0.0.1:9/nowhere")
    for _ in range(5):
        sandbox.create_order([("MUG", 1)])

    failed = [d for d in sandbox.deliver_webhooks() if d.webhook_id == sub.id]

    assert len(failed) == 5 and all(d.status is None and d.error for d in failed)
    assert sub.status == "disabled"
