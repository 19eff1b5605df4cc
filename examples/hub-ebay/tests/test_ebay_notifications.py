"""Notifications: X-EBAY-SIGNATURE checked with eBay's public key, then parsed."""

from __future__ import annotations

import base64
import json

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from hub import OrderStatus, UnreadableWebhook
from hub.sandbox import SandboxServer


@pytest.fixture
def inbox(store):
    """A local endpoint keeping every notification posted to it, the store subscribed."""
    kept: list[tuple[dict, bytes]] = []

    async def keep(request: web.Request) -> web.Response:
        kept.append((dict(request.headers), await request.read()))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/ebay", keep)
    server = SandboxServer(app).start()
    store.subscribe(server.url + "/ebay")
    yield kept
    server.stop()


def delivered(store, inbox, topic):
    store.deliver()
    return [(h, b) for h, b in inbox if json.loads(b)["metadata"]["topic"] == topic]


def test_a_genuine_notification_is_accepted_and_parsed(store, connect, inbox):
    order_id = store.sell("MUG", 2)
    [(headers, body)] = delivered(store, inbox, "ORDER_CHANGE")
    channel = connect()
    assert channel.verify_webhook(headers, body)
    event = channel.parse_webhook(headers, body)
    assert event.topic == "ORDER_CHANGE" and event.order is not None
    assert (event.order.external_id, event.order.status) == (order_id, OrderStatus.OPEN)
    assert event.delivery_id == json.loads(body)["notification"]["notificationId"]


def test_a_stock_notification_says_what_ebay_holds_now(store, connect, inbox):
    store.sell("TEE", 4)
    [(headers, body)] = delivered(store, inbox, "INVENTORY_CHANGE")
    channel = connect()
    assert channel.verify_webhook(headers, body)
    event = channel.parse_webhook(headers, body)
    assert event.quantities == {"TEE": 5} and event.occurred_at is not None


def test_forged_and_tampered_notifications_are_refused(store, connect, inbox):
    store.sell("MUG", 1)
    [(headers, body)] = delivered(store, inbox, "ORDER_CHANGE")
    channel = connect()
    tampered = body.replace(b'"quantity":1', b'"quantity":9')
    assert tampered != body and not channel.verify_webhook(headers, tampered)
    # signed by someone else's key under eBay's key id
    forger = ec.generate_private_key(ec.SECP256R1())
    fields = json.loads(base64.b64decode(headers["X-EBAY-SIGNATURE"]))
    fields["signature"] = base64.b64encode(forger.sign(body, ec.ECDSA(hashes.SHA1()))).decode()
    forged = base64.b64encode(json.dumps(fields).encode()).decode()
    assert not channel.verify_webhook({"X-EBAY-SIGNATURE": forged}, body)
    # a key id eBay never issued
    fields["kid"] = "made-up-key-id"
    unknown = base64.b64encode(json.dumps(fields).encode()).decode()
    asked = store.calls["getPublicKey"]
    assert not channel.verify_webhook({"X-EBAY-SIGNATURE": unknown}, body)
    assert not channel.verify_webhook({"X-EBAY-SIGNATURE": unknown}, body)
    assert store.calls["getPublicKey"] == asked + 1  # an unknown key id is asked for once
    assert not channel.verify_webhook({"X-EBAY-SIGNATURE": "bm90IGpzb24="}, body)
    assert not channel.verify_webhook({}, body)
    assert channel.verify_webhook(headers, body)  # the genuine one still passes


def test_the_public_key_is_fetched_once_for_many_notifications(store, connect, inbox):
    for _ in range(3):
        store.sell("MUG", 1)
    notifications = delivered(store, inbox, "ORDER_CHANGE")
    channel = connect()
    assert len(notifications) == 3
    assert all(channel.verify_webhook(h, b) for h, b in notifications)
    assert store.calls["getPublicKey"] == 1


def test_an_unreadable_notification_says_what_is_missing(connect):
    with pytest.raises(UnreadableWebhook, match="metadata.topic"):
        connect().parse_webhook({}, b'{"notification": {}}')
