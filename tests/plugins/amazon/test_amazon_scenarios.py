"""The issue's scenarios, end to end: the hub (SQLite and PostgreSQL) pulls and hears
notifications from the Amazon sandbox over real HTTP and a real SQS endpoint (moto)."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.core.models import inbox_t, shipment_t
from hub.core.syncstate import get_state
from hub.errors import ChannelError


def test_paging_without_progress_stores_each_order_once_and_keeps_the_window(
    world_for, sqs, caplog
):
    world = world_for(sqs=sqs, page_size=100, stale_pages=3)
    world.amazon.add_listing("MUG", quantity=500)
    world.receive("MUG", 500)
    world.import_listings()
    for _ in range(100):
        world.amazon.store.create_order([("MUG", 1)])
    world.amazon.store.stuck_paging = True
    world.amazon.publisher.pending.clear()  # these 100 are for the pull to find
    searched = world.amazon.operations("searchOrders")

    with (
        caplog.at_level(logging.ERROR),
        pytest.raises(ChannelError, match="without a new order id"),
    ):
        world.sync.pull_orders("amazon")

    assert len(world.orders()) == 100
    assert world.amazon.operations("searchOrders") - searched == 4  # 1 page + 3 without news
    assert "window lastUpdatedAfter=" in caplog.text and "made no progress" in caplog.text
    state = world.hub.read(lambda c: get_state(c, "amazon", "pull"))
    assert state.high_water is None  # the window's watermark did not move
    assert json.loads(state.cursor)["token"] is None  # the next run reads the window again
    after = json.loads(state.cursor)["after"]

    # An ORDER_CHANGE for an order the hub has never seen: fetched and created.
    world.amazon.store.stuck_paging = False
    unseen = world.amazon.sell("MUG", 2)
    assert world.amazon.publisher.deliver() == 1
    messages = list(world.amazon.publisher.sent)
    assert world.notifications() == 1
    assert world.orders()[unseen] == "open"
    assert world.levels("MUG") == (500, 102)
    assert sqs.depth() == 0  # deleted once stored

    # The same SQS message twice changes nothing.
    sqs.send(messages[-1].decode())
    sqs.send(messages[-1].decode())
    assert world.notifications() == 2
    assert len(world.orders()) == 101
    assert world.levels("MUG") == (500, 102)
    stored = world.hub.read(lambda c: c.execute(inbox_t.select()).all())
    assert len(stored) == 1

    # The next run reads the failed window again from its start and completes.
    result = world.sync.pull_orders("amazon")
    assert result.complete and result.created == 0
    last = [q for op, q in world.amazon.requests if op == "searchOrders"][-2:]
    first_of_rerun = parse_qs(urlsplit(last[0].split(" ", 1)[1]).query)
    assert first_of_rerun["lastUpdatedAfter"] == [after]
    assert "paginationToken" not in first_of_rerun
    state = world.hub.read(lambda c: get_state(c, "amazon", "pull"))
    assert state.high_water is not None and state.cursor == ""


def test_amazon_fulfilled_stock_stays_amazons(world_for):
    world = world_for()
    amazon = world.amazon
    amazon.add_listing("DUO", quantity=12, fba=40)  # a merchant offer and an FBA offer
    amazon.add_listing("FBAONLY", quantity=None, fba=9)
    world.receive("DUO", 12)
    world.receive("FBAONLY", 5)  # the merchant's own units of it: Amazon's offer holds 9
    world.import_listings()
    assert world.sync.push_stock("amazon").sent == 0  # DUO in step; FBAONLY is never sent
    assert amazon.stock("DUO") == 12
    patches_before = amazon.operations("patchListingsItem")

    afn = amazon.sell("DUO", 2, fulfilled_by="AMAZON", status="SHIPPED")
    world.sync.pull_orders("amazon")

    assert world.orders()[afn] == "fulfilled"  # recorded for the sales picture
    assert world.levels("DUO") == (12, 0)  # no reservation, nothing taken
    assert world.sync.push_stock("amazon").sent == 0
    shipments = world.hub.read(lambda c: c.execute(shipment_t.select()).all())
    assert shipments == []  # no label, nothing to confirm

    mfn = amazon.sell("DUO", 1)
    world.sync.pull_orders("amazon")
    assert world.orders()[mfn] == "open"
    assert world.levels("DUO") == (12, 1)

    bodies = []
    world.amazon.faults.observers.append(
        lambda method, path, body: bodies.append((method, path, body))
    )
    result = world.sync.push_stock("amazon")

    assert result.sent == 1 and result.skus == ["DUO"]
    patches = [json.loads(b) for m, p, b in bodies if m == "PATCH"]
    assert [p["patches"][0]["value"] for p in patches] == [
        [{"fulfillment_channel_code": "DEFAULT", "quantity": 11}]
    ]
    assert all("FBAONLY" not in p for _, p, _ in bodies)
    assert amazon.operations("patchListingsItem") - patches_before == 1
    assert amazon.stock("DUO") == 11
    assert amazon.store.listings["DUO"].fba == 38  # Amazon's own count, untouched by us
    assert amazon.store.listings["FBAONLY"].fba == 9
