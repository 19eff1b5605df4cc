"""The sync engine with a Shopify sandbox shop and a WooCommerce sandbox store, over real
HTTP, webhooks through the hub's own endpoint: what sells in one reaches the other."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sync_stores import serve_pair

from hub.core import ledger
from hub.core.listings import import_listings
from hub.core.orderbook import list_orders
from hub.core.runtime import Hub
from hub.core.sync import Sync
from hub_plugins.shopify import ShopifySandbox
from hub_plugins.woocommerce import WooSandbox


@dataclass
class Pair:
    hub: Hub
    sync: Sync
    shop: ShopifySandbox
    woo: WooSandbox

    def import_listings(self) -> None:
        for name in ("shop", "woo"):
            items = list(self.hub.channel(name).fetch_listings())
            self.hub.write(lambda c, n=name, i=items: import_listings(c, n, i))

    def work(self) -> None:
        """What the service does after webhooks arrive: inbox, then pushes."""
        self.sync.process_inbox()
        self.sync.push_stock("shop")
        self.sync.push_stock("woo")


@pytest.fixture
def pair(db_url: str) -> Iterator[Pair]:
    """A Shopify shop and a Woo store selling the hub's 10 MUG and 4 TEE."""
    shop = ShopifySandbox(restore_rate=20_000.0)
    shop.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 10}])
    shop.add_product("Tee", [{"sku": "TEE", "price": "20.00", "stock": 4}])
    woo = WooSandbox()
    woo.add_product("MUG", price="12.50", stock=10)
    woo.add_product("TEE", price="20.00", stock=4)
    with serve_pair(db_url, shop, woo, timeout=2.0) as (hub, sync, _, _):
        hub.write(lambda c: [ledger.receive(c, s, "main", q) for s, q in (("MUG", 10), ("TEE", 4))])
        yield Pair(hub, sync, shop, woo)


def reserved(pair: Pair, sku: str) -> int:
    return sum(x.reserved for x in pair.hub.read(lambda c: ledger.levels(c, sku)))


def test_a_sale_on_shopify_reaches_woocommerce(pair: Pair):
    pair.import_listings()
    pair.shop.sell("MUG", 3)

    assert {d.status for d in pair.shop.deliver_webhooks()} == {200}
    pair.work()

    assert reserved(pair, "MUG") == 3
    assert pair.woo.stock("MUG") == 7
    assert pair.shop.stock("MUG") == 7  # Shopify counted its own sale; nothing overwritten
    assert pair.hub.read(lambda c: len(list_orders(c, channel="shop"))) == 1


def test_a_sale_on_woocommerce_reaches_shopify_by_compare_and_set(pair: Pair):
    pair.import_listings()
    pair.woo.sell("TEE", 1)
    pair.woo.deliver_webhooks()

    pair.work()

    assert pair.shop.stock("TEE") == 3
    (call,) = [c for c in pair.shop.calls if c.operation == "SetQuantities"]
    (row,) = call.variables["input"]["quantities"]
    assert (row["quantity"], row["changeFromQuantity"]) == (3, 4)


def test_a_merchant_edit_on_shopify_is_reconciled_never_blindly_overwritten(pair: Pair):
    pair.import_listings()
    pair.shop.set_stock("MUG", 2)  # someone edits Shopify's figure in the admin
    pair.woo.sell("MUG", 1)  # meanwhile the hub's figure moves: 9 to promise
    pair.woo.deliver_webhooks()
    pair.sync.process_inbox()

    # Against the confirmed 10: refused as stale; then at once against the 2 Shopify holds.
    result = pair.sync.push_stock("shop")

    assert result.stale == 1 and pair.shop.stock("MUG") == 9
    sets = [c for c in pair.shop.calls if c.operation == "SetQuantities"]
    sent = [
        (q["quantity"], q["changeFromQuantity"])
        for c in sets
        for q in c.variables["input"]["quantities"]
    ]
    assert sent == [(9, 10), (9, 2)]
    assert pair.sync.push_stock("shop").sent == 0


def test_the_same_shopify_order_by_webhook_twice_and_by_poll_lands_once(pair: Pair):
    pair.import_listings()
    pair.shop.faults.duplicate_webhooks = 1
    pair.shop.sell("TEE", 2)
    pair.shop.deliver_webhooks()
    pair.sync.process_inbox()

    pair.sync.pull_orders("shop")

    assert pair.hub.read(lambda c: len(list_orders(c, channel="shop"))) == 1
    assert reserved(pair, "TEE") == 2


def test_a_cancellation_on_shopify_releases_the_reservation(pair: Pair):
    pair.import_listings()
    order = pair.shop.sell("MUG", 4)
    pair.shop.deliver_webhooks()
    pair.work()
    assert pair.woo.stock("MUG") == 6

    pair.shop.cancel_order(order.id)
    pair.shop.deliver_webhooks()
    pair.work()

    assert reserved(pair, "MUG") == 0
    assert pair.woo.stock("MUG") == 10 and pair.shop.stock("MUG") == 10


def test_reconciliation_reads_shopify_and_corrects_drift(pair: Pair):
    pair.import_listings()
    pair.shop.set_stock("TEE", 40)

    drift = pair.sync.reconcile("shop")

    assert drift == [("TEE", 40, 4)]
    assert pair.shop.stock("TEE") == 4


def test_an_admin_edit_on_shopify_is_corrected_in_one_call_by_its_webhook(pair: Pair):
    pair.import_listings()
    pair.shop.set_stock("MUG", 2)  # inventory_levels/update says Shopify now holds 2

    pair.shop.deliver_webhooks()
    pair.work()

    assert pair.shop.stock("MUG") == 10
    (call,) = [c for c in pair.shop.calls if c.operation == "SetQuantities"]
    (row,) = call.variables["input"]["quantities"]
    assert (row["quantity"], row["changeFromQuantity"]) == (10, 2)


def test_a_held_oversell_cancelled_on_shopify_leaves_no_drift(pair: Pair):
    pair.import_listings()
    pair.woo.sell("TEE", 4)  # the hub's last four units go to Woo...
    order = pair.shop.sell("TEE", 1)  # ...while Shopify, not yet told, sells one more
    pair.woo.deliver_webhooks()
    pair.shop.deliver_webhooks()
    pair.work()
    held = pair.hub.read(lambda c: list_orders(c, channel="shop"))
    assert [o.status for o in held] == ["on_hold"]

    pair.shop.cancel_order(order.id)  # Shopify puts its unit back: it holds 1 again
    pair.shop.deliver_webhooks()
    pair.work()

    assert pair.shop.stock("TEE") == 0 and pair.woo.stock("TEE") == 0
    assert pair.sync.push_stock("shop").sent == 0


def test_a_store_already_in_step_is_reported_without_a_call(pair: Pair):
    pair.import_listings()
    pair.work()  # the opening stock is in step everywhere
    seen: list[tuple[str, list[str]]] = []
    pair.sync.on_pushed.append(lambda channel, skus, at: seen.append((channel, skus)))
    pair.shop.sell("MUG", 1)  # Shopify counts its own sale and says it holds 9

    pair.shop.deliver_webhooks()
    pair.work()

    assert ("shop", ["MUG"]) in seen and ("woo", ["MUG"]) in seen
    assert not [c for c in pair.shop.calls if c.operation == "SetQuantities"]
    assert pair.woo.stock("MUG") == 9 and pair.shop.stock("MUG") == 9
