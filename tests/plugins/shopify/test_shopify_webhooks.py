"""Webhooks: signed deliveries of the five topics verified in constant time and turned
into hub events; forged ones refused; duplicates and reordering as Shopify can send them."""

from __future__ import annotations

import json

import requests
from builders import Receiver

from hub import OrderStatus
from hub_plugins.shopify import ShopifySandbox
from hub_plugins.shopify.webhook import signature


def test_a_sale_sends_a_signed_order_and_the_stock_change(
    sandbox: ShopifySandbox, channel, receiver: Receiver
):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    list(channel.fetch_listings())
    order = sandbox.sell("MUG", 2)

    deliveries = sandbox.deliver_webhooks()

    assert [d.topic for d in deliveries] == ["orders/create", "inventory_levels/update"]
    assert all(d.status == 200 for d in deliveries) and receiver.refused == 0
    created, level = receiver.events
    assert created.order is not None and created.order.external_id == str(order.id)
    assert [(ln.sku, ln.quantity) for ln in created.order.lines] == [("MUG", 2)]
    assert created.delivery_id == deliveries[0].headers["X-Shopify-Webhook-Id"]
    assert level.skus == ("MUG",)


def test_the_sku_of_an_item_never_listed_is_looked_up(sandbox, channel, receiver):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    sandbox.set_stock("MUG", 9)  # an admin edit; the channel has not listed anything yet

    sandbox.deliver_webhooks()

    assert [e.skus for e in receiver.events] == [("MUG",)]


def test_cancellations_and_refunds_arrive_as_their_topics(sandbox, channel, receiver):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    kept = sandbox.sell("MUG", 2)
    dropped = sandbox.sell("MUG", 1)
    sandbox.deliver_webhooks()
    receiver.events.clear()

    sandbox.refund(kept.id, [("MUG", 1)])
    sandbox.cancel_order(dropped.id)
    sandbox.deliver_webhooks()

    topics = [e.topic for e in receiver.events]
    assert "refunds/create" in topics and "orders/cancelled" in topics
    refund = next(e for e in receiver.events if e.topic == "refunds/create")
    assert refund.skus == ("MUG",)
    cancelled = next(e for e in receiver.events if e.topic == "orders/cancelled")
    assert cancelled.order is not None and cancelled.order.status is OrderStatus.CANCELLED
    updated = [e.order for e in receiver.events if e.topic == "orders/updated" and e.order]
    assert any(o.external_id == str(kept.id) and o.lines[0].quantity == 1 for o in updated)


def test_a_forged_or_unsigned_delivery_is_refused(sandbox, channel, receiver):
    body = json.dumps({"id": 1, "line_items": []}).encode()
    headers = {"X-Shopify-Topic": "orders/create", "Content-Type": "application/json"}

    forged = requests.post(
        receiver.url,
        data=body,
        headers={**headers, "X-Shopify-Hmac-Sha256": signature("not-the-secret", body)},
        timeout=5,
    )
    unsigned = requests.post(receiver.url, data=body, headers=headers, timeout=5)
    tampered = requests.post(
        receiver.url,
        data=body + b" ",
        headers={**headers, "X-Shopify-Hmac-Sha256": signature(sandbox.api_secret, body)},
        timeout=5,
    )

    assert [forged.status_code, unsigned.status_code, tampered.status_code] == [401, 401, 401]
    assert receiver.refused == 3 and receiver.events == []
    assert channel.verify_webhook(
        {"x-shopify-hmac-sha256": signature(sandbox.api_secret, body)}, body
    )


def test_a_delivery_twice_keeps_its_webhook_id(sandbox, channel, receiver):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    sandbox.faults.duplicate_webhooks = 1
    sandbox.sell("MUG", 1)

    deliveries = sandbox.deliver_webhooks()

    assert len(deliveries) == 3
    ids = [d.headers["X-Shopify-Webhook-Id"] for d in deliveries]
    assert ids[0] == ids[1] != ids[2]
    assert receiver.events[0].order == receiver.events[1].order


def test_out_of_order_deliveries_carry_their_versions(sandbox, channel, receiver):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    order = sandbox.sell("MUG", 1)
    sandbox.advance(5)
    sandbox.update_order(order.id, note="leave at the door")
    sandbox.faults.reorder_webhooks = 1

    sandbox.deliver_webhooks()

    orders = [e.order for e in receiver.events if e.order is not None]
    assert [o.notes for o in orders] == ["leave at the door", ""]
    assert orders[0].updated_at > orders[1].updated_at  # the hub keeps the newer version


def test_an_order_by_webhook_carries_the_risk_shopify_assessed(sandbox, channel, receiver):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    sandbox.sell("MUG", 1, risk="HIGH")
    sandbox.sell("MUG", 1)

    sandbox.deliver_webhooks()

    orders = [e.order for e in receiver.events if e.order is not None]
    assert [o.risk_level for o in orders] == ["high", "low"]
    assert [c.operation for c in sandbox.calls].count("OrderRisk") == 2


def test_a_level_at_another_location_names_the_sku_but_no_quantity(sandbox, channel, receiver):
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    attic = int(sandbox.add_location("Attic").rsplit("/", 1)[1])
    item = sandbox.store.variant_by_sku("MUG")["item_id"]

    sandbox.store.set_available(item, attic, 40)  # stock kept elsewhere changed
    sandbox.set_stock("MUG", 3)  # the channel's own location changed
    sandbox.deliver_webhooks()

    assert [(e.skus, dict(e.quantities)) for e in receiver.events] == [
        (("MUG",), {}),
        (("MUG",), {"MUG": 3}),
    ]
