"""The sandbox against the official wc/v3 reference (``tests/reference/woocommerce``, read
here, never by the sandbox): every field of the documented examples is served, with the
documented JSON types."""

from __future__ import annotations

import base64
import json
import re
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from hub_plugins.woocommerce import WooSandbox
from hub_plugins.woocommerce.sandbox_auth import KeyChecker
from hub_plugins.woocommerce.sandbox_store import StoreError

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "woocommerce"


def documented_example(file: str, heading: str) -> dict[str, Any]:
    """The first JSON response example after ``heading`` in a reference file."""
    text = (REFERENCE / file).read_text()
    found = re.search(r"```json\s*(.*?)```", text[text.index(heading) :], re.S)
    assert found is not None, f"no JSON example after {heading!r} in {file}"
    return json.loads(found.group(1))


def _served() -> dict[str, dict[str, Any]]:
    store = WooSandbox()
    product = store.add_product("MUG", stock=3)
    store.add_variable_product("TEE", variations=[{"sku": "TEE-S", "stock": 1}])
    order = store.create_order([("MUG", 1)])
    return {"order": order, "product": product, "variation": store.product("TEE-S")}


@pytest.mark.parametrize(
    ("kind", "file", "heading"),
    [
        ("order", "orders.md", "## Retrieve an order"),
        ("product", "products.md", "## Retrieve a product"),
        ("variation", "product-variations.md", "## Retrieve a product variation"),
    ],
)
def test_served_objects_have_every_documented_field_and_type(
    kind: str, file: str, heading: str
) -> None:
    example = documented_example(file, heading)
    served = _served()[kind]

    assert sorted(set(example) - set(served)) == []
    for key, value in example.items():
        if value is not None and served[key] is not None:
            assert type(served[key]) is type(value), key


def _secure_request(headers: dict[str, str], query: str = "") -> Any:
    return make_mocked_request(
        "GET",
        f"/wp-json/wc/v3/products{query}",
        headers=headers,
        sslcontext=ssl.create_default_context(),
    )


def test_over_https_basic_auth_and_query_string_keys_are_checked() -> None:
    keys = KeyChecker("ck_1", "cs_1")

    def basic(user: str, password: str) -> dict[str, str]:
        return {
            "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        }

    keys.check(_secure_request(basic("ck_1", "cs_1")))
    keys.check(_secure_request({}, "?consumer_key=ck_1&consumer_secret=cs_1"))
    with pytest.raises(StoreError, match="Consumer secret is invalid"):
        keys.check(_secure_request(basic("ck_1", "cs_2")))
    with pytest.raises(StoreError, match="Consumer key is missing"):
        keys.check(_secure_request({}))
