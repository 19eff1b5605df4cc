"""The sandbox against Square's own OpenAPI description (``tests/reference/square``, read
here, never by the sandbox): every field it serves is a documented property of its
schema, with the documented JSON type, and every enum value is a documented one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import SHOP_A, SHOP_B

from hub_plugins.pos.sandbox import MAX_CHANGES

SPEC = json.loads(
    (Path(__file__).resolve().parents[2] / "reference" / "square" / "api-slice.json").read_text()
)
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
TYPES = {
    "string": str,
    "integer": int,
    "boolean": bool,
    "object": dict,
    "array": list,
    "number": (int, float),
}


def conforms(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Every way ``value`` departs from ``schema`` (only schemas in the slice are followed)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in SCHEMAS:
            return []  # a schema the slice leaves out: not checked
        schema = SCHEMAS[name]
    problems = []
    kind = schema.get("type")
    if kind in TYPES and not isinstance(value, TYPES[kind]):
        return [f"{where}: {type(value).__name__} where Square documents {kind}"]
    if kind == "integer" and isinstance(value, bool):
        return [f"{where}: a boolean where Square documents an integer"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of Square's values")
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                problems.append(f"{where}.{key}: not a field of Square's schema")
            else:
                problems += conforms(item, schema["properties"][key], f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            problems += conforms(item, schema["items"], f"{where}[{n}]")
    return problems


def _post(server, sandbox, path: str, body: dict) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.post(
        server.url + path,
        json=body,
        headers={"Authorization": f"Bearer {sandbox.access_token}"},
        timeout=10,
    )


@pytest.fixture
def served(sandbox, server):  # type: ignore[no-untyped-def]
    """Every kind of answer the sandbox gives, by Square's response schema name."""
    mug = sandbox.add_variation("MUG", name="Mug", price="12.50", stock={SHOP_A: 5, SHOP_B: 2})
    sandbox.store.set_state(mug, SHOP_A, "ORDERED_FROM_VENDOR", 10)
    sale = sandbox.sell("MUG", 2, SHOP_A)
    sandbox.store.refund(sale["id"], [("MUG", 1)])
    auth = {"Authorization": f"Bearer {sandbox.access_token}"}
    window = {"start_at": "2000-01-01T00:00:00Z"}
    query = {
        "filter": {"date_time_filter": {"updated_at": window}},
        "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
    }
    change = {
        "type": "PHYSICAL_COUNT",
        "physical_count": {
            "catalog_object_id": mug,
            "state": "IN_STOCK",
            "location_id": SHOP_B,
            "quantity": "4",
            "occurred_at": "2030-01-01T00:00:00Z",
        },
    }
    answers = {
        "ListLocationsResponse": requests.get(
            server.url + "/v2/locations", headers=auth, timeout=9
        ),
        "SearchCatalogObjectsResponse": _post(
            server, sandbox, "/v2/catalog/search", {"object_types": ["ITEM_VARIATION"]}
        ),
        "BatchRetrieveCatalogObjectsResponse": _post(
            server, sandbox, "/v2/catalog/batch-retrieve", {"object_ids": [mug]}
        ),
        "SearchOrdersResponse": _post(
            server, sandbox, "/v2/orders/search", {"location_ids": [SHOP_A], "query": query}
        ),
        "BatchRetrieveOrdersResponse": _post(
            server, sandbox, "/v2/orders/batch-retrieve", {"order_ids": [sale["id"]]}
        ),
        "BatchChangeInventoryResponse": _post(
            server,
            sandbox,
            "/v2/inventory/changes/batch-create",
            {"idempotency_key": "ref-1", "changes": [change]},
        ),
        "BatchRetrieveInventoryCountsResponse": _post(
            server, sandbox, "/v2/inventory/counts/batch-retrieve", {"catalog_object_ids": [mug]}
        ),
    }
    for answer in answers.values():
        assert answer.status_code == 200, answer.text
    return {name: answer.json() for name, answer in answers.items()}


def test_every_served_field_is_documented_with_its_type(served):
    for name, body in served.items():
        assert body, f"{name} came back empty"
        assert conforms(body, {"$ref": f"#/components/schemas/{name}"}, name) == []


def test_orders_returns_and_counts_use_square_s_shapes(served):
    orders = served["SearchOrdersResponse"]["orders"]
    assert {o["state"] for o in orders} == {"COMPLETED"}
    [ret] = [o for o in orders if o.get("returns")]
    assert ret["returns"][0]["return_line_items"][0]["source_line_item_uid"]
    states = {c["state"] for c in served["BatchRetrieveInventoryCountsResponse"]["counts"]}
    assert states == {"IN_STOCK", "ORDERED_FROM_VENDOR"}
    assert all(
        isinstance(c["quantity"], str)
        for c in served["BatchRetrieveInventoryCountsResponse"]["counts"]
    )


def test_error_bodies_follow_square_s_error_schema(sandbox, server):
    bad = [
        requests.get(server.url + "/v2/locations", timeout=9),  # no token
        _post(server, sandbox, "/v2/orders/search", {}),  # no location_ids
        _post(server, sandbox, "/v2/orders/search", {"location_ids": [SHOP_A], "cursor": "junk"}),
        _post(
            server,
            sandbox,
            "/v2/inventory/changes/batch-create",
            {"idempotency_key": "k", "changes": [{}] * (MAX_CHANGES + 1)},
        ),
    ]
    sandbox.faults.rate_limited = 1
    bad.append(requests.get(server.url + "/v2/locations", timeout=9))
    sandbox.faults.server_errors = 1
    bad.append(requests.get(server.url + "/v2/locations", timeout=9))
    assert [b.status_code for b in bad] == [401, 400, 400, 400, 429, 503]
    for answer in bad:
        body = answer.json()
        errors = body["errors"]
        assert errors and all({"category", "code", "detail"} <= set(e) for e in errors)
        schema = {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}
        assert conforms(errors, schema, "errors") == []


def test_webhook_events_follow_square_s_event_schemas(sandbox, channel, receiver):
    sandbox.add_variation("MUG", price="12.50", stock={SHOP_A: 2})
    sale = sandbox.sell("MUG", 1, SHOP_A)
    sandbox.store.touch(sandbox.store.orders[sale["id"]])
    sandbox.deliver_webhooks()
    names = {
        "order.created": "OrderCreatedEvent",
        "order.updated": "OrderUpdatedEvent",
        "inventory.count.updated": "InventoryCountUpdatedEvent",
    }
    seen = set()
    for event in receiver.events:
        body = dict(event.payload)
        name = names[body["type"]]
        seen.add(name)
        assert conforms(body, {"$ref": f"#/components/schemas/{name}"}, name) == []
    assert seen == set(names.values())


def test_the_documented_limits(served):
    request = SCHEMAS["BatchRetrieveInventoryCountsRequest"]["properties"]["limit"]
    assert request["maximum"] == 1000
    assert "Max: `1000`" in SCHEMAS["SearchOrdersRequest"]["properties"]["limit"]["description"]
    assert "IN_STOCK" in SCHEMAS["InventoryState"]["enum"]
    assert "IDEMPOTENCY_KEY_REUSED" in SCHEMAS["ErrorCode"]["enum"]
    assert "RATE_LIMITED" in SCHEMAS["ErrorCode"]["enum"]
