"""Orders: SearchOrders by updated_at, oldest change first, paged and resumed from a cursor;
sales in hub terms at their shop's location; returns restock where they were sold."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from builders import make_hub
from conftest import LOCATION_MAP, SHOP_A, SHOP_B, new_sandbox

from hub import ChannelError, OrderStatus, PaymentStatus, utc
from hub.core.orderbook import list_orders
from hub.core.sync import Sync


def _ids(pages) -> list[str]:  # type: ignore[no-untyped-def]
    return [o.external_id for page in pages for o in page.orders]


def test_orders_are_paged_and_a_pull_resumes_from_its_cursor(sandbox, channel_for):
    sandbox.add_variation("MUG", price="12.50", stock={SHOP_A: 100, SHOP_B: 100})
    sales = [sandbox.sell("MUG", 1, SHOP_A if n % 2 else SHOP_B)["id"] for n in range(25)]
    channel = channel_for(page_size=10)
    pages = list(channel.fetch_orders(None, None))
    assert [len(p.orders) for p in pages] == [10, 10, 5]
    assert _ids(pages) == sales  # oldest change first
    assert pages[-1].cursor is None and all(p.cursor for p in pages[:2])
    # a crash after the first page: the next pull starts from its committed cursor
    resumed = list(channel_for(page_size=10).fetch_orders(None, pages[0].cursor))
    assert _ids(resumed) == sales[10:]
    # only what changed since a time
    since = sandbox.store.orders[sales[20]]["updated_at"]
    assert _ids(channel.fetch_orders(utc(since), None)) == sales[20:]


def test_an_order_changed_while_paging_is_not_lost(sandbox, channel_for):
    sandbox.add_variation("MUG", price="12.50", stock={SHOP_A: 100})
    sales = [sandbox.sell("MUG", 1, SHOP_A)["id"] for _ in range(6)]
    pulls = channel_for(page_size=3).fetch_orders(None, None)
    first = next(pulls)
    sandbox.store.touch(sandbox.store.orders[sales[0]])  # changed after it was read
    sandbox.store.touch(sandbox.store.orders[sales[4]])  # changed before it was read
    rest = list(pulls)
    seen = _ids([first, *rest])
    assert set(seen) == set(sales)  # nothing skipped; sales[0] read again, as a newer version
    assert seen[-2:] == [sales[0], sales[4]]


def test_square_binds_a_cursor_to_its_query(sandbox, server):
    sandbox.add_variation("MUG", price="1.00", stock={SHOP_A: 9})
    for _ in range(3):
        sandbox.sell("MUG", 1, SHOP_A)
    auth = {"Authorization": f"Bearer {sandbox.access_token}"}
    query = {
        "filter": {"date_time_filter": {"updated_at": {"start_at": "2000-01-01T00:00:00Z"}}},
        "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
    }
    url = f"{server.url}/v2/orders/search"
    first = requests.post(
        url, json={"location_ids": [SHOP_A], "query": query, "limit": 2}, headers=auth, timeout=9
    ).json()
    other = requests.post(
        url,
        json={"location_ids": [SHOP_B], "query": query, "limit": 2, "cursor": first["cursor"]},
        headers=auth,
        timeout=9,
    )
    assert other.status_code == 400
    assert other.json()["errors"][0]["code"] == "INVALID_CURSOR"
    unsorted = requests.post(
        url,
        json={"location_ids": [SHOP_A], "query": {"sort": {"sort_field": "UPDATED_AT"}}},
        headers=auth,
        timeout=9,
    )
    assert unsorted.status_code == 400  # sorting by UPDATED_AT needs its date_time_filter


def test_a_sale_in_hub_terms(sandbox, channel):
    sandbox.add_variation("MUG", name="Mug", price="12.50", stock={SHOP_B: 5})
    sale = sandbox.sell("MUG", 2, SHOP_B)
    [order] = _orders(channel)
    assert order.external_id == sale["id"] and order.channel == "square"
    assert order.location == "store"  # LSHOPB is mapped to the hub's store
    assert order.status is OrderStatus.FULFILLED and order.payment_status is PaymentStatus.PAID
    assert order.total == Decimal("25.00") and order.currency == "USD"
    [line] = order.lines
    assert (line.sku, line.quantity, line.unit_price, line.fulfilled_quantity) == (
        "MUG",
        2,
        Decimal("12.50"),
        2,
    )
    assert order.updated_at is not None and order.updated_at.utcoffset() == timedelta(0)


def _orders(channel):  # type: ignore[no-untyped-def]
    return [o for page in channel.fetch_orders(None, None) for o in page.orders]


def test_open_and_cancelled_orders(sandbox, server, channel):
    vid = sandbox.add_variation("MUG", price="3.00", stock={SHOP_A: 5})
    answer = requests.post(
        f"{server.url}/v2/orders",
        json={
            "idempotency_key": "pickup-1",
            "order": {
                "location_id": SHOP_A,
                "state": "OPEN",
                "line_items": [{"catalog_object_id": vid, "quantity": "1"}],
            },
        },
        headers={"Authorization": f"Bearer {sandbox.access_token}"},
        timeout=10,
    )
    pickup = answer.json()["order"]
    [order] = _orders(channel)
    assert (order.status, order.payment_status) == (OrderStatus.OPEN, PaymentStatus.PENDING)
    assert order.lines[0].fulfilled_quantity == 0
    sandbox.store.cancel(pickup["id"])
    [order] = _orders(channel)
    assert order.status is OrderStatus.CANCELLED


def test_a_return_restocks_at_the_shop_that_sold(world):
    world.import_listings()
    sale = world.square.sell("MUG", 2, "LSHOPA")
    world.sync.pull_orders("square")
    assert world.level("MUG")["main"] == (1, 0)
    world.square.store.refund(sale["id"], [("MUG", 1)])
    world.sync.pull_orders("square")
    assert world.level("MUG") == {"main": (2, 0), "store": (1, 0)}  # back where it was sold
    world.square.store.refund(sale["id"], [("MUG", 1)])  # the second unit, later
    world.square.deliver_webhooks()
    world.sync.process_inbox()
    world.sync.pull_orders("square")
    assert world.level("MUG") == {"main": (3, 0), "store": (1, 0)}
    [order] = world.hub.read(lambda c: list_orders(c, channel="square"))
    assert order.external_id == sale["id"]  # the return orders are not sales of their own


def test_an_unreadable_cursor_is_a_clear_error(channel):
    with pytest.raises(ChannelError, match="unreadable pull cursor"):
        list(channel.fetch_orders(None, "not json"))


def test_a_line_sold_by_measure_takes_no_stock_and_a_custom_amount_neither() -> None:
    from hub_plugins.pos import mapping

    sale = {
        "id": "O1",
        "state": "COMPLETED",
        "location_id": SHOP_A,
        "updated_at": "2026-11-30T10:00:00.000Z",
        "total_money": {"amount": 1500, "currency": "JPY"},
        "line_items": [
            {"uid": "a", "quantity": "1.5", "catalog_object_id": "VCHEESE", "item_type": "ITEM"},
            {"uid": "b", "quantity": "1", "item_type": "CUSTOM_AMOUNT", "name": "Gift wrap"},
            {"uid": "c", "quantity": "2.00000", "catalog_object_id": "VMUG"},
        ],
    }
    order = mapping.order("square", sale, {"VCHEESE": "CHEESE", "VMUG": "MUG"}, "main")
    assert [(ln.sku, ln.quantity, ln.stocked) for ln in order.lines] == [
        ("CHEESE", 2, False),
        ("", 1, False),
        ("MUG", 2, True),
    ]
    assert order.total == Decimal("1500")  # yen have no minor unit


def test_the_hub_resumes_a_failed_pull_from_its_last_committed_page(db_url):
    square = new_sandbox()
    square.add_variation("MUG", price="1.00", stock={SHOP_A: 50})
    sales = [square.sell("MUG", 1, SHOP_A)["id"] for _ in range(7)]
    searches: list[dict] = []
    failed: list[bool] = []

    def watch(method: str, path: str, body: bytes) -> None:
        if path.endswith("/orders/search"):
            searches.append(json.loads(body))
            if len(searches) == 2 and not failed:  # the second page fails, and keeps failing
                failed.append(True)
                square.faults.server_errors = 10

    square.faults.observers.append(watch)
    with square.serve() as api:
        config = square.config_for(api.url, location_map=LOCATION_MAP, timeout=2.0, page_size=3)
        with make_hub(db_url, channels={"square": config}) as hub:
            sync = Sync(hub, backoff=0.01, attempts=2)
            with pytest.raises(ChannelError):
                sync.pull_orders("square")
            assert len(hub.read(lambda c: list_orders(c, channel="square"))) == 3
            square.faults.server_errors = 0
            searches.clear()
            sync.pull_orders("square")
            assert searches[0].get("cursor")  # resumed after the committed page
            stored = hub.read(lambda c: list_orders(c, channel="square"))
            assert sorted(o.external_id for o in stored) == sorted(sales)
