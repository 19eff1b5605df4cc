"""The eBay plugin keeps the hub's contract, and its sandbox answers as eBay's contracts say."""

from __future__ import annotations

import requests
from hub_ebay import EbayChannel
from hub_ebay.contract import contract, problems

from hub.testing import check_channel


def test_ebay_keeps_the_hub_contract():
    passed = check_channel(EbayChannel)
    assert len(passed) == 5


def bearer(store, kind="user"):
    return {"Authorization": f"Bearer {store.mint(kind)}"}


def test_every_answer_the_adapter_reads_is_valid_under_ebays_schemas(store, served, connect):
    order_id = store.sell("MUG", 2)
    connect().fulfill(order_id, "USPS", "9400111899223197428490")
    base, headers = served.url, bearer(store)
    answers = {
        "OrderSearchPagedCollection": f"{base}/sell/fulfillment/v1/order?limit=1",
        "Order": f"{base}/sell/fulfillment/v1/order/{order_id}",
        "ShippingFulfillmentPagedCollection": (
            f"{base}/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment"
        ),
        "InventoryItems": f"{base}/sell/inventory/v1/inventory_item?limit=1",
    }
    for schema, url in answers.items():
        body = requests.get(url, headers=headers, timeout=5).json()
        assert problems("fulfillment" if "fulfillment" in url else "inventory", schema, body) == []
    update = {"requests": [{"sku": "MUG", "shipToLocationAvailability": {"quantity": 3}}]}
    bulk = requests.post(
        f"{base}/sell/inventory/v1/bulk_update_price_quantity",
        json=update,
        headers=headers,
        timeout=5,
    ).json()
    assert problems("inventory", "BulkPriceQuantityResponse", bulk) == []
    assert bulk == {"responses": [{"sku": "MUG", "statusCode": 200}]}


def test_an_order_carries_the_fields_of_ebays_order_type(store, served):
    order_id = store.sell("TEE", 1)
    url = f"{served.url}/sell/fulfillment/v1/order/{order_id}"
    order = requests.get(url, headers=bearer(store), timeout=5).json()
    documented = set(contract("fulfillment")["components"]["schemas"]["Order"]["properties"])
    assert set(order) <= documented
    assert {"orderId", "lastModifiedDate", "lineItems", "pricingSummary"} <= set(order)


def test_errors_come_in_ebays_format_with_the_documented_ids(store, served):
    headers = bearer(store)
    orders = f"{served.url}/sell/fulfillment/v1/order"
    bad_date = requests.get(
        orders, params={"filter": "lastmodifieddate:[yesterday..]"}, headers=headers, timeout=5
    )
    assert bad_date.status_code == 400
    assert bad_date.json()["errors"][0] | {"parameters": None} == {
        "errorId": 30810,
        "domain": "API_FULFILLMENT",
        "category": "REQUEST",
        "message": "Invalid date format",
        "parameters": None,
    }
    too_old = requests.get(
        orders,
        params={"filter": "lastmodifieddate:[2020-01-01T00:00:00.000Z..]"},
        headers=headers,
        timeout=5,
    )
    assert too_old.json()["errors"][0]["errorId"] == 30830  # the 90-day window
    unknown = requests.get(orders, params={"filter": "color:[red..]"}, headers=headers, timeout=5)
    assert unknown.json()["errors"][0]["message"] == "Invalid filter name: color"
    no_token = requests.get(orders, timeout=5)
    assert (no_token.status_code, no_token.json()["errors"][0]["errorId"]) == (401, 1001)
