"""The OpenAPI 3.1 document is generated from the route table and the pydantic models,
is valid, lists every route the app serves, and renders as a reference page."""

from __future__ import annotations

import re

from conftest import Api
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from hub.web.api import PREFIX, ROUTES
from hub.web.api.openapi import build_document
from hub.web.api.schemas import OrderCreate


def served_document(api: Api) -> dict:
    answer = api.session.get(f"{api.url}/api/v1/openapi.json", timeout=10)  # no token needed
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json()


def test_the_served_document_is_valid_openapi_3_1(sqlite_api: Api):
    document = served_document(sqlite_api)
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document == build_document(ROUTES, title=sqlite_api.hub.settings.hub.name)


def test_every_route_is_in_the_document_and_every_operation_is_served(sqlite_api: Api):
    document = served_document(sqlite_api)
    operations = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    assert operations == {(r.method, PREFIX + r.path) for r in ROUTES}
    assert len(operations) == len(ROUTES)  # no two routes share a method and path
    assert served_operations(sqlite_api) == operations


def served_operations(api: Api) -> set[tuple[str, str]]:
    """What the running app answers: each documented operation, asked without a token,
    gets the API's own 401 (not aiohttp's 404 or 405)."""
    found = set()
    for route in ROUTES:
        path = PREFIX + re.sub(r"\{[^}]+\}", "x", route.path)
        answer = api.session.request(route.method, f"{api.url}{path}", timeout=10)
        if answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized":
            found.add((route.method, PREFIX + route.path))
    return found


def test_bodies_and_answers_are_the_pydantic_models(sqlite_api: Api):
    document = served_document(sqlite_api)
    create = document["paths"]["/api/v1/orders"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/OrderCreate"}
    generated = OrderCreate.model_json_schema(ref_template="#/components/schemas/{model}")
    assert document["components"]["schemas"]["OrderCreate"]["properties"].keys() == (
        generated["properties"].keys()
    )
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderCreated"
    }
    assert {"400", "401", "403", "409", "413", "422", "500"} <= set(create["responses"])
    (key,) = [p for p in create["parameters"] if p["in"] == "header"]
    assert (
        key["name"] == "Idempotency-Key" and key["required"] and key["schema"]["maxLength"] == 255
    )
    listing = document["paths"]["/api/v1/orders"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names == {"limit", "cursor", "status", "channel", "hold", "account"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_reference_page_shows_each_operation_with_an_example(sqlite_api: Api):
    page = sqlite_api.session.get(f"{sqlite_api.url}/api/v1/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.text
    for route in ROUTES:
        assert f"{route.method} {PREFIX}{route.path}" in text, route.operation_id
        assert f"id='{route.operation_id.lower()}'" in text
    assert "Idempotency-Key" in text and "Example" in text
    assert "&quot;sku&quot;: &quot;MUG-01&quot;" in text  # the example request body
    assert "<script" not in text and "http://" not in text and "https://" not in text
