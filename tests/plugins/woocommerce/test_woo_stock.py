"""Pushing stock: products/batch and variations/batch, 100 updates per call at most,
grouped by parent so a mixed set takes the fewest calls."""

from __future__ import annotations

import math

import pytest

from hub import ChannelError, StockUpdate
from hub_plugins.woocommerce import WooCommerceChannel, WooSandbox
from hub_plugins.woocommerce.stockpush import stock_requests


def _listings(channel: WooCommerceChannel) -> dict:  # type: ignore[type-arg]
    return {item.sku: item for item in channel.fetch_listings()}


def _update(listing, quantity: int) -> StockUpdate:  # type: ignore[no-untyped-def]
    return StockUpdate(listing.sku, listing.external_id, quantity, parent_id=listing.parent_id)


def test_stock_is_set_in_batches_of_at_most_one_hundred(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    for n in range(250):
        sandbox.add_product(f"P{n:03}", stock=1)
    listings = _listings(channel)
    updates = [_update(listings[f"P{n:03}"], n) for n in range(250)]

    results = [
        r
        for start in range(0, 250, 100)  # as the core hands them over
        for r in channel.push_stock(updates[start : start + 100])
    ]

    assert all(r.ok for r in results)
    assert [r.confirmed for r in results] == list(range(250))
    batches = [c.items for c in sandbox.calls if c.path == "products/batch"]
    assert batches == [100, 100, 50]
    assert sandbox.stock("P249") == 249


def test_mixed_products_and_variations_use_one_call_per_parent(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    for n in range(30):
        sandbox.add_product(f"S{n}", stock=0)
    for parent in ("A", "B"):
        sandbox.add_variable_product(
            parent, variations=[{"sku": f"{parent}-{n}", "stock": 0} for n in range(35)]
        )
    listings = _listings(channel)
    updates = [_update(item, 5) for item in listings.values()]
    assert len(updates) == 100

    results = channel.push_stock(updates)

    assert [r.sku for r in results] == [u.sku for u in updates]  # results in update order
    assert all(r.ok and r.confirmed == 5 for r in results)
    calls = [(c.path, c.items) for c in sandbox.calls if c.method == "POST"]
    parents = {item.parent_id for item in listings.values() if item.parent_id}
    assert sorted(calls) == sorted(
        [("products/batch", 30)] + [(f"products/{p}/variations/batch", 35) for p in parents]
    )
    assert sandbox.stock("B-34") == 5


def test_the_number_of_calls_is_the_least_possible() -> None:
    updates = (
        [StockUpdate(f"S{n}", str(n), 1) for n in range(150)]
        + [StockUpdate(f"V{n}", str(1000 + n), 1, parent_id="7") for n in range(201)]
        + [StockUpdate(f"W{n}", str(2000 + n), 1, parent_id="8") for n in range(3)]
    )

    calls = list(stock_requests(updates, 100))

    assert [(endpoint, len(chunk)) for endpoint, chunk in calls] == [
        ("products/batch", 100),
        ("products/batch", 50),
        ("products/7/variations/batch", 100),
        ("products/7/variations/batch", 100),
        ("products/7/variations/batch", 1),
        ("products/8/variations/batch", 3),
    ]
    least = math.ceil(150 / 100) + math.ceil(201 / 100) + math.ceil(3 / 100)
    assert len(calls) == least


def test_unmanaged_product_is_reported_not_forced(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.add_product("POSTER", stock=None)
    sandbox.add_product("MUG", stock=1)
    listings = _listings(channel)

    poster, mug = channel.push_stock([_update(listings["POSTER"], 9), _update(listings["MUG"], 9)])

    assert not poster.ok and "does not manage stock" in poster.error
    assert mug.ok and mug.confirmed == 9
    assert sandbox.product("POSTER")["manage_stock"] is False
    assert sandbox.stock("POSTER") is None


def test_unknown_id_in_a_batch_fails_only_that_update(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.add_product("MUG", stock=1)
    mug = _listings(channel)["MUG"]

    gone, kept = channel.push_stock([StockUpdate("GONE", "99999", 3), _update(mug, 4)])

    assert not gone.ok and "invalid_id" in gone.error
    assert kept.ok and kept.confirmed == 4


def test_sandbox_refuses_more_than_one_hundred_items_like_woo(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    updates = [StockUpdate(f"S{n}", str(n), 1) for n in range(101)]
    channel.stock_batch_size = 101  # type: ignore[misc]  # pretend the adapter forgot the limit

    with pytest.raises(ChannelError) as refused:
        channel.push_stock(updates)

    assert refused.value.status == 413
    assert refused.value.retryable is False
    assert "at most 100" in str(refused.value)
