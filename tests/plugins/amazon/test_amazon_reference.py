"""The sandbox and the plugin against the official models (tests/reference/amazon): field
names of what the sandbox answers, the schemas the plugin ships, the feed and report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from hub import StockUpdate
from hub_plugins.amazon.stockpush import feed_payload

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "amazon"
SHIPPED = Path(__file__).resolve().parents[3] / "plugins" / "amazon" / "schemas"


def _model(name: str) -> dict[str, Any]:
    return dict(json.loads((REFERENCE / name).read_text()))


def _check(value: Any, definition: dict[str, Any], definitions: dict[str, Any], where: str) -> None:
    """Every key of ``value`` is a property of ``definition`` and every required one is there."""
    if "$ref" in definition:
        definition = definitions[definition["$ref"].rsplit("/", 1)[1]]
    if isinstance(value, dict) and "properties" in definition:
        props = definition["properties"]
        unknown = set(value) - set(props)
        assert not unknown, f"{where}: {sorted(unknown)} not in the model"
        missing = set(definition.get("required", ())) - set(value)
        assert not missing, f"{where}: required {sorted(missing)} missing"
        for key, item in value.items():
            _check(item, props[key], definitions, f"{where}.{key}")
    elif isinstance(value, list) and "items" in definition:
        for n, item in enumerate(value):
            _check(item, definition["items"], definitions, f"{where}[{n}]")


@pytest.mark.parametrize(
    "name",
    [
        "listings-feed-schema-v2.json",
        "listings-feed-processing-report-schema-v2.json",
        "OrderChangeNotification.json",
    ],
)
def test_the_plugin_ships_the_official_schemas(name):
    assert json.loads((SHIPPED / name).read_text()) == json.loads((REFERENCE / name).read_text())


def test_orders_answers_use_the_models_field_names(amazon, channel):
    amazon.add_listing("MUG", quantity=5, fba=5)
    mfn = amazon.sell("MUG", 2)
    amazon.sell("MUG", 1, fulfilled_by="AMAZON", status="SHIPPED")
    channel.fulfill(mfn, "UPS", "1Z1")
    model = _model("orders_2026-01-01.json")
    defs = model["definitions"]

    found = channel.api.orders.search_orders(
        lastUpdatedAfter="2020-01-01T00:00:00Z",
        marketplaceIds="ATVPDKIKX0DER",
        includedData="BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,PACKAGES",
        maxResultsPerPage=1,
    )
    body = {**found.payload, "pagination": found.pagination}
    _check(body, defs["SearchOrdersResponse"], defs, "searchOrders")
    one = channel.api.orders.get_order(mfn, includedData="FULFILLMENT,PACKAGES").payload
    _check(one, defs["GetOrderResponse"], defs, "getOrder")
    statuses = defs["FulfillmentStatus"]["enum"]
    assert one["order"]["fulfillment"]["fulfillmentStatus"] in statuses


def test_listings_answers_use_the_models_field_names(amazon, channel):
    amazon.add_listing("MUG", quantity=5, fba=5)
    model = _model("listingsItems_2021-08-01.json")
    defs = model["definitions"]

    found = channel.api.listings.search_listings_items(
        "A1SANDBOXSELLER",
        marketplaceIds="ATVPDKIKX0DER",
        includedData="summaries,fulfillmentAvailability",
    ).payload
    _check(found, defs["ItemSearchResults"], defs, "searchListingsItems")
    patched = channel.api.listings.patch_listings_item(
        "A1SANDBOXSELLER",
        "MUG",
        marketplaceIds="ATVPDKIKX0DER",
        body={
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "AMAZON_NA", "quantity": 1}],
                }
            ],
        },
    ).payload
    _check(patched, defs["ListingsItemSubmissionResponse"], defs, "patchListingsItem")
    assert patched["status"] == "INVALID" and amazon.store.listings["MUG"].fba == 5


def test_feeds_and_the_processing_report_follow_the_models(amazon, channel, server):
    for sku in ("A", "B", "C", "D", "E"):
        amazon.add_listing(sku, quantity=0)
    amazon.store.feed_errors = {"C": "a processing error"}
    model = _model("feeds_2021-06-30.json")
    defs = model["definitions"]
    payload = feed_payload("A1SANDBOXSELLER", [StockUpdate(s, s, 2) for s in "ABCDE"])
    jsonschema.validate(payload, _model("listings-feed-schema-v2.json"))
    jsonschema.validate(
        _model("listings-feed-schema-v2.example.json"), _model("listings-feed-schema-v2.json")
    )

    document = channel.api.feeds.create_feed_document(None, "application/json").payload
    _check(document, defs["CreateFeedDocumentResponse"], defs, "createFeedDocument")
    assert requests.put(document["url"], data=json.dumps(payload), timeout=5).ok
    feed = channel.api.feeds.create_feed(
        "JSON_LISTINGS_FEED", document["feedDocumentId"], marketplaceIds=["ATVPDKIKX0DER"]
    ).payload
    _check(feed, defs["CreateFeedResponse"], defs, "createFeed")
    while (state := channel.api.feeds.get_feed(feed["feedId"]).payload)[
        "processingStatus"
    ] != "DONE":
        assert state["processingStatus"] in defs["Feed"]["properties"]["processingStatus"]["enum"]
    _check(state, defs["Feed"], defs, "getFeed")
    report = json.loads(channel.api.feeds.get_feed_result_document(state["resultFeedDocumentId"]))

    jsonschema.validate(report, _model("listings-feed-processing-report-schema-v2.json"))
    assert [(i["sku"], i["severity"]) for i in report["issues"]] == [("C", "ERROR")]
    assert report["summary"]["messagesAccepted"] == 4
