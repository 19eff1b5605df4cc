"""Hubs with sandbox stores as channels over real HTTP, and the hub's webhook endpoint served."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from builders import make_hub
from sync_stores import Stores, serve_pair

from hub.core import ledger
from hub.core.listings import import_listings
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app
from hub_plugins.shopify import ShopifySandbox
from hub_plugins.woocommerce import WooSandbox


@dataclass
class Shop:
    name: str
    sandbox: WooSandbox
    server: SandboxServer


@dataclass
class World:
    hub: Hub
    sync: Sync
    shops: dict[str, Shop]
    webhook_base: str

    def import_listings(self) -> None:
        for name in self.shops:
            items = list(self.hub.channel(name).fetch_listings())
            self.hub.write(lambda c, n=name, i=items: import_listings(c, n, i))

    def work(self) -> None:
        """What the service does after webhooks arrive: inbox, then pushes."""
        self.sync.process_inbox()
        for name in self.shops:
            self.sync.push_stock(name)


TOPICS = ["order.created", "order.updated", "order.deleted", "product.updated"]


def _store() -> WooSandbox:
    store = WooSandbox()
    store.faults.retry_after = 0.05
    store.faults.timeout_seconds = 0.5
    store.add_product("MUG", price="12.50", stock=10)
    store.add_variable_product(
        "TEE",
        variations=[
            {"sku": "TEE-S", "price": "20.00", "stock": 4, "option": "S"},
            {"sku": "TEE-M", "price": "20.00", "stock": 4, "option": "M"},
        ],
    )
    return store


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """Stores ``woo-a`` and ``woo-b`` selling the hub's stock of MUG, TEE-S and TEE-M."""
    stores = {n: _store() for n in ("woo-a", "woo-b")}
    servers = {n: s.serve().start() for n, s in stores.items()}
    channels = {
        n: stores[n].config_for(servers[n].url, timeout=2.0, locations=["main"]) for n in stores
    }
    hub = make_hub(db_url, channels=channels)
    sync = Sync(hub, backoff=0.01, attempts=3)
    hooks = SandboxServer(make_app(sync)).start()
    for name, store in stores.items():
        store.add_webhook(TOPICS, f"{hooks.url}/webhooks/{name}", store.webhook_secret)
    hub.write(
        lambda c: [
            ledger.receive(c, s, "main", q) for s, q in (("MUG", 10), ("TEE-S", 4), ("TEE-M", 4))
        ]
    )
    shops = {n: Shop(n, stores[n], servers[n]) for n in stores}
    try:
        yield World(hub, sync, shops, f"{hooks.url}/webhooks")
    finally:
        hooks.stop()
        hub.close()
        for server in servers.values():
            server.stop()


@pytest.fixture
def stores(db_url: str) -> Iterator[Stores]:
    """Listings imported and in step; calls time out after 1 s and are tried three times."""
    shop = ShopifySandbox(restore_rate=20_000.0)
    shop.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 10}])
    woo = WooSandbox()
    woo.add_product("MUG", price="12.50", stock=10)
    for store in (shop, woo):
        store.faults.retry_after = 0.05
        store.faults.timeout_seconds = 1.5  # a lost answer comes after the client gave up
    with serve_pair(db_url, shop, woo, timeout=1.0) as (hub, sync, hooks_url, channels):
        hub.write(lambda c: ledger.receive(c, "MUG", "main", 10))
        for name in ("shop", "woo"):
            # through the sync's caller: a set-up read that a loaded machine answers after
            # the 1 s time-out is tried again, as every call of the hub is
            items = sync.fetch_listings(name)
            hub.write(lambda c, n=name, i=items: import_listings(c, n, i))
            sync.push_stock(name)  # the opening stock is in step: nothing is sent
        yield Stores(hub, sync, shop, woo, hooks_url, channels)
