"""The Acme plugin keeps the hub's contract, checked over real HTTP against its sandbox."""

from __future__ import annotations

import json

import pytest
from hub_acme import AcmeChannel, AcmeConfig, AcmeSandbox

from hub import ChannelError, StockUpdate
from hub.sandbox import DemoItem
from hub.signing import hmac_base64
from hub.testing import check_channel


@pytest.fixture
def store():
    return AcmeSandbox()


@pytest.fixture
def served(store):
    server = store.serve().start()
    yield server
    server.stop()


def connect(store, server, **extra):
    return AcmeChannel("acme", AcmeConfig(**store.config_for(server.url, **extra)))


def test_acme_keeps_the_hub_contract():
    passed = check_channel(AcmeChannel)
    assert len(passed) == 5


def test_orders_are_paged_and_a_pull_resumes_from_its_cursor(store, served):
    store.seed([DemoItem("MUG", "Mug", "12.50", 50)])
    sold = [store.sell("MUG", 1) for _ in range(5)]
    channel = connect(store, served, page_size=2)
    pages = channel.fetch_orders(None, None)
    first = next(pages)
    assert [o.external_id for o in first.orders] == sold[:2]
    assert first.cursor is not None
    # the hub crashed after committing the first page: a new pull starts at its cursor
    rest = list(connect(store, served, page_size=2).fetch_orders(None, first.cursor))
    assert [o.external_id for page in rest for o in page.orders] == sold[2:]
    assert [page.cursor is None for page in rest] == [False, True]


def test_a_pull_takes_only_orders_updated_since(store, served):
    store.seed([DemoItem("MUG", "Mug", "12.50", 50)])
    old, new = store.sell("MUG", 1), store.sell("MUG", 2)
    channel = connect(store, served)
    (page,) = channel.fetch_orders(None, None)
    since = next(o.updated_at for o in page.orders if o.external_id == new)
    store.annotate(old, "gift wrap")
    (later,) = channel.fetch_orders(since, None)
    assert sorted(o.external_id for o in later.orders) == sorted([old, new])
    assert next(o for o in later.orders if o.external_id == old).notes == "gift wrap"


def test_a_forged_webhook_is_refused(store, served):
    channel = connect(store, served)
    item = {"sku": "MUG", "quantity": 0, "updated_at": "2026-11-02T10:00:00+00:00"}
    body = json.dumps({"topic": "stock.updated", "item": item}).encode()
    genuine = {
        "X-Acme-Topic": "stock.updated",
        "X-Acme-Signature": hmac_base64(store.webhook_secret, body),
    }
    forged = {**genuine, "X-Acme-Signature": hmac_base64("guessed secret", body)}
    assert channel.verify_webhook(genuine, body)
    assert not channel.verify_webhook(forged, body)
    assert not channel.verify_webhook({"X-Acme-Topic": "stock.updated"}, body)
    assert channel.parse_webhook(genuine, body).quantities == {"MUG": 0}
    assert not channel.verify_webhook(genuine, body.replace(b"0", b"9"))  # a tampered body


def test_stock_is_pushed_in_batches_the_api_accepts(store, served):
    store.seed([DemoItem(f"SKU-{n}", f"Item {n}", "1.00", 0) for n in range(120)])
    channel = connect(store, served)
    listings = list(channel.fetch_listings())
    updates = [StockUpdate(item.sku, item.external_id, quantity=7) for item in listings]
    results = channel.push_stock(updates)
    assert len(results) == 120 and all(r.ok and r.confirmed == 7 for r in results)
    assert store.stock_calls() == 3  # 50 + 50 + 20: Acme takes at most 50 per call
    assert {store.stock(f"SKU-{n}") for n in range(120)} == {7}


def test_a_rate_limited_call_is_retryable_with_the_wait_acme_asked(store, served):
    channel = connect(store, served)
    store.faults.rate_limited = 1
    with pytest.raises(ChannelError) as refused:
        list(channel.fetch_listings())
    assert refused.value.retryable and refused.value.retry_after == pytest.approx(0.2)
    store.faults.server_errors = 1
    with pytest.raises(ChannelError) as failed:
        list(channel.fetch_listings())
    assert failed.value.retryable and failed.value.status == 503
    assert list(channel.fetch_listings()) == []  # the store is empty and answers again
