"""Pushing stock: patchListingsItem for up to four SKUs, one JSON_LISTINGS_FEED above
(whichever takes fewer calls), the processing report read back, per-SKU errors retried
once and then recorded against the SKU; only the merchant's DEFAULT quantity is sent."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import jsonschema_rs
import pytest
import sqlalchemy as sa

from hub import StockUpdate
from hub.core import ledger
from hub.core.models import dead_letter_t
from hub.core.retry import retry_dead_letters
from hub_plugins.amazon.stockpush import FEED_CALLS, feed_payload, use_feed

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "amazon"
FEED_OPERATIONS = ("createFeedDocument", "createFeed", "getFeed", "getFeedDocument")


def _calls(amazon) -> dict[str, int]:
    names = ("patchListingsItem", *FEED_OPERATIONS)
    return {name: amazon.operations(name) for name in names if amazon.operations(name)}


def _updates(count: int, quantity: int = 7) -> list[StockUpdate]:
    return [StockUpdate(f"S{n:03}", f"S{n:03}", quantity) for n in range(count)]


@pytest.mark.parametrize("count", [1, FEED_CALLS])
def test_few_updates_go_by_patch_one_call_each(amazon, channel, count):
    for n in range(count):
        amazon.add_listing(f"S{n:03}", quantity=1)

    results = channel.push_stock(_updates(count))

    assert [r.ok and r.confirmed for r in results] == [7] * count
    assert _calls(amazon) == {"patchListingsItem": count}
    assert [amazon.stock(f"S{n:03}") for n in range(count)] == [7] * count


def test_more_updates_go_by_one_feed_and_its_report_is_read(amazon, channel):
    amazon.store.feed_polls = 2  # IN_PROGRESS twice, then DONE
    for n in range(FEED_CALLS + 1):
        amazon.add_listing(f"S{n:03}", quantity=1)

    results = channel.push_stock(_updates(FEED_CALLS + 1, quantity=3))

    assert all(r.ok and r.confirmed == 3 for r in results)
    assert _calls(amazon) == {
        "createFeedDocument": 1,
        "createFeed": 1,
        "getFeed": 3,
        "getFeedDocument": 1,
    }
    document = next(iter(d for d in amazon.store.documents.values() if d and b"messages" in d))
    official = json.loads((REFERENCE / "listings-feed-schema-v2.json").read_text())
    jsonschema.validate(json.loads(document), official)
    messages = json.loads(document)["messages"]
    assert {json.dumps(m["patches"]) for m in messages} == {
        json.dumps(
            [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
                }
            ]
        )
    }
    assert amazon.stock("S004") == 3


def test_the_choice_takes_the_fewer_calls():
    assert [use_feed(n) for n in (1, 4, 5, 25_000)] == [False, False, True, True]
    # unless the feed's plan would keep it waiting longer than all the patches take
    assert not use_feed(10, feed_wait=120.0, patch_wait=1.0)
    assert use_feed(1000, feed_wait=120.0, patch_wait=199.0)


def test_when_the_feed_plan_is_spent_small_batches_go_by_patch(amazon, channel):
    for n in range(6):
        amazon.add_listing(f"S{n:03}", quantity=1)
    for _ in range(15):  # createFeed's burst, spent by earlier pushes
        channel.api.plans.reserve("createFeed")

    results = channel.push_stock(_updates(6))

    assert all(r.ok for r in results)
    assert _calls(amazon) == {"patchListingsItem": 6}
    with pytest.raises(jsonschema_rs.ValidationError):
        feed_payload("A1", _updates(25_001))  # more than the schema's maxItems


def test_report_errors_are_tried_again_by_patch_and_then_reported(amazon, channel):
    for n in range(10):
        amazon.add_listing(f"S{n:03}", quantity=1)
    amazon.store.feed_errors = {"S002": "Temporary processing error", "S005": "Try again"}
    updates = _updates(10) + [StockUpdate("GONE", "GONE", 4)]  # not listed on Amazon

    results = {r.sku: r for r in channel.push_stock(updates)}

    assert all(results[f"S{n:03}"].ok for n in range(10))  # the two failed, then passed
    assert not results["GONE"].ok and "is not listed for this seller" in results["GONE"].error
    assert _calls(amazon)["createFeed"] == 1
    assert _calls(amazon)["patchListingsItem"] == 3  # S002, S005 and GONE once more
    assert amazon.stock("S005") == 7


def test_the_hub_pushes_in_one_feed_and_records_a_refused_sku(world_for):
    world = world_for()
    skus = [f"S{n:03}" for n in range(30)] + ["LOST"]
    for sku in skus:
        world.amazon.add_listing(sku, quantity=0)
    world.hub.write(lambda c: [ledger.ensure_product(c, sku) for sku in skus])
    world.import_listings()  # all at 0 on both sides: in step
    world.amazon.store.feed_errors = {"S007": "first"}
    del world.amazon.store.listings["LOST"]  # delisted on Amazon after the import
    for sku in skus:
        world.receive(sku, 6 if sku == "S000" else 5)

    result = world.sync.push_stock("amazon")

    assert (result.sent, result.batches, result.failed) == (31, 1, 1)
    assert world.amazon.operations("createFeed") == 1
    assert [world.amazon.stock(f"S{n:03}") for n in (0, 7, 29)] == [6, 5, 5]
    letters = world.hub.read(
        lambda c: c.execute(
            sa.select(dead_letter_t.c.kind, dead_letter_t.c.reference, dead_letter_t.c.error)
        ).all()
    )
    assert [(k, r) for k, r, _ in letters] == [("push", "LOST")]
    assert "not listed for this seller" in letters[0][2]

    world.amazon.add_listing("LOST", quantity=0)  # listed again on Amazon
    lines = retry_dead_letters(world.sync, channel="amazon")

    assert len(lines) == 1 and "LOST" in lines[0] and "pushed 1 updates" in lines[0]
    assert world.amazon.stock("LOST") == 5


def test_a_failing_second_try_keeps_what_the_feed_settled(amazon, channel):
    for n in range(6):
        amazon.add_listing(f"S{n:03}", quantity=1)
    amazon.store.feed_errors = {"S001": "Temporary processing error"}

    def fail_the_patch(method: str, path: str, body: bytes) -> None:
        if method == "PATCH":
            amazon.faults.server_errors = 1

    amazon.faults.observers.append(fail_the_patch)

    results = {r.sku: r for r in channel.push_stock(_updates(6))}

    assert [sku for sku, r in results.items() if not r.ok] == ["S001"]
    assert "Temporary processing error" in results["S001"].error
    assert amazon.stock("S000") == 7 and amazon.stock("S001") == 1


def test_a_feed_that_would_break_the_schema_is_not_sent(amazon, channel):
    updates = [*_updates(4), StockUpdate("", "", 1)]  # a SKU of no characters

    results = channel.push_stock(updates)

    assert not any(r.ok for r in results)
    assert "listings-feed-schema-v2.json" in results[0].error
    assert amazon.operations("createFeedDocument") == 0


def test_a_feed_of_several_megabytes_is_uploaded_and_settled(amazon, channel):
    count = 6_000  # about 1.4 MB of feed document: over aiohttp's default 1 MiB body limit
    for n in range(count):
        amazon.add_listing(f"S{n:04}", quantity=1)

    updates = [StockUpdate(f"S{n:04}", f"S{n:04}", 2) for n in range(count)]
    results = channel.push_stock(updates)

    document = max(amazon.store.documents.values(), key=lambda d: len(d or b""))
    assert len(document) > 1024 * 1024
    assert all(r.ok and r.confirmed == 2 for r in results)
    assert _calls(amazon)["createFeed"] == 1
    assert amazon.stock("S5999") == 2
