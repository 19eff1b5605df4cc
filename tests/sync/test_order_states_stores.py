"""The order state machine end to end: real stores' versions of one order, by webhook and by
pull, move the hub's stock once per real event, and the push publishes the right figure."""

from __future__ import annotations

import sqlalchemy as sa
from sync_stores import Stores

from hub.core import ledger
from hub.core.models import movement_t
from hub.core.orderbook import find_order


def level(stores: Stores, sku: str = "MUG") -> tuple[int, int]:
    found = stores.hub.read(lambda c: ledger.levels(c, sku))
    return sum(x.on_hand for x in found), sum(x.reserved for x in found)


def settle(stores: Stores) -> None:
    for store in (stores.shop, stores.woo):
        store.deliver_webhooks()
    stores.sync.process_inbox()
    for channel in ("shop", "woo"):
        stores.sync.push_stock(channel)


def test_a_note_on_a_completed_woo_order_sells_nothing_twice(stores: Stores):
    order = stores.woo.sell("MUG", 2)
    settle(stores)
    assert level(stores) == (10, 2)
    stores.woo.advance(60)
    stores.woo.update_order(order["id"], status="completed")
    settle(stores)
    assert level(stores) == (8, 0)
    stores.woo.advance(60)
    stores.woo.update_order(order["id"], customer_note="Leave it with the neighbour")
    settle(stores)
    stores.sync.pull_orders("woo")  # the same versions again by poll change nothing
    assert level(stores) == (8, 0)
    assert stores.shop.stock("MUG") == 8 and stores.woo.stock("MUG") == 8
    assert stores.hub.read(ledger.verify) == []


def test_a_shopify_order_shipped_in_parts_then_partly_returned_moves_each_unit_once(
    stores: Stores,
):
    order = stores.shop.sell("MUG", 3)
    settle(stores)
    assert level(stores) == (10, 3)
    stores.shop.advance(60)
    stores.shop.ship(order.id, [("MUG", 1)], company="DHL", number="P1")
    settle(stores)
    assert level(stores) == (9, 2)
    stores.shop.advance(60)
    stores.shop.ship(order.id, company="DHL", number="P2")
    settle(stores)
    assert level(stores) == (7, 0)
    stores.shop.advance(60)
    stores.shop.refund(order.id, [("MUG", 1)], restock_type="RETURN")
    settle(stores)
    stores.sync.pull_orders("shop")
    assert level(stores) == (8, 0)
    record = stores.hub.read(lambda c: find_order(c, f"shop:{order.id}"))
    kinds = stores.hub.read(lambda c: movement_kinds(c, record.order["id"]))
    assert kinds.count("return") == 1
    assert stores.woo.stock("MUG") == 8
    assert stores.hub.read(ledger.verify) == []


def test_created_and_cancelled_in_the_same_second_on_shopify_releases_the_units(stores: Stores):
    order = stores.shop.sell("MUG", 2)
    stores.shop.cancel_order(order.id)  # same store clock: updatedAt of the same second
    settle(stores)
    stores.sync.pull_orders("shop")
    assert level(stores) == (10, 0)
    record = stores.hub.read(lambda c: find_order(c, f"shop:{order.id}"))
    assert record.order["status"] == "cancelled"
    assert stores.woo.stock("MUG") == 10


def movement_kinds(conn, order_id: int) -> list[str]:
    m = movement_t.c
    return list(conn.execute(sa.select(m.kind).where(m.order_id == order_id)).scalars())
