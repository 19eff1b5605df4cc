"""The adapter's own pacing per operation: the published usage plans (searchOrders 0.0056
requests a second, burst 20), moved by ``x-amzn-RateLimit-Limit``; waits longer than
``max_pacing_wait`` go to the hub's limiter as RateLimited instead of blocking a worker."""

from __future__ import annotations

import pytest

from hub import RateLimited
from hub_plugins.amazon.usage import UsagePlans


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_search_orders_runs_at_its_published_plan_until_told_otherwise():
    clock = Clock()
    plans = UsagePlans(clock)

    waits = [plans.reserve("searchOrders") for _ in range(21)]

    assert waits[:20] == [0.0] * 20  # the burst
    assert waits[20] == pytest.approx(1 / 0.0056)  # then one every ~179 s
    plans.observe("searchOrders", "2")  # the header says this account may do 2 a second
    assert plans.reserve("searchOrders") == pytest.approx(1.0)  # two tokens owed at 2/s
    clock.now += 1000
    assert plans.reserve("searchOrders") == 0.0  # refilled, up to the burst
    assert plans.rate("searchOrders") == 2.0
    assert plans.rate("getOrder") == 0.5  # other operations keep their own plans
    plans.observe("getOrder", "not a number")
    assert plans.rate("getOrder") == 0.5


def test_a_throttled_operation_waits_for_its_next_token():
    plans = UsagePlans(Clock())
    plans.observe("patchListingsItem", "5")

    assert plans.throttled("patchListingsItem") == pytest.approx(0.2)


def test_a_long_wait_is_handed_to_the_hubs_limiter(amazon, channel_for):
    channel = channel_for(max_pacing_wait=60)
    for _ in range(20):  # the published burst, spent
        channel.api.plans.reserve("searchOrders")

    with pytest.raises(
        RateLimited, match="searchOrders: its usage plan allows the next call in"
    ) as error:
        list(channel.fetch_orders(None, None))

    assert error.value.retry_after is not None and error.value.retry_after > 60
    assert amazon.operations("searchOrders") == 0  # nothing was sent to be throttled


def test_a_short_wait_is_slept_in_the_adapter(amazon, channel_for):
    amazon.add_listing("MUG", quantity=5)
    amazon.sell("MUG", 1)
    channel = channel_for()
    plans = channel.api.plans
    plans.observe("searchOrders", "20")  # one call every 50 ms
    for _ in range(20):
        plans.reserve("searchOrders")

    orders = [o for p in channel.fetch_orders(None, None) for o in p.orders]

    assert len(orders) == 1 and amazon.operations("searchOrders") == 1
