"""Stock: inventorySetQuantities in batches of 250 with @idempotent and changeFromQuantity;
a value changed on Shopify's side comes back stale with the real figure, never overwritten."""

from __future__ import annotations

import pytest

from hub import StockUpdate
from hub_plugins.shopify import ShopifySandbox, client


@pytest.fixture
def catalogue(sandbox: ShopifySandbox) -> list[str]:
    skus = [f"SKU-{n:03d}" for n in range(600)]
    for sku in skus:
        sandbox.add_product(sku, [{"sku": sku, "price": "5.00", "stock": 10}])
    return skus


def test_quantities_go_in_batches_of_250(sandbox: ShopifySandbox, channel, catalogue):
    listings = {item.sku: item for item in channel.fetch_listings()}
    updates = [
        StockUpdate(sku, listings[sku].external_id, 20 + n % 7, expected=10)
        for n, sku in enumerate(catalogue)
    ]

    results = channel.push_stock(updates)

    assert all(r.ok for r in results) and len(results) == 600
    assert [r.confirmed for r in results[:3]] == [20, 21, 22]
    assert sandbox.stock_calls() == 3  # 250 + 250 + 100
    sizes = [
        len(c.variables["input"]["quantities"])
        for c in sandbox.calls
        if c.operation == "SetQuantities"
    ]
    assert sizes == [250, 250, 100]
    assert all(sandbox.stock(sku) == 20 + n % 7 for n, sku in enumerate(catalogue))
    first = next(c for c in sandbox.calls if c.operation == "SetQuantities")
    assert first.variables["key"]  # the @idempotent key
    assert first.variables["input"]["quantities"][0]["changeFromQuantity"] == 10


def test_a_quantity_changed_on_shopify_comes_back_stale_and_the_rest_is_set(
    sandbox: ShopifySandbox, channel
):
    for sku in ("A", "B", "C"):
        sandbox.add_product(sku, [{"sku": sku, "price": "5.00", "stock": 10}])
    listings = {item.sku: item for item in channel.fetch_listings()}
    sandbox.sell("B", 3)  # a storefront sale after the hub last confirmed 10

    results = channel.push_stock(
        [StockUpdate(s, listings[s].external_id, 8, expected=10) for s in ("A", "B", "C")]
    )

    by_sku = {r.sku: r for r in results}
    assert by_sku["A"].ok and by_sku["C"].ok
    assert by_sku["B"].stale and not by_sku["B"].ok and by_sku["B"].confirmed == 7
    assert (sandbox.stock("A"), sandbox.stock("B"), sandbox.stock("C")) == (8, 7, 8)
    assert sandbox.stock_calls() == 2  # refused as a whole once, then A and C again


def test_an_unknown_expected_value_sets_without_comparing(sandbox: ShopifySandbox, channel):
    sandbox.add_product("A", [{"sku": "A", "price": "5.00", "stock": 10}])
    item = next(iter(channel.fetch_listings()))

    (result,) = channel.push_stock([StockUpdate("A", item.external_id, 4, expected=None)])

    assert result.ok and result.confirmed == 4 and sandbox.stock("A") == 4


def test_untracked_and_unknown_items_are_refused_with_a_reason(sandbox: ShopifySandbox, channel):
    sandbox.add_product("Gift", [{"sku": "GIFT", "price": "5.00", "stock": None}])
    sandbox.add_product("A", [{"sku": "A", "price": "5.00", "stock": 1}])
    gift, a = sandbox.item_id("GIFT"), sandbox.item_id("A")

    results = channel.push_stock(
        [
            StockUpdate("GIFT", gift, 3, expected=0),
            StockUpdate("GONE", "gid://shopify/InventoryItem/999999", 3, expected=0),
            StockUpdate("A", a, 5, expected=1),
        ]
    )

    by_sku = {r.sku: r for r in results}
    assert not by_sku["GIFT"].ok and "NON_MUTABLE_INVENTORY_ITEM" in by_sku["GIFT"].error
    assert not by_sku["GONE"].ok and "INVALID_INVENTORY_ITEM" in by_sku["GONE"].error
    assert by_sku["A"].ok and sandbox.stock("A") == 5


def test_the_same_idempotency_key_never_applies_twice(sandbox: ShopifySandbox):
    sandbox.add_product("A", [{"sku": "A", "price": "5.00", "stock": 10}])
    document = client.document("SetQuantities")
    variables = {
        "key": "retry-1",
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [
                {
                    "inventoryItemId": sandbox.item_id("A"),
                    "locationId": sandbox.location_id,
                    "quantity": 4,
                    "changeFromQuantity": None,
                }
            ],
        },
    }

    first, _ = sandbox.run(document, variables)
    sandbox.set_stock("A", 9)  # changed meanwhile; a replayed call must not undo it
    again, _ = sandbox.run(document, variables)
    variables["input"]["quantities"][0]["quantity"] = 5
    mismatch, _ = sandbox.run(document, variables)

    assert first["data"] == again["data"]
    assert sandbox.stock("A") == 9
    errors = mismatch["data"]["inventorySetQuantities"]["userErrors"]
    assert errors[0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def test_the_sandbox_refuses_what_shopify_refuses(sandbox: ShopifySandbox):
    sandbox.add_product("A", [{"sku": "A", "price": "5.00", "stock": 10}])
    row = {
        "inventoryItemId": sandbox.item_id("A"),
        "locationId": sandbox.location_id,
        "quantity": 1,
        "changeFromQuantity": None,
    }
    mutation = (
        "mutation M($input: InventorySetQuantitiesInput!) {"
        " inventorySetQuantities(input: $input) { userErrors { code } } }"
    )
    keyed = mutation.replace("(input: $input)", '(input: $input) @idempotent(key: "k1")')
    too_many = {"name": "available", "reason": "correction", "quantities": [row] * 251}
    no_compare = {k: v for k, v in row.items() if k != "changeFromQuantity"}

    without_key, _ = sandbox.run(mutation, {"input": {**too_many, "quantities": [row]}})
    over_cap, _ = sandbox.run(keyed, {"input": too_many})
    bad_reason, _ = sandbox.run(
        keyed.replace("k1", "k2"),
        {"input": {"name": "available", "reason": "because", "quantities": [no_compare]}},
    )

    assert "@idempotent directive is required" in without_key["errors"][0]["message"]
    assert over_cap["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    codes = [e["code"] for e in bad_reason["data"]["inventorySetQuantities"]["userErrors"]]
    assert codes == ["INVALID_REASON", "COMPARE_QUANTITY_REQUIRED"]
    assert sandbox.stock("A") == 10
