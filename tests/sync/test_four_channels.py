"""Shopify, WooCommerce, Amazon and Square (a shop's till) selling the same shelf: a unit
sold at the till reaches the hub by webhook and leaves every other channel's availability
in the next push."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from builders import make_hub

from hub.core import ledger
from hub.core.listings import import_listings
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import DemoItem, SandboxServer
from hub.web.app import make_app
from hub_plugins.amazon import AmazonChannel
from hub_plugins.pos import SquareChannel
from hub_plugins.shopify import ShopifyChannel
from hub_plugins.woocommerce import WooCommerceChannel

TYPES: dict[str, Any] = {
    "shopify": ShopifyChannel,
    "woo": WooCommerceChannel,
    "amazon": AmazonChannel,
    "till": SquareChannel,
}
ONLINE = ("shopify", "woo", "amazon")


@dataclass
class Four:
    hub: Hub
    sync: Sync
    stores: dict[str, Any]  # channel name -> its sandbox as a hub.sandbox.DemoStore


@pytest.fixture
def four(db_url: str) -> Iterator[Four]:
    """The four channels, each holding 10 MUG, all selling the hub's ``main`` location: the
    Square shop (location LDEMO1) is mapped to ``main`` and every online channel lists
    ``main`` in its ``locations``, so the till's shelf is what they sell."""
    stores = {name: cls.sandbox() for name, cls in TYPES.items()}
    servers = {}
    for name, store in stores.items():
        store.seed([DemoItem("MUG", "Mug", "12.50", 10)])
        store.faults.retry_after = 0.05
        servers[name] = store.serve()
        servers[name].start()
    channels = {
        name: store.config_for(servers[name].url, timeout=5.0, locations=["main"])
        for name, store in stores.items()
    }
    assert channels["till"]["location_map"] == {"LDEMO1": "main"}
    hub = make_hub(db_url, channels=channels)
    sync = Sync(hub, backoff=0.01, attempts=3)
    hooks = SandboxServer(make_app(sync)).start()
    try:
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 10))
        for name, store in stores.items():
            items = sync.fetch_listings(name)
            hub.write(lambda c, n=name, i=items: import_listings(c, n, i))
            store.subscribe(f"{hooks.url}/webhooks/{name}")
        for name in stores:
            sync.push_stock(name)  # in step: the stores hold what the hub holds
        yield Four(hub, sync, stores)
    finally:
        hooks.stop()
        hub.close()
        for server in servers.values():
            server.stop()


def test_till_sale_leaves_every_online_channel(four: Four) -> None:
    for name, store in four.stores.items():
        assert store.stock("MUG") == 10, name
    four.stores["till"].sell("MUG", 1)
    assert four.stores["till"].stock("MUG") == 9  # the till's own count moved at once
    assert four.stores["till"].deliver() >= 1  # order.created and the count, signed
    four.sync.process_inbox()
    levels = four.hub.read(lambda c: ledger.levels(c, "MUG"))
    assert [(lv.location, lv.on_hand) for lv in levels if lv.on_hand] == [("main", 9)]
    for name in ONLINE:
        result = four.sync.push_stock(name)
        assert result.sent == 1, (name, result)
    assert {name: four.stores[name].stock("MUG") for name in ONLINE} == {
        "shopify": 9,
        "woo": 9,
        "amazon": 9,
    }
    assert four.sync.push_stock("till").sent == 0  # the shop already shows 9
    assert four.stores["till"].stock("MUG") == 9
    assert four.hub.read(ledger.verify) == []


def test_till_sale_found_by_pull_reaches_the_others(four: Four) -> None:
    """Without the webhook (lost), the next pull of the till's orders books the sale."""
    four.stores["till"].sell("MUG", 2)
    four.sync.pull_orders("till")
    for name in ONLINE:
        four.sync.push_stock(name)
    assert {name: four.stores[name].stock("MUG") for name in TYPES} == {
        "shopify": 8,
        "woo": 8,
        "amazon": 8,
        "till": 8,
    }
    assert four.hub.read(ledger.verify) == []
