"""Square's webhook signature (HMAC-SHA256 over the notification URL + raw body), behind a
proxy, and deliveries that arrive twice, out of order or replayed, landing once."""

from __future__ import annotations

import json

import requests
import sqlalchemy as sa
from conftest import PUBLIC_URL, SHOP_B, make_channel

from hub.core.models import inbox_t, order_t
from hub.core.orderbook import list_orders
from hub_plugins.pos.webhook import SIGNATURE_HEADER, signature


def _event_body(order_id: str = "O00000042SBX") -> bytes:
    event = {
        "merchant_id": "MLSANDBOX0001",
        "type": "order.updated",
        "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
        "created_at": "2026-11-30T10:00:00.000Z",
        "data": {
            "type": "order",
            "id": order_id,
            "object": {
                "order_updated": {
                    "order_id": order_id,
                    "version": 2,
                    "location_id": SHOP_B,
                    "state": "COMPLETED",
                    "created_at": "2026-11-30T09:59:00.000Z",
                    "updated_at": "2026-11-30T10:00:00.000Z",
                }
            },
        },
    }
    # Square's own spacing: the signature covers these bytes, not a re-serialisation
    return json.dumps(event, indent=1).encode()


def _post_through_proxy(world, body: bytes, signed: str) -> int:  # type: ignore[no-untyped-def]
    """POST as the proxy forwards it: plain http to an inner address, the scheme in
    X-Forwarded-Proto, the inner host in Host."""
    answer = requests.post(
        world.hooks_url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "Host": "10.0.0.5:8000",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.9",
            SIGNATURE_HEADER: signed,
        },
        timeout=10,
    )
    return answer.status_code


def _inbox(world) -> int:  # type: ignore[no-untyped-def]
    return int(world.hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(inbox_t))))


def test_behind_a_proxy_only_the_signature_over_the_public_url_and_raw_body_is_accepted(world):
    key = world.square.signature_key
    body = _event_body()
    assert PUBLIC_URL.startswith("https://")
    forged = {
        "over the http URL": signature(key, PUBLIC_URL.replace("https://", "http://"), body),
        "over the URL with a trailing slash": signature(key, PUBLIC_URL + "/", body),
        "over a body one byte different": signature(key, PUBLIC_URL, body[:-1] + b" "),
        "after parsing and re-serialising": signature(
            key, PUBLIC_URL, json.dumps(json.loads(body)).encode()
        ),
        "over the URL the request reached": signature(
            key, "http://10.0.0.5:8000/webhooks/square", body
        ),
        "with another key": signature("not-the-key", PUBLIC_URL, body),
    }
    for why, signed in forged.items():
        assert _post_through_proxy(world, body, signed) == 401, why
    assert _inbox(world) == 0  # nothing of the refused deliveries was stored or processed
    assert world.sync.process_inbox() == 0

    assert _post_through_proxy(world, body, signature(key, PUBLIC_URL, body)) == 200
    assert _inbox(world) == 1


def test_a_sale_at_the_till_reaches_the_hub_by_webhook_once_however_it_is_delivered(world):
    world.import_listings()
    world.square.faults.duplicate_webhooks = 3  # every delivery posted twice
    world.square.faults.reorder_webhooks = 1  # the batch newest first
    sale = world.square.sell("MUG", 1, SHOP_B)
    world.square.store.touch(world.square.store.orders[sale["id"]])  # a later version too
    world.square.faults.replay_webhooks = 1  # and one earlier body posted again
    deliveries = world.square.deliver_webhooks()
    assert {d.status for d in deliveries} == {200}
    assert len(deliveries) >= 5
    world.sync.process_inbox()
    world.sync.pull_orders("square")  # the poll finds the same order again
    orders = world.hub.read(lambda c: list_orders(c, channel="square"))
    assert [(o.external_id, o.status) for o in orders] == [(sale["id"], "fulfilled")]
    assert world.level("MUG")["store"] == (0, 0)  # the shop's unit sold, once
    assert world.level("MUG")["main"] == (3, 0)  # not taken from the other shop


