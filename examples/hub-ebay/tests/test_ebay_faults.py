"""429, 5xx, time-outs and broken bodies become retryable errors; refusals do not."""

from __future__ import annotations

import pytest
import requests

from hub import ChannelError


def test_a_rate_limited_call_is_retryable(store, served, connect):
    channel = connect()
    list(channel.fetch_listings())
    store.faults.rate_limited = 1
    with pytest.raises(ChannelError) as refused:
        list(channel.fetch_orders(None, None))
    assert refused.value.retryable and refused.value.status == 429
    assert refused.value.retry_after == pytest.approx(store.faults.retry_after)
    assert "Too many requests" in str(refused.value)
    assert list(channel.fetch_orders(None, None)) != []  # answered again


def test_the_sandbox_answers_429_in_ebays_error_format(store, served):
    store.faults.rate_limited = 1
    answer = requests.get(f"{served.url}/sell/fulfillment/v1/order", timeout=5)
    assert answer.status_code == 429
    assert answer.json()["errors"][0] | {"message": ""} == {
        "errorId": 2001,
        "domain": "ACCESS",
        "category": "REQUEST",
        "message": "",
    }


def test_server_errors_time_outs_and_broken_bodies_are_retryable(store, connect):
    channel = connect(timeout=0.3)
    list(channel.fetch_listings())
    store.faults.timeout_seconds = 1.0
    for fault in ("server_errors", "timeouts", "malformed"):
        setattr(store.faults, fault, 1)
        with pytest.raises(ChannelError) as failed:
            list(channel.fetch_listings())
        assert failed.value.retryable, fault
    assert {item.sku for item in channel.fetch_listings()} == {"MUG", "TEE"}


def test_a_rate_limited_token_request_is_retryable_too(store, connect):
    store.faults.rate_limited = 1  # the first request of a new channel is for its token
    channel = connect()
    with pytest.raises(ChannelError) as refused:
        list(channel.fetch_listings())
    assert refused.value.retryable
    assert len(list(channel.fetch_listings())) == 2


def test_a_stock_push_under_a_server_error_leaves_the_batch_unconfirmed(store, connect):
    from hub import StockUpdate

    channel = connect()
    list(channel.fetch_listings())
    store.faults.server_errors = 1
    with pytest.raises(ChannelError) as failed:
        channel.push_stock([StockUpdate("MUG", "MUG", quantity=1)])
    assert failed.value.retryable and store.stock("MUG") == 50
