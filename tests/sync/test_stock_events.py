"""Stock webhooks carry the channel's own time; one older than what the hub already knows
of the listing (an earlier event, or a push the channel confirmed since) never moves the
figure the hub believes the store holds. Replays are as harmless as for orders."""

from __future__ import annotations

import uuid

import requests
from sync_stores import Stores

from hub.sandbox import Delivery

ID_HEADERS = {"shop": "X-Shopify-Webhook-Id", "woo": "X-WC-Webhook-Delivery-ID"}


def replay(stores: Stores, channel: str, captured: Delivery) -> int:
    """Post a captured delivery again, body and signature untouched, under a new id."""
    headers = dict(captured.headers)
    headers[ID_HEADERS[channel]] = str(uuid.uuid4())
    answer = requests.post(
        f"{stores.hooks_url}/{channel}", data=captured.body, headers=headers, timeout=5
    )
    return answer.status_code


def settle(stores: Stores, channel: str) -> None:
    store = stores.shop if channel == "shop" else stores.woo
    store.deliver_webhooks()
    stores.sync.process_inbox()
    stores.sync.push_stock(channel)


def admin_edit(stores: Stores, channel: str, quantity: int) -> Delivery:
    """The merchant sets the store's figure; returns the stock webhook it sent."""
    store = stores.shop if channel == "shop" else stores.woo
    store.set_stock("MUG", quantity)
    (delivery,) = [d for d in store.deliver_webhooks() if d.status == 200]
    stores.sync.process_inbox()
    stores.sync.push_stock(channel)  # the hub's 10 goes back
    store.deliver_webhooks()  # the store's echo of that push
    stores.sync.process_inbox()
    return delivery


def test_a_replayed_shopify_stock_webhook_never_moves_the_confirmed_figure_back(
    stores: Stores,
):
    first = admin_edit(stores, "shop", 5)
    stores.shop.advance(60)
    admin_edit(stores, "shop", 8)  # a minute later, the newer event
    calls = stores.shop.stock_calls()

    assert replay(stores, "shop", first) == 200  # stored: a new delivery id
    stores.sync.process_inbox()

    row = stores.listing("shop")
    assert (row["confirmed_quantity"], row["unconfirmed"]) == (10, False)
    assert stores.sync.push_stock("shop").sent == 0
    assert stores.shop.stock("MUG") == 10 and stores.shop.stock_calls() == calls


def test_a_replayed_woocommerce_stock_webhook_never_moves_the_confirmed_figure_back(
    stores: Stores,
):
    first = admin_edit(stores, "woo", 5)
    stores.woo.advance(60)
    admin_edit(stores, "woo", 8)

    assert replay(stores, "woo", first) == 200
    stores.sync.process_inbox()

    row = stores.listing("woo")
    assert (row["confirmed_quantity"], row["unconfirmed"]) == (10, False)
    assert stores.sync.push_stock("woo").sent == 0
    assert stores.woo.stock("MUG") == 10


def test_a_stock_webhook_older_than_a_confirmed_push_arrives_late_and_changes_nothing(
    stores: Stores,
):
    stores.shop.advance(-10)  # the edit below happened ten seconds before the hub's push
    stores.shop.set_stock("MUG", 5)  # its webhook is held back (not delivered yet)
    stores.adjust(-2)
    stores.sync.push_stock("shop")  # 8 against 10: stale, 5 read back
    stores.sync.push_stock("shop")  # 8 against 5: confirmed
    assert stores.shop.stock("MUG") == 8

    stores.shop.faults.reorder_webhooks = 1
    stores.shop.deliver_webhooks()  # the echo of the push (8), then the late edit (5)
    stores.sync.process_inbox()

    row = stores.listing("shop")
    assert (row["confirmed_quantity"], row["unconfirmed"]) == (8, False)
    assert stores.sync.push_stock("shop").sent == 0


def test_a_newer_stock_webhook_still_moves_the_figure_and_the_hub_corrects_the_store(
    stores: Stores,
):
    stores.woo.advance(60)
    stores.woo.set_stock("MUG", 3)
    stores.woo.deliver_webhooks()
    stores.sync.process_inbox()

    assert stores.listing("woo")["confirmed_quantity"] == 3
    assert stores.sync.push_stock("woo").sent == 1
    assert stores.woo.stock("MUG") == 10
