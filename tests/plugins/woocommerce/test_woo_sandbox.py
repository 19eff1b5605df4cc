"""The sandbox as a store: sales move stock, cancellations bring it back, the control
endpoints drive it over HTTP, and it needs nothing outside its plugin folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import hub_plugins.woocommerce as plugin
from hub_plugins.woocommerce import WooSandbox
from hub_plugins.woocommerce.sandbox_store import StoreError


def test_a_sale_takes_stock_and_a_cancellation_returns_it() -> None:
    store = WooSandbox()
    store.add_product("MUG", stock=3)

    order = store.sell("MUG", 2)
    after_sale = store.stock("MUG")
    store.cancel_order(order["id"])

    assert after_sale == 1
    assert store.stock("MUG") == 3
    assert store.order(order["id"])["status"] == "cancelled"


def test_a_sale_beyond_stock_is_refused_unless_backorders_are_allowed() -> None:
    store = WooSandbox()
    store.add_product("MUG", stock=1)
    store.add_product("PRE", stock=0, backorders="notify")

    with pytest.raises(StoreError, match="Not enough"):
        store.sell("MUG", 2)
    store.sell("PRE", 2)

    assert store.stock("MUG") == 1
    assert store.product("PRE")["stock_quantity"] == -2
    assert store.product("PRE")["stock_status"] == "onbackorder"


def test_pending_orders_take_stock_only_once_paid() -> None:
    store = WooSandbox()
    store.add_product("MUG", stock=5)
    order = store.create_order([("MUG", 2)], status="pending")
    unpaid = store.stock("MUG")

    store.update_order(order["id"], status="processing")
    store.update_order(order["id"], status="completed")

    assert (unpaid, store.stock("MUG")) == (5, 3)
    assert store.order(order["id"])["date_paid_gmt"]


def test_every_change_moves_date_modified_with_the_store_clock() -> None:
    store = WooSandbox()
    store.add_product("MUG", stock=5)
    order = store.create_order([("MUG", 1)])
    store.advance(120)

    edited = store.update_order(order["id"], customer_note="gift")

    assert edited["date_modified_gmt"] > order["date_modified_gmt"]
    assert edited["date_created_gmt"] == order["date_created_gmt"]


def test_control_endpoints_drive_the_store_over_http(sandbox: WooSandbox, server, channel) -> None:  # type: ignore[no-untyped-def]
    base = f"{server.url}/_sandbox"

    def post(path: str, body: dict) -> requests.Response:  # type: ignore[type-arg]
        return requests.post(f"{base}/{path}", json=body, timeout=5)

    assert post("products", {"sku": "MUG", "stock": 4, "price": "9.99"}).status_code == 200
    assert post("products", {"sku": "TEE", "variations": [{"sku": "TEE-S", "stock": 2}]}).ok
    order = post("sales", {"sku": "MUG", "quantity": 3}).json()
    post("stock", {"sku": "TEE-S", "quantity": 8})
    post(f"orders/{order['id']}", {"status": "on-hold"})
    cancelled = post(f"orders/{order['id']}/cancel", {}).json()
    refused = post("sales", {"sku": "TEE-S", "quantity": 99})
    post("clock", {"advance": 30})
    delivered = post("webhooks/deliver", {}).json()
    faults = post("faults", {"server_errors": 2}).json()
    state = requests.get(f"{base}/state", timeout=5).json()

    assert cancelled["status"] == "cancelled"
    assert refused.status_code == 400 and refused.json()["code"] == "woocommerce_rest_invalid_stock"
    assert faults["server_errors"] == 2
    assert delivered and {d["status"] for d in delivered} == {200}
    assert {p["sku"]: p["stock_quantity"] for p in state["variations"]} == {"TEE-S": 8}
    assert {p["sku"]: p["stock_quantity"] for p in state["products"]}["MUG"] == 4
    assert state["pending_webhooks"] == 0
    assert post("faults", {"no_such_knob": 1}).status_code == 400
    assert requests.get(f"{server.url}/wp-json/wc/v3/orders", timeout=5).status_code == 503


def test_auto_delivery_posts_webhooks_without_being_asked(receiver) -> None:  # type: ignore[no-untyped-def]
    store = WooSandbox(webhook_url=receiver.url, auto_deliver=True)
    store.add_product("MUG", stock=None)

    with store.serve() as server:  # the channel reads back whether what it sells is virtual
        receiver.channel = plugin.WooCommerceChannel(
            "woo", plugin.WooCommerceConfig(**store.config_for(server.url))
        )
        store.create_order([("MUG", 1)])
        assert receiver.arrived.wait(10)  # posted by the sandbox's own thread

    assert [e.topic for e in receiver.events] == ["order.created"]


def test_sandbox_reads_nothing_outside_its_plugin_at_run_time() -> None:
    folder = Path(plugin.__file__).parent
    sources = {path.name: path.read_text() for path in folder.glob("*.py")}

    for name, text in sources.items():
        assert "shared/reference" not in text, name
        assert "open(" not in text, name
