"""A push whose answer never arrives leaves its listing unconfirmed, and an unconfirmed
listing is never trusted: it is sent again whatever the figures, against the last
confirmed value, so a compare-and-set channel reads the truth back."""

from __future__ import annotations

import threading

import pytest
from sync_stores import Stores

from hub.errors import ChannelError


def test_a_push_woo_applied_unanswered_is_sent_again_when_availability_moves_back(
    stores: Stores,
):
    stores.adjust(-3)  # 7 to promise
    stores.woo.faults.lost_answers = 3  # Woo applies every try; no answer arrives
    with pytest.raises(ChannelError):
        stores.sync.push_stock("woo")
    assert stores.woo.stock("MUG") == 7
    doubt = stores.listing("woo")
    assert (doubt["confirmed_quantity"], doubt["unconfirmed"]) == (10, True)

    stores.adjust(+3)  # back to the 10 the hub last saw confirmed
    stores.sync.push_stock("woo")

    assert stores.woo.stock("MUG") == 10
    settled = stores.listing("woo")
    assert (settled["confirmed_quantity"], settled["unconfirmed"]) == (10, False)


def test_a_push_shopify_applied_unanswered_reads_the_shop_back_then_corrects_it(
    stores: Stores,
):
    stores.adjust(-3)
    stores.shop.faults.lost_answers = 3
    with pytest.raises(ChannelError):
        stores.sync.push_stock("shop")
    assert stores.shop.stock("MUG") == 7
    stores.adjust(+3)

    calls = len(stores.shop.calls)

    result = stores.sync.push_stock("shop")  # 10 against the confirmed 10: 7 read back...

    assert result.stale == 1 and stores.shop.stock("MUG") == 10
    sets = [c for c in stores.shop.calls[calls:] if c.operation == "SetQuantities"]
    sent = [
        (q["quantity"], q["changeFromQuantity"])
        for c in sets
        for q in c.variables["input"]["quantities"]
    ]
    assert sent == [(10, 10), (10, 7)]  # ...then 10 against the 7 the shop really holds
    row = stores.listing("shop")
    assert (row["confirmed_quantity"], row["unconfirmed"]) == (10, False)


@pytest.mark.parametrize("channel", ["shop", "woo"])
def test_a_push_is_marked_unconfirmed_in_the_database_before_it_is_sent(
    stores: Stores, channel: str
):
    store = stores.shop if channel == "shop" else stores.woo
    seen: list[bool] = []

    def look(method: str, path: str, body: bytes) -> None:
        if b"SetQuantities" in body or path.endswith("/batch"):
            seen.append(stores.listing(channel)["unconfirmed"])

    store.faults.observers.append(look)
    stores.adjust(-2)
    stores.sync.push_stock(channel)

    assert seen == [True]  # committed before the request left the hub
    assert stores.listing(channel)["unconfirmed"] is False
    assert store.stock("MUG") == 8


def test_a_push_refused_by_the_channel_is_no_longer_in_doubt(stores: Stores):
    item = int(stores.listing("woo")["external_id"])
    with stores.woo.store.lock:  # the merchant deleted the product in wp-admin
        del stores.woo.store.products[item]
    stores.adjust(-1)

    result = stores.sync.push_stock("woo")  # Woo answers the item with "Invalid ID."

    assert result.failed == 1
    row = stores.listing("woo")
    assert (row["confirmed_quantity"], row["unconfirmed"]) == (10, False)


def test_a_store_edit_recorded_while_a_push_answer_is_on_its_way_is_checked_again(
    stores: Stores,
):
    applied = threading.Event()
    stores.woo.store.listeners.append(
        lambda topic, payload: applied.set() if payload.get("stock_quantity") == 8 else None
    )
    stores.woo.faults.timeout_seconds = 0.8  # Woo answers 0.8 s late; the hub waits 1 s
    stores.woo.faults.lost_answers = 1
    stores.adjust(-2)
    pushing = threading.Thread(target=stores.sync.push_stock, args=("woo",))
    pushing.start()
    assert applied.wait(10)  # Woo holds the hub's 8; its answer is on the way
    stores.woo.advance(60)
    stores.woo.set_stock("MUG", 3)  # meanwhile the merchant sets 3 in wp-admin
    stores.woo.deliver_webhooks()  # the push's echo (8), then the edit (3)
    stores.sync.process_inbox()
    pushing.join(10)

    assert stores.woo.stock("MUG") == 8  # the answer's 8 was not trusted over the edit
    row = stores.listing("woo")
    assert (row["confirmed_quantity"], row["unconfirmed"]) == (8, False)