def test_forged_deliveries_are_refused_by_the_channel(sandbox, channel, receiver):
    sandbox.add_variation("MUG", price="12.50", stock={"LSHOPA": 2})
    sandbox.sell("MUG", 1)
    good = sandbox.deliver_webhooks()
    assert {d.status for d in good} == {200}
    headers, body = good[0].headers, good[0].body
    assert channel.verify_webhook(headers, body)
    assert not channel.verify_webhook(headers, body + b"\n")
    assert not channel.verify_webhook({**headers, SIGNATURE_HEADER: ""}, body)
    assert not channel.verify_webhook({}, body)
    stolen = requests.post(receiver.url, data=body + b" ", headers=headers, timeout=10)
    assert stolen.status_code == 401 and receiver.refused == 1


def test_an_order_event_is_read_back_and_a_count_event_names_its_skus(sandbox, channel, receiver):
    sandbox.add_variation("MUG", price="12.50", stock={"LSHOPA": 2, "LSHOPB": 5})
    list(channel.fetch_listings())
    sale = sandbox.sell("MUG", 2, "LSHOPB")
    sandbox.deliver_webhooks()
    topics = [e.topic for e in receiver.events]  # two opening counts, the sale, its count
    assert topics == ["inventory.count.updated"] * 2 + ["order.created", "inventory.count.updated"]
    created = receiver.events[2]
    assert created.order is not None and created.order.external_id == sale["id"]
    assert created.order.location == "store" and created.order.status.value == "fulfilled"
    assert created.delivery_id == created.payload["event_id"]
    moved = receiver.events[3]
    assert moved.skus == ("MUG",)
    assert moved.quantities == {}  # two shops: one figure per SKU would be wrong
    assert moved.occurred_at is not None


def test_a_count_event_carries_the_figure_when_the_channel_maps_one_shop(sandbox, server, receiver):
    single = make_channel(sandbox, server.url, location_map={"LSHOPA": "main"}, locations=[])
    receiver.channel = single
    sandbox.add_variation("MUG", price="12.50", stock={"LSHOPA": 4})
    sandbox.sell("MUG", 1, "LSHOPA")
    sandbox.deliver_webhooks()
    counts = [e for e in receiver.events if e.topic == "inventory.count.updated"]
    assert counts[-1].quantities == {"MUG": 3}


def test_an_unreadable_event_is_a_dead_letter_at_once(world):
    body = b'{"type": "order.updated", "event_id": "x"}'
    signed = signature(world.square.signature_key, PUBLIC_URL, body)
    assert _post_through_proxy(world, body, signed) == 200
    world.sync.process_inbox()
    status = world.hub.read(lambda c: c.execute(sa.select(inbox_t.c.status)).scalar_one())
    assert status != "pending"
    assert world.hub.read(lambda c: c.scalar(sa.select(sa.func.count()).select_from(order_t))) == 0


def test_only_deliveries_that_read_back_take_a_call_from_the_limiter(sandbox, server, channel):
    """A till sale sends order.created (read back: one call) and inventory.count.updated
    (the body says it all once the variation is known: none); the core takes that many
    tokens before parsing, so count events never wait behind the orders' budget."""
    sandbox.add_variation("MUG", price="12.50", stock={"LSHOPA": 2})
    sandbox.deliver_webhooks()
    list(channel.fetch_listings())  # the variation's SKU is known to this adapter now
    sandbox.sell("MUG", 1, "LSHOPA")
    sale = sandbox.deliver_webhooks()
    costs = {d.topic: channel.webhook_calls(d.headers, d.body) for d in sale}
    assert costs == {"order.created": 1, "inventory.count.updated": 0}
    fresh = make_channel(sandbox, server.url)  # knows no variation: the count needs a lookup
    count = next(d for d in sale if d.topic == "inventory.count.updated")
    assert fresh.webhook_calls(count.headers, count.body) == 1
    assert channel.webhook_calls({}, b"{not json") == 1  # parsing it will say what is wrong
