"""Stock: BatchChangeInventory in requests of at most 100 changes, an idempotency key each;
counts read back with BatchRetrieveInventoryCounts, IN_STOCK only, no row = unknown."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from conftest import SHOP_A, SHOP_B

from hub import ChannelError, StockUpdate
from hub.core import ledger
from hub.core.models import listing_t


def _update(listing, quantity: int) -> StockUpdate:  # type: ignore[no-untyped-def]
    return StockUpdate(listing.sku, listing.external_id, quantity, location_id=listing.location_id)


def test_stock_is_pushed_in_batches_of_one_hundred_each_with_its_own_key(sandbox, channel):
    for n in range(125):
        sandbox.add_variation(f"P{n:03}", price="1.00", stock={SHOP_A: 1})
    listings = list(channel.fetch_listings())
    assert len(listings) == 250  # one per variation and shop
    keys = []

    def watch(method: str, path: str, body: bytes) -> None:
        if path.endswith("/changes/batch-create"):
            keys.append(json.loads(body)["idempotency_key"])

    sandbox.faults.observers.append(watch)
    updates = [_update(item, n % 7) for n, item in enumerate(listings)]
    results = [
        r
        for start in range(0, 250, 100)  # as the core hands them over
        for r in channel.push_stock(updates[start : start + 100])
    ]
    assert all(r.ok for r in results)
    assert [r.confirmed for r in results] == [n % 7 for n in range(250)]
    batches = [c.changes for c in sandbox.calls if c.path.endswith("/changes/batch-create")]
    assert batches == [100, 100, 50]
    assert len(set(keys)) == 3
    assert sandbox.stock("P124", SHOP_B) == updates[249].quantity


def test_one_call_never_carries_more_than_one_hundred_changes(sandbox, channel):
    for n in range(60):
        sandbox.add_variation(f"Q{n:02}", price="1.00")
    listings = list(channel.fetch_listings())
    results = channel.push_stock([_update(item, 2) for item in listings])  # 120 at once
    assert len(results) == 120 and all(r.ok for r in results)
    batches = [c.changes for c in sandbox.calls if c.path.endswith("/changes/batch-create")]
    assert batches == [100, 20]


def test_square_refuses_a_batch_over_one_hundred_changes(sandbox, server):
    changes = [{"type": "PHYSICAL_COUNT", "physical_count": {}}] * 101
    answer = requests.post(
        f"{server.url}/v2/inventory/changes/batch-create",
        json={"idempotency_key": "k-101", "changes": changes},
        headers={"Authorization": f"Bearer {sandbox.access_token}"},
        timeout=10,
    )
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert (error["category"], error["code"], error["field"]) == (
        "INVALID_REQUEST_ERROR",
        "ARRAY_LENGTH_TOO_LONG",
        "changes",
    )


def test_idempotency_keys_are_honoured(sandbox, server):
    vid = sandbox.add_variation("MUG", price="1.00", stock={SHOP_A: 5})

    def send(key: str, quantity: str) -> requests.Response:
        change = {
            "type": "PHYSICAL_COUNT",
            "physical_count": {
                "catalog_object_id": vid,
                "state": "IN_STOCK",
                "location_id": SHOP_A,
                "quantity": quantity,
                "occurred_at": "2030-01-01T00:00:00.000Z",
            },
        }
        return requests.post(
            f"{server.url}/v2/inventory/changes/batch-create",
            json={"idempotency_key": key, "changes": [change]},
            headers={"Authorization": f"Bearer {sandbox.access_token}"},
            timeout=10,
        )

    first = send("key-1", "9")
    assert first.status_code == 200 and sandbox.stock("MUG", SHOP_A) == 9
    sandbox.store.physical_count(vid, SHOP_A, 4, sandbox.store.now().replace(year=2031))
    again = send("key-1", "9")  # a retry of the same request: the first answer, not re-applied
    assert again.json() == first.json() and sandbox.stock("MUG", SHOP_A) == 4
    reused = send("key-1", "8")
    assert reused.status_code == 400
    assert reused.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_counts_that_are_not_counts(sandbox, channel):
    mug = sandbox.add_variation("MUG", price="1.00", stock={SHOP_A: 55, SHOP_B: 50})
    sandbox.store.set_state(mug, SHOP_A, "ORDERED_FROM_VENDOR", 500)  # not sellable
    sandbox.add_variation("NEW", price="1.00")  # never counted anywhere
    sandbox.add_variation("HALF", price="1.00", stock={SHOP_B: 2})  # counted at one shop
    listings = {(i.sku, i.location_id): i for i in channel.fetch_listings()}
    assert listings[("MUG", SHOP_A)].quantity == 55
    assert listings[("MUG", SHOP_B)].quantity == 50
    assert listings[("NEW", SHOP_A)].quantity is None  # unknown, not 0
    assert listings[("NEW", SHOP_B)].quantity is None
    assert listings[("HALF", SHOP_A)].quantity is None
    assert listings[("HALF", SHOP_B)].quantity == 2
    assert channel.stock_location(SHOP_A) == "main" and channel.stock_location(SHOP_B) == "store"


def test_the_hub_reads_each_shop_and_keeps_what_it_does_not_know(world):
    mug_id = world.square.store.variation("MUG")["id"]
    world.square.store.set_state(mug_id, "LSHOPA", "ORDERED_FROM_VENDOR", 40)
    world.square.add_variation("NEW", price="1.00")  # no count row anywhere
    world.hub.write(lambda c: ledger.receive(c, "NEW", "main", 6))
    world.import_listings()
    rows = {
        r.external_id.split(":")[1] + "/" + r.title: r.confirmed_quantity
        for r in world.hub.read(lambda c: c.execute(listing_t.select()).all())
    }
    assert rows["LSHOPA/Mug"] == 3 and rows["LSHOPB/Mug"] == 1  # IN_STOCK only
    assert rows["LSHOPA/NEW"] is None  # unknown: nothing is assumed
    drift = world.sync.reconcile("square")
    assert ("NEW", None, 6) not in drift and all(q is not None for _, q, _ in drift)
    world.sync.push_stock("square")
    assert world.square.stock("NEW", "LSHOPA") == 6  # the hub's figure, pushed
    assert world.square.stock("NEW", "LSHOPB") == 0


def test_a_count_read_while_a_newer_hub_change_is_pushed_never_overwrites_it(world):
    world.import_listings()
    square = world.square
    reads = threading.Event()

    def slow_read(method: str, path: str, body: bytes) -> None:
        if path.endswith("/counts/batch-retrieve") and not reads.is_set():
            reads.set()
            square.faults.lost_answers = 1  # answered from the old counts, a second late
            square.faults.timeout_seconds = 1.0

    square.faults.observers.append(slow_read)
    result: dict = {}
    reader = threading.Thread(target=lambda: result.update(drift=world.sync.reconcile("square")))
    reader.start()
    assert reads.wait(10)
    # while the read's answer is on its way, the hub receives stock and pushes it
    world.hub.write(lambda c: ledger.receive(c, "MUG", "main", 4))
    world.sync.push_stock("square")
    assert square.stock("MUG", SHOP_A) == 7
    reader.join(30)
    confirmed = {
        r.external_id.split(":")[1]: r.confirmed_quantity
        for r in world.hub.read(lambda c: c.execute(listing_t.select()).all())
        if r.title == "Mug"
    }
    assert confirmed[SHOP_A] == 7  # the read that began before the push did not win
    assert square.stock("MUG", SHOP_A) == 7


def test_a_refused_batch_is_not_retryable_and_names_square_s_code(sandbox, channel):
    sandbox.add_variation("MUG", price="1.00", stock={SHOP_A: 1})
    [listing] = [i for i in channel.fetch_listings() if i.location_id == SHOP_A]
    gone = StockUpdate("MUG", "VDOESNOTEXIST:" + SHOP_A, 3, location_id=SHOP_A)
    with pytest.raises(ChannelError) as caught:
        channel.push_stock([_update(listing, 2), gone])
    assert not caught.value.retryable and caught.value.status == 404
    assert "NOT_FOUND" in str(caught.value)
    unmapped = channel.push_stock([StockUpdate("MUG", "V1:LNOWHERE", 1, location_id="LNOWHERE")])
    assert not unmapped[0].ok and "no mapped Square location" in unmapped[0].error


def test_the_hub_reads_55_and_50_at_two_shops_and_finds_no_drift(world):
    big = world.square.add_variation("BIG", price="2.00", stock={SHOP_A: 55, SHOP_B: 50})
    world.square.store.set_state(big, SHOP_A, "ORDERED_FROM_VENDOR", 500)
    world.hub.write(lambda c: ledger.receive(c, "BIG", "main", 55))
    world.hub.write(lambda c: ledger.receive(c, "BIG", "store", 50))
    world.import_listings()
    confirmed = {
        r.external_id.split(":")[1]: r.confirmed_quantity
        for r in world.hub.read(lambda c: c.execute(listing_t.select()).all())
        if r.title == "BIG"
    }
    assert confirmed == {SHOP_A: 55, SHOP_B: 50}
    assert world.sync.reconcile("square") == []  # each shop against its own shelf
    world.hub.write(lambda c: ledger.receive(c, "BIG", "store", 2))
    world.sync.push_stock("square")
    assert (world.square.stock("BIG", SHOP_A), world.square.stock("BIG", SHOP_B)) == (55, 52)


def test_one_sku_at_two_shops_is_not_a_duplicate_listing(world):
    from hub.core.listings import import_listings

    items = world.sync.fetch_listings("square")
    report = world.hub.write(lambda c: import_listings(c, "square", items))
    assert report.duplicate_skus == [] and report.mapped == 4  # MUG and TEE at two shops
