"""Stock goes out by bulkUpdatePriceQuantity: 25 items a call, a status for each."""

from __future__ import annotations

import requests

from hub import StockUpdate
from hub.sandbox import DemoItem


def test_stock_is_pushed_in_batches_of_25_in_the_fewest_calls(store, connect):
    store.seed([DemoItem(f"SKU-{n:03d}", f"Item {n}", "1.00", 0) for n in range(60)])
    channel = connect(page_size=7)  # listings over nine pages
    listings = [item for item in channel.fetch_listings() if item.sku.startswith("SKU-")]
    assert len(listings) == 60 and all(item.external_id == item.sku for item in listings)
    results = channel.push_stock([StockUpdate(i.sku, i.external_id, quantity=4) for i in listings])
    assert len(results) == 60 and all(r.ok and r.confirmed == 4 for r in results)
    assert store.stock_calls() == 3  # 25 + 25 + 10: eBay takes at most 25 per call
    assert {store.stock(f"SKU-{n:03d}") for n in range(60)} == {4}


def test_each_item_gets_its_own_answer(store, connect):
    updates = [
        StockUpdate("MUG", "MUG", quantity=8),
        StockUpdate("GONE", "GONE", quantity=1),  # no longer an inventory item on eBay
    ]
    results = {r.sku: r for r in connect().push_stock(updates)}
    assert results["MUG"].ok and results["MUG"].confirmed == 8
    assert not results["GONE"].ok
    assert "No inventory item with SKU 'GONE'" in results["GONE"].error
    assert store.stock("MUG") == 8


def test_the_sandbox_refuses_more_than_25_requests_as_ebay_documents(store, served):
    body = {
        "requests": [
            {"sku": f"S{n}", "shipToLocationAvailability": {"quantity": 1}} for n in range(26)
        ]
    }
    answer = requests.post(
        f"{served.url}/sell/inventory/v1/bulk_update_price_quantity",
        json=body,
        headers={"Authorization": f"Bearer {store.mint('user')}"},
        timeout=5,
    )
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert (error["errorId"], error["domain"]) == (25709, "API_INVENTORY")
    assert "Invalid value for requests" in error["message"]
    assert store.stock_calls() == 0


def test_listings_say_which_items_have_no_quantity(store, connect):
    store.seed([DemoItem("GIFT-CARD", "Gift card", "25.00", None)])
    channel = connect()
    listings = {item.sku: item for item in channel.fetch_listings()}
    assert listings["MUG"].quantity == 50 and listings["MUG"].managed
    assert listings["GIFT-CARD"].quantity is None and not listings["GIFT-CARD"].managed
