"""A WooCommerce store whose SKUs are spelt with stray spaces, NBSP or full-width letters:
every way those SKUs reach the hub (listing import, order lines, stock webhooks,
reconciliation) lands on the one product, and the respelling is reported."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.cli import main
from hub.core import ledger
from hub.core.models import listing_t
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub.sandbox import SandboxServer
from hub.web.app import make_app
from hub_plugins.woocommerce import WooSandbox

TOPICS = ["order.created", "order.updated", "order.deleted", "product.updated"]
SPELT = {"MUG": "MUG ", "CUP": "CUP\u00a0", "TEA": "ＴＥＡ"}  # the hub's SKU: the store's


@dataclass
class Store:
    hub: Hub
    sync: Sync
    shop: WooSandbox
    config: Path


def toml(settings: dict, prefix: str = "") -> str:
    """A TOML document for ``settings`` (tables of strings, numbers, booleans, lists)."""
    plain = {k: v for k, v in settings.items() if not isinstance(v, dict)}
    text = (f"[{prefix}]\n" if prefix and plain else "") + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in plain.items()
    )
    for key, value in settings.items():
        if isinstance(value, dict):
            text += "\n" + toml(value, f"{prefix}.{key}" if prefix else key)
    return text


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    """Hub channel ``woo`` on a sandbox whose variants are spelt as in SPELT, each 10 held."""
    shop = WooSandbox()
    shop.add_variable_product(
        "KITCHEN",
        variations=[{"sku": spelt, "stock": 10, "option": hub} for hub, spelt in SPELT.items()],
    )
    server = shop.serve().start()
    settings = {
        "database": {"url": db_url},
        "locations": {"main": {"name": "Main"}},
        "channels": {"woo": shop.config_for(server.url, timeout=2.0, locations=["main"])},
    }
    config = tmp_path / "hub.toml"
    config.write_text(toml(settings))
    hub = Hub.open(config)
    hub.upgrade()
    sync = Sync(hub, backoff=0.01, attempts=3)
    hooks = SandboxServer(make_app(sync)).start()
    shop.add_webhook(TOPICS, f"{hooks.url}/webhooks/woo", shop.webhook_secret)
    hub.write(lambda c: [ledger.receive(c, sku, "main", 10) for sku in SPELT])
    try:
        yield Store(hub, sync, shop, config)
    finally:
        hooks.stop()
        hub.close()
        server.stop()


def sync_listings(store: Store, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["sync", "listings", "woo", "--config", str(store.config)])
    out = capsys.readouterr().out
    assert done.value.code in (0, None), out
    return " ".join(out.split())


def mapped(hub: Hub) -> dict[str, str]:
    """The hub's SKU of each listing, by the store's spelling."""
    rows = hub.read(lambda c: c.execute(sa.select(listing_t.c.title, listing_t.c.product_id)).all())
    skus = {hub.read(lambda c, s=s: ledger.product_id(c, s)): s for s in SPELT}
    return {title.rpartition("– ")[2]: skus[product] for title, product in rows}


def test_variants_spelt_with_space_nbsp_or_full_width_map_to_the_product_and_are_reported(
    store, capsys
):
    out = sync_listings(store, capsys)
    assert "woo: 3 listings mapped" in out
    assert mapped(store.hub) == {"MUG": "MUG", "CUP": "CUP", "TEA": "TEA"}
    for hub_sku, spelt in SPELT.items():
        assert f"has SKU {spelt!r}, read as {hub_sku!r}" in out
    assert "unknown to the hub" not in out


def test_an_order_for_the_respelled_variant_reserves_the_product_and_the_push_keeps_the_sale(
    store, capsys
):
    sync_listings(store, capsys)
    store.sync.full_push("woo")
    store.shop.sell("MUG ", 3)
    store.shop.deliver_webhooks()
    store.sync.process_inbox()
    [level] = store.hub.read(lambda c: ledger.levels(c, "MUG"))
    assert (level.on_hand, level.reserved) == (10, 3)
    store.sync.push_stock("woo")
    assert store.shop.stock("MUG ") == 7  # not set back to 10


def test_a_stock_webhook_for_a_respelled_sku_is_the_products_confirmed_figure(
    store, capsys, caplog
):
    sync_listings(store, capsys)
    store.sync.full_push("woo")
    store.shop.set_stock("CUP\u00a0", 4)  # typed into wp-admin
    store.shop.deliver_webhooks()
    with caplog.at_level(logging.WARNING, logger="hub.sync"):
        store.sync.process_inbox()
    assert "stock event: SKU 'CUP\\xa0' read as 'CUP'" in caplog.text
    cup = store.hub.read(lambda c: ledger.product_id(c, "CUP"))
    confirmed = store.hub.read(
        lambda c: c.scalar(
            sa.select(listing_t.c.confirmed_quantity).where(listing_t.c.product_id == cup)
        )
    )
    assert confirmed == 4
    store.sync.push_stock("woo")  # the hub still offers 10: the push corrects the store
    assert store.shop.stock("CUP\u00a0") == 10


def test_reconciliation_compares_respelled_skus_with_the_products_they_mean(store, capsys):
    sync_listings(store, capsys)
    store.sync.full_push("woo")
    assert store.sync.reconcile("woo") == []  # in step: no drift from the spelling
    store.shop.set_stock("ＴＥＡ", 2)
    assert store.sync.reconcile("woo") == [("TEA", 2, 10)]
    assert store.shop.stock("ＴＥＡ") == 10
