"""Each sandbox fault knob, and the ChannelError the adapter raises for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from hub import ChannelError, RateLimited
from hub_plugins.woocommerce import WooCommerceChannel, WooSandbox
from hub_plugins.woocommerce.client import retry_after


def test_429_raises_rate_limited_with_the_retry_after_asked(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.faults.rate_limited = 1
    sandbox.faults.retry_after = 0.25

    with pytest.raises(RateLimited) as limited:
        list(channel.fetch_orders(None, None))

    assert limited.value.retryable is True
    assert limited.value.retry_after == 0.25
    assert limited.value.status == 429
    assert list(channel.fetch_orders(None, None))  # the next call goes through


def test_5xx_is_retryable(sandbox: WooSandbox, channel: WooCommerceChannel) -> None:
    sandbox.faults.server_errors = 1

    with pytest.raises(ChannelError) as failure:
        list(channel.fetch_listings())

    assert failure.value.retryable is True
    assert failure.value.status == 503


def test_check_connection_reports_a_5xx_instead_of_raising(
    sandbox: WooSandbox, channel: WooCommerceChannel
) -> None:
    sandbox.faults.server_errors = 1

    [problem] = channel.check_connection()

    assert "503" in problem


def test_timeout_is_retryable(sandbox: WooSandbox, channel_for) -> None:  # type: ignore[no-untyped-def]
    sandbox.faults.timeouts = 1
    sandbox.faults.timeout_seconds = 0.5
    channel = channel_for(timeout=0.1)

    with pytest.raises(ChannelError, match=r"no answer within 0.1s") as failure:
        list(channel.fetch_orders(None, None))

    assert failure.value.retryable is True


def test_malformed_body_is_retryable(sandbox: WooSandbox, channel: WooCommerceChannel) -> None:
    sandbox.add_product("MUG", stock=3)
    sandbox.faults.malformed = 1

    with pytest.raises(ChannelError, match="not valid JSON") as failure:
        list(channel.fetch_listings())

    assert failure.value.retryable is True
    assert [item.sku for item in channel.fetch_listings()] == ["MUG"]


def test_a_refused_request_is_not_retryable(channel: WooCommerceChannel) -> None:
    with pytest.raises(ChannelError, match="rest_invalid_param") as failure:
        channel.client.get("orders", {"per_page": 500})

    assert failure.value.status == 400
    assert failure.value.retryable is False


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)

    assert retry_after({"Retry-After": "2"}) == 2.0
    assert 25 < (retry_after({"Retry-After": format_datetime(later, usegmt=True)}) or 0) <= 30
    assert retry_after({}) is None
    assert retry_after({"Retry-After": "soon"}) is None
