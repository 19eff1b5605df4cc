"""Orders come from getOrders, filtered by lastmodifieddate and paged by limit/offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub import OrderStatus


def pulled(pages):
    return [o.external_id for page in pages for o in page.orders]


def test_orders_are_paged_and_a_pull_resumes_from_its_cursor(store, connect):
    sold = [store.sell("MUG", 1) for _ in range(5)]
    pages = connect(page_size=2).fetch_orders(None, None)
    first = next(pages)
    assert [o.external_id for o in first.orders] == sold[:2]
    assert first.cursor is not None
    calls = store.calls["getOrders"]
    # the hub crashed after committing the first page: a new pull starts at its cursor
    rest = list(connect(page_size=2).fetch_orders(None, first.cursor))
    assert pulled(rest) == sold[2:]
    assert [page.cursor is None for page in rest] == [False, True]
    assert store.calls["getOrders"] - calls == 2  # offsets 2 and 4, nothing read twice


def test_a_pull_takes_only_orders_modified_since(store, connect):
    old, new = store.sell("MUG", 1), store.sell("TEE", 2)
    channel = connect()
    (page,) = channel.fetch_orders(None, None)
    since = next(o.updated_at for o in page.orders if o.external_id == new)
    assert sorted(pulled(channel.fetch_orders(since, None))) == [new]
    store.annotate(old, "gift wrap, please")
    later = [o for p in channel.fetch_orders(since, None) for o in p.orders]
    assert sorted(o.external_id for o in later) == sorted([old, new])
    assert next(o for o in later if o.external_id == old).notes == "gift wrap, please"


def test_a_resumed_pull_keeps_the_filter_it_started_with(store, connect):
    first = store.sell("MUG", 1)
    channel = connect(page_size=1)
    (page,) = channel.fetch_orders(None, None)
    since = page.orders[0].updated_at
    for _ in range(2):
        store.sell("MUG", 1)
    pages = channel.fetch_orders(since + timedelta(milliseconds=1), None)
    head = next(pages)
    assert first not in [o.external_id for o in head.orders]
    # resumed much later, with another updated_since: the cursor's filter still holds
    rest = pulled(connect(page_size=1).fetch_orders(None, head.cursor))
    assert first not in rest and len(rest) == 1


def test_a_window_older_than_ninety_days_is_moved_inside_it(store, connect):
    order_id = store.sell("MUG", 1)
    long_ago = datetime.now(UTC) - timedelta(days=200)
    assert pulled(connect().fetch_orders(long_ago, None)) == [order_id]  # no error 30830


def test_orders_in_hub_terms(store, connect):
    order_id = store.sell("TEE", 3)
    channel = connect()
    (order,) = [o for p in channel.fetch_orders(None, None) for o in p.orders]
    assert (order.channel, order.external_id, order.currency) == ("ebay", order_id, "USD")
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("TEE", 3, order.total / 3)
    ]
    assert str(order.total) == "60.00"
    assert order.updated_at.tzinfo is not None and order.status is OrderStatus.OPEN
    store.cancel(order_id)
    (cancelled,) = [o for p in channel.fetch_orders(None, None) for o in p.orders]
    assert cancelled.status is OrderStatus.CANCELLED
    assert store.stock("TEE") == 9  # back on sale
