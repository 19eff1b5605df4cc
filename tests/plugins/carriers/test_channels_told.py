"""A label bought in the hub reaches the channel that sold the order, once, through the
shipment outbox: Shopify (a fulfilment with carrier, number and URL), WooCommerce (order
completed with a tracking note), Amazon (confirmShipment with a package). A lost answer
makes the outbox send it again, and the channel still records it once. Each against its
sandbox over real HTTP, with the EasyPost sandbox selling the label; SQLite, PostgreSQL.
(A Square till's sales are handed over at the counter: its channel has nothing to be
told, and a B2B desk order's shipment is ``not_needed`` for the channel.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import DENVER

from hub.core import ledger
from hub.core.config import parse_settings
from hub.core.labels import Carriers, buy
from hub.core.models import now
from hub.core.orderbook import find_order
from hub.core.runtime import Hub
from hub.core.shipments import order_shipments, push_shipments
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub_plugins.amazon import AmazonSandbox
from hub_plugins.carriers.easypost import EasyPostSandbox
from hub_plugins.shopify import ShopifySandbox
from hub_plugins.woocommerce import WooSandbox


@dataclass
class Shops:
    hub: Hub
    sync: Sync
    carriers: Carriers
    shop: ShopifySandbox
    woo: WooSandbox
    amazon: AmazonSandbox
    easypost: EasyPostSandbox
    servers: list[SandboxServer]

    def sell(self, channel: str) -> str:
        """A customer in Denver buys one MUG on ``channel``; the hub pulls it."""
        if channel == "shop":
            external_id = str(self.shop.sell("MUG", 1).id)
        elif channel == "woo":
            external_id = str(self.woo.sell("MUG", 1)["id"])
        else:
            external_id = self.amazon.sell("MUG", 1)
        self.sync.pull_orders(channel)
        ref = f"{channel}:{external_id}"
        _give_denver_address(self.hub, ref)
        return ref

    def tracking_on_channel(self, ref: str) -> list[tuple[str, str]]:
        """(carrier, tracking number) for every record of a shipment the channel holds."""
        channel, external_id = ref.split(":", 1)
        if channel == "shop":
            return [
                (f["tracking"]["company"], f["tracking"]["number"])
                for f in self.shop.order(int(external_id)).fulfillments
            ]
        if channel == "woo":
            notes = self.woo.notes(int(external_id))
            return [("note", n["note"]) for n in notes if "tracking" in n["note"]]
        held = self.amazon.store.order(external_id)
        return [(p["carrier"], p["trackingNumber"]) for p in held.get("packages") or []]


def _give_denver_address(hub: Hub, ref: str) -> None:
    """The sandboxes' buyers live nowhere in particular: put this one in Denver."""
    from hub.core.models import order_t

    order_id = hub.read(lambda c: find_order(c, ref)).order["id"]
    hub.write(
        lambda c: c.execute(
            order_t.update()
            .where(order_t.c.id == order_id)
            .values(
                ship_name=DENVER.name,
                ship_line1=DENVER.line1,
                ship_city=DENVER.city,
                ship_region=DENVER.region,
                ship_postcode=DENVER.postcode,
                ship_country=DENVER.country,
            )
        )
    )


@pytest.fixture
def shops(db_url: str, tmp_path: Path) -> Iterator[Shops]:
    shop = ShopifySandbox(restore_rate=20_000.0)
    shop.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 10}])
    woo = WooSandbox()
    woo.add_product("MUG", price="12.50", stock=10)
    amazon = AmazonSandbox()
    amazon.add_listing("MUG", quantity=10)
    easypost = EasyPostSandbox()
    easypost.faults.timeout_seconds = 2.0
    servers = [shop.serve().start(), woo.serve().start(), amazon.serve().start()]
    ep_server = easypost.serve().start()
    servers.append(ep_server)
    settings = parse_settings(
        {
            "database": {"url": db_url},
            "locations": {"main": {"name": "Main warehouse"}},
            "channels": {
                "shop": shop.config_for(servers[0].url, timeout=5.0, locations=["main"]),
                "woo": woo.config_for(servers[1].url, timeout=5.0, locations=["main"]),
                "amazon": amazon.config_for(servers[2].url, locations=["main"]),
            },
            "carriers": {"easypost": easypost.config_for(ep_server.url, timeout=0.5)},
        },
        tmp_path / "hub.toml",
    )
    hub = Hub.open(settings=settings)
    hub.upgrade()
    hub.write(lambda c: ledger.receive(c, "MUG", "main", 30))
    carriers = Carriers(hub, tmp_path / "labels")
    built = Shops(
        hub, Sync(hub, backoff=0.01, attempts=3), carriers, shop, woo, amazon, easypost, servers
    )
    try:
        yield built
    finally:
        carriers.close()
        hub.close()
        for server in servers:
            server.stop()


@pytest.mark.parametrize("channel", ["shop", "woo", "amazon"])
def test_a_bought_label_reaches_the_selling_channel_once_with_carrier_and_tracking(
    shops: Shops, channel: str
):
    ref = shops.sell(channel)
    label = buy(shops.hub, shops.carriers, ref).label

    result = push_shipments(shops.sync, channel)
    again = push_shipments(shops.sync, channel)

    assert len(result.confirmed) == 1 and again.confirmed == []
    held = shops.tracking_on_channel(ref)
    assert len(held) == 1 and label["tracking_number"] in held[0][1]
    if channel == "shop":
        assert held[0][0] == "USPS"
        fulfilment = shops.shop.order(int(ref.split(":")[1])).fulfillments[0]
        assert fulfilment["tracking"]["url"] == label["tracking_url"]
    order_id = shops.hub.read(lambda c: find_order(c, ref)).order["id"]
    [shipment] = shops.hub.read(lambda c: order_shipments(c, order_id))
    assert shipment["channel_state"] == "confirmed" and shipment["carrier"] == "USPS"


@pytest.mark.parametrize("channel", ["shop", "woo"])
def test_a_lost_answer_sends_the_fulfilment_again_and_the_channel_keeps_one(
    shops: Shops, channel: str
):
    ref = shops.sell(channel)
    label = buy(shops.hub, shops.carriers, ref).label
    store: Any = shops.shop if channel == "shop" else shops.woo
    store.faults.lost_answers = 1
    store.faults.timeout_seconds = 6.0  # past the channel's 5 s: the hub never hears back

    first = push_shipments(shops.sync, channel)  # the caller tries again at once
    later = push_shipments(shops.sync, channel, at=now() + timedelta(hours=2))

    assert len(first.confirmed + first.retrying + later.confirmed) >= 1
    order_id = shops.hub.read(lambda c: find_order(c, ref)).order["id"]
    [shipment] = shops.hub.read(lambda c: order_shipments(c, order_id))
    assert shipment["channel_state"] == "confirmed"
    held = shops.tracking_on_channel(ref)
    assert len(held) == 1 and label["tracking_number"] in held[0][1]
