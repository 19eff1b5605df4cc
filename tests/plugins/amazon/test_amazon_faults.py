"""Every fault knob of the sandbox against the adapter and, through the hub's limiter and
retry policy, against a whole pull: throttling (QuotaExceeded 429s, from the knob and
from the per-operation token buckets), 503s, time-outs, lost answers, cut bodies."""

from __future__ import annotations

import pytest

from hub import ChannelError, RateLimited, StockUpdate


def test_quota_exceeded_is_a_rate_limit_the_hub_waits_out(world_for):
    world = world_for()
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    order = world.amazon.sell("MUG", 1)
    world.amazon.faults.rate_limited = 2

    result = world.sync.pull_orders("amazon")

    assert result.complete and world.orders() == {order: "open"}
    assert world.amazon.faults.rate_limited == 0
    assert world.sync.caller("amazon").retries == 2


def test_quota_exceeded_names_the_operation_and_when_to_retry(amazon, channel):
    amazon.faults.rate_limited = 1

    with pytest.raises(RateLimited, match="searchOrders answered 429 QuotaExceeded") as error:
        list(channel.fetch_orders(None, None))

    assert error.value.retry_after is not None and error.value.retry_after > 0


def test_the_operation_usage_plan_is_followed_from_its_header(world_for):
    world = world_for(page_size=1)
    world.amazon.store.set_rate("searchOrders", 4.0, burst=1)  # one call, then 4 a second
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    made = [world.amazon.sell("MUG", 1) for _ in range(4)]

    result = world.sync.pull_orders("amazon")

    assert result.complete and sorted(world.orders()) == sorted(made)
    assert world.channel.api.plans.rate("searchOrders") == 4.0  # x-amzn-RateLimit-Limit
    # Pages were paced by the header's rate after the first 429, none was lost.
    assert world.amazon.operations("searchOrders") >= 5


def test_server_errors_are_retried_by_the_hub(world_for):
    world = world_for()
    world.amazon.add_listing("MUG", quantity=10)
    world.receive("MUG", 10)
    order = world.amazon.sell("MUG", 1)
    world.amazon.faults.server_errors = 2

    assert world.sync.pull_orders("amazon").complete
    assert world.orders() == {order: "open"}


def test_a_server_error_is_retryable_with_amazons_code(amazon, channel):
    amazon.faults.server_errors = 1

    with pytest.raises(ChannelError, match="503 ServiceUnavailable") as error:
        list(channel.fetch_orders(None, None))

    assert error.value.retryable


def test_a_slow_answer_times_out_retryably(amazon, channel_for):
    amazon.faults.timeouts = 1
    amazon.faults.timeout_seconds = 1.0
    channel = channel_for(timeout=0.3)

    with pytest.raises(ChannelError, match="no answer within 0.3 s") as error:
        list(channel.fetch_listings())

    assert error.value.retryable


def test_a_lost_answer_leaves_the_change_made_and_is_retryable(amazon, channel_for):
    amazon.add_listing("MUG", quantity=1)
    amazon.faults.lost_answers = 1
    amazon.faults.timeout_seconds = 1.0
    channel = channel_for(timeout=0.3)

    with pytest.raises(ChannelError, match="no answer") as error:
        channel.push_stock([StockUpdate("MUG", "MUG", 9)])

    assert error.value.retryable
    assert amazon.stock("MUG") == 9  # done on Amazon's side; sending it again is harmless
    assert [r.ok for r in channel.push_stock([StockUpdate("MUG", "MUG", 9)])] == [True]


def test_a_cut_body_is_retryable(amazon, channel):
    amazon.add_listing("MUG", quantity=1)
    amazon.sell("MUG", 1)
    amazon.faults.malformed = 1

    with pytest.raises(ChannelError, match="has no 'orders'") as error:
        list(channel.fetch_orders(None, None))

    assert error.value.retryable
    assert len([o for p in channel.fetch_orders(None, None) for o in p.orders]) == 1


def test_fault_knobs_are_shown_by_the_control_route(amazon, server):
    import requests

    amazon.faults.server_errors = 3
    state = requests.get(server.url + "/_sandbox/state", timeout=5).json()

    assert state["faults"]["server_errors"] == 3  # the control route is never faulted


def test_random_failures_by_chance_still_bring_every_order_once(world_for):
    world = world_for(page_size=5)
    world.amazon.add_listing("MUG", quantity=100)
    world.receive("MUG", 100)
    made = [world.amazon.sell("MUG", 1) for _ in range(20)]
    world.amazon.faults.rng.seed(7)
    world.amazon.faults.chance = {"server_errors": 0.3, "rate_limited": 0.2}

    runs = 0
    while runs < 20:  # as the schedule runs the pull again after one gives up
        runs += 1
        try:
            if world.sync.pull_orders("amazon").complete:
                break
        except ChannelError:
            continue

    assert sorted(world.orders()) == sorted(made)
    assert world.levels("MUG") == (100, 20)
    assert world.sync.caller("amazon").retries > 0
