"""Faults and rate limits: THROTTLED answers retried after the restore time, 429 with
Retry-After, 5xx, time-outs and malformed bodies raised as retryable errors, the cost
bucket followed, documents over the cost cap refused."""

from __future__ import annotations

import time

import pytest

from hub import ChannelError, RateLimited
from hub_plugins.shopify import ShopifyChannel, ShopifyConfig, ShopifySandbox


@pytest.fixture
def stocked(sandbox: ShopifySandbox) -> ShopifySandbox:
    sandbox.add_product("Mug", [{"sku": "MUG", "price": "12.50", "stock": 5}])
    return sandbox


def test_a_throttled_answer_is_retried_after_the_restore_time(stocked, channel_for):
    slept: list[float] = []
    channel = channel_for()
    channel.client._sleep = lambda seconds: slept.append(seconds) or time.sleep(seconds)
    stocked.faults.throttled = 2

    listings = list(channel.fetch_listings())

    assert [item.sku for item in listings] == ["MUG"]
    throttled = [c for c in stocked.calls if c.throttled]
    assert len(throttled) >= 2 and stocked.faults.throttled == 0  # plus any real ones
    assert len(slept) >= 2 and all(s > 0 for s in slept)


def test_a_bucket_that_stays_empty_ends_as_rate_limited(stocked, channel_for):
    channel = channel_for()
    channel.client._sleep = lambda seconds: None
    stocked.faults.throttled = 99

    with pytest.raises(RateLimited, match="throttled 6 times") as raised:
        list(channel.fetch_listings())

    assert raised.value.retryable and raised.value.retry_after is not None


def test_the_cost_bucket_is_read_from_every_answer(stocked, channel):
    assert channel.rate_status is None

    list(channel.fetch_listings())

    status = channel.rate_status
    assert status is not None
    assert status["capacity"] == 2000.0 and status["restore_rate"] == 20_000.0
    assert 0 < status["available"] <= 2000.0


def test_the_client_waits_for_the_points_a_document_cost_before():
    small = ShopifySandbox(bucket_size=600.0, restore_rate=1000.0)
    for n in range(100):  # a full page of variants costs its requested 500-odd points
        small.add_product(f"Mug {n}", [{"sku": f"MUG-{n}", "price": "12.50", "stock": 5}])
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with small.serve() as server:
        channel = ShopifyChannel("shop", ShopifyConfig(**small.config_for(server.url)))
        channel.client._sleep = sleep
        for _ in range(3):  # about 500 points each from a 600-point bucket
            list(channel.fetch_listings())

    assert not [c for c in small.calls if c.throttled]
    assert slept and all(0 < s < 1 for s in slept)


def test_a_429_carries_retry_after(stocked, channel):
    stocked.faults.rate_limited = 1
    stocked.faults.retry_after = 2.5

    with pytest.raises(RateLimited) as raised:
        list(channel.fetch_listings())

    assert raised.value.retry_after == 2.5 and raised.value.status == 429


@pytest.mark.parametrize(
    ("knob", "message"),
    [
        ("server_errors", "HTTP 503"),
        ("timeouts", "timed out"),
        ("malformed", "not valid JSON"),
    ],
)
def test_failures_are_retryable_errors_and_the_next_call_works(stocked, channel_for, knob, message):
    channel = channel_for(timeout=0.2)
    setattr(stocked.faults, knob, 1)

    with pytest.raises(ChannelError, match=message) as raised:
        list(channel.fetch_listings())

    assert raised.value.retryable
    assert [item.sku for item in channel.fetch_listings()] == ["MUG"]


def test_a_document_over_the_cost_cap_is_refused(stocked):
    too_big = (
        "query Q { orders(first: 100) { nodes { id lineItems(first: 50) { nodes { id sku } } } } }"
    )

    answer, status = stocked.run(too_big, {})

    assert status == 200
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert answer["errors"][0]["extensions"]["cost"] > 1000


def test_an_invalid_document_gets_graphql_validation_errors(stocked):
    answer, status = stocked.run("query Q { shop { nope } }", {})

    assert status == 200
    assert "Cannot query field 'nope' on type 'Shop'" in answer["errors"][0]["message"]
