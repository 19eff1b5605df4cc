"""Orders: incremental pull by updatedAt with cursor pagination, resumable; statuses, money,
risk, cancellations and refunds mapped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from hub import ChannelError, OrderStatus, PaymentStatus
from hub_plugins.shopify import ShopifySandbox


@pytest.fixture
def shop(sandbox: ShopifySandbox) -> ShopifySandbox:
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.35", "stock": 500}])
    sandbox.add_product("Tee", [{"sku": "TEE", "price": "20.10", "stock": 500}])
    return sandbox


def test_orders_are_pulled_across_pages_in_order_of_change(shop: ShopifySandbox, channel_for):
    placed = [shop.create_order([("MUG", 1), ("TEE", n + 1)]).id for n in range(7)]
    channel = channel_for(order_page_size=3)

    pages = list(channel.fetch_orders(None, None))

    assert [len(p.orders) for p in pages] == [3, 3, 1]
    assert [p.cursor is None for p in pages] == [False, False, True]
    ids = [o.external_id for p in pages for o in p.orders]
    assert ids == [str(i) for i in placed]
    first = pages[0].orders[0]
    assert first.number == "#1001" and first.currency == "USD"
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in first.lines] == [
        ("MUG", 1, Decimal("12.35")),
        ("TEE", 1, Decimal("20.10")),
    ]
    assert first.total == Decimal("32.45")
    assert first.placed_at is not None and first.placed_at.tzinfo == UTC
    assert first.customer.email == "grace@example.com"
    assert first.shipping_address.postcode == "22202" and first.shipping_address.country == "US"
    assert (first.status, first.payment_status, first.risk_level) == (
        OrderStatus.OPEN,
        PaymentStatus.PAID,
        "low",
    )


def test_a_pull_resumes_from_the_last_cursor_after_an_interruption(shop, channel_for):
    for _ in range(5):
        shop.create_order([("MUG", 1)])
    channel = channel_for(order_page_size=2)
    pulled = []
    pages = channel.fetch_orders(None, None)
    first = next(pages)
    pulled.extend(first.orders)
    shop.faults.server_errors = 1  # the next page fails, as a crash would stop the pull
    with pytest.raises(ChannelError, match="HTTP 503") as failure:
        next(pages)
    assert failure.value.retryable

    for page in channel_for(order_page_size=2).fetch_orders(None, first.cursor):
        pulled.extend(page.orders)

    assert [o.external_id for o in pulled] == [str(o) for o in sorted(shop.store.orders)]


def test_only_orders_changed_since_the_given_moment_come_back(shop, channel):
    old = shop.create_order([("MUG", 1)])
    shop.advance(3600)
    since = shop.store.now()
    fresh = shop.create_order([("TEE", 2)])
    shop.advance(60)
    shop.update_order(old.id, note="gift wrap")  # an old order changed: it comes back too

    orders = [o for page in channel.fetch_orders(since, None) for o in page.orders]

    assert [o.external_id for o in orders] == [str(fresh.id), str(old.id)]
    assert orders[1].notes == "gift wrap"
    query = [c for c in shop.calls if c.operation == "Orders"][-1].variables["query"]
    assert query == f"updated_at:>='{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def test_a_time_with_an_offset_is_sent_in_utc(shop, channel):
    local = datetime(2026, 11, 25, 4, 0, tzinfo=timezone(timedelta(hours=-5)))

    list(channel.fetch_orders(local, None))

    query = [c for c in shop.calls if c.operation == "Orders"][-1].variables["query"]
    assert query == "updated_at:>='2026-11-25T09:00:00Z'"


def test_an_order_with_more_lines_than_a_page_is_completed(shop: ShopifySandbox, channel_for):
    for n in range(30):
        shop.add_product(f"Card {n}", [{"sku": f"CARD-{n:02d}", "price": "1.00", "stock": 9}])
    big = shop.create_order([(f"CARD-{n:02d}", 1) for n in range(30)])

    orders = [o for p in channel_for(lines_per_order=4).fetch_orders(None, None) for o in p.orders]

    assert len(orders) == 1 and len(orders[0].lines) == 30
    assert orders[0].external_id == str(big.id)
    assert [ln.sku for ln in orders[0].lines] == [f"CARD-{n:02d}" for n in range(30)]


def test_cancellations_refunds_payment_and_risk_are_mapped(shop: ShopifySandbox, channel):
    cancelled = shop.create_order([("MUG", 1)])
    shop.cancel_order(cancelled.id)
    refunded = shop.create_order([("MUG", 2), ("TEE", 1)])
    shop.refund(refunded.id, [("MUG", 1)])
    unpaid = shop.create_order([("TEE", 1)], financial_status="PENDING")
    risky = shop.create_order([("TEE", 1)], risk="HIGH")
    gone = shop.create_order([("MUG", 1)])
    shop.refund(gone.id, [("MUG", 1)])

    orders = {o.external_id: o for p in channel.fetch_orders(None, None) for o in p.orders}

    assert orders[str(cancelled.id)].status is OrderStatus.CANCELLED
    partial = orders[str(refunded.id)]
    assert partial.status is OrderStatus.OPEN
    assert partial.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert {ln.sku: ln.quantity for ln in partial.lines} == {"MUG": 1, "TEE": 1}
    assert orders[str(unpaid.id)].payment_status is PaymentStatus.PENDING
    assert orders[str(risky.id)].risk_level == "high"
    assert orders[str(gone.id)].status is OrderStatus.REFUNDED
