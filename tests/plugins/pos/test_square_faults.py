"""Every fault knob of the sandbox, through the real SDK: the SDK never retries on its own,
each failure reaches the hub as the right ChannelError, and the hub's own retry policy
(limiter, backoff, dead letters) recovers or gives up."""

from __future__ import annotations

import pytest
from conftest import SHOP_A, SHOP_B

from hub import ChannelError, RateLimited
from hub.core import ledger
from hub.core.orderbook import list_orders
from hub.core.status import channel_status


def _api_calls(sandbox) -> int:  # type: ignore[no-untyped-def]
    return len(sandbox.calls)


def test_a_429_is_raised_at_once_with_square_s_body_and_retry_after(sandbox, channel):
    sandbox.faults.rate_limited = 1
    sandbox.faults.retry_after = 7
    with pytest.raises(RateLimited) as caught:
        list(channel.fetch_orders(None, None))
    assert caught.value.retry_after == 7 and caught.value.retryable
    assert "RATE_LIMITED" in str(caught.value)
    assert _api_calls(sandbox) == 0  # one request only: the SDK did not retry it


def test_check_connection_reports_a_429_as_a_problem(sandbox, channel):
    sandbox.faults.rate_limited = 1
    [problem] = channel.check_connection()
    assert "429" in problem and "RATE_LIMITED" in problem


def test_a_503_is_retryable(sandbox, channel):
    sandbox.faults.server_errors = 1
    with pytest.raises(ChannelError) as caught:
        list(channel.fetch_listings())
    assert caught.value.retryable and caught.value.status == 503
    assert "SERVICE_UNAVAILABLE" in str(caught.value)
    assert sandbox.faults.server_errors == 0  # fired once: the SDK made no second request


def test_a_time_out_is_retryable(sandbox, channel_for):
    sandbox.faults.timeouts = 1
    sandbox.faults.timeout_seconds = 1.5
    with pytest.raises(ChannelError, match="no answer within 0.5s") as caught:
        list(channel_for(timeout=0.5).fetch_orders(None, None))
    assert caught.value.retryable


def test_a_truncated_body_is_retryable(sandbox, channel):
    sandbox.add_variation("MUG", price="1.00", stock={SHOP_A: 1})
    sandbox.faults.malformed = 1
    with pytest.raises(ChannelError, match="not valid JSON") as caught:
        list(channel.fetch_listings())
    assert caught.value.retryable


def test_a_bad_token_is_not_retryable_and_says_what_to_fix(sandbox, channel_for):
    channel = channel_for(access_token="EAAA-wrong")
    [problem] = channel.check_connection()
    assert "401" in problem and "UNAUTHORIZED" in problem and "access_token" in problem
    assert "EAAA-wrong" not in problem  # the token is never shown
    with pytest.raises(ChannelError) as caught:
        list(channel.fetch_orders(None, None))
    assert not caught.value.retryable


def test_the_hub_recovers_from_429_503_and_time_outs_by_its_own_retries(world):
    world.import_listings()
    world.square.sell("MUG", 1, SHOP_B)
    world.square.faults.rate_limited = 1
    world.square.faults.server_errors = 1
    world.square.faults.retry_after = 0.01
    result = world.sync.pull_orders("square")
    assert result.orders == 1
    assert world.level("MUG")["store"] == (0, 0)
    world.square.faults.timeouts = 1  # the push's first try gets no answer in time
    world.square.faults.timeout_seconds = 2.5
    world.sync.push_stock("square")
    assert world.square.stock("MUG", SHOP_B) == 0


def test_a_lost_answer_is_pushed_again_and_lands_once(world):
    world.import_listings()
    world.hub.write(lambda c: ledger.receive(c, "MUG", "main", 2))
    world.square.faults.lost_answers = 1  # carried out, answered after the client gave up
    world.square.faults.timeout_seconds = 2.5
    world.sync.push_stock("square")
    assert world.square.stock("MUG", SHOP_A) == 5
    world.sync.push_stock("square")
    assert world.square.stock("MUG", SHOP_A) == 5


def test_a_channel_that_keeps_failing_is_shown_failing_and_recovers(world):
    world.square.faults.server_errors = 50
    with pytest.raises(ChannelError):
        world.sync.pull_orders("square")
    [status] = [
        s for s in world.hub.read(lambda c: channel_status(c, ["square"])) if s.channel == "square"
    ]
    assert status.failing and "503" in status.errors["pull"]
    world.square.faults.server_errors = 0
    world.square.sell("MUG", 1, SHOP_A)
    world.sync.pull_orders("square")
    assert len(world.hub.read(lambda c: list_orders(c, channel="square"))) == 1


def test_webhook_faults_duplicate_reorder_replay_land_once(world):
    world.import_listings()
    square = world.square
    square.faults.duplicate_webhooks = 10
    square.faults.reorder_webhooks = 1
    sales = [square.sell("MUG", 1, SHOP_A)["id"] for _ in range(2)]
    square.store.touch(square.store.orders[sales[0]])
    square.faults.replay_webhooks = 2
    posted = square.deliver_webhooks()
    assert {d.status for d in posted} == {200}
    world.sync.process_inbox()
    orders = world.hub.read(lambda c: list_orders(c, channel="square"))
    assert sorted(o.external_id for o in orders) == sorted(sales)
    assert world.level("MUG")["main"] == (1, 0)


def test_random_faults_by_chance(world):
    world.import_listings()
    world.square.faults.chance = {"server_errors": 0.3, "rate_limited": 0.2}
    world.square.faults.retry_after = 0.01
    world.square.faults.rng.seed(7)
    for _ in range(3):
        world.square.sell("MUG", 1, SHOP_A)
    for _ in range(5):
        try:
            world.sync.pull_orders("square")
            break
        except ChannelError:
            continue
    world.square.faults.chance = {}
    world.sync.pull_orders("square")
    assert world.level("MUG")["main"] == (0, 0)
