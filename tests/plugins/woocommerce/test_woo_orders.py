"""Pulling orders: pages until X-WP-TotalPages, modified_after, cursors, status mapping,
exact money and UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from hub import ChannelError, InvalidInput, OrderStatus, PaymentStatus, utc
from hub_plugins.woocommerce import WooCommerceChannel, WooCommerceConfig, WooSandbox


def _ids(pages) -> list[str]:  # type: ignore[no-untyped-def]
    return [order.external_id for page in pages for order in page.orders]


def _place(sandbox: WooSandbox, count: int) -> list[str]:
    sandbox.add_product("MUG", price="12.50", stock=1000)
    return [str(sandbox.create_order([("MUG", 1)])["id"]) for _ in range(count)]


def test_orders_are_pulled_page_by_page_until_total_pages(sandbox: WooSandbox, channel_for) -> None:
    placed = _place(sandbox, 25)
    channel = channel_for(page_size=10)

    pages = list(channel.fetch_orders(None, None))

    assert [len(page.orders) for page in pages] == [10, 10, 5]
    assert _ids(pages) == placed
    assert [page.cursor is None for page in pages] == [False, False, True]
    queries = [c.query for c in sandbox.calls if c.path == "orders"]
    assert [q["page"] for q in queries] == ["1", "2", "3"]
    assert {(q["orderby"], q["order"], q["per_page"]) for q in queries} == {("id", "asc", "10")}


def test_interrupted_pull_resumes_from_the_last_cursor(sandbox: WooSandbox, channel_for) -> None:
    placed = _place(sandbox, 25)
    channel = channel_for(page_size=10)
    pull = channel.fetch_orders(None, None)
    first = next(pull)
    sandbox.faults.server_errors = 1

    with pytest.raises(ChannelError) as failure:
        next(pull)

    assert failure.value.retryable is True
    resumed = list(channel.fetch_orders(None, first.cursor))  # the core kept first.cursor
    assert _ids([first, *resumed]) == placed
    pages = [c.query["page"] for c in sandbox.calls if c.path == "orders" and c.status == 200]
    assert pages == ["1", "2", "3"]


def test_incremental_pull_asks_for_orders_modified_since_in_gmt(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    old, edited = _place(sandbox, 2)
    sandbox.advance(3600)
    new = str(sandbox.create_order([("MUG", 2)])["id"])
    sandbox.update_order(int(edited), customer_note="Leave at the door")
    since = utc(sandbox.order(int(new))["date_modified_gmt"])

    pulled = _ids(channel.fetch_orders(since, None))

    assert pulled == [edited, new]
    [query] = [c.query for c in sandbox.calls if c.path == "orders"]
    assert query["dates_are_gmt"] == "true"
    assert since is not None
    one_second_earlier = since.replace(tzinfo=None) - timedelta(seconds=1)  # inclusive bound
    assert query["modified_after"] == one_second_earlier.isoformat()


def test_resumed_incremental_pull_keeps_its_modified_after(
    sandbox: WooSandbox, channel_for
) -> None:
    _place(sandbox, 3)
    sandbox.advance(3600)
    later = [str(sandbox.create_order([("MUG", 1)])["id"]) for _ in range(3)]
    since = utc(sandbox.order(int(later[0]))["date_modified_gmt"])
    channel = channel_for(page_size=2)
    first = next(channel.fetch_orders(since, None))

    rest = list(channel.fetch_orders(None, first.cursor))

    assert _ids([first, *rest]) == later


def test_a_cursor_from_elsewhere_is_refused(channel: WooCommerceChannel) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        next(channel.fetch_orders(None, "page=2"))


@pytest.mark.parametrize(
    ("woo_status", "status", "payment"),
    [
        ("pending", OrderStatus.PENDING, PaymentStatus.PENDING),
        ("processing", OrderStatus.OPEN, PaymentStatus.PAID),
        ("on-hold", OrderStatus.ON_HOLD, PaymentStatus.PENDING),
        ("completed", OrderStatus.FULFILLED, PaymentStatus.PAID),
        ("cancelled", OrderStatus.CANCELLED, PaymentStatus.VOIDED),
        ("failed", OrderStatus.PENDING, PaymentStatus.FAILED),
    ],
)
def test_woo_statuses_map_to_hub_statuses(
    sandbox: WooSandbox,
    channel: WooCommerceChannel,
    woo_status: str,
    status: OrderStatus,
    payment: PaymentStatus,
) -> None:
    sandbox.add_product("MUG", stock=5)
    sandbox.create_order([("MUG", 1)], status=woo_status)

    [page] = channel.fetch_orders(None, None)

    assert (page.orders[0].status, page.orders[0].payment_status) == (status, payment)


def test_refunds_map_to_refunded_and_partially_refunded(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.add_product("MUG", price="10.00", stock=5)
    whole = sandbox.create_order([("MUG", 2)])["id"]
    part = sandbox.create_order([("MUG", 2)])["id"]
    paid_then_cancelled = sandbox.create_order([("MUG", 1)])["id"]
    sandbox.refund_order(whole)
    sandbox.refund_order(part, "5.00", reason="scratched")
    sandbox.cancel_order(paid_then_cancelled)

    [page] = channel.fetch_orders(None, None)

    found = {o.external_id: (o.status, o.payment_status) for o in page.orders}
    assert found[str(whole)] == (OrderStatus.REFUNDED, PaymentStatus.REFUNDED)
    assert found[str(part)] == (OrderStatus.OPEN, PaymentStatus.PARTIALLY_REFUNDED)
    assert found[str(paid_then_cancelled)] == (OrderStatus.CANCELLED, PaymentStatus.PAID)


def test_money_is_exact_and_times_are_the_gmt_ones() -> None:
    sandbox = WooSandbox(currency="EUR", utc_offset_hours=5.5)
    sandbox.add_product("PEN", price="19.99", stock=10)
    placed = sandbox.create_order([("PEN", 3)], shipping_total="4.95")
    with sandbox.serve() as server:
        channel = WooCommerceChannel("woo", WooCommerceConfig(**sandbox.config_for(server.url)))
        [page] = channel.fetch_orders(None, None)

    [order] = page.orders
    assert order.currency == "EUR"
    assert order.total == Decimal("64.92")
    assert order.lines[0].unit_price == Decimal("19.99")
    assert order.lines[0].quantity == 3
    assert order.lines[0].sku == "PEN"
    gmt = datetime.fromisoformat(placed["date_created_gmt"]).replace(tzinfo=UTC)
    assert placed["date_created"] != placed["date_created_gmt"]  # the site is not on UTC
    assert order.placed_at == gmt
    assert order.updated_at == datetime.fromisoformat(placed["date_modified_gmt"]).replace(
        tzinfo=UTC
    )
    assert order.shipping_address.is_complete()
    assert order.customer.email == "ada@example.com"
    assert order.number == str(placed["id"])
