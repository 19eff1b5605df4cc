"""The plugin kit: check a channel plugin against the hub's contract, using its sandbox.

The whole behavioural suite is one line of a test module (see :mod:`hub.testing.contract`
for every rule, :mod:`hub.testing.plugin` for the databases it runs on)::

    from hub.testing import channel_contract
    from hub_acme import AcmeChannel

    TestAcmeContract = channel_contract(AcmeChannel)

A quicker smoke check, without a hub or a database, is one test::

    from hub.testing import check_channel
    from hub_acme import AcmeChannel

    def test_acme_keeps_the_hub_contract():
        check_channel(AcmeChannel)

It serves the plugin's sandbox store (``AcmeChannel.sandbox()``, a
:class:`hub.sandbox.DemoStore`) on a local port, connects the adapter to it through the
plugin's own config model, and checks listings, order pulls, stock pushes and webhook
signatures end to end. Each failed check raises ``AssertionError`` saying which rule of
the contract broke.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal
from typing import Any

from aiohttp import web

from hub.channels import Channel
from hub.orders import Order
from hub.sandbox import DemoItem, SandboxServer
from hub.stock import StockUpdate
from hub.testing.contract import ChannelContract, channel_contract

__all__ = ["ChannelContract", "channel_contract", "check_channel"]

KIT_ITEMS = [DemoItem("KIT-MUG", "Kit mug", "12.50", 7), DemoItem("KIT-TEE", "Kit tee", "20.00", 3)]


class _Receiver:
    """A webhook endpoint that keeps what arrives."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[Mapping[str, str], bytes]] = []
        self.arrived = threading.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.json_response({"ok": True})


def check_channel(channel_class: type[Channel], **config: Any) -> list[str]:
    """Run every contract check against the plugin's sandbox; returns the checks passed."""
    assert channel_class.type_name, "set type_name on the channel class"
    assert channel_class.sandbox is not None, "set sandbox to a DemoStore factory"
    assert channel_class.stock_batch_size >= 1, "stock_batch_size must be at least 1"
    store = channel_class.sandbox()
    store.seed(KIT_ITEMS)
    receiver = _Receiver()
    hooks_app = web.Application()
    hooks_app.router.add_post("/hooks", receiver.handle)
    server = store.serve()
    server.start()
    hooks = SandboxServer(hooks_app).start()
    try:
        section = channel_class.Config.model_validate(store.config_for(server.url, **config))
        channel = channel_class("kit", section)
        passed = [_connection(channel), _listings(channel)]
        store.subscribe(hooks.url + "/hooks")
        order_id = store.sell("KIT-MUG", 2)
        passed.append(_orders(channel, order_id))
        passed.append(_stock(channel, store))
        passed.append(_webhooks(channel, store, receiver))
        channel.close()
        return passed
    finally:
        hooks.stop()
        server.stop()


def _connection(channel: Channel) -> str:
    problems = channel.check_connection()
    assert problems == [], f"check_connection() found problems with good credentials: {problems}"
    return "check_connection accepts good credentials"


def _listings(channel: Channel) -> str:
    listings = {item.sku: item for item in channel.fetch_listings()}
    for item in KIT_ITEMS:
        assert item.sku in listings, f"fetch_listings() did not yield SKU {item.sku!r}"
        assert listings[item.sku].quantity == item.quantity, (
            f"fetch_listings() reports {listings[item.sku].quantity} of {item.sku!r}, "
            f"the store holds {item.quantity}"
        )
        assert listings[item.sku].external_id, f"listing {item.sku!r} has no external_id"
    return "fetch_listings maps every SKU with its quantity"


def _orders(channel: Channel, order_id: str) -> str:
    orders: list[Order] = [o for page in channel.fetch_orders(None, None) for o in page.orders]
    found = [o for o in orders if o.external_id == order_id]
    assert found, f"fetch_orders() did not return the order {order_id!r} placed in the store"
    order = found[0]
    assert order.channel == "kit", "orders must carry the channel's configured name"
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("KIT-MUG", 2)], (
        f"order lines came back as {[(ln.sku, ln.quantity) for ln in order.lines]}"
    )
    assert isinstance(order.total, Decimal), "money must be Decimal"
    assert order.updated_at is not None and order.updated_at.tzinfo is not None, (
        "updated_at must be an aware datetime"
    )
    assert order.updated_at.utcoffset() == UTC.utcoffset(None), "times must be UTC"
    return "fetch_orders returns the store's orders in hub terms"


def _stock(channel: Channel, store: Any) -> str:
    listings = {item.sku: item for item in channel.fetch_listings()}
    tee = listings["KIT-TEE"]
    results = channel.push_stock(
        [
            StockUpdate(
                sku="KIT-TEE",
                external_id=tee.external_id,
                parent_id=tee.parent_id,
                quantity=11,
                expected=tee.quantity,
                location_id=tee.location_id,
            )
        ]
    )
    assert len(results) == 1 and results[0].ok, f"push_stock() answered {results}"
    assert store.stock("KIT-TEE") == 11, "push_stock() did not change the store's quantity"
    return "push_stock sets the store's quantity"


def _webhooks(channel: Channel, store: Any, receiver: _Receiver) -> str:
    store.deliver()
    assert receiver.arrived.wait(10), "the store delivered no webhook after a sale"
    headers, body = receiver.deliveries[0]
    assert channel.verify_webhook(headers, body), "verify_webhook() refused a genuine delivery"
    assert not channel.verify_webhook(headers, body + b" "), (
        "verify_webhook() accepted a tampered body"
    )
    event = channel.parse_webhook(headers, body)
    assert event.topic, "parse_webhook() must name the topic"
    return "webhooks verify, tampering is refused, deliveries parse"
