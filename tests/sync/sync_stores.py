"""What the ``stores`` fixture of tests/sync/conftest.py yields, importable by name from
the test modules (``from sync_stores import Stores``: a name of its own, since every
folder's conftest is a module called ``conftest``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from builders import make_hub

from hub.core import ledger
from hub.core.listings import import_listings
from hub.core.models import listing_t, product_t
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app
from hub_plugins.shopify import ShopifySandbox
from hub_plugins.woocommerce import WooSandbox
from hub_plugins.woocommerce.sandbox import PLUGIN_TOPICS


@dataclass
class Stores:
    """A Shopify shop (compare-and-set) and a WooCommerce store (plain set), each holding
    the hub's 10 MUG, whose webhooks reach the hub's endpoint at ``hooks_url``."""

    hub: Hub
    sync: Sync
    shop: ShopifySandbox
    woo: WooSandbox
    hooks_url: str
    channels: dict  # the channels' configuration sections

    def listing(self, channel: str, sku: str = "MUG") -> dict:
        """The hub's listing row of ``sku`` on ``channel``: what it believes the store holds."""
        query = (
            sa.select(listing_t)
            .join(product_t, product_t.c.id == listing_t.c.product_id)
            .where(listing_t.c.channel == channel, product_t.c.sku == sku)
        )
        return dict(self.hub.read(lambda c: c.execute(query).mappings().one()))

    def adjust(self, delta: int, sku: str = "MUG") -> None:
        """Correct the hub's stock of ``sku`` at ``main`` by ``delta`` units."""
        self.hub.write(lambda c: ledger.adjust(c, sku, "main", delta, reason="count"))


@contextmanager
def serve_pair(
    db_url: str, shop: ShopifySandbox, woo: WooSandbox, timeout: float
) -> Iterator[tuple[Hub, Sync, str, dict]]:
    """Serve ``shop`` and ``woo`` over HTTP as the hub's channels ``shop`` and ``woo``, and
    the hub's webhook endpoint, which both stores' webhooks reach. Yields the hub, its sync
    engine, the endpoint's ``/webhooks`` address and the channels' sections; stops all."""
    servers = {"shop": shop.serve().start(), "woo": woo.serve().start()}
    channels = {
        "shop": shop.config_for(servers["shop"].url, timeout=timeout, locations=["main"]),
        "woo": woo.config_for(servers["woo"].url, timeout=timeout, locations=["main"]),
    }
    hub = make_hub(db_url, channels=channels)
    sync = Sync(hub, backoff=0.01, attempts=3)
    hooks = SandboxServer(make_app(sync)).start()
    shop.add_webhook(address=f"{hooks.url}/webhooks/shop")
    woo.add_webhook(PLUGIN_TOPICS, f"{hooks.url}/webhooks/woo", woo.webhook_secret)
    try:
        yield hub, sync, f"{hooks.url}/webhooks", channels
    finally:
        hooks.stop()
        hub.close()
        for server in servers.values():
            server.stop()


def listed_hub(db_url: str, channels: dict, mugs: int) -> Hub:
    """A hub with these channels, ``mugs`` MUG received at ``main`` and every channel's
    listings imported."""
    hub = make_hub(db_url, channels=channels)
    hub.write(lambda c: ledger.receive(c, "MUG", "main", mugs))
    for name in channels:
        items = list(hub.channel(name).fetch_listings())
        hub.write(lambda c, n=name, i=items: import_listings(c, n, i))
    return hub
